"""What part of the service network a query may touch: an org subtree, or one resident.

The API builds an :class:`Area` from the caller (``api/scope.py``) and passes it to every registry
query; the registry turns it into one SQL condition. Nothing else decides who sees what.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.like import like_prefix

ROOT = "/"
NOWHERE = "!nowhere/"  # matches no org path (they start with "/"); for family scopes


@dataclass(frozen=True, slots=True)
class Area:
    org_path: str = ROOT
    resident_id: str | None = None

    @property
    def is_root(self) -> bool:
        return self.resident_id is None and self.org_path == ROOT

    def covers(self, org_path: str | None, resident_id: str | None = None) -> bool:
        """Whether an object at ``org_path`` (for ``resident_id``) lies inside this area."""
        if self.resident_id is not None:
            return resident_id == self.resident_id
        return (org_path or ROOT).startswith(self.org_path)

    def where(self, path_column: str = "org_path", resident_column: str | None = "id") -> tuple[str, list[object]]:
        """An SQL condition (and its parameters) limiting rows to this area.

        ``resident_column`` names the column holding the resident id for a family caller; ``None``
        means the table has nothing a family may see.
        """
        if self.resident_id is not None:
            if resident_column is None:
                return "false", []
            return f"{resident_column} = %s", [self.resident_id]
        if self.org_path == ROOT:
            return "true", []
        return f"{path_column} LIKE %s", [like_prefix(self.org_path)]
