"""The care dashboard, ``/care``, and its data, ``/api/v1/care/dashboard``.

The page a district, street or community administrator opens: the indicators of their own area for a
month (visit rate, coverage, home care beds, care calls, alert answer times) with today's work beside
them (overdue visits, calls due, assessments due), per child area with a drill-down, and the month's
indicators to download as CSV or XLSX. Server-rendered in the reader's language like the console
(``{{key}}`` from ``api/static/care.i18n.<lang>.json``), the data fetched with the console's token;
every figure comes from the caller's scope (a child area outside it is a 404).
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.care_visits import AreaCode, MonthText, parse_month
from api.console import language_page, render_page
from api.deps import PlatformDep
from api.scope import StaffScope, area_path

router = APIRouter(tags=["care: dashboard"])


@functools.cache
def strings(lang: str) -> dict[str, str]:
    """The dashboard's words in ``lang`` (``en`` or ``zh``; the same keys in each)."""
    text = resources.files("api").joinpath("static", f"care.i18n.{lang}.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def render(lang: str) -> str:
    return render_page("care.html", lang, strings(lang))


@router.get("/care", response_class=HTMLResponse, include_in_schema=False)
async def care_page(request: Request) -> HTMLResponse:
    return language_page(request, render)


@router.get("/api/v1/care/dashboard")
async def dashboard(
    platform: PlatformDep, scope: StaffScope, month: MonthText = None, area: AreaCode = None
) -> dict[str, Any]:
    """The dashboard of ``area`` (default: yours) in ``month`` (default: this one): the indicators per
    child area and in total, today's counts (overdue, due this week, calls due, assessments due), the
    trail of areas from yours down to it, and this month (for the month picker)."""
    path = scope.org_path if area is None else await area_path(platform.registry, scope, area)
    summary = await platform.care.dashboard.summary(path, parse_month(platform, month), scope.user, scope.org_path)
    return {**summary, "this_month": str(platform.care.this_month())}
