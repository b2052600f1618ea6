"""``/api/v1/alerts``: the alert queue and every step of an alert's life; escalation policies.

Reads take the caller's scope (``ScopeDep``: an org subtree, or a family user's own relative); an
alert outside it is 404. Actions are for console staff. Alerting's domain errors are answered by
``api/app.py``'s handler: not found 404, a move the alert cannot make 409 (with the reason), bad input
422, a bad link 403.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from alerting import AlertState, Outcome
from api.deps import PlatformDep
from api.hardening import StorableBody
from api.scope import ConsoleScope, PolicyScope, ScopeDep, area_path, resident_path
from api.services import Services
from api.views import alert_views

router = APIRouter(tags=["alerts"])


class NoteRequest(StorableBody):
    note: str = Field("", max_length=2000)


class DispatchRequest(NoteRequest):
    responder: str | None = Field(None, description="a responder's username; omitted: the nearest available")


class ResolveRequest(NoteRequest):
    outcome: Outcome


class DuplicateRequest(NoteRequest):
    of: uuid.UUID


class ContactRequest(NoteRequest):
    reached: bool


async def _view(platform: Services, alert: Any) -> dict[str, Any]:
    return (await alert_views(platform.registry, [alert], platform.alerts.clock()))[0]


@router.get("/api/v1/alerts")
async def list_alerts(
    platform: PlatformDep,
    scope: ScopeDep,
    state: Annotated[list[AlertState] | None, Query(description="only these states (default: all open)")] = None,
    limit: int = Query(200, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """The queue, in the caller's scope: ringing first, SOS and falls before the rest, oldest first;
    each with its resident card and live ``sla`` timers (waiting_s / answered_in_s against 60 s / 180 s)."""
    alerts = await platform.alerts.open_alerts(limit, scope=scope, states=state)
    return await alert_views(platform.registry, alerts, platform.alerts.clock())


@router.get("/api/v1/alerts/{alert_id}")
async def get_alert(alert_id: uuid.UUID, platform: PlatformDep, scope: ScopeDep) -> dict[str, Any]:
    """One alert with its audit trail, dispatches and notification deliveries."""
    alert = await platform.alerts.get(alert_id, scope)
    view = await _view(platform, alert)
    view["audit"] = await platform.alerts.audit_trail(alert_id)
    if scope.resident_id is None:
        view["dispatches"] = await platform.alerts.dispatches(alert_id)
        view["deliveries"] = await platform.alerts.deliveries(alert_id)
    return view


@router.get("/api/v1/alerts/{alert_id}/audit")
async def audit(alert_id: uuid.UUID, platform: PlatformDep, scope: ScopeDep) -> list[dict[str, Any]]:
    return await platform.alerts.audit_trail(alert_id, scope)


@router.post("/api/v1/alerts/{alert_id}/ack", responses={404: {}, 409: {}})
async def acknowledge(
    alert_id: uuid.UUID, platform: PlatformDep, scope: ConsoleScope, body: NoteRequest | None = None
) -> dict[str, Any]:
    """Take the call: stops the escalation ladder."""
    alert = await platform.alerts.acknowledge(alert_id, scope.user.username, body.note if body else "", scope)
    return await _view(platform, alert)


@router.get("/api/v1/alerts/{alert_id}/proposals")
async def proposals(alert_id: uuid.UUID, platform: PlatformDep, scope: ConsoleScope) -> list[dict[str, Any]]:
    """The nearest available, on-duty responders (same community, then street, then district)."""
    return await platform.alerts.propose(alert_id, scope)


@router.post("/api/v1/alerts/{alert_id}/dispatch", responses={404: {}, 409: {}})
async def dispatch(
    alert_id: uuid.UUID, platform: PlatformDep, scope: ConsoleScope, body: DispatchRequest | None = None
) -> dict[str, Any]:
    """Send a responder; they get a signed link to accept or decline. A second dispatch is 409."""
    body = body or DispatchRequest()
    alert = await platform.alerts.dispatch(alert_id, scope.user.username, body.responder, body.note, scope)
    return await _view(platform, alert)


@router.post("/api/v1/alerts/{alert_id}/on-scene", responses={404: {}, 409: {}})
async def on_scene(
    alert_id: uuid.UUID, platform: PlatformDep, scope: ConsoleScope, body: NoteRequest | None = None
) -> dict[str, Any]:
    """The responder reported arrival by phone (they can also use their link)."""
    alert = await platform.alerts.arrive(alert_id, scope.user.username, body.note if body else "", scope)
    return await _view(platform, alert)


@router.post("/api/v1/alerts/{alert_id}/resolve", responses={404: {}, 409: {}})
async def resolve(
    alert_id: uuid.UUID, body: ResolveRequest, platform: PlatformDep, scope: ConsoleScope
) -> dict[str, Any]:
    alert = await platform.alerts.resolve(alert_id, scope.user.username, body.outcome.value, body.note, scope)
    return await _view(platform, alert)


@router.post("/api/v1/alerts/{alert_id}/cancel", responses={404: {}, 409: {}})
async def cancel(
    alert_id: uuid.UUID, platform: PlatformDep, scope: ConsoleScope, body: NoteRequest | None = None
) -> dict[str, Any]:
    """Cancel a pending alert (only inside its cancel window; the home is told)."""
    alert = await platform.alerts.cancel(alert_id, scope.user.username, body.note if body else "", scope)
    return await _view(platform, alert)


@router.post("/api/v1/alerts/{alert_id}/duplicate", responses={404: {}, 409: {}})
async def duplicate(
    alert_id: uuid.UUID, body: DuplicateRequest, platform: PlatformDep, scope: ConsoleScope
) -> dict[str, Any]:
    alert = await platform.alerts.close_duplicate(alert_id, body.of, scope.user.username, body.note, scope)
    return await _view(platform, alert)


@router.post("/api/v1/alerts/{alert_id}/contact", responses={404: {}, 409: {}})
async def contact_attempt(
    alert_id: uuid.UUID, body: ContactRequest, platform: PlatformDep, scope: ConsoleScope
) -> dict[str, Any]:
    """The operator's call to the resident: unreachable with nobody on the way flags "call 120"."""
    alert = await platform.alerts.record_contact(alert_id, scope.user.username, body.reached, body.note, scope)
    return await _view(platform, alert)


class CallNote(StorableBody):
    note: str = Field(min_length=1, max_length=2000)


@router.post("/api/v1/alerts/{alert_id}/note", responses={404: {}, 422: {}})
async def add_note(alert_id: uuid.UUID, body: CallNote, platform: PlatformDep, scope: ConsoleScope) -> dict[str, Any]:
    """A free call note in the alert's trail (what was said, what was agreed), under the operator's name."""
    alert = await platform.alerts.add_note(alert_id, scope.user.username, body.note, scope)
    return await _view(platform, alert)


@router.post("/api/v1/alerts/{alert_id}/notify-family", responses={404: {}, 409: {}})
async def notify_family(alert_id: uuid.UUID, platform: PlatformDep, scope: ConsoleScope) -> dict[str, Any]:
    """Message every eligible family contact now, each with one-tap answer links."""
    alert = await platform.alerts.notify_family(alert_id, scope.user.username, scope)
    return await _view(platform, alert)


# ------------------------------------------------------------------------------------ escalation


@router.get("/api/v1/escalation/policy", tags=["escalation"])
async def effective_policy(
    platform: PlatformDep,
    scope: ConsoleScope,
    area: str | None = Query(None, description="an org node code"),
    resident_id: str | None = None,
) -> dict[str, Any]:
    """The ladder that applies to a resident (or an area): defaults, then area overrides, then the resident's."""
    path = scope.org_path
    if resident_id is not None:
        path = await resident_path(platform.registry, scope, resident_id)
    elif area is not None:
        path = await area_path(platform.registry, scope, area)
    return platform.alerts.policy_for(resident_id or "", path).to_json()


@router.put("/api/v1/escalation/areas/{org_node}", tags=["escalation"])
async def set_area_policy(
    org_node: str, config: dict[str, Any], platform: PlatformDep, scope: PolicyScope
) -> dict[str, Any]:
    """Partial override for an area, e.g. ``{"ring_again_s": [30, 90], "supervisor_s": 120}``."""
    path = await area_path(platform.registry, scope, org_node)
    policy = await platform.alerts.set_policy("area", path, config, scope.user.username)
    return policy.to_json()


@router.delete("/api/v1/escalation/areas/{org_node}", tags=["escalation"], status_code=204)
async def clear_area_policy(org_node: str, platform: PlatformDep, scope: PolicyScope) -> None:
    path = await area_path(platform.registry, scope, org_node)
    await platform.alerts.set_policy("area", path, None, scope.user.username)


@router.put("/api/v1/escalation/residents/{resident_id}", tags=["escalation"])
async def set_resident_policy(
    resident_id: str, config: dict[str, Any], platform: PlatformDep, scope: PolicyScope
) -> dict[str, Any]:
    """Partial override for one resident, e.g. ``{"cancel_window_s": 0}`` for someone who cannot press."""
    await resident_path(platform.registry, scope, resident_id)
    await platform.alerts.set_policy("resident", resident_id, config, scope.user.username)
    return platform.alerts.policy_for(resident_id, await resident_path(platform.registry, scope, resident_id)).to_json()


@router.delete("/api/v1/escalation/residents/{resident_id}", tags=["escalation"], status_code=204)
async def clear_resident_policy(resident_id: str, platform: PlatformDep, scope: PolicyScope) -> None:
    await resident_path(platform.registry, scope, resident_id)
    await platform.alerts.set_policy("resident", resident_id, None, scope.user.username)
