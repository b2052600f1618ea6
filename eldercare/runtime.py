"""Wiring: gateway → stream → alerting, with the timers and the history writer around them.

:class:`Platform` is what ``eldercare up`` runs and what the integration tests start: one process
owns every resident partition (the embedded default). The seam to scale out is ``Platform.sink``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from psycopg_pool import AsyncConnectionPool

from alerting import AlertBus, AlertingConfig, AlertService, EventHistory
from alerting.history import HistoryConfig
from alerting.imu_minutes import ImuMinutes
from alerting.intake import home_announcers
from alerting.maintenance import maintain_forever, maintain_history
from alerting.reports import sla_report
from alerting.spool import Spool
from alerting.spooled_intake import SpooledIntake
from care import CareService
from care.signals import platform_offline_devices, platform_signals
from devices.events import Event
from eldercare.db import migrate
from gateway import Batch, BrokerAddress, Gateway, GatewayConfig
from gateway.deadletter import DeadLetterStore
from registry.area import Area
from registry.crypto import FieldCipher
from registry.rows import answers
from registry.store import Registry
from registry.users import Users
from servicecentre import ServiceCentre, ServiceConfig
from servicecentre.model import Reach
from stream import StreamCore
from stream.core import default_detectors, encode_snapshot, warm_up
from stream.device_table import Binding, bindings
from stream.supervision import SupervisionState

log = logging.getLogger("eldercare.runtime")


@dataclass(slots=True)
class PlatformConfig:
    gateway: GatewayConfig = field(default_factory=GatewayConfig)
    stream_tick_s: float = 1.0
    history_flush_s: float = 0.5
    history_buffer_max: int = 200_000
    history: HistoryConfig = field(default_factory=HistoryConfig)
    """Retention, partitions ahead, compression of the event history and its aggregates."""
    rollup_every_s: float = 60.0
    """How often the alert rollup is refreshed; partitions and retention are seen to every hour."""
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
    service: ServiceConfig | None = None
    """Order deadlines and plan horizon (default: with alerting's public URL and local time)."""


class Platform:
    """The running platform's services, shared with the API.

    ``cipher`` protects residents' ID numbers and key-safe codes; the composition root
    (``eldercare/serve.py``) gives the site's, tests and benches a generated one. Without it the
    registry refuses to store or read those fields.
    """

    def __init__(
        self,
        pool: AsyncConnectionPool,
        mqtt: BrokerAddress,
        config: PlatformConfig | None = None,
        clock: Callable[[], float] = time.time,
        stream: StreamCore | None = None,
        cipher: FieldCipher | None = None,
    ) -> None:
        self.pool = pool
        self.mqtt = mqtt
        self.config = config or PlatformConfig()
        self.clock = clock
        self.registry = Registry(pool, cipher)
        self.users = Users(pool)
        self.history = EventHistory(pool, self.config.history)
        self.bus = AlertBus()
        self.gateway = Gateway(self.registry, self.config.gateway, clock=clock)
        self.dead_letters = DeadLetterStore(pool)
        self.alerts = AlertService(
            pool,
            self.bus,
            downlink=self.gateway.send_command,
            org_of=self.registry.resident_org_path,
            announcers=home_announcers(self.registry.resident_devices),
            config=self.config.alerting,
            name_of=self.resident_name,
        )
        alerting = self.config.alerting
        self.service_centre = ServiceCentre(
            pool,
            clock=lambda: self.alerts.clock(),
            scheduler=self.alerts.scheduler,  # one timer loop fires alert and order deadlines
            raise_alerts=self.alerts.raise_detections,
            config=self.config.service
            or ServiceConfig(public_url=alerting.public_url, utc_offset_min=alerting.utc_offset_min),
        )
        self.care = CareService(
            pool,
            utc_offset_min=self.config.alerting.utc_offset_min,
            raise_alert=self.alerts.raise_detections,
            signals=platform_signals(self.alerts),
            offline_devices=platform_offline_devices(self.alerts),
            alert_counts=self.alerts.counts_by_resident,
            answer_times=self._answer_times,
            service_orders=self._service_orders,
            scheduler=self.alerts.scheduler,  # the rollup's tick (care/rollup.py)
        )
        self.stream = stream or StreamCore(
            default_detectors(
                self.config.alerting.utc_offset_min,
                routine_of=self.registry.routine_of,
                night_watch_of=self.registry.night_watch_of,
            )
        )
        self._registry_seen: int | None = None
        """The registry's :attr:`~registry.index.RegistryIndex.generation` supervision last followed."""
        self.history_dropped = 0
        self._history_buffer: list[Event] = []
        self.imu_minutes = ImuMinutes()
        """Wearables' blocks folded per device and minute before they reach the history."""
        self._tasks: list[asyncio.Task[Any]] = []
        spool_path = self.config.spool_path or Path(tempfile.gettempdir()) / (
            f"eldercare-spool-{self.config.gateway.client_id}.jsonl"
        )
        self.spool = Spool(spool_path, self.config.spool_max_bytes)
        self.intake = SpooledIntake(
            self.alerts.raise_detections,
            self.bus,
            self.spool,
            self.registry.resident_org_path,
            clock,
            self.config.store_timeout_s,
            self.config.retry_max_s,
            ring_first=self.alerts,
        )
        self.seam: Callable[[Batch], Awaitable[None]] | None = None
        """Where the gateway's batches go instead of :meth:`sink`, set before :meth:`start`: the
        partitioned log (``eldercare.cluster.ClusterSeam``), whose workers own the stream state."""

    async def _answer_times(self, start: datetime, end: datetime, path: str) -> dict[str, Any]:
        return await sla_report(self.pool, start, end, path, "all", self.config.alerting.utc_offset_min)

    async def _service_orders(self, start: datetime, end: datetime, path: str) -> dict[str, Any]:
        return await self.service_centre.reports.orders(Reach(Area(path)), start, end, by="area")

    @property
    def supervision(self) -> SupervisionState:
        """Device supervision's state in the stream core (what the console's overview shows)."""
        return self.stream.supervision

    async def resident_name(self, resident_id: str) -> str | None:
        """The resident's name, for the messages alerting sends (the registry owns residents)."""
        resident = await self.registry.resident(resident_id)
        return resident.name if resident else None

    @property
    def detections(self) -> int:
        return self.intake.detections

    @property
    def spool_error(self) -> str | None:
        return self.intake.error

    async def prepare(self) -> None:
        """Migrations and caches; safe to call on every start."""
        await migrate(self.pool, "registry")
        await migrate(self.pool, "alerting")
        await migrate(self.pool, "gateway")
        await migrate(self.pool, "servicecentre")
        await migrate(self.pool, "care")
        await self.care.prepare()
        await self.history.ensure_schema()
        await self.registry.load()
        await self.alerts.restore()
        await self.service_centre.restore()
        seconds = await asyncio.to_thread(warm_up)
        log.info("stream kernels ready", extra={"seconds": round(seconds, 2)})
        path = self.config.snapshot_path
        if path is not None and path.exists():
            self.stream.restore(path.read_bytes())
            log.info("stream state restored", extra={"path": str(path), "as_of_ms": self.stream.now_ms})
        self.stream.reserve(self.registry.residents_with_devices)
        await self.follow_registry(at_start=True)
        zigbee = self.zigbee_memory_path
        if zigbee is not None and zigbee.exists():
            self.gateway.zigbee_state.restore(zigbee.read_bytes())
            log.info("Zigbee2MQTT edge memory restored", extra={"devices": len(self.gateway.zigbee_state.last)})

    async def follow_registry(self, at_start: bool = False) -> None:
        """Give device supervision the registry's live devices bound to a resident
        (:meth:`stream.core.StreamCore.follow_registry`): the events never say that a device was retired,
        replaced or moved, and a device heard only after the last snapshot is unknown to the restored state.

        ``at_start``: a device supervision does not know yet starts its silence clock at its last stored
        event (the history's ``events_device_ts`` index), or, never stored, now; so a device that spoke only
        in the seconds before a crash, and died with it, still falls silent.
        """
        self._registry_seen = self.registry.generation
        bound = bindings(self.registry.devices())
        if at_start:
            unknown = sorted(bound.keys() - self.stream.supervision.device_health(bound).keys())
            for device_id, heard_ms in (await self._last_stored(unknown)).items():
                bound[device_id] = Binding(bound[device_id].resident_id, bound[device_id].device_type, heard_ms)
        self.stream.follow_registry(bound, int(self.clock() * 1000))

    async def _last_stored(self, device_ids: list[str]) -> dict[str, int]:
        """The last stored event of each of ``device_ids`` that has one (epoch ms, when received); empty when
        the history cannot say (logged: those devices are then watched from now)."""
        try:
            heard = await self.history.last_heard(device_ids)
        except Exception:
            log.exception("reading devices' last stored events failed; their silence is counted from now")
            return {}
        return {device_id: int(at.timestamp() * 1000) for device_id, at in heard.items()}

    @property
    def zigbee_memory_path(self) -> Path | None:
        """Where the Zigbee2MQTT edge memory is kept, beside the stream snapshot."""
        path = self.config.snapshot_path
        return None if path is None else path.with_suffix(".zigbee.json")

    def save_snapshot(self) -> None:
        """Write the stream core's state atomically (who has been silent since when survives a restart),
        and the Zigbee2MQTT edge memory (a state seen before a restart is no new event after it). Each is
        saved on its own: one that fails, for any reason, is logged and its last saved copy stays."""
        saves: list[tuple[Path | None, Callable[[], bytes]]] = [
            (self.config.snapshot_path, self.stream.snapshot),
            (self.zigbee_memory_path, self.gateway.zigbee_state.to_json),
        ]
        for path, encode in saves:
            if path is None:
                continue
            try:
                _write_atomically(path, encode())
            except Exception:
                log.exception("saving a snapshot failed; its last saved copy stays", extra={"path": str(path)})

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
                if self.zigbee_memory_path is not None:
                    memory = self.gateway.zigbee_state.to_json()
                    await asyncio.to_thread(_write_atomically, self.zigbee_memory_path, memory)
            except Exception:
                log.exception("saving the stream snapshot failed")

    async def sink(self, batch: Batch) -> None:
        """The seam: one batch of events keyed by resident → detections → stored alerts."""
        now_ms = int(self.clock() * 1000)
        detections = self.stream.process(batch, now_ms)
        buffer, minutes = self._history_buffer, self.imu_minutes
        for events in batch.values():
            for event in events:
                if event.imu is None:
                    buffer.append(event)
                elif (closed := minutes.add(event)) is not None:
                    buffer.append(closed)
        overflow = len(self._history_buffer) - self.config.history_buffer_max
        if overflow > 0:
            del self._history_buffer[:overflow]
            self.history_dropped += overflow
            log.error("event history buffer full: oldest events not stored", extra={"dropped": overflow})
        if detections and self.bus.subscribers:  # a console shows each alert with its resident's card
            self.registry.warm_cards(d.resident_id for d in detections)  # read while the alert is stored
        await self.intake.take(detections)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.config.stream_tick_s)
            if self.registry.generation != self._registry_seen:  # a device added, retired, replaced or moved
                try:
                    await self.follow_registry()
                except Exception:  # the timers go on; the next change tries again
                    log.exception("following the registry's devices failed")
            await self.intake.take(self.stream.advance(int(self.clock() * 1000)))

    async def _flush_history(self) -> None:
        while True:
            await asyncio.sleep(self.config.history_flush_s)
            await self.flush_history()

    async def maintain_history(self, hourly: bool = True) -> None:
        """Refresh the alert rollup; with ``hourly``, partitions ahead and retention too. Errors are logged."""
        await maintain_history(self.pool, self.history, self.config.alerting.utc_offset_min, hourly)

    async def _flush_dead_letters(self) -> None:
        while True:
            await asyncio.sleep(self.config.history_flush_s)
            await self.flush_dead_letters()

    async def flush_dead_letters(self) -> None:
        """Write waiting dead letters in batches; on a database error they wait for the next round."""
        buffer = self.gateway.dead_letters
        while len(buffer):
            letters = buffer.take(500)
            try:
                buffer.dropped += await self.dead_letters.write(letters)
            except Exception:
                log.exception("writing dead letters failed; will retry", extra={"letters": len(letters)})
                buffer.put_back(letters)
                return

    async def flush_history(self, everything: bool = False) -> None:
        """Write the buffered events, with the IMU minutes that are over (``everything``: all of them)."""
        minutes = self.imu_minutes
        self._history_buffer.extend(minutes.all() if everything else minutes.due(int(self.clock() * 1000)))
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
            self.intake.start_draining()
        self._tasks = [
            asyncio.create_task(self.gateway.run(self.mqtt, self.seam or self.sink), name="gateway"),
            asyncio.create_task(self._flush_history(), name="history"),
            asyncio.create_task(self._flush_dead_letters(), name="dead-letters"),
            asyncio.create_task(
                maintain_forever(
                    self.pool, self.history, self.config.alerting.utc_offset_min, self.config.rollup_every_s
                ),
                name="history-maintenance",
            ),
            asyncio.create_task(self.alerts.run_timers(), name="alert-timers"),
            asyncio.create_task(self.service_centre.run_plans(), name="service-plans"),
        ]
        if self.seam is None:  # the stream state lives here, not in partition workers
            self._tasks.append(asyncio.create_task(self._tick(), name="stream-timers"))
            self._tasks.append(asyncio.create_task(self._snapshots(), name="stream-snapshots"))
        await asyncio.wait_for(self._lanes_up(), timeout=30)

    async def _lanes_up(self) -> None:
        await self.gateway.connected.wait()
        while not self.gateway.lanes_ready():  # the telemetry lane connects a moment after the alarms'
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        drainer = self.intake.stop_draining()
        if drainer is not None:
            self._tasks.append(drainer)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.flush_history(everything=True)
        await self.flush_dead_letters()
        self.save_snapshot()

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
        """Whether this instance can take alarms now: broker, gateway lanes, database and spool each checked.

        ``lanes`` is red while a gateway lane is disconnected, being restarted, or retrying a batch its
        sink would not take.
        """
        checks = {
            "mqtt": self.gateway.connected.is_set(),
            "lanes": self.gateway.lanes_ready(),
            "database": await answers(self.pool),
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


def settle_heap() -> None:
    """Move what start-up built (registry, kernels, the app), which lives as long as the process, out
    of the collector's sight, so full collections stop walking it: 60-150 ms pauses of a full
    collection were seen under load, each holding every alarm on the event loop. Called once the
    process serves (``eldercare up``, and the benchmarks that run the platform in their own process)."""
    gc.collect()
    gc.freeze()
