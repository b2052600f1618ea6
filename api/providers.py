"""``/api/v1/providers``: the provider directory (服务商): licence, areas served, offers, staff, rating.

Staff read the providers in or above their area (a provider's staff: their own); administrators and
supervisors register providers in their area, set what each offers at which price, and name its staff.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from api.deps import PathId, PlatformDep
from api.hardening import StorableBody
from api.service_scope import ManagerReach, StaffReach

router = APIRouter(prefix="/api/v1/providers", tags=["providers"])


class ProviderIn(StorableBody):
    name: str = Field(min_length=1, max_length=200)
    licence: str = Field("", max_length=100)
    contact: str = Field("", max_length=100)
    phone: str = Field("", max_length=40)
    org_node: str | None = Field(None, max_length=64, description="where it is registered (default: your area)")
    areas: list[str] = Field(default_factory=list, max_length=200, description="org node codes served")
    active: bool = True


class OfferIn(StorableBody):
    price_fen: int = Field(ge=0, le=10_000_000)


class StaffIn(StorableBody):
    name: str = Field("", max_length=100)
    phone: str = Field("", max_length=40)


@router.get("")
async def directory(platform: PlatformDep, reach: StaffReach) -> list[dict[str, Any]]:
    return await platform.service_centre.menu.providers(reach)


@router.get("/{provider_id}")
async def get_provider(provider_id: PathId, platform: PlatformDep, reach: StaffReach) -> dict[str, Any]:
    provider = await platform.service_centre.menu.provider(provider_id, reach)
    provider["staff_list"] = await platform.service_centre.menu.staff(provider_id)
    return provider


@router.put("/{provider_id}")
async def put_provider(
    provider_id: PathId, body: ProviderIn, platform: PlatformDep, reach: ManagerReach
) -> dict[str, Any]:
    return await platform.service_centre.menu.put_provider({"id": provider_id, **body.model_dump()}, reach)


@router.put("/{provider_id}/offers/{item_id}")
async def offer(
    provider_id: PathId, item_id: PathId, body: OfferIn, platform: PlatformDep, reach: ManagerReach
) -> dict[str, Any]:
    return await platform.service_centre.menu.offer(provider_id, item_id, body.price_fen, reach)


@router.put("/{provider_id}/staff/{username}")
async def add_staff(
    provider_id: PathId, username: PathId, body: StaffIn, platform: PlatformDep, reach: ManagerReach
) -> dict[str, Any]:
    """Put a worker or dispatcher on the provider's staff (their account has the ``provider`` role)."""
    return await platform.service_centre.menu.add_staff(provider_id, username, reach, body.name, body.phone)
