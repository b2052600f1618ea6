"""``/api/v1/imports/{kind}`` and ``/api/v1/exports/{kind}``: CSV in and out for homes, residents, devices.

Send the CSV as the request body (``Content-Type: text/csv``). The answer reports, row by row, what
was rejected and why; rows already imported (same external id, or device id) are skipped, so an
import can be repeated safely. Import homes first, then residents (``home_external_id``), then
devices (``resident_external_id``).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import PlatformDep, uploaded_text
from api.scope import ManagerScope
from registry.exports import export_csv
from registry.imports import ImportReport, import_devices, import_homes, import_residents

router = APIRouter(tags=["import and export"])
Kind = Literal["residents", "homes", "devices"]
MAX_BYTES = 64 * 1024 * 1024
CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "UTF-8 CSV with a header row (see the module docs for the columns)",
    }
}


@router.post(
    "/api/v1/imports/{kind}",
    response_model=ImportReport,
    openapi_extra=CSV_BODY,
    responses={413: {"description": "file too large"}, 422: {"description": "unreadable file or header"}},
)
async def import_csv(
    kind: Kind, request: Request, platform: PlatformDep, scope: ManagerScope, issue_credentials: bool = False
) -> ImportReport:
    """Import rows into your area; the report lists rejected rows with their line number and reasons.

    ``issue_credentials`` (devices): generate MQTT passwords for the new devices, returned once.
    """
    text = await uploaded_text(request, MAX_BYTES, f"at most {MAX_BYTES} bytes per import")
    registry = platform.registry
    if kind == "residents":
        return await import_residents(registry, text, scope.area, scope.user)
    if kind == "homes":
        return await import_homes(registry, text, scope.area, scope.user)
    return await import_devices(registry, text, scope.area, scope.user, issue_credentials)


@router.get(
    "/api/v1/exports/{kind}",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"}},
)
async def export(kind: Kind, platform: PlatformDep, scope: ManagerScope) -> Response:
    """Everything of ``kind`` in your area as CSV (ID numbers masked, key-safe codes left out). Audited."""
    text = await export_csv(platform.registry, kind, scope.area, scope.user)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'},
    )
