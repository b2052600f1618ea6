"""Alerting's Prometheus metrics: storing alarms and the local spool (the gateway's: :mod:`gateway.metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

STORE_SECONDS = Histogram(
    "eldercare_alert_store_seconds",
    "Time to store a batch of detections as alerts",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
SPOOL_SIZE = Gauge("eldercare_spool_pending", "Alarms buffered locally, waiting for the database")
SPOOL_ERRORS = Counter("eldercare_spool_errors_total", "Times the local alarm buffer could not be written")
