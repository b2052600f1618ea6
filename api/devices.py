"""``/api/v1/devices``: devices with their resident."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import PlatformDep, StaffDep

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


@router.get("")
async def list_devices(platform: PlatformDep, user: StaffDep) -> list[dict[str, Any]]:
    return await platform.registry.devices_with_residents()
