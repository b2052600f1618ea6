"""Shared by the service centre's routers: the caller's reach, who may do what, and domain errors.

:data:`ReachDep` turns the caller's :class:`~api.scope.Scope` into a :class:`servicecentre.Reach`
(their area, or, for a provider's staff, their provider's orders). The role dependencies say who may
act: :data:`CentreReach` (the centre's console staff), :data:`ManagerReach` (admin, supervisor: the
menu and providers), :data:`RequesterReach` (who may place or cancel an order: staff, community
workers, the family), :data:`ProviderReach` (the provider's steps: their staff or the centre's).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, status

from api.deps import PlatformDep
from api.scope import ScopeDep
from servicecentre import Conflict, Forbidden, Invalid, NotFound, Reach, ServiceCentreError


@contextlib.contextmanager
def service_errors() -> Iterator[None]:
    """The service centre's typed errors as HTTP answers with their reason."""
    try:
        yield
    except NotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    except Conflict as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    except Invalid as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    except Forbidden as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from None
    except ServiceCentreError as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None


def reach_with_roles(*roles: str) -> Callable[..., Awaitable[Reach]]:
    allowed = frozenset(roles)

    async def dependency(scope: ScopeDep, platform: PlatformDep) -> Reach:
        if scope.user.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {scope.user.role!r} may not do this")
        with service_errors():
            return await platform.service_centre.reach_of(scope.user.username, scope.user.role, scope.area)

    return dependency


ALL = ("admin", "supervisor", "operator", "responder", "family", "provider")
ReachDep = Annotated[Reach, Depends(reach_with_roles(*ALL))]
StaffReach = Annotated[Reach, Depends(reach_with_roles("admin", "supervisor", "operator", "responder", "provider"))]
CentreReach = Annotated[Reach, Depends(reach_with_roles("admin", "supervisor", "operator"))]
ManagerReach = Annotated[Reach, Depends(reach_with_roles("admin", "supervisor"))]
RequesterReach = Annotated[Reach, Depends(reach_with_roles("admin", "supervisor", "operator", "responder", "family"))]
ProviderReach = Annotated[Reach, Depends(reach_with_roles("admin", "supervisor", "operator", "provider"))]
