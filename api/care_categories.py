"""``/api/v1/care/categories`` and a resident's categories (特困, 低保, 独居 …) with source and validity."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api.care_visits import NOT_FOUND, RowId
from api.deps import Limit, Offset, PathId, PlatformDep, uploaded_text
from api.imports import CSV_BODY
from api.scope import FieldScope, ManagerScope, ScopeDep
from care.categories import CATEGORIES, VISIT_MODE_LABELS
from care.models import CategoryCode, Membership, MembershipCreate, MembershipEnd
from registry.dates import Day
from registry.imports import ImportReport
from registry.models import Page

MAX_BYTES = 16 * 1024 * 1024

router = APIRouter(prefix="/api/v1/care", tags=["care: categories"])


@router.get("/categories")
async def categories(scope: ScopeDep) -> dict[str, Any]:
    """The category codes with their Chinese and English names, default visit intervals, and visit modes."""
    return {
        "categories": [
            {"code": c.code, "zh": c.zh, "en": c.en, "visit_interval_days": c.visit_interval_days} for c in CATEGORIES
        ],
        "visit_modes": [{"code": code, "zh": zh, "en": en} for code, (zh, en) in VISIT_MODE_LABELS.items()],
    }


@router.get("/members", response_model=Page[Membership])
async def members(
    platform: PlatformDep,
    scope: FieldScope,
    category: CategoryCode | None = None,
    on: Annotated[Day | None, Query(description="valid on this day; default: today")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[Membership]:
    """Residents of your area in a category (or any) on a day."""
    day = on or platform.care.today()
    rows, total = await platform.care.memberships.in_area(scope.area, scope.user, category, day, limit, offset)
    return Page(items=[Membership.model_validate(row) for row in rows], total=total, limit=limit, offset=offset)


@router.post(
    "/imports/categories",
    response_model=ImportReport,
    openapi_extra=CSV_BODY,
    responses={413: {"description": "file too large"}, 422: {"description": "unreadable file or header"}},
)
async def import_categories(request: Request, platform: PlatformDep, scope: ManagerScope) -> ImportReport:
    """Import memberships (民政台账): ``resident_external_id`` (or ``resident_id``), ``category``, ``source``,
    ``valid_from``, ``valid_to``, ``note``. Rows with a problem are listed with their line and reasons;
    a membership already there (resident, category, from) is skipped, so an import can be repeated."""
    text = await uploaded_text(request, MAX_BYTES, f"at most {MAX_BYTES} bytes per import")
    return await platform.care.import_categories(text, scope.area, scope.user)


@router.get("/residents/{resident_id}/categories", response_model=list[Membership], responses=NOT_FOUND)
async def resident_categories(resident_id: PathId, platform: PlatformDep, scope: FieldScope) -> list[dict[str, Any]]:
    return await platform.care.memberships.of_resident(resident_id, scope.area, scope.user)


@router.post("/residents/{resident_id}/categories", response_model=Membership, status_code=201, responses=NOT_FOUND)
async def add_category(
    resident_id: PathId, body: MembershipCreate, platform: PlatformDep, scope: ManagerScope
) -> dict[str, Any]:
    """Put a resident in a category (from a source, for a period); audited."""
    return await platform.care.memberships.add(resident_id, body.model_dump(), scope.area, scope.user)


@router.post("/residents/{resident_id}/categories/{membership_id}/end", response_model=Membership, responses=NOT_FOUND)
async def end_category(
    resident_id: PathId, membership_id: RowId, body: MembershipEnd, platform: PlatformDep, scope: ManagerScope
) -> Membership:
    """Close a category membership on ``valid_to`` (the history stays; past months still count it)."""
    row = await platform.care.memberships.end(resident_id, membership_id, body.valid_to, scope.area, scope.user)
    return Membership.model_validate(row)
