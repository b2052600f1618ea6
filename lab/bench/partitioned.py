"""``eldercare bench scaling``: the partitioned deployment on real processes, 1 then 2 workers.

What runs (:mod:`lab.bench.deployment`): a private Mosquitto with ``deploy/``'s queue settings, a
nats-server with JetStream, ``eldercare ingest``, ``eldercare api`` and 1 … N ``eldercare worker``
processes on a throwaway database; the homes (:mod:`lab.bench.scaling_fleet`) in a process of
their own: everyday homes from the start, wearable homes (one-second IMU blocks) joining later, and
SOS presses at a steady rate in the last window.

The windows, each measured from outside (CPU of every process from ``/proc`` through psutil; events
from the log itself, :mod:`lab.bench.logbook`):

1. **idle**: the processes up, one worker owning all 64 partitions, no homes;
2. **k workers** for k = 1 … N: everyday homes; worker k joins and the partitions are shared out
   before the window starts;
3. **N workers + wearables**: the wearable homes join;
4. **… + SOS presses**: everyday buttons pressed at a steady rate under that load (each timed to the
   database and to the API's console websocket);
5. **history alone**: the workers stop, the log's durable ``history`` consumer is deleted and the
   history writer (:mod:`lab.bench.history_alone`) writes the whole log again by itself.

Then every press is looked up in the database (stored, and when) and on the API instance's console
websocket (when), the log is read back once to count each window's events per worker, and the CPU
per resident, IMU block and alarm of each role (:mod:`lab.bench.partitioned_figures`) becomes the
capacity table (:mod:`lab.bench.capacity`).

A little over 500 lines: the run's steps are kept in one module so that their order (which window
follows which, what each waits for) reads top to bottom; the figures, the log reading, the processes
and the homes are modules of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import psutil
import websockets
from firmware_sim.fleet import CITY, seed_registry
from firmware_sim.scenarios import ANNOUNCED
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from api.security import TokenIssuer
from eldercare.db import migrate, open_pool
from eldercare.embedded import EmbeddedPostgres
from eldercare.settings import Settings
from gateway import BrokerAddress
from lab.bench.capacity import CityLoad
from lab.bench.deployment import Deployment
from lab.bench.logbook import (
    LogIndex,
    LogTail,
    Progress,
    alerts_by_kind,
    all_owned,
    cpu_seconds,
    database_backends,
    progress_of,
    stored_presses,
)
from lab.bench.partitioned_figures import Mark, Measured, Window, report, summary_rows
from lab.bench.scaling_fleet import FleetPlan
from lab.harness import drop_database, fresh_database
from lab.report import emit, progress
from partitions.history import CONSUMER as HISTORY_CONSUMER
from partitions.keys import LEASES_BUCKET, SNAPSHOTS_BUCKET, STREAM, WORKERS_BUCKET
from partitions.leases import Leases
from registry.store import Registry
from registry.users import Users

LEASE_TTL_S = 15.0


@dataclass(frozen=True, slots=True)
class ScalingConfig:
    everyday_homes: int = 3000
    wearable_homes: int = 300
    imu_hz: float = 50.0
    workers: int = 2
    duration_s: float = 45.0
    idle_s: float = 10.0
    settle_s: float = 10.0
    press_rate_hz: float = 1.0
    seed: int = 0
    city: CityLoad = field(default_factory=CityLoad)


@dataclass
class Observed:
    """What the bench hears from the homes and the console while it runs."""

    presses: dict[str, float] = field(default_factory=dict)
    press_residents: dict[str, str] = field(default_factory=dict)
    heard: dict[str, float] = field(default_factory=dict)
    console_events: int = 0
    stats: dict[str, Any] = field(default_factory=dict)
    started: dict[str, asyncio.Event] = field(
        default_factory=lambda: {name: asyncio.Event() for name in ("everyday", "more", "wearables")}
    )
    done: dict[str, Any] = field(default_factory=dict)


class Bench:
    """One run: the deployment, the observers, the windows."""

    def __init__(self, config: ScalingConfig, deployment: Deployment, database: str) -> None:
        self.config = config
        self.deployment = deployment
        self.database = database
        self.observed = Observed()
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self.leases: Leases | None = None
        self.homes: asyncio.subprocess.Process | None = None
        self.tasks: list[asyncio.Task[Any]] = []
        self.processes: dict[str, psutil.Process] = {}
        self.idle: Window | None = None
        self.windows: list[Window] = []
        self.history: dict[str, Any] = {}

    # -- observing ---------------------------------------------------------------------------------

    async def progress(self) -> Progress:
        assert self.js is not None
        return await progress_of(self.js, self.leases)

    async def mark(self) -> Mark:
        cpu = {name: cpu_seconds(proc) for name, proc in self.processes.items()}
        return Mark(
            time.monotonic(),
            time.time(),
            cpu,
            database_backends(self.database),
            await self.progress(),
            dict(self.observed.stats),
            self.observed.console_events,
        )

    async def wait_until(self, what: str, check: Callable[[Progress], bool], timeout_s: float = 120.0) -> None:
        started = time.monotonic()
        seen: Progress | None = None
        while True:
            with contextlib.suppress(Exception):
                seen = await self.progress()
                if check(seen):
                    return
            if time.monotonic() - started > timeout_s:
                owners = Counter(seen.owners.values()) if seen else {}
                state = f"owners {dict(owners)}, readers {seen.pending if seen else '?'} frames behind"
                raise RuntimeError(f"bench scaling: {what}: not within {timeout_s:g} s ({state}; logs in the output)")
            await asyncio.sleep(0.5)

    async def measure(self, name: str, kind: str, workers: tuple[str, ...], residents: int, seconds: float) -> Window:
        progress(f"bench scaling: {name}, {seconds:g} s …")
        start = await self.mark()
        step = max(1.0, seconds / 4)
        while time.monotonic() - start.t < seconds:
            await asyncio.sleep(min(step, seconds - (time.monotonic() - start.t)))
            now = await self.progress()
            progress(
                f"  {time.monotonic() - start.t:4.0f} s  log {now.last_seq} frames, readers {now.pending} behind,"
                f" presses {len(self.observed.presses)}, heard {len(self.observed.heard)}"
            )
        window = Window(name, kind, workers, residents, start, await self.mark())
        progress(f"  {name}: {window.describe()}")
        if window.owners_changed:
            progress(f"  {name}: WARNING partitions changed owner during the window; its costs are unreliable")
        return window

    async def read_homes(self) -> None:
        assert self.homes is not None and self.homes.stdout is not None
        seen = self.observed
        async for line in self.homes.stdout:
            record = json.loads(line)
            kind = record.get("type")
            if kind == "press":
                seen.presses[record["device"]] = record["t"]
                seen.press_residents[record["device"]] = record["resident"]
            elif kind == "stats":
                seen.stats = record
            elif kind == "started":
                seen.started[record["fleet"]].set()
            elif kind == "done":
                seen.done = record

    async def read_console(self, token: str) -> None:
        url = f"ws://127.0.0.1:{self.deployment.http_port}/api/v1/ws/console?token={token}"
        async with websockets.connect(url, max_size=None) as ws:
            await ws.recv()  # the snapshot
            async for raw in ws:
                message = json.loads(raw)
                self.observed.console_events += 1
                alert = message.get("alert") or {}
                if message.get("type") in ANNOUNCED and alert.get("kind") == "sos":
                    self.observed.heard.setdefault(alert.get("device_id", ""), time.time())

    async def connect_console(self, token: str, timeout_s: float = 90.0) -> None:
        started = time.monotonic()
        while True:
            task = asyncio.create_task(self.read_console(token), name="console")
            await asyncio.sleep(1.0)
            if not task.done():
                self.tasks.append(task)
                return
            with contextlib.suppress(Exception):
                task.result()
            if time.monotonic() - started > timeout_s:
                raise RuntimeError(f"bench scaling: the API's console did not answer\n{self.deployment.tail('api')}")

    async def buckets_made(self, timeout_s: float = 120.0) -> None:
        """Until the first worker has made the lease buckets (the observer must not make them)."""
        assert self.js is not None
        started = time.monotonic()
        while True:
            try:
                for bucket in (LEASES_BUCKET, WORKERS_BUCKET):
                    await self.js.key_value(bucket)
                return
            except NotFoundError:
                if time.monotonic() - started > timeout_s:
                    raise RuntimeError("bench scaling: no worker made the lease buckets (logs in the output)") from None
                await asyncio.sleep(0.5)

    async def connected(self, fleet: str, what: str, streaming_imu: bool = False) -> None:
        """Until the fleet is connected and its connect burst is in the log, and a settling time; with
        ``streaming_imu``, also until its IMU blocks reach the log (a loaded machine starts them late)."""
        await asyncio.wait_for(self.observed.started[fleet].wait(), 300)
        progress(f"bench scaling: {what} connected; settling {self.config.settle_s:g} s …")
        await asyncio.sleep(self.config.settle_s)
        await self.wait_ingest_drained(f"the connect burst of {what}", streaming_imu=streaming_imu)

    async def wait_ingest_drained(self, what: str, timeout_s: float = 240.0, streaming_imu: bool = False) -> None:
        """Until the ingest has caught up with the homes (their connect burst is in the log): over 3 s
        the log gained no more events than the homes published, and its readers are caught up; with
        ``streaming_imu``, IMU blocks were among what the log gained."""
        assert self.js is not None
        tail = LogTail(self.js)
        await tail.open()
        try:
            started = time.monotonic()
            before: tuple[int, int] | None = None
            imu_before: int | None = None
            while time.monotonic() - started < timeout_s:
                await tail.read((await self.progress()).last_seq)
                now = (self.published(), tail.everyday + tail.imu)
                steady = before is not None and now[1] - before[1] <= 1.2 * (now[0] - before[0]) + 20
                imu_flowing = not streaming_imu or (imu_before is not None and tail.imu > imu_before)
                if steady and imu_flowing and (await self.progress()).pending < 64:
                    return
                before, imu_before = now, tail.imu
                await asyncio.sleep(3.0)
        finally:
            await tail.close()
        raise RuntimeError(f"bench scaling: {what} not drained within {timeout_s:g} s")

    def published(self) -> int:
        stats = self.observed.stats
        return int(stats.get("everyday", 0)) + int(stats.get("wearable", 0))

    async def tell_homes(self, command: str) -> None:
        assert self.homes is not None and self.homes.stdin is not None
        self.homes.stdin.write(f"{command}\n".encode())
        await self.homes.stdin.drain()

    # -- the run -----------------------------------------------------------------------------------

    async def run(self, plan: FleetPlan, prefix: str, z2m_base: str, token: str) -> Measured:
        config, deployment = self.config, self.deployment
        names = [f"w{k}" for k in range(1, config.workers + 1)]
        for name in ("ingest", "api", names[0]):
            self.processes[name] = deployment.spawn(name, name if name in {"ingest", "api"} else "worker")
        self.processes["nats-server"] = deployment.process("nats-server")
        if "mosquitto" in deployment.procs:
            self.processes["mosquitto"] = deployment.process("mosquitto")
        self.nc = NATS()
        await self.nc.connect(deployment.nats_url, max_reconnect_attempts=-1)
        self.js = self.nc.jetstream(timeout=5)
        progress("bench scaling: ingest, api and w1 starting …")
        await self.wait_until("the log stream created", lambda p: True)
        await self.buckets_made()
        self.leases = Leases(self.js, "bench-observer")
        await self.leases.open()  # the workers' buckets, with their TTL (open() would create missing ones)
        seconds = config.duration_s
        await self.wait_until(
            "64 partitions owned by w1", lambda p: all_owned(p.owners, names[:1]) and len(p.floors) >= 64
        )
        await self.connect_console(token)
        self.idle = await self.measure("idle", "idle", tuple(names[:1]), 0, config.idle_s)

        address = BrokerAddress.parse(deployment.mqtt_url or "")
        homes_config = {
            "host": address.host,
            "port": address.port,
            "prefix": prefix,
            "z2m_base": z2m_base,
            "plan": asdict(plan),
        }
        self.homes = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "lab.bench.scaling_fleet",
            json.dumps(homes_config),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=deployment.env,
        )
        self.processes["homes"] = psutil.Process(self.homes.pid)
        self.tasks.append(asyncio.create_task(self.read_homes(), name="homes"))
        await self.connected("everyday", f"{plan.first_half} everyday homes")
        one = tuple(names[:1])
        self.windows.append(await self.measure("1 worker, half the homes", "half", one, plan.first_half, seconds))
        await self.tell_homes("start more")
        await self.connected("more", f"{plan.everyday_homes // 2} more everyday homes")
        homes = plan.everyday_homes
        for k, name in enumerate(names, start=1):
            if k > 1:
                self.processes[name] = deployment.spawn(name, "worker")
                progress(f"bench scaling: {name} joins; waiting for the partitions to be shared …")
                await self.wait_until(f"partitions shared by {k} workers", shared_by(names[:k]))
                await asyncio.sleep(3.0)
            label = f"{k} worker{'s' * (k > 1)}"
            self.windows.append(await self.measure(label, "everyday", tuple(names[:k]), homes, seconds))
        if plan.wearable_homes:
            await self.tell_homes("start wearables")
            await self.connected("wearables", f"{plan.wearable_homes} wearable homes", streaming_imu=True)
            homes += plan.wearable_homes
            label += " + wearables"
            self.windows.append(await self.measure(label, "worn", tuple(names), homes, seconds))
        await self.tell_homes(f"press {config.press_rate_hz:g}")
        self.windows.append(await self.measure(f"{label} + SOS presses", "alarm", tuple(names), homes, seconds))
        await self.tell_homes("press 0")
        await self.finish_presses()
        await self.tell_homes("stop")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.homes.wait(), 30)
        last = (await self.progress()).last_seq
        await self.wait_until("the readers caught up", lambda p: p.pending == 0 and p.history_floor >= last, 180)
        await self.history_alone(names)  # the workers stop first: each snapshots its partitions
        snapshots = await self.js.stream_info(f"OBJ_{SNAPSHOTS_BUCKET}")
        index = await LogIndex.read(self.js, (await self.progress()).last_seq)
        stored = await stored_presses(deployment.database_url, sorted(self.observed.presses))
        assert self.idle is not None
        return Measured(
            self.idle,
            self.windows,
            self.history,
            index,
            self.observed.presses,
            self.observed.heard,
            stored,
            int(snapshots.state.bytes),
        )

    async def finish_presses(self, timeout_s: float = 60.0) -> None:
        """Until every press is stored (or ``timeout_s``): what is missing after that is lost."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            stored = await stored_presses(self.deployment.database_url, sorted(self.observed.presses))
            if len(stored) >= len(self.observed.presses):
                return
            await asyncio.sleep(0.5)

    async def history_alone(self, workers: list[str]) -> None:
        """The history writer by itself over the whole log: CPU against its acknowledged floor."""
        assert self.js is not None
        for name in workers:
            self.deployment.stop(name)
        with contextlib.suppress(Exception):
            await self.js.delete_consumer(STREAM, HISTORY_CONSUMER)
        last = (await self.progress()).last_seq
        progress(f"bench scaling: history writer alone over the whole log ({last} frames) …")
        proc = self.deployment.spawn_python("history", ["-m", "lab.bench.history_alone"])
        samples: list[tuple[float, float, int, float]] = []
        started = time.monotonic()
        while time.monotonic() - started < 600:
            pg = sum(database_backends(self.database).values())
            floor = (await self.progress()).history_floor
            samples.append((time.monotonic() - started, cpu_seconds(proc), floor, pg))
            if floor >= last:
                break
            await asyncio.sleep(0.25)
        self.deployment.stop("history")
        self.history = {"last_seq": last, "samples": samples}

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.homes is not None and self.homes.returncode is None:
            self.homes.terminate()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.homes.wait(), 10)
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()


def shared_by(workers: list[str]) -> Callable[[Progress], bool]:
    """Every partition owned by these workers in fair shares, their readers caught up."""
    return lambda p: all_owned(p.owners, workers) and p.pending < 64


async def _prepare(database_url: str, plan: FleetPlan) -> tuple[int, float, str]:
    """Register the homes and an operator; returns (devices, seconds, a console token's secret)."""
    pool = await open_pool(database_url, max_size=20)
    try:
        for component in ("registry", "alerting", "gateway"):
            await migrate(pool, component)
        started = time.perf_counter()
        devices = await seed_registry(Registry(pool), plan.all_homes(), concurrency=32)
        seconds = time.perf_counter() - started
        await Users(pool).add("bench", "bench-password-" + uuid.uuid4().hex[:8], "operator", org_node=CITY[0])
    finally:
        await pool.close()
    return devices, seconds, secrets.token_urlsafe(32)


async def _token(database_url: str, secret: str) -> str:
    pool = await open_pool(database_url)
    try:
        user = await Users(pool).get("bench")
    finally:
        await pool.close()
    assert user is not None
    return TokenIssuer(secret, 3600).issue(user)


async def run_scaling(
    settings: Settings,
    config: ScalingConfig,
    out: Path,
    *,
    database_url: str | None = None,
    mqtt_url: str | None = None,
    command: str = "eldercare bench scaling",
) -> dict[str, Any]:
    """One run; ``database_url``: a server for the throwaway database (default: configured, else an
    embedded PostgreSQL); ``mqtt_url``: a broker to use instead of a private Mosquitto."""
    with TemporaryDirectory(prefix="eldercare-scaling-") as scratch:
        directory = Path(scratch)
        async with contextlib.AsyncExitStack() as stack:
            server = database_url or settings.database_url
            if not server:
                postgres = EmbeddedPostgres(directory / "pg")
                await postgres.start()
                stack.push_async_callback(postgres.stop)
                server = postgres.url()
            throwaway_url, throwaway = await fresh_database(server)
            if throwaway is not None:
                stack.push_async_callback(drop_database, server, throwaway)
            deployment = Deployment(directory / "run", throwaway_url, mqtt_url)
            stack.callback(deployment.keep_logs, out / "scaling-logs")
            stack.callback(deployment.close)
            return await _run(config, out, deployment, throwaway or "", command)


async def _run(config: ScalingConfig, out: Path, deployment: Deployment, database: str, command: str) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    prefix, z2m_base = f"scale{tag}/eldercare/v1", f"scale{tag}/zigbee2mqtt"
    plan = FleetPlan(config.everyday_homes, config.wearable_homes, config.imu_hz, config.seed)
    progress(f"bench scaling: registering {plan.everyday_homes} + {plan.wearable_homes} homes …")
    devices, seed_s, secret = await _prepare(deployment.database_url, plan)
    await deployment.start_services(
        {
            "ELDERCARE_TOPIC_PREFIX": prefix,
            "ELDERCARE_ZIGBEE2MQTT_BASE": z2m_base,
            "ELDERCARE_GATEWAY_CLIENT_ID": f"gw-scale-{tag}",
            "ELDERCARE_SECRET_KEY": secret,
            "ELDERCARE_TOKEN_TTL_S": "3600",
            # Not the deploy/ default of 3 s: on a starved machine a worker's round of 64 lease renewals
            # can outlast 3 s, and partitions moving mid-window would spoil the costs (failover is
            # measured by tests/partitions/test_failover.py, not here).
            "ELDERCARE_LEASE_TTL_S": str(LEASE_TTL_S),
        }
    )
    progress(
        f"bench scaling: mqtt {deployment.mqtt_url}, nats {deployment.nats_url}, {devices} devices ({seed_s:.0f} s)"
    )
    bench = Bench(config, deployment, database)
    try:
        measured = await bench.run(plan, prefix, z2m_base, await _token(deployment.database_url, secret))
    finally:
        await bench.close()
    setup = {
        "everyday_homes": plan.everyday_homes,
        "wearable_homes": plan.wearable_homes,
        "devices": devices,
        "imu_hz": plan.imu_hz,
        "press_rate_hz": config.press_rate_hz,
        "duration_s": config.duration_s,
        "broker": "mosquitto (private, deploy/ queue settings)"
        if "mosquitto" in deployment.procs
        else deployment.mqtt_url,
        "log": "nats-server, JetStream R1 (one node)",
        "seed_registry_s": round(seed_s, 1),
        "snapshot_every_s": Settings().partition_snapshot_every_s,
        "lease_ttl_s": LEASE_TTL_S,
        "cpu_cores": psutil.cpu_count(),
        "load_avg_1m": round(psutil.getloadavg()[0], 2),
    }
    figures = report(measured, setup, config.city, out, command)
    figures["alerts_by_kind"] = await alerts_by_kind(deployment.database_url)
    return figures


def run(
    settings: Settings,
    config: ScalingConfig,
    out: Path,
    json_output: bool,
    *,
    database_url: str | None = None,
    mqtt_url: str | None = None,
    command: str = "eldercare bench scaling",
) -> dict[str, Any]:
    figures = asyncio.run(
        run_scaling(settings, config, out, database_url=database_url, mqtt_url=mqtt_url, command=command)
    )
    emit("eldercare bench scaling", summary_rows(figures), figures, json_output)
    return figures
