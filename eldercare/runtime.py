"""Wiring: gateway → stream → alerting, with the timers and the history writer around them.

:class:`Platform` is what ``eldercare up`` runs and what the integration tests start: one process
owns every resident partition (the embedded default). The seam to scale out is ``Platform.sink``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from psycopg_pool import AsyncConnectionPool

from alerting import (
    Alert,
    AlertBus,
    AlertEvent,
    AlertEventType,
    AlertingConfig,
    AlertService,
    AlertState,
    EventHistory,
)
from alerting.model import PRIORITY, alert_id_for
from devices.events import Event
from eldercare import metrics
from eldercare.db import migrate
from eldercare.spool import Spool, SpoolFull
from gateway import Batch, BrokerAddress, Gateway, GatewayConfig
from registry.store import Registry
from registry.users import Users
from stream import Detection, StreamCore
from stream.core import default_detectors, encode_snapshot, warm_up

log = logging.getLogger("eldercare.runtime")
ANNOUNCERS = frozenset({"sos_button", "hub", "pendant"})


@dataclass(slots=True)
class PlatformConfig:
    gateway: GatewayConfig = field(default_factory=GatewayConfig)
    stream_tick_s: float = 1.0
    history_flush_s: float = 0.5
    history_buffer_max: int = 200_000
    retry_max_s: float = 5.0
    store_timeout_s: float = 3.0
    """How long an alert may wait for the database before it goes to the spool instead."""
    spool_path: Path | None = None
    """The durable local buffer for alerts the database cannot take (default: a temp file per gateway)."""
    spool_max_bytes: int = 256 * 1024 * 1024
    snapshot_path: Path | None = None
    """Where the stream core's state is saved (periodically and at stop) and restored from at start."""
    snapshot_every_s: float = 30.0
    alerting: AlertingConfig = field(default_factory=AlertingConfig)
    """Escalation defaults, the public URL of responder and family links, local time."""


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
        self.alerts = AlertService(
            pool,
            self.bus,
            downlink=self.gateway.send_command,
            org_of=self.registry.resident_org_path,
            announcers=self._announcers,
            config=self.config.alerting,
        )
        self.stream = stream or StreamCore(default_detectors(self.config.alerting.utc_offset_min))
        self.detections = 0
        self.history_dropped = 0
        self._history_buffer: list[Event] = []
        self._tasks: list[asyncio.Task[Any]] = []
        spool_path = self.config.spool_path or Path(tempfile.gettempdir()) / (
            f"eldercare-spool-{self.config.gateway.client_id}.jsonl"
        )
        self.spool = Spool(spool_path, self.config.spool_max_bytes)
        self.spool_error: str | None = None
        self._spool_drained = asyncio.Event()
        self._drainer: asyncio.Task[None] | None = None
        self.seam: Callable[[Batch], Awaitable[None]] | None = None
        """Where the gateway's batches go instead of :meth:`sink`, set before :meth:`start`: the
        partitioned log (``partitions.run.ClusterSeam``), whose workers own the stream state."""

    async def prepare(self) -> None:
        """Migrations and caches; safe to call on every start."""
        await migrate(self.pool, "registry")
        await migrate(self.pool, "alerting")
        await self.history.ensure_schema()
        await self.registry.load()
        await self.alerts.restore()
        seconds = await asyncio.to_thread(warm_up)
        log.info("stream kernels ready", extra={"seconds": round(seconds, 2)})
        path = self.config.snapshot_path
        if path is not None and path.exists():
            self.stream.restore(path.read_bytes())
            log.info("stream state restored", extra={"path": str(path), "as_of_ms": self.stream.now_ms})

    def save_snapshot(self) -> None:
        """Write the stream core's state atomically (who has been silent since when survives a restart)."""
        if self.config.snapshot_path is not None:
            _write_atomically(self.config.snapshot_path, self.stream.snapshot())

    async def _snapshots(self) -> None:
        """Save the stream state every ``snapshot_every_s``, so a crash loses at most that much of it.

        The state is taken between two batches (on the loop) and written by a thread.
        """
        path = self.config.snapshot_path
        if path is None:
            return
        while True:
            await asyncio.sleep(self.config.snapshot_every_s)
            try:
                await asyncio.to_thread(_write_snapshot, path, self.stream.snapshot_arrays())
            except Exception:
                log.exception("saving the stream snapshot failed")

    def _announcers(self, resident_id: str) -> list[str]:
        """The resident's devices that speak or light up (home announcements from alerting)."""
        return [d.id for d in self.registry.devices() if d.resident_id == resident_id and d.type in ANNOUNCERS]

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
        """Store detections as alerts; if the database cannot take them, spool them durably first.

        Never dropped: when even the spool cannot be written, this keeps retrying the database and
        the gateway holds back its acknowledgements, so the broker keeps the messages.
        """
        if not detections:
            return
        self.detections += len(detections)
        started = time.perf_counter()
        if not len(self.spool):
            try:
                await asyncio.wait_for(self.alerts.raise_detections(detections), self.config.store_timeout_s)
                metrics.STORE_SECONDS.observe(time.perf_counter() - started)
                return
            except Exception as error:
                log.error("alert database unavailable; spooling", extra={"error": repr(error)[:200]})
        try:
            self.spool.append(detections)
        except SpoolFull as error:
            self.spool_error = str(error)
            metrics.SPOOL_ERRORS.inc()
            log.critical(
                "ALARMS CANNOT BE BUFFERED: spool full; holding them at the broker", extra={"error": str(error)}
            )
            await self._store_blocking(detections)
            return
        self.spool_error = None
        metrics.SPOOL_SIZE.set(len(self.spool))
        self._announce_provisional(detections)
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain_spool(), name="spool-drainer")

    async def _store_blocking(self, detections: list[Detection]) -> None:
        delay = 0.1
        while True:
            try:
                await self.alerts.raise_detections(detections)
                return
            except Exception as error:
                log.error("storing alerts failed; retrying", extra={"error": repr(error)[:200], "retry_s": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.retry_max_s)

    def _announce_provisional(self, detections: list[Detection]) -> None:
        """The console still rings while the database is away; the stored alert keeps the same id."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        for detection in detections:
            alert = Alert(
                id=alert_id_for(detection.key),
                resident_id=detection.resident_id,
                device_id=detection.device_id,
                kind=detection.kind.value,
                priority=PRIORITY.get(detection.kind, 5),
                state=AlertState.RAISED,
                occurred_at=datetime.fromtimestamp(detection.ts_ms / 1000, UTC),
                raised_at=now,
                last_trigger_at=now,
                confidence=detection.confidence,
                details={**detection.details, "stored": False},
                org_path=self.registry.resident_org_path(detection.resident_id),
                ringing_at=now,
            )
            self.bus.publish(AlertEvent(AlertEventType.RAISED, alert, at=now))

    async def _drain_spool(self) -> None:
        """Store spooled detections in order, as soon as the database takes them again."""
        delay = 0.2
        while len(self.spool):
            batch = self.spool.peek(100)
            try:
                await asyncio.wait_for(self.alerts.raise_detections(batch), self.config.store_timeout_s * 3)
            except Exception as error:
                log.warning(
                    "spool drain waiting for the database",
                    extra={"pending": len(self.spool), "error": repr(error)[:120]},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.retry_max_s)
                continue
            self.spool.drop(len(batch))
            metrics.SPOOL_SIZE.set(len(self.spool))
            delay = 0.2
        log.info("spool drained: every buffered alarm is stored")

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
        if len(self.spool):
            log.warning("alarms left in the spool by the last run; storing them", extra={"pending": len(self.spool)})
            self._drainer = asyncio.create_task(self._drain_spool(), name="spool-drainer")
        self._tasks = [
            asyncio.create_task(self.gateway.run(self.mqtt, self.seam or self.sink), name="gateway"),
            asyncio.create_task(self._flush_history(), name="history"),
            asyncio.create_task(self.alerts.run_timers(), name="alert-timers"),
        ]
        if self.seam is None:  # the stream state lives here, not in partition workers
            self._tasks.append(asyncio.create_task(self._tick(), name="stream-timers"))
            self._tasks.append(asyncio.create_task(self._snapshots(), name="stream-snapshots"))
        await asyncio.wait_for(self.gateway.connected.wait(), timeout=30)

    async def stop(self) -> None:
        if self._drainer is not None:
            self._tasks.append(self._drainer)
            self._drainer = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.flush_history()
        try:
            self.save_snapshot()
        except OSError:
            log.exception("saving the stream snapshot failed")

    def health(self) -> dict[str, Any]:
        return {
            "mqtt_connected": self.gateway.connected.is_set(),
            "gateway": self.gateway.counters(),
            "detections": self.detections,
            "history_buffered": len(self._history_buffer),
            "history_dropped": self.history_dropped,
            "console_subscribers": self.bus.subscribers,
            "spool_pending": len(self.spool),
            "spool_bytes": self.spool.size_bytes,
            "spool_error": self.spool_error,
        }

    async def readiness(self) -> dict[str, Any]:
        """Whether this instance can take alarms now: broker, database and spool each checked."""
        database_ok = True
        try:
            async with asyncio.timeout(1.0), self.pool.connection() as conn:
                await conn.execute("SELECT 1")
        except Exception:
            database_ok = False
        checks = {
            "mqtt": self.gateway.connected.is_set(),
            "database": database_ok,
            "spool": self.spool_error is None,
        }
        return {"ready": all(checks.values()), "checks": checks, "spool_pending": len(self.spool)}


def _write_snapshot(path: Path, arrays: dict[str, np.ndarray]) -> None:
    _write_atomically(path, encode_snapshot(arrays))


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
