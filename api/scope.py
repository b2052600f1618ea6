"""The caller's scope: what part of the service network a request may see. Applied in one place.

Every endpoint that returns residents, devices or alerts takes ``ScopeDep`` and passes it to the
service query; no endpoint re-checks access by hand. Staff see the subtree under their org node
(``org_path`` is a prefix such as ``/410100/410105/``; ``/`` is the whole city); a family user sees
only their own relative (``resident_id``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, status

from api.deps import PlatformDep, UserDep
from registry.users import User

ROOT = "/"


@dataclass(frozen=True, slots=True)
class Scope:
    user: User
    org_path: str
    resident_id: str | None = None

    def covers(self, org_path: str | None, resident_id: str | None = None) -> bool:
        """Whether an object at ``org_path`` (for ``resident_id``) lies inside this scope."""
        if self.resident_id is not None:
            return resident_id == self.resident_id
        return (org_path or ROOT).startswith(self.org_path)


async def caller_scope(user: UserDep, platform: PlatformDep) -> Scope:
    if user.role == "family":
        if not user.resident_id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "family account is not linked to a resident")
        return Scope(user, org_path="\x00", resident_id=user.resident_id)
    if user.org_node is None:
        if user.role != "admin":
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"{user.role} account has no org node")
        return Scope(user, ROOT)
    path = await platform.registry.org_path(user.org_node)
    if path is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"org node {user.org_node!r} no longer exists")
    return Scope(user, path)


ScopeDep = Annotated[Scope, Depends(caller_scope)]
