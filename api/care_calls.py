"""``/api/v1/care/calls/…``: the care-call queue (check-in calls to at-risk residents who are due), an
operator's claim on a resident, the outcome of the call, a resident's calls. Scope and audit as
everywhere in care; a reached call is stored as a phone visit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.care_visits import NOT_FOUND, RowId, UrgentList
from api.deps import PathId, PlatformDep
from api.scope import FieldScope, StaffScope
from care.models import CallFinish, CareCall

router = APIRouter(prefix="/api/v1/care", tags=["care: calls"])
CONFLICT: dict[int | str, dict[str, Any]] = {**NOT_FOUND, 409: {"description": "another operator has this resident"}}


@router.get("/calls/queue")
async def call_queue(platform: PlatformDep, scope: StaffScope, wanted: UrgentList) -> list[dict[str, Any]]:
    """Who to call now in your area: due for contact, their plan takes a phone call, nobody calling them,
    not waiting for a retry; the platform's signals first, then the longest overdue."""
    return await platform.care.calls.queue(scope.area, scope.user, wanted.within_days, wanted.limit)


@router.post("/residents/{resident_id}/calls", response_model=CareCall, status_code=201, responses=CONFLICT)
async def start_call(resident_id: PathId, platform: PlatformDep, scope: StaffScope) -> CareCall:
    """Claim the resident for your call (one operator at a time; a claim lapses after 15 minutes)."""
    return CareCall.model_validate(await platform.care.calls.start(resident_id, scope.area, scope.user))


@router.post("/calls/{call_id}/finish", response_model=CareCall, responses=CONFLICT)
async def finish_call(call_id: RowId, body: CallFinish, platform: PlatformDep, scope: StaffScope) -> CareCall:
    """What came of your call: reached (a phone visit with its findings), no answer or busy (back on the
    queue in 2 hours), a wrong number (back in a day)."""
    row = await platform.care.calls.finish(call_id, body.model_dump(), scope.area, scope.user)
    return CareCall.model_validate(row)


@router.get("/residents/{resident_id}/calls", response_model=list[CareCall], responses=NOT_FOUND)
async def resident_calls(resident_id: PathId, platform: PlatformDep, scope: FieldScope) -> list[dict[str, Any]]:
    return await platform.care.calls.of_resident(resident_id, scope.area, scope.user)
