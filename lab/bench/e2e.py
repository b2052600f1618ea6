"""``eldercare bench e2e``: SOS press published → ``alert.raised`` on the console websocket.

Runs the whole platform (gateway, stream, alerting with PostgreSQL, API) in this process against the
configured or embedded broker and database, publishes ``presses`` SOS presses at a steady rate, each
from its own button, and times each one to the websocket message that announces it. In the same run,
the bare broker round trip (publish → a plain subscriber, QoS 1, same rate) is measured as the floor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import aiomqtt
import psycopg
import uvicorn
import websockets
from psycopg import sql

from api import create_app
from api.security import TokenIssuer
from devices.protocol import TOPIC_PREFIX
from eldercare.db import open_pool
from eldercare.embedded import free_port, resolve_services
from eldercare.runtime import Platform, PlatformConfig
from eldercare.settings import Settings
from gateway import BrokerAddress, GatewayConfig
from lab.report import emit, percentiles_ms, progress
from registry.store import DeviceRecord, ResidentRecord


async def bare_round_trip(address: BrokerAddress, messages: int, rate_hz: float) -> dict[str, Any]:
    """Publish → plain subscriber latency on the same broker, QoS 1."""
    topic = f"bench/{uuid.uuid4().hex[:8]}/rtt"
    sent: dict[int, float] = {}
    latencies: list[float] = []
    async with (
        aiomqtt.Client(address.host, address.port, username=address.username, password=address.password) as sub,
        aiomqtt.Client(address.host, address.port, username=address.username, password=address.password) as pub,
    ):
        await sub.subscribe(topic, qos=1)

        async def receive() -> None:
            async for message in sub.messages:
                index = int(bytes(message.payload))
                latencies.append(time.perf_counter() - sent[index])
                if len(latencies) == messages:
                    return

        receiver = asyncio.create_task(receive())
        for index in range(messages):
            sent[index] = time.perf_counter()
            await pub.publish(topic, str(index), qos=1)
            await asyncio.sleep(1.0 / rate_hz)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(receiver, 10)
        receiver.cancel()
    return {"messages": messages, "received": len(latencies), **percentiles_ms(latencies)}


async def _fresh_database(url: str) -> tuple[str, str | None]:
    """A throwaway database beside ``url``'s (dropped afterwards), or ``url`` itself if not allowed."""
    name = f"eldercare_bench_{uuid.uuid4().hex[:8]}"
    try:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error:
        return url, None
    return psycopg.conninfo.make_conninfo(url, dbname=name), name


async def _drop_database(url: str, name: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


async def run_e2e(settings: Settings, presses: int, rate_hz: float) -> dict[str, Any]:
    with TemporaryDirectory(prefix="eldercare-bench-") as scratch:
        bench_settings = settings.model_copy(update={"data_dir": Path(scratch)})
        async with resolve_services(bench_settings) as services:
            database_url, throwaway = await _fresh_database(services.database_url)
            try:
                where = (
                    f"mqtt {'embedded nats-server' if services.embedded_mqtt else services.mqtt_url}, "
                    f"postgresql {'embedded' if services.embedded_database else 'configured'}"
                )
                return await _measure(services.mqtt_url, database_url, presses, rate_hz, where)
            finally:
                if throwaway:
                    await _drop_database(services.database_url, throwaway)


async def _measure(mqtt_url: str, database_url: str, presses: int, rate_hz: float, where: str) -> dict[str, Any]:
    address = BrokerAddress.parse(mqtt_url)
    tag = uuid.uuid4().hex[:8]
    prefix = f"bench{tag}/{TOPIC_PREFIX}"
    progress(f"bench e2e: services {where}")
    progress(f"bench e2e: bare broker round trip, {presses} messages at {rate_hz:g}/s …")
    bare = await bare_round_trip(address, presses, rate_hz)
    pool = await open_pool(database_url, max_size=10)
    config = PlatformConfig(gateway=GatewayConfig(topic_prefix=prefix, client_id=f"gw-bench-{tag}", batch_linger_ms=0))
    platform = Platform(pool, address, config)
    try:
        await platform.prepare()
        progress(f"bench e2e: registering {presses} residents and buttons …")
        for index in range(presses):
            await platform.registry.add_resident(ResidentRecord(f"r{index}", f"Resident {index}"))
            await platform.registry.add_device(DeviceRecord(f"b{index}", f"r{index}", "sos_button"))
        await platform.users.add("bench", "bench-password", "admin")
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
        sent: dict[str, float] = {}
        latencies: list[float] = []
        try:
            async with (
                websockets.connect(f"ws://127.0.0.1:{port}/api/v1/ws/console?token={token}", max_size=None) as ws,
                aiomqtt.Client(address.host, address.port, username=address.username, password=address.password) as pub,
            ):
                await ws.recv()  # snapshot

                async def receive() -> None:
                    async for raw in ws:
                        message = json.loads(raw)
                        if message.get("type") == "alert.raised":
                            device = message["alert"]["device_id"]
                            latencies.append(time.perf_counter() - sent[device])
                            if len(latencies) == presses:
                                return

                receiver = asyncio.create_task(receive())
                progress(f"bench e2e: {presses} SOS presses at {rate_hz:g}/s through the platform …")
                for index in range(presses):
                    device = f"b{index}"
                    sent[device] = time.perf_counter()
                    body = {"ts": int(time.time() * 1000), "kind": "sos", "seq": 1}
                    await pub.publish(f"{prefix}/{device}/alarm", json.dumps(body), qos=1)
                    if (index + 1) % max(1, presses // 10) == 0:
                        progress(f"  {index + 1}/{presses} published, {len(latencies)} on the console")
                    await asyncio.sleep(1.0 / rate_hz)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(receiver, 15)
                receiver.cancel()
        finally:
            server.should_exit = True
            await serving
    finally:
        await platform.stop()
        await pool.close()
    platform_figures = {"presses": presses, "delivered": len(latencies), **percentiles_ms(latencies)}
    ratio = None
    if platform_figures["p99_ms"] and bare["p99_ms"]:
        ratio = round(platform_figures["p99_ms"] / bare["p99_ms"], 2)
    return {
        "benchmark": "e2e",
        "services": where,
        "rate_hz": rate_hz,
        "platform": platform_figures,
        "lost": presses - len(latencies),
        "bare_broker": bare,
        "p99_ratio_to_bare": ratio,
        "target_p99_ratio": 5.0,
    }


def run(settings: Settings, presses: int, rate_hz: float, json_output: bool) -> dict[str, Any]:
    figures = asyncio.run(run_e2e(settings, presses, rate_hz))
    p, b = figures["platform"], figures["bare_broker"]
    rows = [
        ("services", figures["services"]),
        ("presses sent / on console", f"{p['presses']} / {p['delivered']}  (lost {figures['lost']})"),
        ("press → console p50/p99/max", f"{p['p50_ms']} / {p['p99_ms']} / {p['max_ms']} ms"),
        ("bare broker p50/p99/max", f"{b['p50_ms']} / {b['p99_ms']} / {b['max_ms']} ms"),
        ("p99 ratio (target < 5)", figures["p99_ratio_to_bare"]),
    ]
    emit("eldercare bench e2e", rows, figures, json_output)
    return figures
