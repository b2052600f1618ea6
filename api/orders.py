"""``/api/v1/orders``: the order board, placing an order, and each step of its life.

Reads are in the caller's reach (their area; a provider's staff: their provider's orders only); an
order outside it is 404. The provider's steps (accept, refuse, assign, check in, complete) are for the
provider's staff or the centre; cancelling and rating for the centre, community workers and the family.
A move the order cannot make is 409 with the reason.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from api.deps import PlatformDep
from api.hardening import StorableBody
from api.service_scope import ProviderReach, ReachDep, RequesterReach
from api.services import Services
from registry.dates import Moment
from servicecentre import Channel, Conflict, NotFound, Order, OrderRequest, OrderState, Reach
from servicecentre.orders import resident_cards

router = APIRouter(prefix="/api/v1/orders", tags=["service orders"])


class OrderIn(StorableBody):
    resident_id: str = Field(min_length=1, max_length=64)
    item_id: str = Field(min_length=1, max_length=64)
    provider_id: str = Field(min_length=1, max_length=64)
    scheduled_at: Moment
    quantity: int = Field(1, ge=1, le=100)
    channel: Literal["phone", "family", "community"] = "phone"
    notes: str = Field("", max_length=2000)
    call_id: uuid.UUID | None = None


class ReasonIn(StorableBody):
    reason: str = Field(min_length=1, max_length=500)


class AssignIn(StorableBody):
    worker: str = Field(min_length=1, max_length=64, description="a username on the provider's staff")


class RateIn(StorableBody):
    rating: int = Field(ge=1, le=5)
    note: str = Field("", max_length=2000)


async def order_views(platform: Services, orders: list[Order]) -> list[dict[str, Any]]:
    cards = await resident_cards(platform.service_centre.ctx, [o.resident_id for o in orders])
    return [{**order.to_json(), "resident": cards.get(order.resident_id)} for order in orders]


@router.get("")
async def board(
    platform: PlatformDep,
    reach: ReachDep,
    state: Annotated[list[OrderState] | None, Query(description="only these states")] = None,
    start: Annotated[Moment | None, Query(alias="from")] = None,
    end: Annotated[Moment | None, Query(alias="to")] = None,
    resident_id: str | None = Query(None, max_length=64),
    limit: int = Query(200, ge=1, le=1000),
    area: str | None = Query(None, max_length=64, description="an org node code: the board of that area"),
) -> list[dict[str, Any]]:
    """The order board of the caller's area, or of an area inside it (a provider's work list), by
    scheduled time."""
    within = None
    if area is not None:
        within = await platform.registry.org_path(area)
        if within is None or not reach.area.covers(within) or reach.area.resident_id is not None:
            raise NotFound(f"no org node {area}")
    orders = await platform.service_centre.orders.board(reach, state, start, end, resident_id, limit, within)
    return await order_views(platform, orders)


@router.post("", status_code=201)
async def place(body: OrderIn, platform: PlatformDep, reach: RequesterReach) -> dict[str, Any]:
    """Place an order for a resident in the caller's area, priced with its subsidy split."""
    channel = Channel.FAMILY if reach.area.resident_id is not None else Channel(body.channel)
    request = OrderRequest(
        body.resident_id, body.item_id, body.provider_id, body.scheduled_at, body.quantity, channel, body.notes,
        body.call_id,
    )  # fmt: skip
    order = await platform.service_centre.orders.create(request, reach)
    return (await order_views(platform, [order]))[0]


@router.get("/{order_id}")
async def get_order(order_id: uuid.UUID, platform: PlatformDep, reach: ReachDep) -> dict[str, Any]:
    order = await platform.service_centre.orders.get(order_id, reach)
    view = (await order_views(platform, [order]))[0]
    view["audit"] = await platform.service_centre.orders.audit_trail(order_id, reach)
    view["deadlines"] = await platform.service_centre.orders.pending_timers(order_id)
    return view


async def _move(platform: Services, order_id: uuid.UUID, to: OrderState, reach: Reach, **kw: Any) -> dict[str, Any]:
    order = await platform.service_centre.orders.move(order_id, to, reach, **kw)
    return (await order_views(platform, [order]))[0]


@router.post("/{order_id}/accept")
async def accept(order_id: uuid.UUID, platform: PlatformDep, reach: ProviderReach) -> dict[str, Any]:
    return await _move(platform, order_id, OrderState.ACCEPTED, reach)


@router.post("/{order_id}/refuse")
async def refuse(order_id: uuid.UUID, body: ReasonIn, platform: PlatformDep, reach: ProviderReach) -> dict[str, Any]:
    return await _move(platform, order_id, OrderState.REFUSED, reach, reason=body.reason)


@router.post("/{order_id}/assign")
async def assign(order_id: uuid.UUID, body: AssignIn, platform: PlatformDep, reach: ProviderReach) -> dict[str, Any]:
    return await _move(platform, order_id, OrderState.ASSIGNED, reach, worker=body.worker)


@router.post("/{order_id}/check-in")
async def check_in(order_id: uuid.UUID, platform: PlatformDep, reach: ProviderReach) -> dict[str, Any]:
    return await _move(platform, order_id, OrderState.CHECKED_IN, reach)


@router.post("/{order_id}/complete")
async def complete(order_id: uuid.UUID, platform: PlatformDep, reach: ProviderReach) -> dict[str, Any]:
    return await _move(platform, order_id, OrderState.COMPLETED, reach)


@router.post("/{order_id}/rate")
async def rate(order_id: uuid.UUID, body: RateIn, platform: PlatformDep, reach: RequesterReach) -> dict[str, Any]:
    return await _move(platform, order_id, OrderState.RATED, reach, rating=body.rating, note=body.note)


@router.post("/{order_id}/cancel")
async def cancel(order_id: uuid.UUID, body: ReasonIn, platform: PlatformDep, reach: RequesterReach) -> dict[str, Any]:
    return await _move(platform, order_id, OrderState.CANCELLED, reach, reason=body.reason)


@router.post("/{order_id}/worker-link")
async def worker_link(order_id: uuid.UUID, platform: PlatformDep, reach: ProviderReach) -> dict[str, Any]:
    """The signed phone-page link for the order's assigned worker (no login; it expires)."""
    order = await platform.service_centre.orders.get(order_id, reach)
    if order.worker is None:
        raise Conflict("assign a worker first")
    url = await platform.service_centre.worker_link(order.id, order.worker)
    return {"worker": order.worker, "url": url}
