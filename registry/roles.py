"""Who does what: the platform's roles and the named groups that the API's permissions use.

The one definition of the roles; ``registry/models.py`` (validation), ``registry/users.py`` (accounts)
and ``api/scope.py`` / ``api/deps.py`` (permissions) all read it.
"""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["admin", "supervisor", "operator", "responder", "family", "provider"]
ROLES: tuple[str, ...] = get_args(Role)

ADMINS = frozenset({"admin"})
"""Users, the org tree, the audit log, imports of the whole area."""
MANAGERS = frozenset({"admin", "supervisor"})
"""Change residents, homes, devices, escalation policies and the responder register."""
STAFF = frozenset({"admin", "supervisor", "operator"})
"""The dispatch console: handle alerts, see the console's views."""
FIELD = STAFF | {"responder"}
"""Staff and the responders who go to the door (the key-safe code, the org tree)."""
PROVIDERS = frozenset({"provider"})
"""A service provider's staff: only their own provider's orders (``servicecentre``), nothing of the registry."""
