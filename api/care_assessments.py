"""``/api/v1/care/…`` ability assessments: the instruments (GB/T 42195-2022 shipped), a resident's
assessments (scored by the instrument, audited) and how many residents are at each level."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status

from api.care_visits import NOT_FOUND, RowId
from api.deps import PathId, PlatformDep
from api.scope import FieldScope, ScopeDep, StaffScope
from care.models import Assessment, AssessmentCreate
from registry.dates import Day

router = APIRouter(prefix="/api/v1/care", tags=["care: assessments"])


@router.get("/instruments")
async def instruments(platform: PlatformDep, scope: ScopeDep) -> list[dict[str, Any]]:
    """The assessment instruments: domains, items with their score ranges, levels and change rules."""
    return [instrument.describe() for instrument in platform.care.assessments.instruments.values()]


@router.get("/instruments/{instrument}")
async def instrument(
    instrument: Annotated[str, Path(pattern=r"^[a-z0-9_.-]{1,40}$")], platform: PlatformDep, scope: ScopeDep
) -> dict[str, Any]:
    found = platform.care.assessments.instruments.get(instrument)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no instrument {instrument}")
    return found.describe()


@router.post("/residents/{resident_id}/assessments", response_model=Assessment, status_code=201, responses=NOT_FOUND)
async def record_assessment(
    resident_id: PathId, body: AssessmentCreate, platform: PlatformDep, scope: FieldScope
) -> dict[str, Any]:
    """Store an assessment; domain scores, total and level come from the instrument, never the caller."""
    return await platform.care.assessments.record(resident_id, body.model_dump(), scope.area, scope.user)


@router.get("/residents/{resident_id}/assessments", response_model=list[Assessment], responses=NOT_FOUND)
async def resident_assessments(resident_id: PathId, platform: PlatformDep, scope: FieldScope) -> list[dict[str, Any]]:
    return await platform.care.assessments.of_resident(resident_id, scope.area, scope.user)


@router.get("/assessments/{assessment_id}", response_model=Assessment, responses=NOT_FOUND)
async def get_assessment(assessment_id: RowId, platform: PlatformDep, scope: FieldScope) -> Assessment:
    return Assessment.model_validate(await platform.care.assessments.get(assessment_id, scope.area, scope.user))


@router.get("/ability-levels")
async def ability_levels(
    platform: PlatformDep,
    scope: StaffScope,
    on: Annotated[Day | None, Query(description="default: today")] = None,
) -> dict[str, Any]:
    """Residents of your area at each level on a day (their latest assessment still valid)."""
    day = on or platform.care.today()
    return {"on": day, "levels": await platform.care.assessments.levels(scope.area, scope.user, day)}
