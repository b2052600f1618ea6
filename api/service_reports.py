"""``/api/v1/reports/orders``: service orders by area, category, provider or month: on-time rate,
satisfaction, subsidy spent and resident payments, in the caller's reach."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from api.deps import PlatformDep
from api.service_scope import StaffReach, service_errors

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


@router.get("/orders")
async def orders_report(
    platform: PlatformDep,
    reach: StaffReach,
    start: Annotated[AwareDatetime | None, Query(alias="from", description="default: 30 days before 'to'")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to", description="default: now")] = None,
    by: Literal["area", "category", "provider", "month"] = "area",
) -> dict[str, Any]:
    centre = platform.service_centre
    end = end or centre.clock()
    start = start or end - timedelta(days=30)
    with service_errors():
        return await centre.reports.orders(reach, start.astimezone(UTC), end.astimezone(UTC), by)
