"""The provider's worker's phone page, ``/w/{token}``: one order, check in at the home, then complete.

The link is signed for one worker and one order (``POST /api/v1/orders/{id}/worker-link``); no
login. Chinese first, English beside it. Once the order is closed the page shows its state only (no
name, address or phone) and takes no more steps.
"""

from __future__ import annotations

import html
from datetime import UTC, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, status
from fastapi.responses import HTMLResponse

from api.deps import PlatformDep
from api.outward import page
from servicecentre import Forbidden, NotFound, Order, OrderState, Reach, ServiceCentreError
from servicecentre.orders import resident_cards

router = APIRouter(tags=["service orders"])

STEPS = {
    OrderState.ASSIGNED: ("check_in", "已到达，签到 · Checked in at the home", OrderState.CHECKED_IN),
    OrderState.CHECKED_IN: ("complete", "服务完成 · Service completed", OrderState.COMPLETED),
}
STATE_LABELS = {
    OrderState.REQUESTED: "待接单 · requested",
    OrderState.ACCEPTED: "已接单 · accepted",
    OrderState.ASSIGNED: "已派工 · assigned",
    OrderState.CHECKED_IN: "服务中 · checked in",
    OrderState.COMPLETED: "已完成 · completed",
    OrderState.RATED: "已评价 · rated",
    OrderState.CANCELLED: "已取消 · cancelled",
    OrderState.REFUSED: "已拒单 · refused",
}


def _error(error: ServiceCentreError) -> HTMLResponse:
    code = status.HTTP_403_FORBIDDEN if isinstance(error, Forbidden | NotFound) else status.HTTP_409_CONFLICT
    return page("12349 服务工单", "service order", f"<p>{html.escape(str(error))}</p>", code)


async def _render(platform: PlatformDep, order: Order, token: str, done: str = "") -> HTMLResponse:
    state = STATE_LABELS[order.state]
    if not order.is_open:
        return page("12349 服务工单", "service order", f"<p>{html.escape(state)}. 谢谢 · Thank you.</p>")
    cards = await resident_cards(platform.service_centre.ctx, [order.resident_id])
    resident = cards.get(order.resident_id) or {"name": "", "address": "", "phone": ""}
    offset = timedelta(minutes=platform.service_centre.ctx.config.utc_offset_min)
    local = (order.scheduled_at.astimezone(UTC) + offset).strftime("%Y-%m-%d %H:%M")
    rows = [
        ("服务 · service", f"{order.item_id} × {order.quantity}"),
        ("时间 · time", local),
        ("老人 · resident", resident["name"]),
        ("地址 · address", resident["address"]),
        ("电话 · phone", resident["phone"]),
        ("老人自付 · resident pays", f"¥{order.resident_fen / 100:.2f}"),
        ("状态 · state", state),
    ]
    body = "".join(f"<p><span class=muted>{html.escape(k)}</span><br>{html.escape(str(v))}</p>" for k, v in rows)
    if done:
        body = f"<p><b>{html.escape(done)}</b></p>" + body
    step = STEPS.get(order.state)
    if step is not None:
        body += (
            f'<form method="post" action="/w/{html.escape(token)}"><input type="hidden" name="action"'
            f' value="{step[0]}"><button>{html.escape(step[1])}</button></form>'
        )
    return page("12349 服务工单", "service order", body)


async def _linked(platform: PlatformDep, token: str) -> tuple[Order, Reach]:
    """The link's order, if its worker is still the one assigned to it."""
    order_id, reach = await platform.service_centre.verify_link(token)
    order = await platform.service_centre.orders.get(order_id, reach)
    if order.is_open and f"worker:{order.worker}" != reach.actor:
        raise Forbidden("this order is now assigned to another worker · 该工单已改派他人")
    return order, reach


@router.get("/w/{token}", response_class=HTMLResponse, include_in_schema=False)
async def worker_page(token: str, platform: PlatformDep) -> HTMLResponse:
    try:
        order, _ = await _linked(platform, token)
    except ServiceCentreError as error:
        return _error(error)
    return await _render(platform, order, token)


@router.post("/w/{token}", response_class=HTMLResponse, include_in_schema=False)
async def worker_step(token: str, platform: PlatformDep, action: Annotated[str, Form()] = "") -> HTMLResponse:
    centre = platform.service_centre
    try:
        order, reach = await _linked(platform, token)
        order_id = order.id
        step = STEPS.get(order.state)
        if step is None or step[0] != action:
            wanted = {"check_in": OrderState.CHECKED_IN, "complete": OrderState.COMPLETED}.get(action)
            if wanted is None:
                return page("12349", "12349", "<p>未知操作 · unknown action</p>", status.HTTP_422_UNPROCESSABLE_CONTENT)
            order = await centre.orders.move(order_id, wanted, reach)  # raises the reason (409)
        else:
            order = await centre.orders.move(order_id, step[2], reach)
    except ServiceCentreError as error:
        return _error(error)
    return await _render(platform, order, token, done="已记录 · recorded")
