"""The provider's phone pages, opened from a signed link (no login), Chinese first, English beside it.

- The desk's page ``/p/{token}`` (``POST /api/v1/orders/{id}/desk-link``): one order; accept or
  refuse it with a reason, assign a worker from the provider's staff, then pass the worker their link
  (a tap opens a text message to the worker's phone).
- The worker's page ``/w/{token}`` (``POST /api/v1/orders/{id}/worker-link``): one order; check in at
  the home, then complete. A link stops working for a worker the order was taken from.

A link stops working once its holder's account is deactivated, and once the provider is inactive
(except a worker's link to a visit already checked in: they may complete it).

Once the order is closed a page shows its state only (no name, address or phone) and takes no more
steps.
"""

from __future__ import annotations

import html
import urllib.parse
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, status
from fastapi.responses import HTMLResponse
from pydantic import AfterValidator, Field

from api.deps import PlatformDep
from api.hardening import StorableBody, storable
from api.outward import local, page
from api.service_scope import ProviderReach
from servicecentre import Forbidden, Invalid, NotFound, Order, OrderState, Reach, ServiceCentreError
from servicecentre.model import DESK, WORKER, LinkPage
from servicecentre.orders import resident_cards

router = APIRouter(tags=["service orders"])

TITLE = ("12349 服务工单", "service order")
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
WORKER_STEPS = {
    "check_in": (OrderState.CHECKED_IN, "已到达，签到 · Checked in at the home"),
    "complete": (OrderState.COMPLETED, "服务完成 · Service completed"),
}
DESK_STEPS = {
    "accept": (OrderState.ACCEPTED, "接单 · Accept the order"),
    "refuse": (OrderState.REFUSED, "拒单 · Refuse the order"),
    "assign": (OrderState.ASSIGNED, "派工 · Assign"),
}
OFFERED = {
    OrderState.REQUESTED: ("accept", "refuse"),
    OrderState.ACCEPTED: ("assign",),
    OrderState.ASSIGNED: ("check_in", "assign"),
    OrderState.CHECKED_IN: ("complete",),
}
"""The steps each state offers; a page shows those of its own kind."""


class LinkIn(StorableBody):
    username: str | None = Field(
        None, max_length=64, description="whose link (the provider's staff); default: the caller"
    )


def _error(error: ServiceCentreError) -> HTMLResponse:
    code = status.HTTP_409_CONFLICT
    if isinstance(error, Forbidden | NotFound):
        code = status.HTTP_403_FORBIDDEN
    elif isinstance(error, Invalid):
        code = status.HTTP_422_UNPROCESSABLE_CONTENT
    return page(*TITLE, f"<p>{html.escape(str(error))}</p>", code)


def _row(label: str, value: object) -> str:
    return f"<p><span class=muted>{html.escape(label)}</span><br>{html.escape(str(value))}</p>"


def _button(token: str, page_path: str, action: str, label: str, extra: str = "", alt: bool = False) -> str:
    return (
        f'<form method="post" action="/{page_path}/{html.escape(token)}"><input type="hidden" name="action"'
        f' value="{action}">{extra}<button{" class=alt" if alt else ""}>{html.escape(label)}</button></form>'
    )


async def _order_card(platform: PlatformDep, order: Order) -> str:
    centre = platform.service_centre
    cards = await resident_cards(centre.ctx, [order.resident_id])
    resident = cards.get(order.resident_id) or {"name": "", "address": "", "phone": ""}
    names = await centre.menu.item_names([order.item_id])
    name, name_en = names.get(order.item_id, (order.item_id, ""))
    rows = [
        ("服务 · service", f"{name}{f' · {name_en}' if name_en else ''} × {order.quantity}"),
        ("时间 · time", local(order.scheduled_at, centre.ctx.config.utc_offset_min)),
        ("老人 · resident", resident["name"]),
        ("地址 · address", resident["address"]),
        ("电话 · phone", resident["phone"]),
        ("老人自付 · resident pays", f"¥{order.resident_fen / 100:.2f}"),
        ("状态 · state", STATE_LABELS[order.state]),
    ]
    if order.worker:
        rows.append(("员工 · worker", order.worker))
    return "".join(_row(label, value) for label, value in rows)


async def _desk_steps(platform: PlatformDep, order: Order, token: str) -> str:
    centre = platform.service_centre
    body = ""
    for action in OFFERED.get(order.state, ()):
        if action == "accept":
            body += _button(token, DESK.path, "accept", DESK_STEPS["accept"][1])
        elif action == "refuse":
            reason = '<textarea name="reason" required placeholder="原因 · reason"></textarea>'
            body += _button(token, DESK.path, "refuse", DESK_STEPS["refuse"][1], reason, alt=True)
        elif action == "assign":
            staff = await centre.menu.staff(order.provider_id, working=True)
            options = "".join(
                f'<option value="{html.escape(s["username"])}"{" selected" if s["username"] == order.worker else ""}>'
                f"{html.escape(s['name'] or s['username'])} ({html.escape(s['username'])})</option>"
                for s in staff
            )
            label = DESK_STEPS["assign"][1] if order.worker is None else "改派 · Assign to another worker"
            body += _button(token, DESK.path, "assign", label, f'<select name="worker">{options}</select>')
    if order.worker and order.state in (OrderState.ASSIGNED, OrderState.CHECKED_IN):
        working = {s["username"]: s for s in await centre.menu.staff(order.provider_id, working=True)}
        if order.worker not in working:
            return body + _row(
                "员工的链接 · the worker's link",
                "该员工账号已停用，请改派 · their account is deactivated: assign another worker",
            )
        url = await centre.worker_link(order.id, order.worker)
        phone = working[order.worker]["phone"]
        body += (
            _row("员工的链接 · the worker's link", "") + f'<p><a href="{html.escape(url)}">{html.escape(url)}</a></p>'
        )
        if phone:
            sms = f"sms:{urllib.parse.quote(phone)}?body={urllib.parse.quote(url)}"
            body += f'<p><a href="{html.escape(sms)}">发短信给员工 · text it to the worker</a></p>'
    return body


def _worker_steps(order: Order, token: str) -> str:
    return "".join(
        _button(token, WORKER.path, action, WORKER_STEPS[action][1])
        for action in OFFERED.get(order.state, ())
        if action in WORKER_STEPS
    )


async def _render(platform: PlatformDep, order: Order, token: str, link: LinkPage, done: str = "") -> HTMLResponse:
    if not order.is_open:
        return page(*TITLE, f"<p>{html.escape(STATE_LABELS[order.state])}. 谢谢 · Thank you.</p>")
    body = f"<p><b>{html.escape(done)}</b></p>" if done else ""
    body += await _order_card(platform, order)
    body += await _desk_steps(platform, order, token) if link is DESK else _worker_steps(order, token)
    return page(*TITLE, body)


async def _linked(platform: PlatformDep, token: str, link: LinkPage) -> tuple[Order, Reach]:
    """The link's order; a worker's link only while its worker is the one assigned to it."""
    order_id, reach = await platform.service_centre.verify_link(token, link)
    order = await platform.service_centre.orders.get(order_id, reach)
    if link is WORKER and order.is_open and f"worker:{order.worker}" != reach.actor:
        raise Forbidden("this order is now assigned to another worker · 该工单已改派他人")
    return order, reach


async def _show(platform: PlatformDep, token: str, link: LinkPage) -> HTMLResponse:
    try:
        order, _ = await _linked(platform, token, link)
    except ServiceCentreError as error:
        return _error(error)
    return await _render(platform, order, token, link)


async def _step(
    platform: PlatformDep, token: str, link: LinkPage, action: str, reason: str = "", worker: str = ""
) -> HTMLResponse:
    steps = DESK_STEPS if link is DESK else WORKER_STEPS
    if action not in steps:
        return page("12349", "12349", "<p>未知操作 · unknown action</p>", status.HTTP_422_UNPROCESSABLE_CONTENT)
    try:
        order, reach = await _linked(platform, token, link)
        order = await platform.service_centre.orders.move(
            order.id, steps[action][0], reach, reason=reason, worker=worker or None
        )  # a move the order cannot make raises the reason (409)
    except ServiceCentreError as error:
        return _error(error)
    return await _render(platform, order, token, link, done="已记录 · recorded")


@router.get("/w/{token}", response_class=HTMLResponse, include_in_schema=False)
async def worker_page(token: str, platform: PlatformDep) -> HTMLResponse:
    return await _show(platform, token, WORKER)


@router.post("/w/{token}", response_class=HTMLResponse, include_in_schema=False)
async def worker_step(token: str, platform: PlatformDep, action: Annotated[str, Form()] = "") -> HTMLResponse:
    return await _step(platform, token, WORKER, action)


@router.get("/p/{token}", response_class=HTMLResponse, include_in_schema=False)
async def desk_page(token: str, platform: PlatformDep) -> HTMLResponse:
    return await _show(platform, token, DESK)


@router.post("/p/{token}", response_class=HTMLResponse, include_in_schema=False)
async def desk_step(
    token: str,
    platform: PlatformDep,
    action: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=500), AfterValidator(storable)] = "",
    worker: Annotated[str, Form(max_length=64), AfterValidator(storable)] = "",
) -> HTMLResponse:
    return await _step(platform, token, DESK, action, reason, worker)


@router.post("/api/v1/orders/{order_id}/desk-link", tags=["service orders"])
async def desk_link(
    order_id: uuid.UUID, platform: PlatformDep, reach: ProviderReach, body: LinkIn | None = None
) -> dict[str, str]:
    """The signed phone-page link of one order for the provider's desk (no login; it expires): for a
    provider's staff their own, for the centre that of ``username`` on the order's provider's staff."""
    centre = platform.service_centre
    order = await centre.orders.get(order_id, reach)
    username = (body.username if body else None) or (reach.actor if reach.is_provider else None)
    if username is None:
        raise Invalid("name the provider's staff member the link is for (username)")
    if await centre.menu.provider_of(username) != order.provider_id:
        raise NotFound(f"{username!r} is not on this order's provider's staff")
    return {"username": username, "url": await centre.desk_link(order.id, username)}
