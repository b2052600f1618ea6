"""The gateway's Prometheus metrics (process-wide)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

MESSAGES = Counter(
    "eldercare_gateway_messages_total",
    "Device messages by stream and result (accepted, a reject reason, or shed under overload)",
    ["stream", "result"],
)
QUEUE_DEPTH = Gauge("eldercare_gateway_queue_depth", "Messages received but not yet handled")
SHEDDING = Gauge("eldercare_gateway_shedding", "1 while telemetry is being shed to keep alarms moving")
CLOCK_SKEW = Counter("eldercare_gateway_clock_skew_total", "Messages whose device clock was far off (kept, flagged)")
