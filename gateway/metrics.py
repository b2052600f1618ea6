"""The gateway's Prometheus metrics (process-wide)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

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
