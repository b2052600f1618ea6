"""The processes of a partitioned deployment (package ``partitions``), and the log at the platform's seam.

- ``eldercare ingest`` (:func:`run_ingest`): MQTT in through the gateway, every batch published to
  its residents' partitions; the MQTT acknowledgement waits for JetStream's.
- ``eldercare worker`` (:func:`run_worker`): owns partitions by lease, runs their stream cores,
  stores alerts, fires alert timers (claimed by row), sends ``call_received`` and announcements, and
  fans its alert events out to the console subject.
- ``eldercare up`` with ``ELDERCARE_CLUSTER=jetstream`` (:class:`ClusterSeam`): all of it in one
  process over the embedded nats-server, plus the API, whose console also hears other workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from psycopg_pool import AsyncConnectionPool

from alerting import AlertBus, AlertService, EventHistory
from alerting.intake import home_announcers
from eldercare.db import migrate, open_pool
from eldercare.settings import Settings
from gateway import BrokerAddress, Gateway, GatewayConfig
from gateway.deadletter import DeadLetterStore
from partitions.console import AccountFanOut, ConsoleFanIn, ConsoleFanOut
from partitions.downlink import MqttDownlink
from partitions.history import HistoryFromLog
from partitions.leases import LeaseConfig
from partitions.log import LogConfig, LogWriter, connect, ensure_stream
from partitions.tasks import cancel_and_wait
from partitions.worker import DeviceRegistry, Worker, WorkerConfig
from registry.store import Registry
from stream import StreamCore
from stream.core import default_detectors, warm_up
from stream.exits import Watch
from stream.home import HomeConfig, Routine

log = logging.getLogger("eldercare.partitions")


def worker_id(settings: Settings) -> str:
    return settings.worker_id or f"{socket.gethostname()}-{os.getpid()}"


def log_config(settings: Settings, nats_url: str) -> LogConfig:
    return LogConfig(
        servers=tuple(u.strip() for u in nats_url.split(",") if u.strip()), replicas=settings.nats_replicas
    )


def worker_config(settings: Settings) -> WorkerConfig:
    ttl = settings.lease_ttl_s
    return WorkerConfig(
        worker_id=worker_id(settings),
        tick_s=settings.stream_tick_s,
        snapshot_every_s=settings.partition_snapshot_every_s,
        replicas=settings.nats_replicas,
        leases=LeaseConfig(ttl_s=ttl, renew_s=max(0.2, ttl / 3), replicas=settings.nats_replicas),
    )


def core_factory(
    settings: Settings,
    routine_of: Callable[[str], Routine | None] | None = None,
    night_watch_of: Callable[[str], Watch | None] | None = None,
) -> Callable[[], StreamCore]:
    """One stream core per partition, with the configured homes' time and inactivity limit, and the
    residents' enrolled routines and night-exit watches from ``routine_of`` and ``night_watch_of`` (the
    worker's registry, reloaded every 30 s)."""
    offset = settings.home_utc_offset_min
    home = HomeConfig(utc_offset_min=offset)
    if settings.inactivity_fixed_s is not None:
        fixed = settings.inactivity_fixed_s
        home = HomeConfig(utc_offset_min=offset, active_fixed_s=fixed, seat_fixed_s=fixed)

    def make() -> StreamCore:
        return StreamCore(default_detectors(offset, routine_of=routine_of, night_watch_of=night_watch_of, home=home))

    return make


def announcers_of(registry: Registry) -> Callable[[str], list[str]]:
    return home_announcers(registry.resident_devices)


def alert_service(
    pool: AsyncConnectionPool, settings: Settings, registry: Registry, bus: AlertBus, downlink: MqttDownlink
) -> AlertService:
    """Alerting in a worker or an API instance, configured as in one process (``eldercare.serve``)."""
    from eldercare.serve import alerting_config

    async def name_of(resident_id: str) -> str | None:
        resident = await registry.resident(resident_id)
        return resident.name if resident else None

    return AlertService(
        pool,
        bus,
        downlink=downlink.send,
        org_of=registry.resident_org_path,
        announcers=announcers_of(registry),
        name_of=name_of,
        config=alerting_config(settings),
    )


async def open_log(settings: Settings, nats_url: str, name: str) -> tuple[NATS, JetStreamContext, LogConfig]:
    config = log_config(settings, nats_url)
    nc = await connect(config, name)
    js = nc.jetstream(timeout=2.0)
    await _retry(lambda: ensure_stream(js, config), "creating the log stream")
    return nc, js, config


async def _retry(action: Callable[[], Any], what: str, attempts: int = 30) -> None:
    for attempt in range(attempts):
        try:
            await action()
            return
        except Exception as error:  # a cluster still electing its meta leader
            if attempt == attempts - 1:
                raise
            log.warning("%s failed; retrying", what, extra={"error": repr(error)[:120]})
            await asyncio.sleep(0.5)


async def _refresh_timers(alerts: AlertService, every_s: float) -> None:
    """Pick up alert timers other workers stored (a dead worker's escalations go on); claimed by row."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await alerts.restore(periodic=True)
        except Exception:
            log.exception("refreshing alert timers failed")


async def _write_dead_letters(receiver: Gateway, store: DeadLetterStore, every_s: float = 0.5) -> None:
    """What the gateway could not accept, kept for the operator (as ``Platform`` does in one process)."""
    buffer = receiver.dead_letters
    while True:
        await asyncio.sleep(every_s)
        while len(buffer):
            letters = buffer.take(500)
            try:
                buffer.dropped += await store.write(letters)
            except Exception:
                log.exception("writing dead letters failed; will retry", extra={"letters": len(letters)})
                buffer.put_back(letters)
                break


async def _reload_registry(registry: Registry, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            await registry.load()
        except Exception:
            log.exception("reloading the registry failed")


@dataclass
class ClusterSeam:
    """The log at the seam of one process: gateway → log; worker → alerts; console both ways."""

    writer: LogWriter
    worker: Worker
    fan_out: ConsoleFanOut
    fan_in: ConsoleFanIn
    nc: NATS
    alerts: AlertService
    history: HistoryFromLog
    timer_refresh_s: float = 5.0
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @classmethod
    async def open(
        cls,
        settings: Settings,
        nats_url: str,
        alerts: AlertService,
        bus: AlertBus,
        history: EventHistory,
        routine_of: Callable[[str], Routine | None] | None = None,
        night_watch_of: Callable[[str], Watch | None] | None = None,
        registry: DeviceRegistry | None = None,
    ) -> ClusterSeam:
        wid = worker_id(settings)
        nc, js, config = await open_log(settings, nats_url, f"eldercare-{wid}")
        fan_in = ConsoleFanIn(nc, bus, wid)
        return cls(
            writer=LogWriter(js, config, wid),
            worker=Worker(
                js,
                alerts.raise_detections,
                worker_config(settings),
                core_factory(settings, routine_of, night_watch_of),
                registry=registry,
            ),
            fan_out=ConsoleFanOut(nc, bus, wid, fan_in),
            fan_in=fan_in,
            nc=nc,
            alerts=alerts,
            history=HistoryFromLog(js, history),
            timer_refresh_s=settings.timer_refresh_s,
        )

    def start(self) -> None:
        self.tasks = [
            asyncio.create_task(self.worker.run(), name="partition-worker"),
            asyncio.create_task(self.fan_out.run(), name="console-fan-out"),
            asyncio.create_task(self.fan_in.run(), name="console-fan-in"),
            asyncio.create_task(_refresh_timers(self.alerts, self.timer_refresh_s), name="timer-refresh"),
            asyncio.create_task(self.history.run(), name="history-from-log"),
        ]

    async def stop(self) -> None:
        await cancel_and_wait(self.tasks)
        await self.worker.stop()
        with contextlib.suppress(Exception):
            await self.nc.drain()


async def run_worker(settings: Settings, database_url: str, mqtt_url: str, nats_url: str) -> None:
    """A stream worker until cancelled (SIGTERM: snapshot, release, leave)."""
    from eldercare.serve import history_config

    wid = worker_id(settings)
    pool = await open_pool(database_url)
    nc: NATS | None = None
    tasks: list[asyncio.Task[Any]] = []
    worker: Worker | None = None
    try:
        await migrate(pool, "registry")
        await migrate(pool, "alerting")
        registry = Registry(pool)
        await registry.load()
        bus = AlertBus()
        downlink = MqttDownlink(
            BrokerAddress.parse(mqtt_url), f"{settings.gateway_client_id}-downlink-{wid}", settings.topic_prefix
        )
        alerts = alert_service(pool, settings, registry, bus, downlink)
        await alerts.restore()
        await asyncio.to_thread(warm_up)
        nc, js, _ = await open_log(settings, nats_url, f"eldercare-worker-{wid}")
        factory = core_factory(settings, registry.routine_of, registry.night_watch_of)
        worker = Worker(js, alerts.raise_detections, worker_config(settings), factory, registry=registry)
        fan_out = ConsoleFanOut(nc, bus, wid)
        history = EventHistory(pool, history_config(settings))
        await history.ensure_schema()
        tasks = [
            asyncio.create_task(HistoryFromLog(js, history).run(), name="history"),
            asyncio.create_task(downlink.run(), name="downlink"),
            asyncio.create_task(fan_out.run(), name="console-fan-out"),
            asyncio.create_task(alerts.run_timers(), name="alert-timers"),
            asyncio.create_task(_refresh_timers(alerts, settings.timer_refresh_s), name="timer-refresh"),
            asyncio.create_task(_reload_registry(registry, 30.0), name="registry-reload"),
        ]
        log.info("worker started", extra={"worker_id": wid})
        await worker.run()
    finally:
        await cancel_and_wait(tasks)
        if worker is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(worker.stop(), 10)
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.drain()
        await pool.close()


async def run_ingest(
    settings: Settings, database_url: str, mqtt_url: str, nats_url: str, gateway: GatewayConfig
) -> None:
    """An ingest process until cancelled: the gateway's batches go to the log."""
    pool = await open_pool(database_url)
    nc: NATS | None = None
    try:
        await migrate(pool, "registry")
        registry = Registry(pool)
        await registry.load()
        nc, js, config = await open_log(settings, nats_url, f"eldercare-ingest-{worker_id(settings)}")
        writer = LogWriter(js, config, worker_id(settings))
        await migrate(pool, "gateway")
        receiver = Gateway(registry, gateway)
        helpers = [
            asyncio.create_task(_reload_registry(registry, 30.0), name="registry-reload"),
            asyncio.create_task(_write_dead_letters(receiver, DeadLetterStore(pool)), name="dead-letters"),
        ]
        try:
            await receiver.run(BrokerAddress.parse(mqtt_url), writer.sink)
        finally:
            for task in helpers:
                task.cancel()
    finally:
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.drain()
        await pool.close()


def until_terminated(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` until it ends or SIGTERM/SIGINT cancels it (its ``finally`` blocks then run)."""

    async def runner() -> None:
        task = asyncio.ensure_future(main)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(runner())


async def run_api(settings: Settings, database_url: str, mqtt_url: str, nats_url: str) -> None:
    """An API instance until cancelled (README: Scale-out); the signing and field keys must be shared."""
    import uvicorn

    from alerting.reports import sla_report
    from api import create_app
    from api.console import ConsoleSessions
    from api.security import TokenIssuer
    from care import CareService
    from care.signals import platform_offline_devices, platform_signals
    from eldercare.serve import api_config, history_config, http_config, secret_key
    from partitions.api_instance import ApiInstance
    from registry.area import Area
    from registry.crypto import FieldCipher
    from registry.users import Users
    from servicecentre import ServiceCentre, ServiceConfig
    from servicecentre.model import Reach

    wid = worker_id(settings)
    data_dir = settings.data_dir.expanduser().resolve()
    pool = await open_pool(database_url)
    nc: NATS | None = None
    instance: ApiInstance | None = None
    try:
        for component in ("registry", "alerting", "gateway", "servicecentre", "care"):
            await migrate(pool, component)
        cipher = FieldCipher.for_site(settings.field_key, data_dir)
        registry = Registry(pool, cipher)
        await registry.load()
        bus = AlertBus()
        downlink = MqttDownlink(
            BrokerAddress.parse(mqtt_url), f"{settings.gateway_client_id}-api-{wid}", settings.topic_prefix
        )
        alerts = alert_service(pool, settings, registry, bus, downlink)
        await alerts.restore()
        history = EventHistory(pool, history_config(settings))
        await history.ensure_schema()
        offset = settings.home_utc_offset_min
        service_centre = ServiceCentre(
            pool,
            clock=lambda: alerts.clock(),
            scheduler=alerts.scheduler,
            raise_alerts=alerts.raise_detections,
            config=ServiceConfig(public_url=alerts.config.public_url, utc_offset_min=offset),
        )

        async def answer_times(start: datetime, end: datetime, path: str) -> dict[str, Any]:
            return await sla_report(pool, start, end, path, "all", offset)

        async def service_orders(start: datetime, end: datetime, path: str) -> dict[str, Any]:
            return await service_centre.reports.orders(Reach(Area(path)), start, end, by="area")

        care = CareService(
            pool,
            utc_offset_min=offset,
            raise_alert=alerts.raise_detections,
            signals=platform_signals(alerts),
            offline_devices=platform_offline_devices(alerts),
            alert_counts=alerts.counts_by_resident,
            answer_times=answer_times,
            service_orders=service_orders,
            scheduler=alerts.scheduler,  # the rollup's tick
        )
        await care.prepare()
        await service_centre.restore()
        nc = await connect(log_config(settings, nats_url), f"eldercare-api-{wid}")
        fan_in = ConsoleFanIn(nc, bus, wid)
        sessions = ConsoleSessions()
        accounts = AccountFanOut(nc, wid, sessions.changed_elsewhere)
        sessions.announce = accounts.announce
        instance = ApiInstance(
            pool,
            nc,
            registry,
            Users(pool),
            alerts,
            history,
            bus,
            DeadLetterStore(pool),
            downlink,
            fan_in,
            ConsoleFanOut(nc, bus, wid, fan_in),
            service_centre,
            care,
            accounts,
            utc_offset_min=offset,
            timer_refresh_s=settings.timer_refresh_s,
            rollup_every_s=settings.history_rollup_every_s,
        )
        instance.start()
        issuer = TokenIssuer(settings.secret_key or secret_key(data_dir), settings.token_ttl_s)
        config = http_config(
            create_app(instance, issuer, api_config(settings), sessions),
            settings,
            settings.http_host,
            settings.http_port,
        )
        server = uvicorn.Server(config)
        serving = asyncio.ensure_future(server.serve())
        try:
            await asyncio.shield(serving)
        except asyncio.CancelledError:
            server.should_exit = True  # closes the listening socket and open connections
            await serving
            raise
    finally:
        if instance is not None:
            await instance.stop()
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.drain()
        await pool.close()
