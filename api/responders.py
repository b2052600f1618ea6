"""Responders: the register (``/api/v1/responders``) and their phone page (``/r/{token}``).

The link a responder receives is signed for one dispatch of one alert: accept or decline, then
"arrived", then the outcome. No login needed; it expires with the link, and once the alert is
closed the page shows only the outcome (no name, address or phone) and takes no more answers.
"""

from __future__ import annotations

import html
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from alerting import AlertingError, AlertState, Outcome
from alerting.model import closed_summary
from alerting.responders import RESPONDER_KINDS
from api.alerts import ManagerScope, area_path, domain_errors
from api.deps import PlatformDep
from api.family import _error_page, closed_page, page
from api.scope import ScopeDep

router = APIRouter(tags=["responders"])

OUTCOME_LABELS = {
    Outcome.EMERGENCY_HANDLED: "Emergency handled",
    Outcome.HOSPITAL: "Taken to hospital",
    Outcome.RESIDENT_FINE: "Resident is fine",
    Outcome.FALSE_ALARM: "False alarm",
    Outcome.DEVICE_FAULT: "Device fault",
}


class ResponderIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    kind: str = Field(description=" | ".join(RESPONDER_KINDS))
    org_node: str
    phone: str = ""
    available: bool = True
    rota: list[dict[str, Any]] = Field(
        default_factory=list, description='[{"days":[0,1,2,3,4],"start":"08:00","end":"20:00"}]'
    )
    notify_urls: list[str] = Field(default_factory=list, description="Apprise URLs the dispatch link is sent to")


class Availability(BaseModel):
    available: bool


@router.get("/api/v1/responders")
async def list_responders(platform: PlatformDep, scope: ScopeDep) -> list[dict[str, Any]]:
    if scope.resident_id is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "family accounts do not see responders")
    return [r.to_json() for r in await platform.alerts.responders(scope)]


@router.put("/api/v1/responders/{username}")
async def put_responder(username: str, body: ResponderIn, platform: PlatformDep, scope: ManagerScope) -> dict[str, Any]:
    """Add or change a responder; their org node must lie in the caller's area."""
    path = await area_path(platform, scope, body.org_node)
    existing = await platform.alerts.responder(username)
    if existing is not None and not scope.covers(existing.org_path):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no responder {username}")
    with domain_errors():
        responder = await platform.alerts.upsert_responder({**body.model_dump(), "username": username}, path)
    return responder.to_json()


@router.post("/api/v1/responders/{username}/availability")
async def set_availability(username: str, body: Availability, platform: PlatformDep, scope: ScopeDep) -> dict[str, Any]:
    """Responders set their own availability; supervisors and operators set anyone's in their area."""
    existing = await platform.alerts.responder(username)
    own = scope.user.username == username
    if existing is None or not (own or (scope.resident_id is None and scope.covers(existing.org_path))):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no responder {username}")
    if not own and scope.user.role not in ("admin", "supervisor", "operator"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only staff change another responder's availability")
    with domain_errors():
        return (await platform.alerts.set_availability(username, body.available)).to_json()


@router.get("/r/{token}", response_class=HTMLResponse, include_in_schema=False)
async def responder_page(token: str, platform: PlatformDep) -> HTMLResponse:
    try:
        claims = await platform.alerts.verify_link(token, "responder")
        alert = await platform.alerts.get(uuid.UUID(claims.alert_id))
        dispatches = await platform.alerts.dispatches(alert.id)
    except AlertingError as error:
        return _error_page(error)
    if not alert.is_open:
        return closed_page(alert)
    mine = next((d for d in dispatches if d["id"] == claims.extra.get("d")), None)
    resident = await platform.registry.resident(alert.resident_id)
    card = (
        f"<p><b>{html.escape(resident.name)}</b><br>{html.escape(resident.address)}<br>"
        f'<a href="tel:{html.escape(resident.phone)}">{html.escape(resident.phone)}</a></p>'
        if resident
        else f"<p>Resident {html.escape(alert.resident_id)}</p>"
    )
    status_text = mine["status"] if mine else "unknown"
    actions = ""
    if mine and mine["status"] == "offered":
        actions = (
            '<button name="action" value="accept">Accept: I am going</button>'
            '<button name="action" value="decline" class="alt">Decline</button>'
        )
    elif mine and mine["status"] == "accepted" and alert.state is AlertState.DISPATCHED:
        actions = '<button name="action" value="arrive">I have arrived</button>'
    elif mine and mine["status"] == "arrived" and alert.state is AlertState.ON_SCENE:
        options = "".join(
            f'<option value="{o.value}">{html.escape(label)}</option>' for o, label in OUTCOME_LABELS.items()
        )
        actions = (
            f'<select name="outcome">{options}</select><button name="action" value="resolve">Close the alert</button>'
        )
    body = (
        f"<p>{html.escape(alert.kind.replace('_', ' ')).capitalize()} alert, status {alert.state.value};"
        f" your dispatch: {html.escape(status_text)}.</p>{card}"
        f'<form method="post">{actions}<p class="muted">Note</p><textarea name="note" rows="2"></textarea></form>'
    )
    return page("12349 dispatch", body)


@router.post("/r/{token}", response_class=HTMLResponse, include_in_schema=False)
async def responder_action(
    token: str,
    platform: PlatformDep,
    action: Annotated[str, Form()],
    note: Annotated[str, Form(max_length=1000)] = "",
    outcome: Annotated[str, Form()] = "",
) -> HTMLResponse:
    try:
        claims = await platform.alerts.verify_link(token, "responder")
        alert_id = uuid.UUID(claims.alert_id)
        who = claims.subject
        actor = f"responder:{who}"
        closed = await platform.alerts.get(alert_id)
        if not closed.is_open:
            text = f"This alert is already closed ({closed_summary(closed)}); nothing was recorded."
            return page("12349", f"<p>{html.escape(text)}</p>", status.HTTP_409_CONFLICT)
        if action in ("accept", "decline"):
            alert = await platform.alerts.respond(alert_id, who, int(claims.extra["d"]), action == "accept", note)
        elif action == "arrive":
            alert = await platform.alerts.arrive(alert_id, actor, note, responder=who)
        elif action == "resolve":
            current = await platform.alerts.get(alert_id)
            if current.responder != who:
                return page("12349", "<p>This alert is no longer yours.</p>", status.HTTP_409_CONFLICT)
            alert = await platform.alerts.resolve(alert_id, actor, outcome, note)
        else:
            return page("12349", "<p>Unknown action.</p>", 422)
    except AlertingError as error:
        return _error_page(error)
    return page("Thank you", f'<p>Recorded. Alert status: {alert.state.value}.</p><p><a href="">Back</a></p>')
