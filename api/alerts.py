"""``/api/v1/alerts``: open alerts and acknowledging them."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from alerting import AlertNotFound, IllegalTransition
from api.deps import PlatformDep, StaffDep
from api.views import alert_views

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


class AckRequest(BaseModel):
    note: str = Field("", max_length=2000)


@router.get("")
async def list_open_alerts(
    platform: PlatformDep, user: StaffDep, limit: int = Query(200, ge=1, le=1000)
) -> list[dict[str, Any]]:
    """Open alerts, newest first, each with its resident card."""
    return await alert_views(platform.registry, await platform.alerts.open_alerts(limit))


@router.post("/{alert_id}/ack")
async def acknowledge(
    alert_id: uuid.UUID, platform: PlatformDep, user: StaffDep, body: AckRequest | None = None
) -> dict[str, Any]:
    try:
        alert = await platform.alerts.acknowledge(alert_id, user.username, body.note if body else "")
    except AlertNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}") from None
    except IllegalTransition as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    return (await alert_views(platform.registry, [alert]))[0]
