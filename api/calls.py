"""``/api/v1/calls``: the hotline's call log, who is calling, and an emergency reported by phone.

For the centre's console staff, in their area. ``GET /api/v1/calls/caller?number=…`` is the call
panel: the residents with that number, their open alerts and orders; ``GET …/{call_id}`` a call
with the order and the alert it produced. ``POST …/{call_id}/alert``
raises the call's emergency as an alert (kind ``phone``) that runs the same lifecycle as any other.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from api.deps import PlatformDep
from api.hardening import StorableBody
from api.orders import order_views
from api.service_scope import CentreReach
from api.views import alert_views
from registry.area import Area
from registry.dates import Moment
from servicecentre import OrderState

router = APIRouter(prefix="/api/v1/calls", tags=["hotline calls"])

Category = Literal["emergency", "service_request", "consultation", "complaint", "care_call"]


class CallIn(StorableBody):
    direction: Literal["inbound", "outbound"] = "inbound"
    number: str = Field("", max_length=40)
    resident_id: str | None = Field(None, max_length=64, description="omitted: matched by the number")
    category: Category
    started_at: Moment | None = None
    answered_at: Moment | None = None
    ended_at: Moment | None = None
    notes: str = Field("", max_length=4000)


class CallChange(StorableBody):
    ended_at: Moment | None = None
    notes: str | None = Field(None, max_length=4000)
    category: Category | None = None
    order_id: uuid.UUID | None = None


class EmergencyIn(StorableBody):
    note: str = Field("", max_length=500)


@router.get("")
async def list_calls(
    platform: PlatformDep,
    reach: CentreReach,
    start: Annotated[Moment | None, Query(alias="from")] = None,
    resident_id: str | None = Query(None, max_length=64),
    limit: int = Query(200, ge=1, le=1000),
) -> list[dict[str, Any]]:
    return await platform.service_centre.calls.list(reach, start, resident_id, limit)


@router.get("/caller")
async def caller(
    platform: PlatformDep, reach: CentreReach, number: str = Query(min_length=1, max_length=40)
) -> dict[str, Any]:
    """Who is calling: residents in the caller's area with this number, their open alerts and orders."""
    centre = platform.service_centre
    residents = await centre.calls.match(number, reach)
    cards = []
    for resident in residents:
        scope = Area(reach.area.org_path, None)
        alerts = [a for a in await platform.alerts.resident_history(resident["id"], scope, 20) if a.is_open]
        orders = await centre.orders.board(
            reach, [OrderState(s) for s in ("requested", "accepted", "assigned", "checked_in")], None, None,
            resident["id"], 20,
        )  # fmt: skip
        cards.append(
            {
                **resident,
                "open_alerts": await alert_views(platform.registry, alerts, platform.alerts.clock()),
                "open_orders": await order_views(platform, orders),
            }
        )
    return {"number": number, "residents": cards}


@router.post("", status_code=201)
async def log_call(body: CallIn, platform: PlatformDep, reach: CentreReach) -> dict[str, Any]:
    return await platform.service_centre.calls.log(body.model_dump(), reach)


@router.get("/{call_id}")
async def get_call(call_id: uuid.UUID, platform: PlatformDep, reach: CentreReach) -> dict[str, Any]:
    """The call with what it produced: its order as the board shows it, its alert as the queue does."""
    centre = platform.service_centre
    call = await centre.calls.get(call_id, reach)
    order = await centre.orders.get(uuid.UUID(call["order_id"]), reach) if call["order_id"] else None
    alert = await platform.alerts.get(uuid.UUID(call["alert_id"]), reach.area) if call["alert_id"] else None
    call["order"] = (await order_views(platform, [order]))[0] if order else None
    call["alert"] = (await alert_views(platform.registry, [alert], platform.alerts.clock()))[0] if alert else None
    return call


@router.patch("/{call_id}")
async def update_call(
    call_id: uuid.UUID, body: CallChange, platform: PlatformDep, reach: CentreReach
) -> dict[str, Any]:
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    return await platform.service_centre.calls.update(call_id, changes, reach)


@router.post("/{call_id}/alert")
async def raise_alert(
    call_id: uuid.UUID, body: EmergencyIn, platform: PlatformDep, reach: CentreReach
) -> dict[str, Any]:
    """The caller reports an emergency: raise it as an alert for the call's resident (idempotent)."""
    return await platform.service_centre.calls.raise_emergency(call_id, reach, body.note)
