"""How the gateway accounts for a message it could not take: rate-limited reject logs, the bounded
metric label of a topic, and the device a topic names (for dead letters). Nothing here raises."""

from __future__ import annotations

import logging
import time

from devices.errors import Reject
from devices.events import Stream

log = logging.getLogger("eldercare.gateway")

_STREAMS = frozenset(stream.value for stream in Stream)


class RejectLog:
    """Logs rejections with their reason, at most ``burst`` lines per reason per ``period_s``."""

    def __init__(self, burst: int = 20, period_s: float = 10.0) -> None:
        self.burst = burst
        self.period_s = period_s
        self._window: dict[Reject, tuple[float, int]] = {}

    def __call__(self, reason: Reject, message: str, topic: str, payload: bytes, exc_info: bool = False) -> None:
        now = time.monotonic()
        start, count = self._window.get(reason, (now, 0))
        if now - start > self.period_s:
            if count > self.burst:
                log.warning("rejections suppressed", extra={"reason": reason.value, "count": count - self.burst})
            start, count = now, 0
        self._window[reason] = (start, count + 1)
        if count < self.burst:
            log.warning(
                "message rejected",
                exc_info=exc_info,
                extra={
                    "reason": reason.value,
                    "error": message,
                    "topic": topic[:200],
                    "payload": payload[:120].decode("utf-8", errors="replace"),
                    "bytes": len(payload),
                },
            )


def device_of(topic: str, prefix: str, z2m: str) -> str | None:
    """The device id or Zigbee2MQTT name a topic names, if it has that shape (never raises)."""
    head = prefix.rstrip("/") + "/"
    rest = topic[len(head) :] if topic.startswith(head) else topic[len(z2m) :] if topic.startswith(z2m) else None
    if rest is None:
        return None
    name = rest.split("/", 1)[0]
    return name[:200] or None


def stream_label(topic: str) -> str:
    """A bounded label for metrics: the v1 stream name, ``zigbee2mqtt``, or ``other``."""
    last = topic.rsplit("/", 1)[-1]
    if last in _STREAMS:
        return last
    return "zigbee2mqtt" if "zigbee2mqtt" in topic else "other"


def clears_retained(topic: str, z2m: str) -> bool:
    """Whether an empty payload on ``topic`` is MQTT deleting a retained message (a simulator or
    Zigbee2MQTT cleaning up): the topics that are retained, a device's status and Zigbee2MQTT's
    availability and device state. Elsewhere, an alarm above all, an empty payload is a reject."""
    if topic.startswith(z2m):
        return topic[len(z2m) :].partition("/")[2] in {"", "availability"}
    return topic.rsplit("/", 1)[-1] == Stream.STATUS.value
