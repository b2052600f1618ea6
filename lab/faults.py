"""Fault scenarios on real processes: every alarm delivered, none paged twice.

Each scenario starts the platform against a real broker and PostgreSQL, presses SOS buttons at a
steady rate (one button per resident, QoS 1, like real devices that retry until acknowledged),
injects one fault in the middle, and then counts from the database and the console feed
(:mod:`lab.presses`: sent, delivered, duplicates, worst delay). The faults' means (a TCP proxy, a
restartable broker) are :mod:`lab.outages`.

Used by ``eldercare bench faults`` (full sizes) and by ``tests/lab/test_faults.py`` (small sizes).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiomqtt
import psycopg

from gateway import BrokerAddress
from lab.harness import PlatformProcess, up_env
from lab.outages import RestartableBroker, TcpProxy, database_upstream, proxied_url
from lab.presses import (
    FaultResult,
    PressLog,
    Stage,
    all_stored,
    press_all,
    seed_buttons,
    staged,
    stored_counts,
    until,
    watched_platform,
)

__all__ = [
    "FaultResult",
    "PressLog",
    "RestartableBroker",
    "Stage",
    "TcpProxy",
    "broker_restart",
    "clock_skew",
    "database_outage",
    "overload",
    "press_all",
    "seed_buttons",
    "spool_full",
    "staged",
    "stored_counts",
    "watched_platform",
    "worker_killed",
]


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
            await until(lambda: all_stored(stage.database_url, devices), 60)
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
            database_url, devices = stage.database_url, stage.devices
            worker = PlatformProcess(
                up_env(mqtt_url, database_url, data_dir, stage.namespace, admin=("admin", "fault-admin-password"))
            )
            await worker.start()

            async def kill_and_restart() -> None:
                await worker.kill()
                await worker.start()

            try:
                await press_all(mqtt_url, stage.prefix, devices, rate_hz, stage.log, presses // 3, kill_and_restart)
                await until(lambda: all_stored(database_url, devices), 60)
                delivered, extra = await stored_counts(database_url, devices)
                worst = await _worst_store_delay(database_url, devices, stage.log.sent_at)
            finally:
                await worker.stop()
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
            await until(lambda: all_stored(stage.database_url, stage.devices), 30)
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
                    await until(lambda: all_stored(stage.database_url, stage.devices), 60)
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
