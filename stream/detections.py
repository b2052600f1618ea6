"""What the stream core emits: a detection, the input of alerting."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class DetectionKind(StrEnum):
    SOS = "sos"
    FALL = "fall"
    SMOKE = "smoke"
    GAS = "gas"
    WATER_LEAK = "water_leak"
    INACTIVITY = "inactivity"
    NOT_UP = "not_up"
    BATHROOM_LONG = "bathroom_long"
    NIGHT_ABSENCE = "night_absence"
    NIGHT_EXIT = "night_exit"
    """A resident with a night-exit watch went out through the entrance door at night and is not back in."""
    VITALS = "vitals"
    DEVICE_OFFLINE = "device_offline"
    DEVICE_SILENT = "device_silent"
    PAD_STUCK = "pad_stuck"
    """A pressure pad that holds "occupied" long after the resident left it: it needs seeing to."""
    LOW_BATTERY = "low_battery"
    UNMONITORED = "unmonitored"
    PHONE = "phone"  # an emergency reported by telephone to the hotline: no device
    CARE_CONCERN = "care_concern"
    """Raised by a person, not a sensor: a care visit found something that cannot wait."""
    MOVING_AGAIN = "moving_again"
    """The resident moved again after a home alert (inactivity, not up, bathroom, night absence), or is
    back inside after a NIGHT_EXIT: a notice on that alert (``details["alert_key"]``), not an alert."""


NOTICE_KINDS = frozenset({DetectionKind.MOVING_AGAIN})
"""Detections that say something about an alert already raised instead of raising one."""


@dataclass(frozen=True, slots=True)
class Detection:
    """A condition the stream core found for one resident.

    ``ts_ms`` is when it happened (the press, the impact, the start of the silence), epoch ms;
    ``detected_ms`` the stream time at which it was recognised. ``key`` is deterministic from the
    input (device + seq, or device + impact time), so replaying the same events yields the same key
    and alerting never pages twice for it.
    """

    resident_id: str
    device_id: str
    kind: DetectionKind
    ts_ms: int
    detected_ms: int
    key: str
    confidence: float = 1.0
    details: Mapping[str, Any] = field(default_factory=dict)
