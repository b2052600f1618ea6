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
from typing import Any

import aiomqtt
import websockets

from eldercare.runtime import Platform
from eldercare.settings import Settings
from gateway import BrokerAddress
from lab.bench.bare import bare_round_trip
from lab.harness import (
    Namespace,
    bench_services,
    drop_database,
    fresh_database,
    platform_config,
    platform_on,
    serve_api,
    services_label,
    throwaway_database,
)
from lab.report import emit, percentiles_ms, progress
from registry.store import DeviceRecord, ResidentRecord

# The names other benches imported before lab.harness held them.
_fresh_database = fresh_database
_drop_database = drop_database


async def run_e2e(settings: Settings, presses: int, rate_hz: float) -> dict[str, Any]:
    async with bench_services(settings) as services, throwaway_database(services.database_url) as database_url:
        return await _measure(services.mqtt_url, database_url, presses, rate_hz, services_label(services))


async def _register_buttons(platform: Platform, presses: int) -> None:
    progress(f"bench e2e: registering {presses} residents and buttons …")
    for index in range(presses):
        await platform.registry.add_resident(ResidentRecord(f"r{index}", f"Resident {index}"))
        await platform.registry.add_device(DeviceRecord(f"b{index}", f"r{index}", "sos_button"))
    await platform.users.add("bench", "bench-password", "admin")


async def _measure(mqtt_url: str, database_url: str, presses: int, rate_hz: float, where: str) -> dict[str, Any]:
    address = BrokerAddress.parse(mqtt_url)
    namespace = Namespace(label="bench")
    prefix = namespace.prefix
    progress(f"bench e2e: services {where}")
    progress(f"bench e2e: bare broker round trip, {presses} messages at {rate_hz:g}/s …")
    bare = await bare_round_trip(address, presses, rate_hz)
    config = platform_config(namespace, batch_linger_ms=0)
    sent: dict[str, float] = {}
    latencies: list[float] = []
    async with (
        platform_on(
            database_url, address, config, seed=lambda p: _register_buttons(p, presses), pool_max=10
        ) as platform,
        serve_api(platform, token_ttl_s=3600) as api,
    ):
        token = await api.token_for("bench")
        async with (
            websockets.connect(api.console_url(token), max_size=None) as ws,
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
