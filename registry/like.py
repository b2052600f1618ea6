"""SQL ``LIKE`` patterns from text a person or the org tree supplied, escaped in one place.

Every query that matches by prefix (an org subtree) or by substring (a name search) builds its
pattern here, so a ``%`` or ``_`` in a name never widens a match. PostgreSQL's default ``LIKE``
escape character is the backslash.
"""

from __future__ import annotations

MATCHES_NOTHING = "\x01"
"""A pattern no org path matches (they start with "/")."""


def escape_like(value: str) -> str:
    """``value`` with the ``LIKE`` wildcards and the escape character taken literally."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_prefix(prefix: str) -> str:
    """A pattern matching every text that starts with ``prefix``."""
    return escape_like(prefix) + "%"


def like_contains(text: str) -> str:
    """A pattern matching every text that contains ``text``."""
    return f"%{escape_like(text)}%"


def like_prefix_or_nothing(prefix: str | None) -> str:
    """:func:`like_prefix`, or a pattern that matches nothing when ``prefix`` is unknown (``None``)."""
    return like_prefix(prefix) if prefix else MATCHES_NOTHING
