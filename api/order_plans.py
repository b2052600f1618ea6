"""``/api/v1/order-plans``: repeating orders (a meal every weekday) that spawn one order per day."""

from __future__ import annotations

import uuid
from datetime import time
from typing import Any

from fastapi import APIRouter, Query
from pydantic import Field

from api.deps import PlatformDep
from api.hardening import StorableBody
from api.service_scope import ReachDep, RequesterReach
from registry.dates import Day
from servicecentre import PlanRequest

router = APIRouter(prefix="/api/v1/order-plans", tags=["service orders"])


class PlanIn(StorableBody):
    resident_id: str = Field(min_length=1, max_length=64)
    item_id: str = Field(min_length=1, max_length=64)
    provider_id: str = Field(min_length=1, max_length=64)
    weekdays: list[int] = Field(min_length=1, max_length=7, description="ISO weekdays: 1 Monday … 7 Sunday")
    local_time: time = Field(description="local time of each order, e.g. 11:30")
    starts_on: Day
    ends_on: Day | None = None
    quantity: int = Field(1, ge=1, le=100)


@router.get("")
async def list_plans(
    platform: PlatformDep, reach: ReachDep, resident_id: str | None = Query(None, max_length=64)
) -> list[dict[str, Any]]:
    return await platform.service_centre.plans.list(reach, resident_id)


@router.post("", status_code=201)
async def create_plan(body: PlanIn, platform: PlatformDep, reach: RequesterReach) -> dict[str, Any]:
    request = PlanRequest(
        body.resident_id, body.item_id, body.provider_id, tuple(body.weekdays), body.local_time, body.starts_on,
        body.ends_on, body.quantity,
    )  # fmt: skip
    plan = await platform.service_centre.plans.create(request, reach)
    await platform.service_centre.plans.spawn()
    return plan


@router.post("/{plan_id}/stop")
async def stop_plan(plan_id: uuid.UUID, platform: PlatformDep, reach: RequesterReach) -> dict[str, Any]:
    return await platform.service_centre.plans.stop(plan_id, reach)
