"""``/api/v1/reports/sla``: answer-time SLA per area and period (TEC: 97.5 % in 60 s, 99 % in 180 s)."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from alerting.reports import PERIODS, sla_report
from api.deps import PlatformDep
from api.scope import ConsoleScope, area_path
from registry.dates import Moment

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


@router.get("/sla")
async def sla(
    platform: PlatformDep,
    scope: ConsoleScope,
    start: Annotated[Moment | None, Query(alias="from", description="ISO time; default: 24 h before 'to'")] = None,
    end: Annotated[Moment | None, Query(alias="to", description="ISO time; default: now")] = None,
    area: str | None = Query(None, description="an org node code; default: the caller's area"),
    period: str = Query("all", description=" | ".join(PERIODS)),
) -> dict[str, Any]:
    """Per child area of ``area`` (and per day/week/month with ``period``): alerts that rang, share
    answered within 60 s and 180 s, answer-time percentiles, time to responder on scene; ``calls``: the
    hotline's inbound calls in the same area and time, their answer times by category."""
    end = end or platform.alerts.clock()
    start = start or end - timedelta(days=1)
    path = scope.org_path if area is None else await area_path(platform.registry, scope, area)
    report = await sla_report(
        platform.alerts.pool,
        start.astimezone(UTC),
        end.astimezone(UTC),
        path,
        period,
        platform.alerts.config.utc_offset_min,
    )
    report["calls"] = await platform.service_centre.reports.call_answer_times(path, start, end)
    return report
