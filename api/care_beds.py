"""``/api/v1/care/…`` home care beds (家庭养老床位): contracts, services delivered, monthly compliance."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from api.care_visits import NOT_FOUND, MonthText, parse_month
from api.deps import PathId, PlatformDep
from api.scope import FieldScope, ManagerScope, StaffScope
from care.models import Bed, BedCreate, BedServiceCreate

router = APIRouter(prefix="/api/v1/care", tags=["care: home care beds"])
BedId = Annotated[str, Path(pattern=r"^bed-[0-9a-f]{16}$")]


@router.post("/residents/{resident_id}/beds", response_model=Bed, status_code=201, responses=NOT_FOUND)
async def create_bed(resident_id: PathId, body: BedCreate, platform: PlatformDep, scope: ManagerScope) -> Bed:
    """Sign a home care bed contract: provider, dates, level, the required device kit, the monthly plan."""
    return Bed.model_validate(await platform.care.beds.create(resident_id, body.model_dump(), scope.area, scope.user))


@router.get("/beds/compliance")
async def compliance(platform: PlatformDep, scope: StaffScope, month: MonthText = None) -> list[dict[str, Any]]:
    """Every contract of your area in a month: services and visits due and done, kit installed and
    online, alerts, and whether it complied."""
    return await platform.care.beds.compliance(scope.area, scope.user, parse_month(platform, month))


@router.get("/beds/{bed_id}", response_model=Bed, responses=NOT_FOUND)
async def get_bed(bed_id: BedId, platform: PlatformDep, scope: FieldScope) -> Bed:
    return Bed.model_validate(await platform.care.beds.get(bed_id, scope.area, scope.user))


@router.post("/beds/{bed_id}/services", status_code=201, responses=NOT_FOUND)
async def record_service(
    bed_id: BedId, body: BedServiceCreate, platform: PlatformDep, scope: FieldScope
) -> dict[str, Any]:
    """A service delivered under the contract."""
    return await platform.care.beds.record_service(bed_id, body.model_dump(), scope.area, scope.user)


@router.get("/beds/{bed_id}/compliance", responses=NOT_FOUND)
async def bed_compliance(
    bed_id: BedId, platform: PlatformDep, scope: FieldScope, month: MonthText = None
) -> dict[str, Any]:
    rows = await platform.care.beds.compliance(scope.area, scope.user, parse_month(platform, month), bed_id)
    return rows[0]
