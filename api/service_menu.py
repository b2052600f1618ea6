"""``/api/v1/service-menu``: the menu (菜单式服务) of categories and items; ``/api/v1/service-sites``.

Anyone signed in reads the menu their area sees (the city's and their own district's items); the
administrators and supervisors of an area change what lies inside it.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import Field

from api.deps import PathId, PlatformDep
from api.hardening import StorableBody
from api.service_scope import ManagerReach, ReachDep, StaffReach

router = APIRouter(tags=["service menu"])


class CategoryIn(StorableBody):
    name: str = Field(min_length=1, max_length=100)
    name_en: str = Field("", max_length=100)
    org_node: str | None = Field(None, max_length=64, description="default: the caller's area")


class ItemIn(StorableBody):
    category: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100)
    name_en: str = Field("", max_length=100)
    unit: str = Field(min_length=1, max_length=20, description="份, 次, 小时 …")
    price_fen: int = Field(ge=0, le=10_000_000, description="list price in fen (1/100 yuan)")
    subsidised: bool = False
    subsidy_fen: int = Field(0, ge=0, le=10_000_000, description="government subsidy per unit, fen")
    subsidy_min_age: int = Field(60, ge=0, le=150)
    duration_min: int = Field(60, ge=1, le=24 * 60)
    org_node: str | None = Field(None, max_length=64)
    active: bool = True


class SiteIn(StorableBody):
    name: str = Field(min_length=1, max_length=200)
    type: Literal["canteen", "day_care", "service_station", "care_home", "other"]
    address: str = Field("", max_length=500)
    org_node: str = Field(min_length=1, max_length=64)
    hours: str = Field("", max_length=200, description="e.g. 周一至周五 10:30-13:00")
    capacity: int = Field(0, ge=0, le=100_000)
    provider_id: str | None = Field(None, max_length=64)


@router.get("/api/v1/service-menu")
async def menu(platform: PlatformDep, reach: ReachDep) -> list[dict[str, Any]]:
    """Categories with their items and list prices, as the caller's area sees the menu."""
    return await platform.service_centre.menu.menu(reach)


@router.put("/api/v1/service-menu/categories/{code}")
async def put_category(code: PathId, body: CategoryIn, platform: PlatformDep, reach: ManagerReach) -> dict[str, Any]:
    return await platform.service_centre.menu.put_category({"code": code, **body.model_dump()}, reach)


@router.put("/api/v1/service-menu/items/{item_id}")
async def put_item(item_id: PathId, body: ItemIn, platform: PlatformDep, reach: ManagerReach) -> dict[str, Any]:
    return await platform.service_centre.menu.put_item({"id": item_id, **body.model_dump()}, reach)


@router.get("/api/v1/service-sites")
async def sites(platform: PlatformDep, reach: StaffReach) -> list[dict[str, Any]]:
    """Service sites (长者饭堂, 日间照料中心, 服务站 …) in or above the caller's area."""
    return await platform.service_centre.menu.sites(reach)


@router.put("/api/v1/service-sites/{site_id}")
async def put_site(site_id: PathId, body: SiteIn, platform: PlatformDep, reach: ManagerReach) -> dict[str, Any]:
    if body.provider_id is not None and not await platform.service_centre.menu.providers(reach, body.provider_id):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"no provider {body.provider_id!r} in your area")
    return await platform.service_centre.menu.put_site({"id": site_id, **body.model_dump()}, reach)
