"""``/api/v1/residents`` and ``/api/v1/homes``: the resident archive and the homes residents live in.

Reads are audited (every read of a resident record names who read it); changes need an administrator
or supervisor of the area; the key-safe code is revealed only on its own, audited request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from api.deps import Limit, Offset, PathId, PlatformDep, page_of
from api.scope import FieldScope, ManagerScope, ScopeDep
from registry.models import (
    CareLevel,
    Code,
    HomeCreate,
    HomePublic,
    HomeUpdate,
    KeySafe,
    Page,
    ResidentCreate,
    ResidentPublic,
    ResidentSummary,
    ResidentUpdate,
)

router = APIRouter()
residents = APIRouter(prefix="/api/v1/residents", tags=["residents"])
homes = APIRouter(prefix="/api/v1/homes", tags=["homes"])

SearchText = Annotated[
    str,
    Query(
        min_length=1,
        max_length=100,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="name contains, or exact external id, phone or ID number",
    ),
]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such object in your area"}}


@residents.get("", response_model=Page[ResidentSummary])
async def list_residents(
    platform: PlatformDep,
    scope: ScopeDep,
    limit: Limit = 50,
    offset: Offset = 0,
    q: SearchText | None = None,
    org_node: Annotated[Code | None, Query(description="only this node's subtree")] = None,
    care_level: CareLevel | None = None,
    living_alone: bool | None = None,
) -> Page[ResidentSummary]:
    """Residents in your area (a family account: their relative), by org path then id."""
    rows, total = await platform.registry.list_residents(
        scope.area, scope.user, limit, offset, q, org_node, care_level, living_alone
    )
    return page_of(ResidentSummary, rows, total, limit, offset)


@residents.post("", response_model=ResidentPublic, status_code=status.HTTP_201_CREATED)
async def create_resident(body: ResidentCreate, platform: PlatformDep, scope: ManagerScope) -> ResidentPublic:
    """Add a resident to the archive at a node of your area."""
    row = await platform.registry.create_resident(body.model_dump(mode="json"), scope.area, scope.user)
    return ResidentPublic.model_validate(row)


@residents.get("/{resident_id}", response_model=ResidentPublic, responses=NOT_FOUND)
async def get_resident(resident_id: PathId, platform: PlatformDep, scope: ScopeDep) -> ResidentPublic:
    """The archive entry: ID number masked, contacts in order, home, devices and their state. Audited."""
    row = await platform.registry.get_resident(resident_id, scope.area, scope.user)
    history = await platform.alerts.resident_history(resident_id, scope, limit=50)
    return ResidentPublic.model_validate({**row, "alerts": [alert.to_json() for alert in history]})


@residents.patch("/{resident_id}", response_model=ResidentPublic, responses=NOT_FOUND)
async def update_resident(
    resident_id: PathId, body: ResidentUpdate, platform: PlatformDep, scope: ManagerScope
) -> ResidentPublic:
    """Change fields of a resident (only those sent; a moved resident takes their devices along)."""
    changes = body.model_dump(mode="json", exclude_unset=True)
    row = await platform.registry.update_resident(resident_id, changes, scope.area, scope.user)
    return ResidentPublic.model_validate(row)


@homes.get("", response_model=Page[HomePublic])
async def list_homes(
    platform: PlatformDep, scope: ScopeDep, limit: Limit = 50, offset: Offset = 0, org_node: Code | None = None
) -> Page[HomePublic]:
    rows, total = await platform.registry.list_homes(scope.area, limit, offset, org_node)
    return page_of(HomePublic, rows, total, limit, offset)


@homes.post("", response_model=HomePublic, status_code=status.HTTP_201_CREATED)
async def create_home(body: HomeCreate, platform: PlatformDep, scope: ManagerScope) -> HomePublic:
    row = await platform.registry.create_home(body.model_dump(mode="json"), scope.area, scope.user)
    return HomePublic.model_validate(row)


@homes.get("/{home_id}", response_model=HomePublic, responses=NOT_FOUND)
async def get_home(home_id: PathId, platform: PlatformDep, scope: ScopeDep) -> HomePublic:
    return HomePublic.model_validate(await platform.registry.get_home(home_id, scope.area))


@homes.patch("/{home_id}", response_model=HomePublic, responses=NOT_FOUND)
async def update_home(home_id: PathId, body: HomeUpdate, platform: PlatformDep, scope: ManagerScope) -> HomePublic:
    changes = body.model_dump(mode="json", exclude_unset=True)
    return HomePublic.model_validate(await platform.registry.update_home(home_id, changes, scope.area, scope.user))


@homes.get("/{home_id}/key-safe", response_model=KeySafe, responses=NOT_FOUND)
async def reveal_key_safe(home_id: PathId, platform: PlatformDep, scope: FieldScope) -> KeySafe:
    """The key-safe code in clear, for whoever is going to the door. Every reveal is audited."""
    code = await platform.registry.reveal_key_safe(home_id, scope.area, scope.user)
    return KeySafe(home_id=home_id, key_safe_code=code)


router.include_router(residents)
router.include_router(homes)
