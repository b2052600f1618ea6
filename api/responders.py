"""Responders: the register (``/api/v1/responders``) and their phone page (``/r/{token}``).

The link a responder receives is signed for one dispatch of one alert: accept or decline, then
"arrived", then the outcome. No login needed; it expires with the link, and once the alert is
closed the page shows only the outcome (no name, address or phone) and takes no more answers.
"""

from __future__ import annotations

import html
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from pydantic import AfterValidator, Field

from alerting import AlertState, Outcome
from alerting.responders import RESPONDER_KINDS
from api.deps import PlatformDep
from api.hardening import StorableBody, storable
from api.outward import (
    OUTCOME_WORDS,
    alert_page,
    both,
    call_us,
    error_page,
    hotline,
    open_link,
    page,
    raised_sentence,
    state_words,
    words,
)
from api.scope import PolicyScope, ScopeDep, area_path
from registry.errors import DomainError, NotFound
from registry.roles import STAFF

router = APIRouter(tags=["responders"])

DISPATCH_WORDS: dict[str, tuple[str, str]] = {
    "offered": ("请确认您能否前往", "please say whether you can go"),
    "accepted": ("您已接受，请前往", "you accepted: please go"),
    "arrived": ("您已到达", "you have arrived"),
    "declined": ("您已拒绝", "you declined"),
    "expired": ("已转派他人", "offered to someone else"),
    "recalled": ("已撤回", "called off"),
    "done": ("已完成", "done"),
}


class ResponderIn(StorableBody):
    name: str = Field(min_length=1, max_length=100)
    kind: str = Field(description=" | ".join(RESPONDER_KINDS))
    org_node: str
    phone: str = ""
    available: bool = True
    rota: list[dict[str, Any]] = Field(
        default_factory=list, description='[{"days":[0,1,2,3,4],"start":"08:00","end":"20:00"}]'
    )
    notify_urls: list[str] = Field(default_factory=list, description="Apprise URLs the dispatch link is sent to")


class Availability(StorableBody):
    available: bool


@router.get("/api/v1/responders")
async def list_responders(platform: PlatformDep, scope: ScopeDep) -> list[dict[str, Any]]:
    if scope.resident_id is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "family accounts do not see responders")
    return [r.to_json() for r in await platform.alerts.responders(scope)]


@router.put("/api/v1/responders/{username}")
async def put_responder(username: str, body: ResponderIn, platform: PlatformDep, scope: PolicyScope) -> dict[str, Any]:
    """Add or change a responder; their org node must lie in the caller's area."""
    path = await area_path(platform.registry, scope, body.org_node)
    existing = await platform.alerts.responder(username)
    if existing is not None:
        scope.require(existing.org_path, missing=f"no responder {username}")
    responder = await platform.alerts.upsert_responder({**body.model_dump(), "username": username}, path)
    return responder.to_json()


@router.post("/api/v1/responders/{username}/availability")
async def set_availability(username: str, body: Availability, platform: PlatformDep, scope: ScopeDep) -> dict[str, Any]:
    """Responders set their own availability; supervisors and operators set anyone's in their area."""
    existing = await platform.alerts.responder(username)
    own = scope.user.username == username
    if existing is None:
        raise NotFound(f"no responder {username}")
    if not own:
        scope.require(existing.org_path, missing=f"no responder {username}")
    if not own and scope.user.role not in STAFF:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only staff change another responder's availability")
    return (await platform.alerts.set_availability(username, body.available)).to_json()


@router.get("/r/{token}", response_class=HTMLResponse, include_in_schema=False)
async def responder_page(token: str, request: Request, platform: PlatformDep) -> HTMLResponse:
    opened = await open_link(request, platform, token, "responder")
    if isinstance(opened, HTMLResponse):
        return opened
    claims, alert = opened
    number = hotline(request)
    dispatches = await platform.alerts.dispatches(alert.id)
    mine = next((d for d in dispatches if d["id"] == claims.extra.get("d")), None)
    resident = await platform.registry.resident(alert.resident_id)
    who = resident.name if resident else alert.resident_id
    card = (
        f'<div class="card"><p><b>{html.escape(resident.name)}</b></p><p>{html.escape(resident.address)}</p>'
        f'<p><a href="tel:{html.escape(resident.phone)}">{html.escape(resident.phone)}</a></p></div>'
        if resident
        else ""
    )
    state_zh, state_en = state_words(alert)
    mine_zh, mine_en = words(DISPATCH_WORDS, mine["status"]) if mine else ("这次派单已不是您的", "no longer yours")
    actions = ""
    if mine and mine["status"] == "offered":
        actions = (
            '<button name="action" value="accept">我去 <small lang="en">Accept: I am going</small></button>'
            '<button name="action" value="decline" class="alt">去不了 <small lang="en">Decline</small></button>'
        )
    elif mine and mine["status"] == "accepted" and alert.state is AlertState.DISPATCHED:
        actions = '<button name="action" value="arrive">我已到达 <small lang="en">I have arrived</small></button>'
    elif mine and mine["status"] == "arrived" and alert.state is AlertState.ON_SCENE:
        options = "".join(
            f'<option value="{o.value}">{html.escape(" / ".join(words(OUTCOME_WORDS, o.value)))}</option>'
            for o in Outcome
        )
        actions = (
            '<p class="muted">结果 · Outcome</p><select name="outcome" required>'
            '<option value="" selected disabled>请选择 / choose one</option>'
            f'{options}</select><button name="action" value="resolve">结束这次呼叫 <small lang="en">Close the call'
            "</small></button>"
        )
    body = (
        raised_sentence(alert, who, platform)
        + both(f"现在：{state_zh}；您：{mine_zh}。", f"Now: {state_en}; you: {mine_en}.")
        + card
        + f'<form method="post">{actions}<p class="muted">备注 · Note</p><textarea name="note" rows="2"></textarea>'
        "</form>" + call_us(number)
    )
    return alert_page(alert, who, body)


@router.post("/r/{token}", response_class=HTMLResponse, include_in_schema=False)
async def responder_action(
    token: str,
    request: Request,
    platform: PlatformDep,
    action: Annotated[str, Form()],
    note: Annotated[str, Form(max_length=1000), AfterValidator(storable)] = "",
    outcome: Annotated[str, Form()] = "",
) -> HTMLResponse:
    number = hotline(request)
    try:
        claims = await platform.alerts.verify_link(token, "responder")
        alert_id = uuid.UUID(claims.alert_id)
        who = claims.subject
        actor = f"responder:{who}"
        closed = await platform.alerts.get(alert_id)
        if not closed.is_open:
            body = both("这次呼叫已经结束，未作记录。", "This call is already closed; nothing was recorded.")
            return page("呼叫已结束", "Call closed", body + call_us(number), status.HTTP_409_CONFLICT)
        if action in ("accept", "decline"):
            alert = await platform.alerts.respond(alert_id, who, int(claims.extra["d"]), action == "accept", note)
        elif action == "arrive":
            alert = await platform.alerts.arrive(alert_id, actor, note, responder=who)
        elif action == "resolve":
            current = await platform.alerts.get(alert_id)
            if current.responder != who:
                body = both("这次呼叫已不归您处理。", "This call is no longer yours.")
                return page("无法完成", "Not done", body + call_us(number), status.HTTP_409_CONFLICT)
            if not outcome:
                body = both("请先选择结果。", "Please choose the outcome first.")
                return page("请选择结果", "Choose the outcome", body + '<p><a href="">返回 · Back</a></p>', 422)
            alert = await platform.alerts.resolve(alert_id, actor, outcome, note)
        else:
            return page("无法完成", "Not done", both("未知操作。", "Unknown action."), 422)
    except DomainError as error:
        return error_page(error, number)
    state_zh, state_en = state_words(alert)
    body = both(f"已记录。现在：{state_zh}。", f"Recorded. Now: {state_en}.") + '<p><a href="">返回 · Back</a></p>'
    return page("谢谢", "Thank you", body)
