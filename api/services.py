"""What the API needs of the running platform: the registry, users, alerting, history and health.

The composition root (``eldercare.runtime.Platform``) provides these; the API never imports it, so it
can be served over any object that fits (tests, benchmarks, a process that serves only the API).
"""

from __future__ import annotations

from typing import Any, Protocol

from alerting import AlertBus, AlertService, EventHistory
from gateway.deadletter import DeadLetterStore
from registry.store import Registry
from registry.users import Users


class Services(Protocol):
    @property
    def registry(self) -> Registry: ...

    @property
    def users(self) -> Users: ...

    @property
    def alerts(self) -> AlertService: ...

    @property
    def history(self) -> EventHistory: ...

    @property
    def bus(self) -> AlertBus: ...

    @property
    def dead_letters(self) -> DeadLetterStore: ...

    def health(self) -> dict[str, Any]:
        """Liveness counters (gateway rejects, spool, history)."""
        ...

    async def readiness(self) -> dict[str, Any]:
        """``{"ready": bool, "checks": {...}}``: whether this instance can take alarms now."""
        ...
