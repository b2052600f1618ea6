"""Notices on alerts already raised, from the stream: the resident alerted on moves again.

The home detector's kernel writes a ``K_MOVING`` row at the first activity after one of its alerts
(:func:`stream.kernels.home._moving_again`), the night-exit kernel a ``BACK`` row at the first
activity inside after a NIGHT_EXIT; :func:`moving_again` makes either the detection alerting writes on
that alert (:mod:`alerting.notices`), keyed by the alert's own key.
"""

from __future__ import annotations

from devices.events import Event
from stream.detections import Detection, DetectionKind


def moving_again(resident: str, alerted: DetectionKind, start_ms: int, event: Event, now_ms: int) -> Detection:
    """The notice that ``resident``, silent (or out) since ``start_ms`` and alerted (``alerted``), moved again:
    ``event`` is the first activity (its device and room name where). Keyed by the alert's own key, so
    alerting finds the alert, and a replay tells it once."""
    alert_key = f"{alerted.value}:{resident}:{start_ms}"
    where = event.location or event.device_type
    details = {
        "alert_key": alert_key,
        "alert_kind": alerted.value,
        "moved_ms": event.ts_ms,
        "silent_s": (event.ts_ms - start_ms) / 1000.0,
        "device_type": event.device_type,
        "location": event.location,
        "reason": f"moving again: {event.device_id} ({where}) after {(event.ts_ms - start_ms) / 60_000:.0f} min",
    }
    kind = DetectionKind.MOVING_AGAIN
    return Detection(resident, event.device_id, kind, event.ts_ms, now_ms, f"{kind.value}:{alert_key}", details=details)
