"""The caller's scope: what part of the service network a request may see. Applied in one place.

Every endpoint that returns residents, homes, devices, users, audit entries or alerts takes a scope
dependency and passes ``scope.area`` (or ``scope.org_path`` / ``scope.resident_id``) to the service
query; no endpoint re-checks access by hand.

Rules:

* Staff (admin, supervisor, operator, responder) see the subtree under their org node: ``org_path``
  is a prefix such as ``/410100/410105/`` (``/`` is the whole network, for an administrator without
  a node). Anything outside is "not found" (404), never "forbidden", so ids do not leak.
* A family user sees only their own relative (``resident_id``), that resident's home and devices.
* The user is looked up on every request: a deactivated account, or one whose role or node changed,
  takes effect at once, not when the token expires. Tokens issued before a password change, reset
  or deactivation are refused (the account's token generation moved on).
* What a role may do inside its scope is the dependency's name: :data:`ScopeDep` (read, any role),
  :data:`FieldScope` (staff incl. responders), :data:`StaffScope` (console staff), :data:`ManagerScope`
  (admin, supervisor: change residents, homes, devices), :data:`AdminScope` (users, org tree, audit,
  imports).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, status

from api.deps import PlatformDep, UserDep
from registry.area import NOWHERE, ROOT, Area
from registry.store import Registry
from registry.users import User, Users

__all__ = [
    "ROOT",
    "AdminScope",
    "FieldScope",
    "ManagerScope",
    "Scope",
    "ScopeDenied",
    "ScopeDep",
    "StaffScope",
    "caller_scope",
    "scope_for",
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


def scope_with_roles(*roles: str) -> Callable[[Scope], Awaitable[Scope]]:
    allowed = frozenset(roles)

    async def dependency(scope: ScopeDep) -> Scope:
        if scope.user.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {scope.user.role!r} may not do this")
        return scope

    return dependency


FieldScope = Annotated[Scope, Depends(scope_with_roles("admin", "supervisor", "operator", "responder"))]
StaffScope = Annotated[Scope, Depends(scope_with_roles("admin", "supervisor", "operator"))]
ManagerScope = Annotated[Scope, Depends(scope_with_roles("admin", "supervisor"))]
AdminScope = Annotated[Scope, Depends(scope_with_roles("admin"))]
