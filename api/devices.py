"""``/api/v1/devices``: register, bind, replace devices and issue their MQTT credentials.

Every change goes through the registry, which keeps the gateway's in-memory device index in step.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from api.deps import Limit, Offset, PlatformDep, page_of
from api.scope import ManagerScope, ScopeDep, StaffScope
from registry.models import (
    DeviceCreate,
    DeviceCreated,
    DeviceCredentials,
    DeviceHistoryEntry,
    DeviceId,
    DevicePublic,
    DeviceReplace,
    DeviceStatus,
    DeviceType,
    DeviceUpdate,
    ObjectId,
    Page,
)

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such device in your area"}}


def _created(row: dict[str, object], password: str | None) -> DeviceCreated:
    credentials = None
    if password:
        device_id = str(row["id"])
        credentials = DeviceCredentials(device_id=device_id, mqtt_username=device_id, mqtt_password=password)
    return DeviceCreated.model_validate({**row, "credentials": credentials})


@router.get("", response_model=Page[DevicePublic])
async def list_devices(
    platform: PlatformDep,
    scope: ScopeDep,
    limit: Limit = 100,
    offset: Offset = 0,
    type: DeviceType | None = None,
    status: DeviceStatus | None = None,
    resident_id: ObjectId | None = None,
    unbound: bool | None = None,
) -> Page[DevicePublic]:
    """Devices in your area with their resident (a family account: their relative's)."""
    rows, total = await platform.registry.list_devices(scope.area, limit, offset, type, status, resident_id, unbound)
    return page_of(DevicePublic, rows, total, limit, offset)


@router.post("", response_model=DeviceCreated, status_code=status.HTTP_201_CREATED)
async def register_device(body: DeviceCreate, platform: PlatformDep, scope: ManagerScope) -> DeviceCreated:
    """Register a device by type, model and id, bound to a resident or kept as stock at a node.

    With ``issue_credentials`` its MQTT password is in the answer, once: the device logs in as its
    own id and may publish only under ``eldercare/v1/<id>/`` and read only its own ``cmd``.
    """
    data = body.model_dump(mode="json", exclude={"issue_credentials"})
    row, password = await platform.registry.register_device(data, scope.area, scope.user, body.issue_credentials)
    return _created(row, password)


@router.get("/{device_id}", response_model=DevicePublic, responses=NOT_FOUND)
async def get_device(device_id: DeviceId, platform: PlatformDep, scope: ScopeDep) -> DevicePublic:
    return DevicePublic.model_validate(await platform.registry.get_device(device_id, scope.area))


@router.patch("/{device_id}", response_model=DevicePublic, responses=NOT_FOUND)
async def update_device(
    device_id: DeviceId, body: DeviceUpdate, platform: PlatformDep, scope: ManagerScope
) -> DevicePublic:
    """Bind (``resident_id``), unbind (``resident_id: null``), move, mark failed or retired."""
    changes = body.model_dump(mode="json", exclude_unset=True)
    row = await platform.registry.update_device(device_id, changes, scope.area, scope.user)
    return DevicePublic.model_validate(row)


@router.post(
    "/{device_id}/replace", response_model=DeviceCreated, status_code=status.HTTP_201_CREATED, responses=NOT_FOUND
)
async def replace_device(
    device_id: DeviceId, body: DeviceReplace, platform: PlatformDep, scope: ManagerScope
) -> DeviceCreated:
    """Swap a failed device for a new one in the same home and place; the old one keeps its history."""
    row, password = await platform.registry.replace_device(
        device_id, body.new_id, body.model, scope.area, scope.user, body.issue_credentials
    )
    return _created(row, password)


@router.post("/{device_id}/credentials", response_model=DeviceCredentials, responses=NOT_FOUND)
async def issue_credentials(device_id: DeviceId, platform: PlatformDep, scope: ManagerScope) -> DeviceCredentials:
    """A new MQTT password (shown once); regenerate the broker files for it to take effect."""
    password = await platform.registry.issue_credentials(device_id, scope.area, scope.user)
    return DeviceCredentials(device_id=device_id, mqtt_username=device_id, mqtt_password=password)


@router.get("/{device_id}/history", response_model=list[DeviceHistoryEntry], responses=NOT_FOUND)
async def device_history(device_id: DeviceId, platform: PlatformDep, scope: StaffScope) -> list[DeviceHistoryEntry]:
    rows = await platform.registry.device_history(device_id, scope.area)
    return [DeviceHistoryEntry.model_validate(row) for row in rows]
