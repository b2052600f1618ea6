"""``eldercare bench e2e``: SOS press published → ``alert.raised`` on the console websocket.

Runs the whole platform (gateway, stream, alerting with PostgreSQL, API) in this process against the
configured or embedded broker and database, with ``homes`` simulated homes publishing their everyday
traffic (and wearables' IMU blocks) from a separate process in the background. Publishes ``presses``
SOS presses at a steady rate, each from its own button, on a connection that listens to the buttons'
downlink as a device does, and times each press to the websocket message that announces it and to the
"call received" the button hears. In the same run and under the same background, the bare broker
round trip (publish → a plain subscriber, QoS 1, same rate) is measured as the floor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

from firmware_sim.fleet import HomeMix, make_homes, seed_registry

from eldercare.runtime import Platform, settle_heap
from eldercare.settings import Settings
from gateway import BrokerAddress
from lab.bench.bare import child_env, loadgen_config
from lab.bench.deployment import bench_broker
from lab.harness import (
    Namespace,
    bench_services,
    platform_config,
    platform_on,
    serve_api,
    throwaway_database,
)
from lab.report import emit, progress
from registry.store import DeviceRecord, ResidentRecord


async def run_e2e(
    settings: Settings, presses: int, rate_hz: float, homes: int = 500, site_broker: bool = True
) -> dict[str, Any]:
    """``site_broker``: a private Mosquitto with ``deploy/mosquitto.conf``'s settings (``TCP_NODELAY``
    among them), where Mosquitto is installed; otherwise the configured or embedded broker."""
    async with (
        bench_services(settings) as services,
        throwaway_database(services.database_url) as database_url,
        bench_broker(services, site_broker) as (mqtt_url, where),
    ):
        return await _measure(mqtt_url, database_url, presses, rate_hz, where, homes)


async def _register(platform: Platform, presses: int, homes: list[Any]) -> None:
    progress(f"bench e2e: registering {presses} buttons and {len(homes)} background homes …")
    for index in range(presses):
        await platform.registry.add_resident(ResidentRecord(f"r{index}", f"Resident {index}"))
        await platform.registry.add_device(DeviceRecord(f"b{index}", f"r{index}", "sos_button"))
    await seed_registry(platform.registry, homes, concurrency=16)
    await platform.users.add("bench", "bench-password", "admin")


@contextlib.asynccontextmanager
async def background_homes(address: BrokerAddress, namespace: Namespace, homes: int) -> AsyncIterator[dict[str, Any]]:
    """The simulated homes in a child process (their own CPU), publishing until the block ends."""
    if homes <= 0:
        yield {"homes": 0}
        return
    config = loadgen_config(
        address, namespace.prefix, namespace.z2m_base, homes, asdict(HomeMix()),
        seed=11, duration_s=24 * 3600.0, press_rate_hz=0, warmup_s=0.0,  # the bench presses its own buttons
    )  # fmt: skip
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "firmware_sim.run", json.dumps(config), stdout=asyncio.subprocess.PIPE, env=child_env()
    )
    info: dict[str, Any] = {"homes": homes}
    stats: list[dict[str, Any]] = []
    ready = asyncio.Event()

    async def read() -> None:
        assert child.stdout is not None
        async for line in child.stdout:
            record = json.loads(line)
            if record.get("type") == "ready":
                info["connections"] = record.get("connections")
                ready.set()
            elif record.get("type") == "stats":
                stats.append(record)

    reader = asyncio.create_task(read())
    try:
        await asyncio.wait_for(ready.wait(), 300)
        yield info
        if len(stats) >= 2:
            span = max(1e-9, stats[-1]["t"] - stats[0]["t"])
            info["published_msg_per_s"] = round((stats[-1]["published"] - stats[0]["published"]) / span, 1)
    finally:
        with contextlib.suppress(ProcessLookupError):
            child.terminate()
        await child.wait()
        reader.cancel()


async def _measure(
    mqtt_url: str, database_url: str, presses: int, rate_hz: float, where: str, homes: int
) -> dict[str, Any]:
    address = BrokerAddress.parse(mqtt_url)
    namespace = Namespace(label="bench")
    specs = make_homes(homes, 11, HomeMix())
    progress(f"bench e2e: services {where}")
    async with (
        platform_on(database_url, address, platform_config(namespace), seed=lambda p: _register(p, presses, specs),
                    pool_max=10) as platform,
        serve_api(platform, token_ttl_s=3600) as api,
        background_homes(address, namespace, homes) as background,
    ):  # fmt: skip
        if homes:
            progress(f"bench e2e: {homes} homes publishing in the background; their births settle …")
            await asyncio.sleep(10)
        settle_heap()  # as ``eldercare up`` does once it serves
        outside = {
            "mqtt": asdict(address),
            "console_url": api.console_url(await api.token_for("bench")),
            "prefix": namespace.prefix,
            "presses": presses,
            "rate_hz": rate_hz,
        }
        measured = await _from_outside(outside)
        gateway = platform.gateway.counters()
    platform_figures, bare = measured["platform"], measured["bare_broker"]
    ratio = None
    if platform_figures["p99_ms"] and bare["p99_ms"]:
        ratio = round(platform_figures["p99_ms"] / bare["p99_ms"], 2)
    return {
        "benchmark": "e2e",
        "services": where,
        "rate_hz": rate_hz,
        "measured_from": "its own process (lab.bench.e2e_client)",
        "background": {**background, "platform_received": gateway["received"], "shed": gateway["shed"]},
        "platform": platform_figures,
        "downlink": measured["downlink"],
        "lost": presses - platform_figures["delivered"],
        "bare_broker": bare,
        "p99_ratio_to_bare": ratio,
        "target_p99_ratio": 5.0,
    }


async def _from_outside(config: dict[str, Any]) -> dict[str, Any]:
    """The buttons, the console and the bare floor in their own process (:mod:`lab.bench.e2e_client`)."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lab.bench.e2e_client", json.dumps(config), stdout=asyncio.subprocess.PIPE,
        env=child_env(),
    )  # fmt: skip
    try:
        out, _ = await child.communicate()
    finally:
        if child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await child.wait()
    lines = out.decode().strip().splitlines()
    if child.returncode != 0 or not lines:
        raise RuntimeError(f"the e2e measuring process failed (exit {child.returncode})")
    figures: dict[str, Any] = json.loads(lines[-1])
    return figures


def run(
    settings: Settings, presses: int, rate_hz: float, json_output: bool, homes: int = 500, site_broker: bool = True
) -> dict[str, Any]:
    figures = asyncio.run(run_e2e(settings, presses, rate_hz, homes, site_broker))
    p, b, d, g = figures["platform"], figures["bare_broker"], figures["downlink"], figures["background"]
    rows = [
        ("services", figures["services"]),
        ("presses sent / on console", f"{p['presses']} / {p['delivered']}  (lost {figures['lost']})"),
        ("press → console p50/p99/max", f"{p['p50_ms']} / {p['p99_ms']} / {p['max_ms']} ms"),
        ("bare broker p50/p99/max", f"{b['p50_ms']} / {b['p99_ms']} / {b['max_ms']} ms"),
        ("p99 ratio (target ≤ 5)", figures["p99_ratio_to_bare"]),
        ('press → "call received" p50/p99', f"{d['p50_ms']} / {d['p99_ms']} ms ({d['heard']} heard)"),
        ("background", f"{g['homes']} homes, {g.get('published_msg_per_s', '-')} msg/s published"),
    ]
    emit("eldercare bench e2e", rows, figures, json_output)
    return figures
