"""``/api/v1/orgs``: the four-level service network (city → district → street → community)."""

from __future__ import annotations

from fastapi import APIRouter, Path, status

from api.deps import Limit, Offset, PlatformDep, page_of
from api.scope import AdminScope, FieldScope
from registry.models import Code, Level, OrgNodeCreate, OrgNodePublic, Page

router = APIRouter(prefix="/api/v1/orgs", tags=["org tree"])


@router.get("", response_model=Page[OrgNodePublic])
async def list_org_nodes(
    platform: PlatformDep,
    scope: FieldScope,
    limit: Limit = 200,
    offset: Offset = 0,
    level: Level | None = None,
    parent: Code | None = None,
) -> Page[OrgNodePublic]:
    """Your node and everything under it, in tree order."""
    rows, total = await platform.registry.list_org_nodes(scope.area, limit, offset, level, parent)
    return page_of(OrgNodePublic, rows, total, limit, offset)


@router.post("", response_model=OrgNodePublic, status_code=status.HTTP_201_CREATED)
async def create_org_node(body: OrgNodeCreate, platform: PlatformDep, scope: AdminScope) -> OrgNodePublic:
    """A node one level below its parent, inside your area (a city: whole-network administrators only)."""
    row = await platform.registry.create_org_node(body.code, body.name, body.level, body.parent, scope.area, scope.user)
    return OrgNodePublic.model_validate(row)


@router.get("/{code}", response_model=OrgNodePublic, responses={404: {"description": "not in your area"}})
async def get_org_node(
    code: str = Path(pattern=r"^[A-Za-z0-9-]{1,32}$"), *, platform: PlatformDep, scope: FieldScope
) -> OrgNodePublic:
    return OrgNodePublic.model_validate(await platform.registry.get_org_node(code, scope.area))
