"""Fault scenarios on real processes: every alarm delivered, none paged twice.

Each scenario starts the platform against a real broker and PostgreSQL, presses SOS buttons at a
steady rate (one button per resident, QoS 1, like real devices that retry until acknowledged),
injects one fault in the middle, and then counts from the database and the console feed:

- **sent**: presses published;
- **delivered**: presses stored as alerts (one alert trigger per press, by its device + seq key);
- **duplicates**: pages beyond one per press (an alert announced raised twice under different ids,
  or a trigger stored twice);
- **worst delay**: the longest time from a press to the console hearing of it.

Used by ``eldercare bench faults`` (full sizes) and by ``tests/lab/test_faults.py`` (small sizes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from alerting import AlertEventType
from devices.protocol import TOPIC_PREFIX
from eldercare.db import migrate, open_pool
from eldercare.embedded import EmbeddedBroker, free_port, mqtt_ping
from eldercare.runtime import Platform, PlatformConfig
from gateway import BrokerAddress, GatewayConfig
from registry.store import DeviceRecord, Registry, ResidentRecord


@dataclass
class FaultResult:
    fault: str
    sent: int
    delivered: int
    duplicates: int
    worst_delay_s: float | None
    notes: str = ""

    @property
    def lost(self) -> int:
        return self.sent - self.delivered

    def row(self) -> dict[str, Any]:
        return {
            "fault": self.fault,
            "sent": self.sent,
            "delivered": self.delivered,
            "lost": self.lost,
            "duplicates": self.duplicates,
            "worst_delay_s": None if self.worst_delay_s is None else round(self.worst_delay_s, 3),
            "notes": self.notes,
        }


# ------------------------------------------------------------------------------------ fault tools


class TcpProxy:
    """A loopback TCP proxy that can cut every connection and refuse new ones (a network fault)."""

    def __init__(self, upstream_host: str | None, upstream_port: int | None, upstream_unix: str | None = None) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.upstream_unix = upstream_unix
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def cut(self) -> None:
        """Close every connection and stop listening (clients see resets, then refusals)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._pipes):
            task.cancel()

    async def restore(self) -> None:
        await self.start()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.upstream_unix:
                up_reader, up_writer = await asyncio.open_unix_connection(self.upstream_unix)
            else:
                assert self.upstream_host is not None and self.upstream_port is not None
                up_reader, up_writer = await asyncio.open_connection(self.upstream_host, self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.transport.abort()
            self._writers.discard(writer)


def proxied_url(database_url: str, proxy_port: int) -> str:
    params = conninfo_to_dict(database_url)
    params.update(host="127.0.0.1", port=str(proxy_port))
    return make_conninfo(**params)  # type: ignore[arg-type]


def database_upstream(database_url: str) -> tuple[str | None, int | None, str | None]:
    params = conninfo_to_dict(database_url)
    host = str(params.get("host") or "/var/run/postgresql")
    port = int(params.get("port") or 5432)
    if host.startswith("/"):
        return None, None, f"{host}/.s.PGSQL.{port}"
    return host, port, None


class RestartableBroker:
    """A private broker on a free loopback port whose state survives restarts.

    Mosquitto (with persistence) when its binary is installed, else the embedded nats-server.
    """

    def __init__(self, directory: Path, max_queued_messages: int = 100_000, max_inflight_messages: int = 1000) -> None:
        self.directory = directory
        self.max_queued_messages = max_queued_messages
        self.max_inflight_messages = max_inflight_messages
        self.port = free_port()
        self.kind = "mosquitto" if shutil.which("mosquitto") else "embedded nats-server"
        self._process: subprocess.Popen[bytes] | None = None
        self._embedded: EmbeddedBroker | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    async def start(self) -> None:
        if self.kind == "mosquitto":
            config = self.directory / "mosquitto.conf"
            config.write_text(
                f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\nuser {_user()}\n"
                f"persistence_location {self.directory}/\nautosave_interval 1\nautosave_on_changes true\n"
                f"max_queued_messages {self.max_queued_messages}\nmax_inflight_messages {self.max_inflight_messages}\n"
                "set_tcp_nodelay true\n"
            )
            binary = shutil.which("mosquitto") or "mosquitto"
            self._process = subprocess.Popen(
                [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        else:
            self._embedded = EmbeddedBroker(self.directory, port=self.port)
            await self._embedded.start()
        deadline = time.monotonic() + 15
        while not await mqtt_ping("127.0.0.1", self.port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.kind} did not start on port {self.port}")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGTERM)  # mosquitto saves its persistence file on TERM
            await asyncio.to_thread(self._process.wait, 10)
            self._process = None
        if self._embedded is not None:
            await self._embedded.stop()
            self._embedded = None

    async def restart(self, down_s: float) -> None:
        await self.stop()
        await asyncio.sleep(down_s)
        await self.start()


@contextlib.asynccontextmanager
async def throwaway_database(admin_url: str) -> AsyncIterator[str]:
    name = f"eldercare_faults_{uuid.uuid4().hex[:8]}"
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as conn:
        await conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(admin_url, dbname=name)
    finally:
        async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as conn:
            await conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# ------------------------------------------------------------------------------------ the presses


@dataclass
class PressLog:
    """When each press was published, and what the console heard."""

    sent_at: dict[str, float] = field(default_factory=dict)  # device id → publish time
    heard_at: dict[str, float] = field(default_factory=dict)  # device id → first console announcement
    raised_ids: dict[str, set[str]] = field(default_factory=dict)  # device id → alert ids announced raised

    def worst_delay(self) -> float | None:
        delays = [self.heard_at[d] - t for d, t in self.sent_at.items() if d in self.heard_at]
        return max(delays) if delays else None

    def duplicate_pages(self) -> int:
        return sum(len(ids) - 1 for ids in self.raised_ids.values() if len(ids) > 1)


async def seed_buttons(pool: Any, count: int, tag: str) -> list[str]:
    registry = Registry(pool)
    await migrate(pool, "registry")
    await migrate(pool, "alerting")
    devices = []
    for index in range(count):
        resident = f"{tag}-r{index}"
        device = f"{tag}-b{index}"
        await registry.add_resident(ResidentRecord(resident, f"Resident {index}", f"{index} Fault Street"))
        await registry.add_device(DeviceRecord(device, resident, "sos_button", location="hall"))
        devices.append(device)
    return devices


async def press_all(
    mqtt_url: str,
    prefix: str,
    devices: list[str],
    rate_hz: float,
    log: PressLog,
    fault_at: int | None = None,
    fault: Callable[[], Coroutine[Any, Any, None]] | None = None,
) -> None:
    """Each device presses once (seq 1, QoS 1). A publish that fails is retried, as firmware does."""
    address = BrokerAddress.parse(mqtt_url)
    fault_task: asyncio.Task[None] | None = None
    index = 0
    while index < len(devices):
        try:
            async with aiomqtt.Client(
                address.host, address.port, identifier=f"presser-{uuid.uuid4().hex[:8]}"
            ) as client:
                while index < len(devices):
                    if fault is not None and fault_at is not None and index == fault_at and fault_task is None:
                        fault_task = asyncio.create_task(fault())
                    device = devices[index]
                    log.sent_at.setdefault(device, time.monotonic())
                    body = {"ts": int(time.time() * 1000), "kind": "sos", "seq": 1}
                    await client.publish(f"{prefix}/{device}/alarm", json.dumps(body), qos=1, timeout=5)
                    index += 1
                    await asyncio.sleep(1.0 / rate_hz)
        except aiomqtt.MqttError:
            await asyncio.sleep(0.2)  # the broker is away: reconnect and publish the same press again
    if fault_task is not None:
        await fault_task


async def stored_counts(database_url: str, devices: list[str]) -> tuple[int, int]:
    """(presses stored as alert triggers, extra raise/repeat records beyond one per trigger)."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM alert_triggers t JOIN alerts a ON a.id = t.alert_id WHERE a.device_id = ANY(%s)",
            (devices,),
        )
        triggers = (await cursor.fetchone())[0]  # type: ignore[index]
        cursor = await conn.execute(
            "SELECT count(*) FROM alert_audit u JOIN alerts a ON a.id = u.alert_id"
            " WHERE a.device_id = ANY(%s) AND u.action IN ('raised', 'repeated')",
            (devices,),
        )
        records = (await cursor.fetchone())[0]  # type: ignore[index]
    return int(triggers), max(0, int(records) - int(triggers))


async def _listen(platform: Platform, log: PressLog) -> None:
    async with platform.bus.subscribe() as events:
        async for event in events:
            if event.type not in (AlertEventType.RAISED, AlertEventType.REPEATED):
                continue
            device = event.alert.device_id
            log.heard_at.setdefault(device, time.monotonic())
            if event.type is AlertEventType.RAISED:
                log.raised_ids.setdefault(device, set()).add(str(event.alert.id))


@contextlib.asynccontextmanager
async def in_process_platform(
    mqtt_url: str, database_url: str, tag: str, spool_dir: Path, **config: Any
) -> AsyncIterator[Platform]:
    pool = await open_pool(database_url, min_size=1, max_size=6)
    platform = Platform(
        pool,
        BrokerAddress.parse(mqtt_url),
        PlatformConfig(
            gateway=GatewayConfig(topic_prefix=f"{tag}/{TOPIC_PREFIX}", client_id=f"gw-{tag}"),
            spool_path=spool_dir / "alerts.jsonl",
            **config,
        ),
    )
    # A pool that waits 30 s for a connection would hide an outage; the spool takes over instead.
    pool.timeout = 2.0
    try:
        await platform.prepare()
        await platform.start()
        yield platform
    finally:
        await platform.stop()
        await pool.close()


async def _until(check: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.1)
    return False


# ------------------------------------------------------------------------------------ scenarios


@dataclass
class Stage:
    """One scenario's world: a throwaway database with ``presses`` residents, one button each."""

    tag: str
    database_url: str
    devices: list[str]
    log: PressLog = field(default_factory=PressLog)

    @property
    def prefix(self) -> str:
        return f"{self.tag}/{TOPIC_PREFIX}"

    async def result(self, fault: str, notes: str = "", timeout_s: float = 60.0) -> FaultResult:
        """Wait until every press is stored (or the timeout), then count from the database."""
        await _until(lambda: _all_stored(self.database_url, self.devices), timeout_s)
        delivered, extra = await stored_counts(self.database_url, self.devices)
        return FaultResult(
            fault, len(self.devices), delivered, extra + self.log.duplicate_pages(), self.log.worst_delay(), notes
        )


@contextlib.asynccontextmanager
async def staged(admin_db_url: str, presses: int, kind: str) -> AsyncIterator[Stage]:
    tag = f"{kind}{uuid.uuid4().hex[:6]}"
    async with throwaway_database(admin_db_url) as database_url:
        seed_pool = await open_pool(database_url, min_size=1, max_size=2)
        try:
            devices = await seed_buttons(seed_pool, presses, tag)
        finally:
            await seed_pool.close()
        yield Stage(tag, database_url, devices)


@contextlib.asynccontextmanager
async def watched_platform(
    stage: Stage, mqtt_url: str, database_url: str | None = None, **config: Any
) -> AsyncIterator[Platform]:
    """The platform in this process, its console feed recorded into the stage's press log."""
    with tempfile.TemporaryDirectory(prefix="eldercare-spool-") as spool_dir:
        async with in_process_platform(
            mqtt_url, database_url or stage.database_url, stage.tag, Path(spool_dir), **config
        ) as platform:
            listener = asyncio.create_task(_listen(platform, stage.log))
            try:
                yield platform
            finally:
                listener.cancel()


async def database_outage(
    mqtt_url: str, admin_db_url: str, presses: int, outage_s: float, rate_hz: float
) -> FaultResult:
    """PostgreSQL unreachable for ``outage_s`` in the middle of the presses."""
    async with staged(admin_db_url, presses, "db") as stage:
        notes = await _cut_database(stage, mqtt_url, outage_s, rate_hz)
        return await stage.result(f"database unreachable {outage_s:g} s", notes)


async def spool_full(mqtt_url: str, admin_db_url: str, presses: int, outage_s: float, rate_hz: float) -> FaultResult:
    """Database away and the local buffer full: loud error, red health, alarms held at the broker."""
    async with staged(admin_db_url, presses, "sf") as stage:
        notes = await _cut_database(stage, mqtt_url, outage_s, rate_hz, spool_max_bytes=64)
        return await stage.result("spool disk full during outage", notes)


async def _cut_database(stage: Stage, mqtt_url: str, outage_s: float, rate_hz: float, **config: Any) -> str:
    """Press every button with PostgreSQL unreachable (a TCP proxy cut) for ``outage_s`` in the middle."""
    notes: list[str] = []
    proxy = TcpProxy(*database_upstream(stage.database_url))
    await proxy.start()
    try:
        async with watched_platform(stage, mqtt_url, proxied_url(stage.database_url, proxy.port), **config) as platform:

            async def outage() -> None:
                await proxy.cut()
                await asyncio.sleep(outage_s / 2)
                ready = await platform.readiness()
                state = "ready" if ready["ready"] else "NOT ready"
                error = platform.spool_error is not None
                notes.append(f"readyz during outage: {state}; spooled {len(platform.spool)}; spool error: {error}")
                await asyncio.sleep(outage_s / 2)
                await proxy.restore()

            devices = stage.devices
            await press_all(mqtt_url, stage.prefix, devices, rate_hz, stage.log, len(devices) // 3, outage)
            await _until(lambda: _all_stored(stage.database_url, devices), 60)
    finally:
        await proxy.cut()
    return "; ".join(notes)


async def broker_restart(admin_db_url: str, presses: int, down_s: float, rate_hz: float) -> FaultResult:
    """The broker restarted mid-stream; devices reconnect and resend, the gateway's session resumes."""
    with tempfile.TemporaryDirectory(prefix="eldercare-broker-") as broker_dir:
        broker = RestartableBroker(Path(broker_dir))
        await broker.start()
        try:
            async with staged(admin_db_url, presses, "br") as stage, watched_platform(stage, broker.url):
                await press_all(
                    broker.url,
                    stage.prefix,
                    stage.devices,
                    rate_hz,
                    stage.log,
                    presses // 3,
                    lambda: broker.restart(down_s),
                )
                return await stage.result(f"{broker.kind} restarted ({down_s:g} s down)")
        finally:
            await broker.stop()


async def worker_killed(mqtt_url: str, admin_db_url: str, presses: int, rate_hz: float) -> FaultResult:
    """``eldercare up`` killed with SIGKILL mid-stream and started again (a real process)."""
    with tempfile.TemporaryDirectory(prefix="eldercare-worker-") as data_dir:
        async with staged(admin_db_url, presses, "wk") as stage:
            tag, database_url, devices = stage.tag, stage.database_url, stage.devices
            port = free_port()
            env = {
                **os.environ,
                "ELDERCARE_MQTT_URL": mqtt_url,
                "ELDERCARE_DATABASE_URL": database_url,
                "ELDERCARE_DATA_DIR": data_dir,
                "ELDERCARE_HTTP_PORT": str(port),
                "ELDERCARE_TOPIC_PREFIX": f"{tag}/{TOPIC_PREFIX}",
                "ELDERCARE_GATEWAY_CLIENT_ID": f"gw-{tag}",
                "ELDERCARE_ADMIN": "admin:fault-admin-password",
            }
            command = [sys.executable, "-c", "from eldercare.cli import app; app()", "up"]

            async def start_worker() -> subprocess.Popen[bytes]:
                worker = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                async with httpx.AsyncClient() as http:
                    deadline = time.monotonic() + 60
                    while time.monotonic() < deadline:
                        with contextlib.suppress(httpx.HTTPError):
                            if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                                return worker
                        if worker.poll() is not None:
                            raise RuntimeError(f"eldercare up exited with {worker.returncode}")
                        await asyncio.sleep(0.1)
                worker.kill()
                raise RuntimeError("eldercare up did not become ready within 60 s")

            workers = [await start_worker()]

            async def kill_and_restart() -> None:
                workers[0].send_signal(signal.SIGKILL)
                await asyncio.to_thread(workers[0].wait)
                workers[0] = await start_worker()

            try:
                await press_all(mqtt_url, stage.prefix, devices, rate_hz, stage.log, presses // 3, kill_and_restart)
                await _until(lambda: _all_stored(database_url, devices), 60)
                delivered, extra = await stored_counts(database_url, devices)
                worst = await _worst_store_delay(database_url, devices, stage.log.sent_at)
            finally:
                workers[0].terminate()
                await asyncio.to_thread(workers[0].wait, 20)
    return FaultResult("worker SIGKILL and restart", presses, delivered, extra, worst, "delay: press → stored")


async def clock_skew(mqtt_url: str, admin_db_url: str, presses: int, rate_hz: float) -> FaultResult:
    """Devices whose clocks are a year behind or a day ahead: kept, flagged, ordered by arrival."""
    skews = (-365 * 86_400_000, 86_400_000)
    async with staged(admin_db_url, presses, "ck") as stage:
        async with watched_platform(stage, mqtt_url) as platform:
            address = BrokerAddress.parse(mqtt_url)
            async with aiomqtt.Client(address.host, address.port) as client:
                for index, device in enumerate(stage.devices):
                    stage.log.sent_at[device] = time.monotonic()
                    body = {"ts": int(time.time() * 1000) + skews[index % 2], "kind": "sos", "seq": 1}
                    await client.publish(f"{stage.prefix}/{device}/alarm", json.dumps(body), qos=1)
                    await asyncio.sleep(1.0 / rate_hz)
            await _until(lambda: _all_stored(stage.database_url, stage.devices), 30)
            flagged = platform.gateway.clock_skewed
        in_order = await _stored_in_arrival_order(stage.database_url, stage.devices)
        return await stage.result(
            "device clocks ±1 year/day", f"flagged {flagged}, stored in arrival order: {in_order}"
        )


async def overload(admin_db_url: str, presses: int, flood: int, rate_hz: float) -> FaultResult:
    """A telemetry flood far beyond what the platform processes, on a broker with Debian's default queue
    limits (1000 queued, 20 in flight per client); presses injected during it must all get through."""
    with tempfile.TemporaryDirectory(prefix="eldercare-broker-") as broker_dir:
        broker = RestartableBroker(Path(broker_dir), max_queued_messages=1000, max_inflight_messages=20)
        await broker.start()
        try:
            async with staged(admin_db_url, presses, "ov") as stage:
                async with watched_platform(stage, broker.url) as platform:
                    platform.gateway.config = replace(platform.gateway.config, shed_depth=500)
                    flooding = asyncio.create_task(_flood_imu(broker.url, stage, flood))
                    await asyncio.sleep(0.2)
                    await press_all(broker.url, stage.prefix, stage.devices, rate_hz, stage.log)
                    await flooding
                    await _until(lambda: _all_stored(stage.database_url, stage.devices), 60)
                    counters = platform.gateway.counters()
                reached = counters["received"] - presses  # every press reaches the gateway once, on the alarm lane
                notes = (
                    f"telemetry reaching the gateway {max(0, reached)} of {flood}"
                    + (" (the rest dropped at the broker's telemetry session)" if reached < flood else "")
                    + f", shed by the gateway {counters['shed']}; alarms on their own MQTT session"
                )
                return await stage.result(f"telemetry flood ({flood} imu messages)", notes)
        finally:
            await broker.stop()


async def _flood_imu(mqtt_url: str, stage: Stage, count: int) -> None:
    address = BrokerAddress.parse(mqtt_url)
    payload = json.dumps({"t0": int(time.time() * 1000), "hz": 50, "acc": [[0.0, -1.0, 0.0]] * 50})
    async with aiomqtt.Client(address.host, address.port) as client:
        for index in range(count):
            await client.publish(f"{stage.prefix}/{stage.devices[index % len(stage.devices)]}/imu", payload, qos=0)
            if index % 200 == 0:
                await asyncio.sleep(0)


async def _all_stored(database_url: str, devices: list[str]) -> bool:
    delivered, _ = await stored_counts(database_url, devices)
    return delivered >= len(devices)


async def _worst_store_delay(database_url: str, devices: list[str], sent_at: dict[str, float]) -> float | None:
    """Press → stored, from wall-clock ``raised_at`` against the monotonic send times (offset once)."""
    offset = time.time() - time.monotonic()
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cursor = await conn.execute(
            "SELECT device_id, extract(epoch FROM raised_at) FROM alerts WHERE device_id = ANY(%s)", (devices,)
        )
        rows = await cursor.fetchall()
    delays = [float(raised) - (sent_at[device] + offset) for device, raised in rows if device in sent_at]
    return max(delays) if delays else None


async def _stored_in_arrival_order(database_url: str, devices: list[str]) -> bool:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cursor = await conn.execute(
            "SELECT device_id FROM alerts WHERE device_id = ANY(%s) ORDER BY raised_at", (devices,)
        )
        order = [row[0] for row in await cursor.fetchall()]
    return order == [d for d in devices if d in order]


def _user() -> str:
    """Mosquitto started as root drops to user ``mosquitto``, who cannot write our temp directory."""
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name
