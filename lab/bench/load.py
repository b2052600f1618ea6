"""``eldercare bench load``: simulated homes at city scale through the whole platform.

Runs the platform (gateway, stream, alerting with PostgreSQL, API and console) in this process on a
throwaway database, and the homes (:mod:`firmware_sim`) in a separate process so the platform's CPU
is measured apart. During the run, SOS buttons are pressed at a steady rate, each press timed from
the device's publish to its ``alert`` message on the console websocket. In the same run, before the
platform starts, the bare broker's throughput is measured with a flood publisher process and a plain
paho subscriber, so the platform's figure can be read as a fraction of what the broker carries.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import psutil
import uvicorn
import websockets
from firmware_sim.fleet import CITY, HomeMix, make_homes, seed_registry
from firmware_sim.scenarios import ANNOUNCED

from api import create_app
from api.security import TokenIssuer
from devices.protocol import TOPIC_PREFIX
from eldercare.db import open_pool
from eldercare.embedded import free_port, resolve_services
from eldercare.runtime import Platform, PlatformConfig
from eldercare.settings import Settings
from gateway import BrokerAddress, GatewayConfig
from lab.bench.e2e import _drop_database, _fresh_database
from lab.report import emit, percentiles_ms, progress

REPO = Path(__file__).resolve().parents[2]


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


# -- the bare broker -------------------------------------------------------------------------------


def bare_broker_throughput(address: BrokerAddress, messages: int = 100_000, size: int = 200) -> dict[str, Any]:
    """A flood publisher process (QoS 0, ``size``-byte payloads) into a plain paho subscriber."""
    import paho.mqtt.client as paho

    topic = f"bench/{uuid.uuid4().hex[:8]}/flood"
    received = 0
    first = last = 0.0
    lock = threading.Lock()

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        nonlocal received, first, last
        with lock:
            now = time.perf_counter()
            if not received:
                first = now
            received += 1
            last = now

    subscribed = threading.Event()
    sub = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-bare-{uuid.uuid4().hex[:6]}")
    if address.username:
        sub.username_pw_set(address.username, address.password)
    sub.on_message = on_message
    sub.on_subscribe = lambda *args: subscribed.set()
    sub.connect(address.host, address.port)
    sub.subscribe(topic, qos=0)
    sub.loop_start()
    try:
        subscribed.wait(10)
        config = {
            "mode": "flood",
            "host": address.host,
            "port": address.port,
            "topic": topic,
            "messages": messages,
            "size": size,
            "username": address.username,
            "password": address.password,
        }
        import subprocess

        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "firmware_sim.run", json.dumps(config)],
            env=_child_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        publish_s = time.perf_counter() - started
        quiet_since = time.perf_counter()
        seen = -1
        while time.perf_counter() - quiet_since < 1.0:  # until a second passes with nothing new
            time.sleep(0.1)
            with lock:
                if received != seen:
                    seen, quiet_since = received, time.perf_counter()
    finally:
        sub.loop_stop()
        sub.disconnect()
    span = max(1e-9, last - first)
    return {
        "messages": messages,
        "payload_bytes": size,
        "received": received,
        "lost": messages - received,
        "msg_per_s": round(received / span),
        "publisher_s": round(publish_s, 2),
        "publisher_ok": done.returncode == 0,
    }


# -- processes -------------------------------------------------------------------------------------


class CpuMeter:
    """CPU (% of one core) and resident memory of named processes between ``start()`` and ``stop()``."""

    def __init__(self, processes: dict[str, list[psutil.Process]]) -> None:
        self.processes = processes
        self._t0 = 0.0
        self._cpu0: dict[str, float] = {}

    @staticmethod
    def _cpu(procs: list[psutil.Process]) -> float:
        total = 0.0
        for p in procs:
            with contextlib.suppress(psutil.Error):
                times = p.cpu_times()
                total += times.user + times.system
        return total

    @staticmethod
    def _rss(procs: list[psutil.Process]) -> int:
        total = 0
        for p in procs:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total

    def start(self) -> None:
        self._t0 = time.perf_counter()
        self._cpu0 = {name: self._cpu(procs) for name, procs in self.processes.items()}

    def stop(self) -> dict[str, dict[str, float]]:
        wall = max(1e-9, time.perf_counter() - self._t0)
        return {
            name: {
                "cpu_pct": round(100.0 * (self._cpu(procs) - self._cpu0.get(name, 0.0)) / wall, 1),
                "rss_mb": round(self._rss(procs) / 2**20, 1),
                "processes": len(procs),
            }
            for name, procs in self.processes.items()
        }


def _broker_processes(port: int) -> list[psutil.Process]:
    """The broker listening on ``port`` (not every broker on the machine)."""
    found = []
    for p in psutil.process_iter(["name"]):
        if p.info["name"] not in {"mosquitto", "nats-server"}:
            continue
        with contextlib.suppress(psutil.Error):
            listening = p.net_connections("tcp")
            if any(c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN for c in listening):
                found.append(p)
    return found


def _postgres_processes() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["name"]) if p.info["name"] in {"postgres", "postgresql"}]


async def _catch_up(platform: Platform, stats: list[dict[str, Any]], limit_s: float) -> float:
    """Wait until the gateway has received what the simulator published (the connect burst of
    births is drained), at most ``limit_s``; returns the seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        if len(stats) >= 2:
            rate = max(1.0, stats[-1]["published"] - stats[-2]["published"])
            if platform.gateway.counters()["received"] >= stats[-1]["published"] - 2 * rate:
                break
        await asyncio.sleep(0.5)
    return time.perf_counter() - started


# -- the run ---------------------------------------------------------------------------------------


async def run_load(
    settings: Settings,
    homes: int,
    duration_s: float,
    *,
    press_rate_hz: float = 2.0,
    warmup_s: float = 10.0,
    mix: HomeMix | None = None,
    seed: int = 0,
    bare_messages: int = 100_000,
    database_url: str | None = None,
    press_from: int = 0,
) -> dict[str, Any]:
    """One load run. ``database_url``: a database to reuse (homes already registered there are not
    registered again); default a throwaway database beside the configured or embedded one."""
    with TemporaryDirectory(prefix="eldercare-bench-") as scratch:
        bench_settings = settings.model_copy(update={"data_dir": Path(scratch)})
        async with resolve_services(bench_settings) as services:
            throwaway: str | None = None
            if database_url is None:
                database_url, throwaway = await _fresh_database(services.database_url)
            where = (
                f"mqtt {'embedded nats-server' if services.embedded_mqtt else services.mqtt_url}, "
                f"postgresql {'embedded' if services.embedded_database else 'configured'}"
            )
            try:
                return await _measure(
                    services.mqtt_url,
                    database_url,
                    where,
                    homes,
                    duration_s,
                    press_rate_hz,
                    warmup_s,
                    mix or HomeMix(),
                    seed,
                    bare_messages,
                    press_from,
                )
            finally:
                if throwaway is not None:
                    await _drop_database(services.database_url, throwaway)


async def _measure(
    mqtt_url: str,
    database_url: str,
    where: str,
    homes: int,
    duration_s: float,
    press_rate_hz: float,
    warmup_s: float,
    mix: HomeMix,
    seed: int,
    bare_messages: int,
    press_from: int = 0,
) -> dict[str, Any]:
    address = BrokerAddress.parse(mqtt_url)
    tag = uuid.uuid4().hex[:8]
    prefix, z2m_base = f"load{tag}/{TOPIC_PREFIX}", f"load{tag}/zigbee2mqtt"
    progress(f"bench load: services {where}")
    bare: dict[str, Any] = {}
    if bare_messages > 0:
        progress(f"bench load: bare broker, {bare_messages} messages flooded into a plain paho subscriber …")
        bare = await asyncio.to_thread(bare_broker_throughput, address, bare_messages)
        progress(f"  bare broker: {bare['msg_per_s']} msg/s ({bare['received']}/{bare_messages} received)")
    pool = await open_pool(database_url, max_size=20)
    config = PlatformConfig(
        gateway=GatewayConfig(topic_prefix=prefix, zigbee2mqtt_base=z2m_base, client_id=f"gw-load-{tag}")
    )
    platform = Platform(pool, address, config)
    specs = make_homes(homes, seed, mix)
    lat: list[float] = []
    pending: dict[str, float] = {}
    early: dict[str, float] = {}
    console_kinds: Counter[str] = Counter()
    stats: list[dict[str, Any]] = []
    done: dict[str, Any] = {}
    ready_info: dict[str, Any] = {}
    console_lagged = False
    try:
        await platform.prepare()
        progress(f"bench load: registering {homes} homes ({sum(len(h.devices) for h in specs)} devices) …")
        started = time.perf_counter()
        missing = [h for h in specs if platform.registry.device(h.devices[0].id) is None]
        await seed_registry(platform.registry, missing, concurrency=32)
        seed_s = time.perf_counter() - started
        await platform.users.add("bench", "bench-password", "operator", org_node=CITY[0])
        await platform.start()
        issuer = TokenIssuer(uuid.uuid4().hex + uuid.uuid4().hex, 3600)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(platform, issuer), port=port, log_config=None, lifespan="off", ws="websockets-sansio"
            )
        )
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        token = issuer.issue(await platform.users.get("bench"))  # type: ignore[arg-type]
        config_json = json.dumps(
            {
                "host": address.host,
                "port": address.port,
                "username": address.username,
                "password": address.password,
                "prefix": prefix,
                "z2m_base": z2m_base,
                "homes": homes,
                "seed": seed,
                "mix": asdict(mix),
                "duration_s": duration_s,
                "press_rate_hz": press_rate_hz,
                "warmup_s": warmup_s,
                "wait_for_go": True,
                "press_from": press_from,
            }
        )
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "firmware_sim.run",
            config_json,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=_child_env(),
        )
        processes = {
            "platform": [psutil.Process()],
            "simulator": [psutil.Process(child.pid)],
            "broker": _broker_processes(address.port),
            "postgresql": _postgres_processes(),
        }
        meter = CpuMeter(processes)
        window: dict[str, Any] = {}
        ready = asyncio.Event()

        async def read_child() -> None:
            assert child.stdout is not None
            async for line in child.stdout:
                record = json.loads(line)
                kind = record.get("type")
                if kind == "press":
                    seen = early.pop(record["device"], None)
                    if seen is not None:  # the console was quicker than this pipe
                        lat.append(seen - record["t"])
                    else:
                        pending[record["device"]] = record["t"]
                elif kind == "stats":
                    stats.append(record)
                elif kind == "ready":
                    ready_info.update(record)
                    ready.set()
                elif kind == "done":
                    done.update(record)

        async def read_console() -> None:
            nonlocal console_lagged
            url = f"ws://127.0.0.1:{port}/api/v1/ws/console?token={token}"
            async with websockets.connect(url, max_size=None) as ws:
                await ws.recv()
                async for raw in ws:
                    message = json.loads(raw)
                    alert = message.get("alert") or {}
                    if message.get("type") in ANNOUNCED:
                        console_kinds[f"{message.get('type')}:{alert.get('kind')}"] += 1
                    if message.get("type") not in ANNOUNCED or alert.get("kind") != "sos":
                        continue
                    sent = pending.pop(alert.get("device_id", ""), None)
                    if sent is not None:
                        lat.append(time.time() - sent)
                    else:
                        early[alert.get("device_id", "")] = time.time()
            console_lagged = True

        reader = asyncio.create_task(read_child())
        console = asyncio.create_task(read_console())
        try:
            await asyncio.wait_for(ready.wait(), 300)
            progress(f"bench load: {ready_info.get('connections')} connections up in {ready_info.get('connect_s')} s")
            await asyncio.sleep(warmup_s)
            caught_up_s = await _catch_up(platform, stats, limit_s=60.0)
            progress(f"bench load: start-up burst drained after {caught_up_s:.0f} s more")
            assert child.stdin is not None
            child.stdin.write(b"go\n")
            await child.stdin.drain()
            progress(f"bench load: measuring {duration_s:g} s, SOS presses at {press_rate_hz:g}/s …")
            meter.start()
            window["gw0"] = platform.gateway.counters()
            window["sim0"] = stats[-1] if stats else {"published": 0}
            window["t0"] = time.perf_counter()
            step = max(1.0, duration_s / 6)
            while time.perf_counter() - window["t0"] < duration_s:
                await asyncio.sleep(min(step, duration_s - (time.perf_counter() - window["t0"])))
                gw = platform.gateway.counters()
                progress(
                    f"  {time.perf_counter() - window['t0']:5.0f} s  gateway received {gw['received']}"
                    f"  queue {gw.get('queue_depth', '-')}  alarms timed {len(lat)}"
                )
            window["t1"] = time.perf_counter()
            window["gw1"] = platform.gateway.counters()
            window["sim1"] = stats[-1] if stats else {"published": 0}
            processes_figures = meter.stop()
            await asyncio.wait_for(child.wait(), 60 + warmup_s)
            await asyncio.wait_for(reader, 10)
            last, quiet = -1, time.perf_counter()
            while time.perf_counter() - quiet < 2.0 and time.perf_counter() - window["t1"] < 30:
                await asyncio.sleep(0.2)  # let the platform drain what was offered
                received = platform.gateway.counters()["received"]
                if received != last:
                    last, quiet = received, time.perf_counter()
            await asyncio.sleep(1.0)
        finally:
            for task in (reader, console):
                if task.done() and not task.cancelled() and task.exception() is not None:
                    progress(f"bench load: {task.get_name()} failed: {task.exception()!r}")
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if child.returncode is None:
                child.terminate()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(child.wait(), 10)
            server.should_exit = True
            await serving
        final = platform.gateway.counters()
        unmatched_fate = await _fate_of_presses(pool, sorted(pending))
    finally:
        await platform.stop()
        await pool.close()
    span = window["t1"] - window["t0"]
    offered = (window["sim1"]["published"] - window["sim0"]["published"]) / span
    processed = (window["gw1"]["received"] - window["gw0"]["received"]) / span
    rejected = {
        k: v - window["gw0"]["rejected"].get(k, 0)
        for k, v in window["gw1"]["rejected"].items()
        if v - window["gw0"]["rejected"].get(k, 0)
    }
    published_total = int(done.get("published", window["sim1"]["published"]))
    presses = int(done.get("presses", 0))
    figures: dict[str, Any] = {
        "benchmark": "load",
        "services": where,
        "homes": homes,
        "devices": sum(len(h.devices) for h in specs),
        "connections": ready_info.get("connections"),
        "duration_s": round(span, 1),
        "mix": asdict(mix),
        "seed_registry_s": round(seed_s, 1),
        "startup_drain_s": round(caught_up_s, 1),
        "offered_msg_per_s": round(offered, 1),
        "processed_msg_per_s": round(processed, 1),
        "published_total": published_total,
        "received_total": final["received"],
        "dropped_total": max(0, published_total - final["received"]),
        "shed_total": final.get("shed", 0),
        "rejected_in_window": rejected,
        "alarm": {"presses": presses, "on_console": len(lat), "lost": presses - len(lat), **percentiles_ms(lat)},
        "console_lagged": console_lagged,
        "console_announcements": dict(console_kinds),
        "alarm_unmatched_devices": sorted(pending)[:20],
        "alarm_unmatched_fate": unmatched_fate,
        "processes": processes_figures,
        "bare_broker": bare,
        "processed_share_of_bare": round(processed / bare["msg_per_s"], 3) if bare.get("msg_per_s") else None,
        "cpu_cores": psutil.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    return figures


def run(
    settings: Settings,
    homes: int,
    duration_s: float,
    json_output: bool,
    *,
    press_rate_hz: float = 2.0,
    warmup_s: float = 10.0,
    mix: HomeMix | None = None,
    bare_messages: int = 100_000,
) -> dict[str, Any]:
    figures = asyncio.run(
        run_load(
            settings,
            homes,
            duration_s,
            press_rate_hz=press_rate_hz,
            warmup_s=warmup_s,
            mix=mix,
            bare_messages=bare_messages,
        )
    )
    a, b = figures["alarm"], figures["bare_broker"]
    procs = figures["processes"]
    rows = [
        ("services", figures["services"]),
        ("homes / devices / connections", f"{figures['homes']} / {figures['devices']} / {figures['connections']}"),
        ("offered / processed msg/s", f"{figures['offered_msg_per_s']} / {figures['processed_msg_per_s']}"),
        ("dropped / shed (whole run)", f"{figures['dropped_total']} / {figures['shed_total']}"),
        ("rejected (window)", figures["rejected_in_window"] or "none"),
        ("alarm publish → console p50/p99/max", f"{a['p50_ms']} / {a['p99_ms']} / {a['max_ms']} ms"),
        ("alarms pressed / on console", f"{a['presses']} / {a['on_console']}"),
        ("bare broker (paho subscriber)", f"{b.get('msg_per_s', '-')} msg/s"),
        ("processed / bare", figures["processed_share_of_bare"]),
    ]
    for name, p in procs.items():
        rows.append((f"{name} CPU % / RSS MB", f"{p['cpu_pct']} / {p['rss_mb']}  ({p['processes']} proc)"))
    rows.append(("machine", f"{figures['cpu_cores']} cores, load avg {figures['load_avg_1m']} (shared)"))
    emit("eldercare bench load", rows, figures, json_output)
    return figures


async def _fate_of_presses(pool: Any, devices: list[str]) -> dict[str, str]:
    """For presses the console never announced as an SOS of their own: what the database says.

    A press is stored by its trigger key ``<device>:seq:<n>``; it may have coalesced into an open SOS
    of the same resident (announced as a repeat of another device's alert) or cancelled a pending
    fall/inactivity alert (the resident saying "I'm fine"). Only "not stored" would be a loss.
    """
    fate: dict[str, str] = {}
    async with pool.connection() as conn:
        for device in devices:
            cursor = await conn.execute(
                "SELECT a.kind, a.state, a.device_id, t.key FROM alert_triggers t JOIN alerts a ON a.id = t.alert_id"
                " WHERE t.key LIKE %s ORDER BY t.received_at DESC LIMIT 1",
                (f"{device}:seq:%",),
            )
            row = await cursor.fetchone()
            if row is None:
                fate[device] = "not stored"
            elif row["kind"] != "sos":
                fate[device] = f"cancelled a pending {row['kind']} ({row['state']})"
            elif row["device_id"] != device:
                fate[device] = f"coalesced into the open SOS from {row['device_id']}"
            else:
                fate[device] = f"stored as its own SOS ({row['state']}) but not heard on the console"
    return fate
