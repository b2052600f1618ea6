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
import time
from collections import Counter
from dataclasses import asdict
from typing import Any, TypedDict, Unpack

import psutil
import websockets
from firmware_sim.fleet import CITY, HomeMix, make_homes, seed_registry
from firmware_sim.scenarios import ANNOUNCED

from eldercare.runtime import Platform, settle_heap
from eldercare.settings import Settings
from gateway import BrokerAddress
from lab.bench.bare import bare_broker_throughput, child_env, loadgen_config
from lab.bench.deployment import bench_broker
from lab.bench.meter import CpuMeter, broker_processes, postgres_processes
from lab.harness import (
    Namespace,
    bench_services,
    platform_config,
    platform_on,
    serve_api,
    throwaway_database,
)
from lab.report import emit, percentiles_ms, progress

# The names other benches imported from here before they had modules of their own.
_child_env = child_env
_broker_processes = broker_processes
_postgres_processes = postgres_processes


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
    site_broker: bool = False,
) -> dict[str, Any]:
    """One load run. ``database_url``: a database to reuse (homes already registered there are not
    registered again); default a throwaway database beside the configured or embedded one.
    ``site_broker``: a private Mosquitto with ``deploy/mosquitto.conf``'s settings (where installed)."""
    async with bench_services(settings) as services, contextlib.AsyncExitStack() as stack:
        if database_url is None:
            database_url = await stack.enter_async_context(throwaway_database(services.database_url))
        mqtt_url, where = await stack.enter_async_context(bench_broker(services, site_broker))
        return await _measure(
            mqtt_url,
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
    namespace = Namespace(label="load")
    progress(f"bench load: services {where}")
    bare: dict[str, Any] = {}
    if bare_messages > 0:
        progress(f"bench load: bare broker, {bare_messages} messages flooded into a plain paho subscriber …")
        bare = await asyncio.to_thread(bare_broker_throughput, address, bare_messages)
        progress(f"  bare broker: {bare['msg_per_s']} msg/s ({bare['received']}/{bare_messages} received)")
    specs = make_homes(homes, seed, mix)
    lat: list[float] = []
    pending: dict[str, float] = {}
    early: dict[str, float] = {}
    console_kinds: Counter[str] = Counter()
    rung: set[Any] = set()
    stats: list[dict[str, Any]] = []
    done: dict[str, Any] = {}
    ready_info: dict[str, Any] = {}
    console_lagged = False
    seeding: dict[str, float] = {}

    async def register(platform: Platform) -> None:
        progress(f"bench load: registering {homes} homes ({sum(len(h.devices) for h in specs)} devices) …")
        started = time.perf_counter()
        missing = [h for h in specs if platform.registry.device(h.devices[0].id) is None]
        await seed_registry(platform.registry, missing, concurrency=32)
        seeding["s"] = time.perf_counter() - started
        await platform.users.add("bench", "bench-password", "operator", org_node=CITY[0])

    config = platform_config(namespace)
    async with platform_on(database_url, address, config, seed=register, pool_max=20) as platform:
        async with serve_api(platform, token_ttl_s=3600) as api:
            settle_heap()  # as ``eldercare up`` does once it serves
            token = await api.token_for("bench")
            config_json = json.dumps(
                loadgen_config(
                    address, namespace.prefix, namespace.z2m_base, homes, asdict(mix),
                    seed=seed, duration_s=duration_s, press_rate_hz=press_rate_hz, warmup_s=warmup_s,
                    wait_for_go=True, press_from=press_from,
                )
            )  # fmt: skip
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "firmware_sim.run",
                config_json,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=child_env(),
            )
            processes = {
                "platform": [psutil.Process()],
                "simulator": [psutil.Process(child.pid)],
                "broker": broker_processes(address.port),
                "postgresql": postgres_processes(),
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
                async with websockets.connect(api.console_url(token), max_size=None) as ws:
                    await ws.recv()
                    async for raw in ws:
                        message = json.loads(raw)
                        alert = message.get("alert") or {}
                        if message.get("type") in ANNOUNCED:
                            console_kinds[f"{message.get('type')}:{alert.get('kind')}"] += 1
                        if message.get("type") not in ANNOUNCED or alert.get("kind") != "sos":
                            continue
                        if alert.get("id") in rung:
                            continue  # the stored alert after its provisional ring: one press, timed once
                        rung.add(alert.get("id"))
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
                progress(
                    f"bench load: {ready_info.get('connections')} connections up in {ready_info.get('connect_s')} s"
                )
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
        final = platform.gateway.counters()
        unmatched_fate = await _fate_of_presses(platform.pool, sorted(pending))
    seed_s = seeding["s"]
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


class LoadOptions(TypedDict, total=False):
    """:func:`run_load`'s keyword arguments (their defaults are there)."""

    press_rate_hz: float
    warmup_s: float
    mix: HomeMix | None
    seed: int
    bare_messages: int
    database_url: str | None
    press_from: int
    site_broker: bool


def run(
    settings: Settings, homes: int, duration_s: float, json_output: bool, **options: Unpack[LoadOptions]
) -> dict[str, Any]:
    figures = asyncio.run(run_load(settings, homes, duration_s, **options))
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
