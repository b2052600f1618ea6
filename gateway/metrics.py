"""The gateway's Prometheus metrics (process-wide)."""

from __future__ import annotations

import collections
import functools
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Gauge

if TYPE_CHECKING:
    from devices.events import Stream

MESSAGES = Counter(
    "eldercare_gateway_messages_total",
    "Device messages by stream and result (accepted, a reject reason, or shed under overload)",
    ["stream", "result"],
)
EVENTS = Counter("eldercare_gateway_events_total", "Events produced by accepted messages, by stream", ["stream"])
DEAD_LETTERS = Counter("eldercare_gateway_dead_letters_total", "Messages kept as dead letters (internal errors)")
SINK_FAILURES = Counter("eldercare_gateway_sink_failures_total", "Batches the sink failed to take, by lane", ["lane"])
LANE_RESTARTS = Counter("eldercare_gateway_lane_restarts_total", "Lanes restarted by the supervisor", ["lane"])
QUEUE_DEPTH = Gauge("eldercare_gateway_queue_depth", "Messages received but not yet handled")
SHEDDING = Gauge("eldercare_gateway_shedding", "1 while telemetry is being shed to keep alarms moving")
CLOCK_SKEW = Counter("eldercare_gateway_clock_skew_total", "Messages whose device clock was far off (kept, flagged)")


@functools.cache
def message_counter(stream: str, result: str) -> Any:
    """``MESSAGES`` for one stream label and result; cached, as the label sets are bounded and the
    lookup (a lock and a dict per call) would otherwise be paid for every message."""
    return MESSAGES.labels(stream, result)


@functools.cache
def event_counter(stream: str) -> Any:
    return EVENTS.labels(stream)


class AcceptedTally:
    """Accepted messages and their events, counted per message and handed to ``MESSAGES`` and
    ``EVENTS`` per batch (:meth:`publish`): a counter's ``inc`` takes a lock, so once per stream and
    batch rather than once per message."""

    def __init__(self) -> None:
        self.messages: collections.Counter[str] = collections.Counter()
        self.events: collections.Counter[Stream] = collections.Counter()
        self.clock_skewed = 0

    def publish(self) -> None:
        for stream, count in self.messages.items():
            message_counter(stream, "accepted").inc(count)
        for kind, count in self.events.items():
            event_counter(kind.value).inc(count)
        if self.clock_skewed:
            CLOCK_SKEW.inc(self.clock_skewed)
        self.messages.clear()
        self.events.clear()
        self.clock_skewed = 0
