"""Wiring: gateway → stream → alerting, with the timers and the history writer around them.

:class:`Platform` is what ``eldercare up`` runs and what the integration tests start: one process
owns every resident partition (the embedded default). The seam to scale out is ``Platform.sink``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from psycopg_pool import AsyncConnectionPool

from alerting import AlertBus, AlertService, EventHistory
from devices.events import Event
from eldercare.db import migrate
from gateway import Batch, BrokerAddress, Gateway, GatewayConfig
from registry.store import Registry
from registry.users import Users
from stream import Detection, StreamCore
from stream.core import warm_up

log = logging.getLogger("eldercare.runtime")


@dataclass(slots=True)
class PlatformConfig:
    gateway: GatewayConfig = field(default_factory=GatewayConfig)
    stream_tick_s: float = 1.0
    history_flush_s: float = 0.5
    history_buffer_max: int = 200_000
    retry_max_s: float = 5.0


class Platform:
    """The running platform's services, shared with the API."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        mqtt: BrokerAddress,
        config: PlatformConfig | None = None,
        clock: Callable[[], float] = time.time,
        stream: StreamCore | None = None,
    ) -> None:
        self.pool = pool
        self.mqtt = mqtt
        self.config = config or PlatformConfig()
        self.clock = clock
        self.registry = Registry(pool)
        self.users = Users(pool)
        self.history = EventHistory(pool)
        self.bus = AlertBus()
        self.gateway = Gateway(self.registry, self.config.gateway, clock=clock)
        self.alerts = AlertService(pool, self.bus, downlink=self.gateway.send_command)
        self.stream = stream or StreamCore()
        self.detections = 0
        self.history_dropped = 0
        self._history_buffer: list[Event] = []
        self._tasks: list[asyncio.Task[Any]] = []

    async def prepare(self) -> None:
        """Migrations and caches; safe to call on every start."""
        await migrate(self.pool, "registry")
        await migrate(self.pool, "alerting")
        await self.history.ensure_schema()
        await self.registry.load()
        seconds = await asyncio.to_thread(warm_up)
        log.info("stream kernels ready", extra={"seconds": round(seconds, 2)})

    async def sink(self, batch: Batch) -> None:
        """The seam: one batch of events keyed by resident → detections → stored alerts."""
        now_ms = int(self.clock() * 1000)
        detections = self.stream.process(batch, now_ms)
        for events in batch.values():
            self._history_buffer.extend(events)
        overflow = len(self._history_buffer) - self.config.history_buffer_max
        if overflow > 0:
            del self._history_buffer[:overflow]
            self.history_dropped += overflow
            log.error("event history buffer full: oldest events not stored", extra={"dropped": overflow})
        await self._raise(detections)

    async def _raise(self, detections: list[Detection]) -> None:
        """Store detections as alerts, retrying until the database takes them: never dropped."""
        if not detections:
            return
        self.detections += len(detections)
        delay = 0.1
        while True:
            try:
                await self.alerts.raise_detections(detections)
                return
            except Exception:
                log.exception("storing alerts failed; retrying", extra={"detections": len(detections)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.retry_max_s)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.config.stream_tick_s)
            await self._raise(self.stream.advance(int(self.clock() * 1000)))

    async def _flush_history(self) -> None:
        while True:
            await asyncio.sleep(self.config.history_flush_s)
            await self.flush_history()

    async def flush_history(self) -> None:
        if not self._history_buffer:
            return
        pending, self._history_buffer = self._history_buffer, []
        try:
            await self.history.append(pending)
        except Exception:
            log.exception("writing event history failed; will retry", extra={"events": len(pending)})
            self._history_buffer[:0] = pending

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.gateway.run(self.mqtt, self.sink), name="gateway"),
            asyncio.create_task(self._tick(), name="stream-timers"),
            asyncio.create_task(self._flush_history(), name="history"),
        ]
        await asyncio.wait_for(self.gateway.connected.wait(), timeout=30)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.flush_history()

    def health(self) -> dict[str, Any]:
        return {
            "mqtt_connected": self.gateway.connected.is_set(),
            "gateway": self.gateway.counters(),
            "detections": self.detections,
            "history_buffered": len(self._history_buffer),
            "history_dropped": self.history_dropped,
            "console_subscribers": self.bus.subscribers,
        }
