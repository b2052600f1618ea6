"""``/api/v1/reports/orders``: service orders by area, category, provider or month: on-time rate,
satisfaction, subsidy spent and resident payments, in the caller's reach."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from api.deps import PlatformDep
from api.service_scope import StaffReach
from registry.dates import Moment
from servicecentre.export import to_csv, to_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


@router.get("/orders")
async def orders_report(
    platform: PlatformDep,
    reach: StaffReach,
    start: Annotated[Moment | None, Query(alias="from", description="default: 30 days before 'to'")] = None,
    end: Annotated[Moment | None, Query(alias="to", description="default: now")] = None,
    by: Literal["area", "category", "provider", "month", "area_month"] = "area",
    format: Literal["json", "csv", "xlsx"] = "json",
) -> Any:
    """Orders, completed, on time, satisfaction, subsidy spent and resident payments per group (area,
    category, provider, month, or area and month); as JSON, CSV or XLSX (``format``)."""
    centre = platform.service_centre
    end = end or centre.clock()
    start = start or end - timedelta(days=30)
    report = await centre.reports.orders(reach, start.astimezone(UTC), end.astimezone(UTC), by)
    if format == "json":
        return report
    name = f"orders-by-{by}-{start.date()}-{end.date()}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "csv":
        return Response(to_csv(report), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(to_xlsx(report), media_type=XLSX, headers=headers)
