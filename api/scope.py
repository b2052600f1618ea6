"""The caller's scope: what part of the service network a request may see. Applied in one place.

Every endpoint that returns residents, homes, devices, users, audit entries or alerts takes a scope
dependency and passes ``scope.area`` (or ``scope.org_path`` / ``scope.resident_id``) to the service
query; no endpoint re-checks access by hand.

Rules:

* Staff (admin, supervisor, operator, responder) see the subtree under their org node: ``org_path``
  is a prefix such as ``/410100/410105/`` (``/`` is the whole network, for an administrator without
  a node). Anything outside is "not found" (404), never "forbidden", so ids do not leak.
* A family user sees only their own relative (``resident_id``), that resident's home and devices.
* A provider's staff (role ``provider``) see no registry data at all; the service centre shows them
  their own provider's orders (``servicecentre.Reach``).
* The user is looked up on every request: a deactivated account, or one whose role or node changed,
  takes effect at once, not when the token expires. Tokens issued before a password change, reset
  or deactivation are refused (the account's token generation moved on).
* What a role may do inside its scope is the dependency's name: :data:`ScopeDep` (read, any role),
  :data:`FieldScope` (staff incl. responders), :data:`StaffScope` / :data:`ConsoleScope` (console
  staff; alerts), :data:`ManagerScope` / :data:`PolicyScope` (admin, supervisor: change residents,
  homes, devices; escalation policies, responders), :data:`AdminScope` (users, org tree, audit,
  imports). The role groups are ``registry/roles.py``'s.
* An object named in a request (a resident, an org node, a responder) is checked against the scope by
  :func:`resident_path`, :func:`area_path`, :func:`scoped_resident` or :meth:`Scope.require`; outside
  the scope it raises :class:`~registry.errors.NotFound`, which ``api/app.py`` answers with 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, status

from api.deps import PlatformDep, UserDep
from registry.area import NOWHERE, ROOT, Area
from registry.errors import NotFound
from registry.roles import ADMINS, FIELD, MANAGERS, STAFF
from registry.store import Registry, ResidentRecord
from registry.users import User, Users

__all__ = [
    "ROOT",
    "AdminScope",
    "ConsoleScope",
    "FieldScope",
    "ManagerScope",
    "PolicyScope",
    "Scope",
    "ScopeDenied",
    "ScopeDep",
    "StaffScope",
    "area_path",
    "caller_scope",
    "resident_path",
    "scope_for",
    "scoped_resident",
]


@dataclass(frozen=True, slots=True)
class Scope:
    user: User
    org_path: str
    resident_id: str | None = None

    @property
    def area(self) -> Area:
        return Area(self.org_path, self.resident_id)

    def covers(self, org_path: str | None, resident_id: str | None = None) -> bool:
        """Whether an object at ``org_path`` (for ``resident_id``) lies inside this scope."""
        return self.area.covers(org_path, resident_id)

    def require(self, org_path: str | None, resident_id: str | None = None, *, missing: str) -> None:
        """Raise :class:`NotFound` (``missing``) unless the object lies inside this scope."""
        if not self.covers(org_path, resident_id):
            raise NotFound(missing)

    def where(
        self, path_column: str = "org_path", resident_column: str | None = "resident_id"
    ) -> tuple[str, list[object]]:
        """SQL condition and parameters limiting a query to this scope (see :meth:`Area.where`)."""
        return self.area.where(path_column, resident_column)


class ScopeDenied(Exception):
    """The user has no scope (deactivated, unlinked family account, node removed)."""

    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason


async def scope_for(user: User, registry: Registry, users: Users | None = None) -> Scope:
    """The scope of ``user`` (from a token); for HTTP dependencies and the websocket console alike.

    With ``users``, the account is re-read so that deactivation and role changes apply at once.
    """
    if users is not None:
        current = await users.get(user.username)
        if current is None:
            raise ScopeDenied(status.HTTP_401_UNAUTHORIZED, "account is not active")
        if current.token_generation != user.token_generation:
            raise ScopeDenied(
                status.HTTP_401_UNAUTHORIZED, "token revoked: the password or account changed; sign in again"
            )
        user = current
    if user.role == "family":
        if not user.resident_id:
            raise ScopeDenied(status.HTTP_403_FORBIDDEN, "family account is not linked to a resident")
        return Scope(user, org_path=NOWHERE, resident_id=user.resident_id)
    if user.role == "provider":
        return Scope(user, org_path=NOWHERE)
    if user.org_node is None:
        if user.role != "admin":
            raise ScopeDenied(status.HTTP_403_FORBIDDEN, f"{user.role} account has no org node")
        return Scope(user, ROOT)
    path = await registry.org_path(user.org_node)
    if path is None:
        raise ScopeDenied(status.HTTP_403_FORBIDDEN, f"org node {user.org_node!r} no longer exists")
    return Scope(user, path)


async def caller_scope(user: UserDep, platform: PlatformDep) -> Scope:
    try:
        return await scope_for(user, platform.registry, platform.users)
    except ScopeDenied as denied:
        headers = {"WWW-Authenticate": "Bearer"} if denied.status_code == status.HTTP_401_UNAUTHORIZED else None
        raise HTTPException(denied.status_code, denied.reason, headers=headers) from None


ScopeDep = Annotated[Scope, Depends(caller_scope)]


def scope_with_roles(allowed: frozenset[str], action: str = "do this") -> Callable[[Scope], Awaitable[Scope]]:
    """A dependency: the caller's scope when their role is in ``allowed``, else 403 "may not ``action``"."""

    async def dependency(scope: ScopeDep) -> Scope:
        if scope.user.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {scope.user.role!r} may not {action}")
        return scope

    return dependency


FieldScope = Annotated[Scope, Depends(scope_with_roles(FIELD))]
StaffScope = Annotated[Scope, Depends(scope_with_roles(STAFF))]
ConsoleScope = Annotated[Scope, Depends(scope_with_roles(STAFF, "handle alerts"))]
ManagerScope = Annotated[Scope, Depends(scope_with_roles(MANAGERS))]
PolicyScope = Annotated[Scope, Depends(scope_with_roles(MANAGERS, "change this"))]
AdminScope = Annotated[Scope, Depends(scope_with_roles(ADMINS))]


async def resident_path(registry: Registry, scope: Scope, resident_id: str) -> str:
    """The resident's org path; :class:`NotFound` when the resident is unknown or outside ``scope``."""
    path = registry.resident_org_path(resident_id)
    if path is None:
        resident = await registry.resident(resident_id)
        if resident is None:
            raise NotFound(f"no resident {resident_id}")
        path = (await registry.org_path(resident.org_node)) if resident.org_node else ROOT
    scope.require(path or ROOT, resident_id, missing=f"no resident {resident_id}")
    return path or ROOT


async def scoped_resident(registry: Registry, scope: Scope, resident_id: str) -> ResidentRecord:
    """The resident's record; :class:`NotFound` when the resident is unknown or outside ``scope``."""
    resident = await registry.resident(resident_id)
    if resident is None:
        raise NotFound(f"no resident {resident_id}")
    path = await registry.org_path(resident.org_node) if resident.org_node else None
    scope.require(path or ROOT, resident_id, missing=f"no resident {resident_id}")
    return resident


async def area_path(registry: Registry, scope: Scope, org_node: str) -> str:
    """An org node's path; :class:`NotFound` when the node is unknown or outside ``scope`` (a family's
    scope holds no area)."""
    path = await registry.org_path(org_node)
    if path is None or scope.resident_id is not None or not scope.covers(path):
        raise NotFound(f"no org node {org_node}")
    return path
