"""``/api/v1/dead-letters``: device messages the gateway could not handle, with their bytes (admins only).

A dead letter may come from any district, or from a device no registry entry names, so only an
administrator of the whole network or of a city (a top-level node) may read them.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel

from api.deps import Limit, PlatformDep
from api.scope import ROOT, AdminScope

router = APIRouter(prefix="/api/v1/dead-letters", tags=["health"])


class DeadLetterPublic(BaseModel):
    id: int
    received_at: datetime
    stored_at: datetime
    lane: str
    topic: str
    device_id: str | None
    reason: str
    error: str
    payload_bytes: int
    payload_base64: str
    payload_text: str
    """The payload as UTF-8 (undecodable bytes replaced), first 2 KiB, for reading at a glance."""


@router.get("", response_model=list[DeadLetterPublic])
async def list_dead_letters(
    platform: PlatformDep,
    scope: AdminScope,
    limit: Limit = 100,
    before_id: Annotated[int | None, Query(ge=1, le=2**62, description="page back from this id")] = None,
) -> list[DeadLetterPublic]:
    """Newest first."""
    if scope.org_path != ROOT and scope.org_path.count("/") > 2:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "dead letters are for network or city administrators")
    rows = await platform.dead_letters.recent(limit, before_id)
    return [
        DeadLetterPublic(
            **{k: row[k] for k in ("id", "received_at", "stored_at", "lane", "topic", "device_id", "reason", "error")},
            payload_bytes=len(row["payload"]),
            payload_base64=base64.b64encode(row["payload"]).decode("ascii"),
            payload_text=bytes(row["payload"][:2048]).decode("utf-8", errors="replace"),
        )
        for row in rows
    ]
