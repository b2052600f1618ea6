"""Alerts, their states and the events alerting publishes; alerting's errors (see ``registry/errors.py``)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from registry.errors import Conflict, Forbidden, IllegalMove, Invalid, NotFound
from stream.detections import DetectionKind


class AlertState(StrEnum):
    PENDING = "pending"  # a sensor alert inside its cancel window: the home announces it, the console greys it
    RAISED = "raised"  # ringing at the console
    ACKNOWLEDGED = "acknowledged"  # an operator took the call
    DISPATCHED = "dispatched"  # a responder was sent (offered, then accepted)
    ON_SCENE = "on_scene"  # the responder is with the resident
    RESOLVED = "resolved"  # closed with an outcome
    CANCELLED = "cancelled"  # by the resident inside the cancel window
    DUPLICATE = "duplicate"  # closed as a duplicate of another alert


OPEN_STATES = (
    AlertState.PENDING,
    AlertState.RAISED,
    AlertState.ACKNOWLEDGED,
    AlertState.DISPATCHED,
    AlertState.ON_SCENE,
)
CLOSED_STATES = (AlertState.RESOLVED, AlertState.CANCELLED, AlertState.DUPLICATE)

TRANSITIONS: dict[AlertState, frozenset[AlertState]] = {
    AlertState.PENDING: frozenset(
        {AlertState.RAISED, AlertState.ACKNOWLEDGED, AlertState.CANCELLED, AlertState.DUPLICATE}
    ),
    AlertState.RAISED: frozenset({AlertState.ACKNOWLEDGED, AlertState.DUPLICATE}),
    AlertState.ACKNOWLEDGED: frozenset({AlertState.DISPATCHED, AlertState.RESOLVED, AlertState.DUPLICATE}),
    # back to acknowledged when no responder is left to take it
    AlertState.DISPATCHED: frozenset(
        {AlertState.ON_SCENE, AlertState.ACKNOWLEDGED, AlertState.RESOLVED, AlertState.DUPLICATE}
    ),
    AlertState.ON_SCENE: frozenset({AlertState.RESOLVED}),
    AlertState.RESOLVED: frozenset(),
    AlertState.CANCELLED: frozenset(),
    AlertState.DUPLICATE: frozenset(),
}
"""The only moves an alert can make; anything else raises :class:`IllegalTransition`."""


class Outcome(StrEnum):
    EMERGENCY_HANDLED = "emergency_handled"
    HOSPITAL = "hospital"
    RESIDENT_FINE = "resident_fine"
    FALSE_ALARM = "false_alarm"
    DEVICE_FAULT = "device_fault"


PRIORITY: dict[str, int] = {
    DetectionKind.SOS: 1,
    DetectionKind.PHONE: 1,
    DetectionKind.FALL: 1,
    DetectionKind.SMOKE: 2,
    DetectionKind.GAS: 2,
    DetectionKind.WATER_LEAK: 2,
    DetectionKind.NIGHT_EXIT: 2,
    DetectionKind.INACTIVITY: 3,
    DetectionKind.NOT_UP: 3,
    DetectionKind.BATHROOM_LONG: 3,
    DetectionKind.NIGHT_ABSENCE: 3,
    DetectionKind.VITALS: 4,
    DetectionKind.CARE_CONCERN: 4,
    DetectionKind.UNMONITORED: 5,
    DetectionKind.DEVICE_OFFLINE: 5,
    DetectionKind.DEVICE_SILENT: 5,
    DetectionKind.PAD_STUCK: 5,
    DetectionKind.LOW_BATTERY: 5,
}
"""1 is most urgent: SOS, emergencies reported by phone, falls; then smoke/gas/water and a resident who
wanders out at night, inactivity, vitals, devices."""

CANCELLABLE_KINDS = frozenset(
    {
        DetectionKind.FALL,
        DetectionKind.INACTIVITY,
        DetectionKind.NOT_UP,
        DetectionKind.BATHROOM_LONG,
        DetectionKind.NIGHT_ABSENCE,
    }
)
"""Sensor-derived kinds that wait in a cancel window (the resident may press "I'm fine"); SOS never waits."""

ANSWER_DEADLINES_S = (60, 180)
"""TEC Services Association: 97.5 % of alarm calls answered within 60 s, 99 % within 180 s."""

ALERT_ID_NAMESPACE = uuid.UUID("6f1c3f7e-2d1a-4f5e-9a35-1b2c3d4e5f60")


def alert_id_for(trigger_key: str) -> uuid.UUID:
    """Deterministic: the same first trigger always names the same alert."""
    return uuid.uuid5(ALERT_ID_NAMESPACE, trigger_key)


_TIMES = (
    "occurred_at",
    "raised_at",
    "last_trigger_at",
    "acknowledged_at",
    "ringing_at",
    "pending_until",
    "dispatched_at",
    "on_scene_at",
    "closed_at",
)


@dataclass(frozen=True, slots=True)
class Alert:
    id: uuid.UUID
    resident_id: str
    device_id: str
    kind: str
    priority: int
    state: AlertState
    occurred_at: datetime
    raised_at: datetime
    last_trigger_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    repeats: int = 1
    confidence: float = 1.0
    details: dict[str, Any] = field(default_factory=dict)
    org_path: str | None = None
    ringing_at: datetime | None = None
    """When the console started ringing: the answer-time clock (after the cancel window, if any)."""
    pending_until: datetime | None = None
    dispatched_at: datetime | None = None
    on_scene_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    outcome: str | None = None
    duplicate_of: uuid.UUID | None = None
    urgency: int = 0
    """Raised by one each time the escalation ladder rings again."""
    needs_emergency_call: bool = False
    """Resident unreachable and nobody on the way: the operator should call 120."""
    responder: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def sla(self, now: datetime) -> dict[str, Any]:
        """Answer-time figures: seconds waiting (still ringing) or answered in, against 60 s / 180 s."""
        start = self.ringing_at
        answered_in = waiting = None
        if start is not None and self.acknowledged_at is not None:
            answered_in = max(0.0, (self.acknowledged_at - start).total_seconds())
        elif start is not None and self.state is AlertState.RAISED:
            waiting = max(0.0, (now - start).total_seconds())
        elapsed = answered_in if answered_in is not None else waiting
        on_scene_in = None
        if start is not None and self.on_scene_at is not None:
            on_scene_in = max(0.0, (self.on_scene_at - start).total_seconds())
        pending_s = None
        if self.state is AlertState.PENDING and self.pending_until is not None:
            pending_s = max(0.0, (self.pending_until - now).total_seconds())
        return {
            "deadlines_s": list(ANSWER_DEADLINES_S),
            "waiting_s": None if waiting is None else round(waiting, 1),
            "answered_in_s": None if answered_in is None else round(answered_in, 1),
            "within_60s": None if elapsed is None else elapsed <= ANSWER_DEADLINES_S[0],
            "within_180s": None if elapsed is None else elapsed <= ANSWER_DEADLINES_S[1],
            "on_scene_in_s": None if on_scene_in is None else round(on_scene_in, 1),
            "cancel_window_left_s": None if pending_s is None else round(pending_s, 1),
        }

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["id"] = str(self.id)
        data["state"] = self.state.value
        data["duplicate_of"] = str(self.duplicate_of) if self.duplicate_of else None
        for name in _TIMES:
            value = data[name]
            data[name] = value.isoformat() if value is not None else None
        return data


class AlertEventType(StrEnum):
    PENDING = "alert.pending"
    RAISED = "alert.raised"
    REPEATED = "alert.repeated"
    ACKNOWLEDGED = "alert.acknowledged"
    DISPATCHED = "alert.dispatched"
    ON_SCENE = "alert.on_scene"
    RESOLVED = "alert.resolved"
    CANCELLED = "alert.cancelled"
    DUPLICATE = "alert.duplicate"
    ESCALATED = "alert.escalated"
    UPDATED = "alert.updated"


STATE_EVENTS: dict[AlertState, AlertEventType] = {
    AlertState.PENDING: AlertEventType.PENDING,
    AlertState.RAISED: AlertEventType.RAISED,
    AlertState.ACKNOWLEDGED: AlertEventType.ACKNOWLEDGED,
    AlertState.DISPATCHED: AlertEventType.DISPATCHED,
    AlertState.ON_SCENE: AlertEventType.ON_SCENE,
    AlertState.RESOLVED: AlertEventType.RESOLVED,
    AlertState.CANCELLED: AlertEventType.CANCELLED,
    AlertState.DUPLICATE: AlertEventType.DUPLICATE,
}


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """What happened to an alert; the API and console subscribe to these.

    ``detail`` says more where the type alone does not: the escalation step and reason
    (``{"step": "ring_again", "urgency": 1}``), the responder and their answer, the canceller.
    """

    type: AlertEventType
    alert: Alert
    actor: str = "system"
    at: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class AlertNotFound(NotFound):
    """No such alert (in the caller's scope) (HTTP 404)."""


class IllegalTransition(IllegalMove):
    """A move the alert's state does not allow (HTTP 409)."""

    current: AlertState
    wanted: AlertState

    def __init__(self, current: AlertState, wanted: AlertState) -> None:
        super().__init__("an alert", current, wanted, TRANSITIONS[current])


class NoResponderAvailable(Conflict):
    """Nobody available and on duty to send (HTTP 409)."""


class InvalidRequest(Invalid):
    """Bad input to alerting (an unknown outcome, a malformed policy, contact or token) (HTTP 422)."""


class InvalidLink(Forbidden):
    """A signed link that is forged, expired or for something else (HTTP 403)."""


def closed_summary(alert: Alert) -> str:
    """How a closed alert ended, in words without personal data ("resolved: resident fine")."""
    outcome = (alert.outcome or "").replace("_", " ")
    return f"{alert.state.value}: {outcome}" if outcome else alert.state.value
