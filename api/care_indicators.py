"""``/api/v1/care/indicators`` (JSON, CSV, XLSX) and ``/api/v1/care/population`` (the denominators).

Indicators per child area of an area and per month, each share with its numerator and denominator:
enrolment, age bands, categories, device and home-care-bed coverage, the visit rate, alert answer times.
The population is imported as CSV: ``org_node,year,age_band,category,people``.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response
from pydantic import ValidationError

from api.care_visits import AreaCode, MonthText, parse_month
from api.deps import PlatformDep, uploaded_text
from api.imports import CSV_BODY
from api.scope import AdminScope, Scope, StaffScope, area_path
from api.services import Services
from care.indicators import to_csv, to_xlsx
from care.models import PopulationRow

router = APIRouter(prefix="/api/v1/care", tags=["care: indicators"])
MAX_BYTES = 8 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _report(platform: Services, scope: Scope, month: str | None, area: str | None) -> dict[str, Any]:
    path = scope.org_path if area is None else await area_path(platform.registry, scope, area)
    return await platform.care.indicators.monthly(path, parse_month(platform, month), scope.user)


def _attachment(report: dict[str, Any], suffix: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="indicators-{report["month"]}.{suffix}"'}


@router.get("/indicators")
async def indicators(
    platform: PlatformDep, scope: StaffScope, month: MonthText = None, area: AreaCode = None
) -> dict[str, Any]:
    """Per child area of ``area`` (default: yours) in ``month`` (default: this one), and the total."""
    return await _report(platform, scope, month, area)


@router.get(
    "/indicators.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"}},
)
async def indicators_csv(
    platform: PlatformDep, scope: StaffScope, month: MonthText = None, area: AreaCode = None
) -> Response:
    report = await _report(platform, scope, month, area)
    return Response(to_csv(report), media_type="text/csv; charset=utf-8", headers=_attachment(report, "csv"))


@router.get(
    "/indicators.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}, "description": "XLSX"}}
)
async def indicators_xlsx(
    platform: PlatformDep, scope: StaffScope, month: MonthText = None, area: AreaCode = None
) -> Response:
    report = await _report(platform, scope, month, area)
    return Response(to_xlsx(report), media_type=XLSX, headers=_attachment(report, "xlsx"))


@router.post("/population", openapi_extra=CSV_BODY, responses={413: {"description": "file too large"}})
async def import_population(request: Request, platform: PlatformDep, scope: AdminScope) -> dict[str, Any]:
    """Import the population of nodes in your area (all rows or none): ``org_node,year,age_band,category,people``;
    everyone by age band (category ``all``), categories as one ``all``-ages row or by band."""
    text = await uploaded_text(request, MAX_BYTES, f"at most {MAX_BYTES} bytes")
    rows: list[dict[str, Any]] = []
    try:
        for line, record in enumerate(csv.DictReader(io.StringIO(text, newline="")), start=2):
            try:
                rows.append(PopulationRow.model_validate({k: v for k, v in record.items() if k}).model_dump())
            except ValidationError as error:
                reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"line {line}: {reasons}") from None
    except csv.Error as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"unreadable CSV: {error}") from None
    if not rows:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "no rows (the header is org_node,year,age_band,category,people)"
        )
    imported = await platform.care.indicators.import_population(rows, scope.area, scope.user)
    return {"imported": imported}
