"""``/api/v1/care/…`` visits: the rules (how often, how), who visits whom, the visits, who is overdue,
and the monthly visit rate. Reads and writes are audited by the care service; scope as everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from api.deps import PathId, PlatformDep
from api.scope import FieldScope, ManagerScope, StaffScope, area_path
from api.services import Services
from care.models import Visit, VisitCreate, VisitorAssign, VisitRuleSet
from care.periods import Month

router = APIRouter(prefix="/api/v1/care", tags=["care: visits"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such object in your area"}}
MonthText = Annotated[
    str | None, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM, local time; default: this month")
]
RowId = Annotated[int, Path(ge=1, le=2**62)]
AreaCode = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9-]{1,32}$", description="an org node; default: yours")]


@dataclass(frozen=True, slots=True)
class Urgent:
    """A list by urgency: those due now, or ``within_days`` ahead; the first ``limit``."""

    within_days: Annotated[int, Query(ge=0, le=60, description="also those due within this many days")] = 0
    limit: Annotated[int, Query(ge=1, le=2000, description="at most this many, the most urgent first")] = 500


UrgentList = Annotated[Urgent, Depends()]


def parse_month(platform: Services, text: str | None) -> Month:
    if text is None:
        return platform.care.this_month()
    try:
        return Month.parse(text)
    except ValueError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None


@router.get("/visit-rules")
async def list_rules(platform: PlatformDep, scope: StaffScope) -> list[dict[str, Any]]:
    """The visit rules that apply in your area (network defaults at ``/`` and your area's own)."""
    return await platform.care.visits.rules(scope.area)


@router.put("/visit-rules")
async def set_rule(body: VisitRuleSet, platform: PlatformDep, scope: ManagerScope) -> dict[str, Any]:
    """How often a category is visited, and how, in an area of yours (the most specific rule wins)."""
    path = scope.org_path if body.org_node is None else await area_path(platform.registry, scope, body.org_node)
    return await platform.care.visits.set_rule(
        path, body.category, body.interval_days, body.modes, scope.area, scope.user
    )


@router.put("/residents/{resident_id}/visitor", responses=NOT_FOUND)
async def assign_visitor(
    resident_id: PathId, body: VisitorAssign, platform: PlatformDep, scope: ManagerScope
) -> dict[str, Any]:
    """Who visits this resident (a community worker's or volunteer's account)."""
    return await platform.care.visits.assign(resident_id, body.visitor, scope.area, scope.user)


@router.post("/residents/{resident_id}/visits", response_model=Visit, status_code=201, responses=NOT_FOUND)
async def record_visit(resident_id: PathId, body: VisitCreate, platform: PlatformDep, scope: FieldScope) -> Visit:
    """Record a visit and what it found; ``raise_alert`` puts a care-concern alert on the console."""
    data = body.model_dump(exclude={"raise_alert"})
    row = await platform.care.record_visit(resident_id, data, scope.area, scope.user, body.raise_alert)
    return Visit.model_validate(row)


@router.get("/residents/{resident_id}/visits", response_model=list[Visit], responses=NOT_FOUND)
async def resident_visits(resident_id: PathId, platform: PlatformDep, scope: FieldScope) -> list[dict[str, Any]]:
    return await platform.care.visits.of_resident(resident_id, scope.area, scope.user)


@router.get("/visits/overdue")
async def overdue(platform: PlatformDep, scope: FieldScope, wanted: UrgentList) -> list[dict[str, Any]]:
    """Who must be visited now: the platform's signals first (no activity today, a device offline),
    then the longest overdue."""
    return await platform.care.visits.overdue(scope.area, scope.user, wanted.within_days, wanted.limit)


@router.get("/visits/{visit_id}", response_model=Visit, responses=NOT_FOUND)
async def get_visit(visit_id: RowId, platform: PlatformDep, scope: FieldScope) -> Visit:
    return Visit.model_validate(await platform.care.visits.get(visit_id, scope.area, scope.user))


@router.get("/visit-rate")
async def visit_rate(
    platform: PlatformDep, scope: StaffScope, month: MonthText = None, area: AreaCode = None
) -> dict[str, Any]:
    """The monthly visit rate (visited ÷ due) of an area and each of its child areas. A resident counts
    once, where they lived at the end of the month."""
    path = scope.org_path if area is None else await area_path(platform.registry, scope, area)
    return await platform.care.visits.monthly_rate(path, parse_month(platform, month))
