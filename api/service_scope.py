"""Shared by the service centre's routers: the caller's reach, who may do what, and domain errors.

:data:`ReachDep` turns the caller's :class:`~api.scope.Scope` into a :class:`servicecentre.Reach`
(their area, or, for a provider's staff, their provider's orders). The role dependencies say who may
act: :data:`CentreReach` (the centre's console staff), :data:`ManagerReach` (admin, supervisor: the
menu and providers), :data:`RequesterReach` (who may place or cancel an order: staff, community
workers, the family), :data:`ProviderReach` (the provider's steps: their staff or the centre's).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, status

from api.deps import PlatformDep
from api.scope import ScopeDep
from servicecentre import Reach


def reach_with_roles(*roles: str) -> Callable[..., Awaitable[Reach]]:
    allowed = frozenset(roles)

    async def dependency(scope: ScopeDep, platform: PlatformDep) -> Reach:
        if scope.user.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {scope.user.role!r} may not do this")
        return await platform.service_centre.reach_of(scope.user.username, scope.user.role, scope.area)

    return dependency


ALL = ("admin", "supervisor", "operator", "responder", "family", "provider")
ReachDep = Annotated[Reach, Depends(reach_with_roles(*ALL))]
StaffReach = Annotated[Reach, Depends(reach_with_roles("admin", "supervisor", "operator", "responder", "provider"))]
CentreReach = Annotated[Reach, Depends(reach_with_roles("admin", "supervisor", "operator"))]
ManagerReach = Annotated[Reach, Depends(reach_with_roles("admin", "supervisor"))]
RequesterReach = Annotated[Reach, Depends(reach_with_roles("admin", "supervisor", "operator", "responder", "family"))]
ProviderReach = Annotated[Reach, Depends(reach_with_roles("admin", "supervisor", "operator", "provider"))]
