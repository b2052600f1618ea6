"""Alerts, their states and the events alerting publishes."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from stream.detections import DetectionKind


class AlertState(StrEnum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


OPEN_STATES = (AlertState.RAISED, AlertState.ACKNOWLEDGED)

TRANSITIONS: dict[AlertState, frozenset[AlertState]] = {
    AlertState.RAISED: frozenset({AlertState.ACKNOWLEDGED}),
    AlertState.ACKNOWLEDGED: frozenset({AlertState.RESOLVED}),
    AlertState.RESOLVED: frozenset(),
}

PRIORITY: dict[str, int] = {
    DetectionKind.SOS: 1,
    DetectionKind.FALL: 1,
    DetectionKind.SMOKE: 2,
    DetectionKind.GAS: 2,
    DetectionKind.WATER_LEAK: 2,
    DetectionKind.INACTIVITY: 3,
    DetectionKind.NOT_UP: 3,
    DetectionKind.BATHROOM_LONG: 3,
    DetectionKind.NIGHT_ABSENCE: 3,
    DetectionKind.VITALS: 4,
    DetectionKind.UNMONITORED: 5,
    DetectionKind.DEVICE_OFFLINE: 5,
    DetectionKind.DEVICE_SILENT: 5,
    DetectionKind.LOW_BATTERY: 5,
}
"""1 is most urgent: SOS and falls, then smoke/gas/water, inactivity, vital signs, devices."""

ALERT_ID_NAMESPACE = uuid.UUID("6f1c3f7e-2d1a-4f5e-9a35-1b2c3d4e5f60")


def alert_id_for(trigger_key: str) -> uuid.UUID:
    """Deterministic: the same first trigger always names the same alert."""
    return uuid.uuid5(ALERT_ID_NAMESPACE, trigger_key)


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

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["id"] = str(self.id)
        data["state"] = self.state.value
        for name in ("occurred_at", "raised_at", "last_trigger_at", "acknowledged_at"):
            value = data[name]
            data[name] = value.isoformat() if value is not None else None
        return data


class AlertEventType(StrEnum):
    RAISED = "alert.raised"
    REPEATED = "alert.repeated"
    ACKNOWLEDGED = "alert.acknowledged"
    RESOLVED = "alert.resolved"


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """What happened to an alert; the API and console subscribe to these."""

    type: AlertEventType
    alert: Alert
    actor: str = "system"
    at: datetime | None = None


class AlertingError(Exception):
    """Base class of alerting's domain errors."""


class AlertNotFound(AlertingError):
    pass


class IllegalTransition(AlertingError):
    def __init__(self, current: AlertState, wanted: AlertState) -> None:
        super().__init__(f"an alert that is {current.value} cannot become {wanted.value}")
        self.current = current
        self.wanted = wanted
