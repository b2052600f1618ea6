"""``/api/v1/complaints``: complaints (投诉) about an order, a call or a provider; handled and audited."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from api.deps import PlatformDep
from api.hardening import StorableBody
from api.service_scope import CentreReach, ReachDep, RequesterReach

router = APIRouter(prefix="/api/v1/complaints", tags=["complaints"])


class ComplaintIn(StorableBody):
    text: str = Field(min_length=1, max_length=4000)
    order_id: uuid.UUID | None = None
    call_id: uuid.UUID | None = None
    resident_id: str | None = Field(None, max_length=64)
    provider_id: str | None = Field(None, max_length=64)


class HandleIn(StorableBody):
    resolution: str = Field(min_length=1, max_length=4000)


@router.get("")
async def list_complaints(
    platform: PlatformDep, reach: ReachDep, state: Literal["open", "handled"] | None = Query(None)
) -> list[dict[str, Any]]:
    return await platform.service_centre.complaints.list(reach, state)


@router.post("", status_code=201)
async def file_complaint(body: ComplaintIn, platform: PlatformDep, reach: RequesterReach) -> dict[str, Any]:
    return await platform.service_centre.complaints.file(body.model_dump(), reach)


@router.get("/{complaint_id}")
async def get_complaint(complaint_id: uuid.UUID, platform: PlatformDep, reach: ReachDep) -> dict[str, Any]:
    return await platform.service_centre.complaints.get(complaint_id, reach)


@router.post("/{complaint_id}/handle")
async def handle(complaint_id: uuid.UUID, body: HandleIn, platform: PlatformDep, reach: CentreReach) -> dict[str, Any]:
    return await platform.service_centre.complaints.handle(complaint_id, body.resolution, reach)
