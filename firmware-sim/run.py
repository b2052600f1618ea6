"""``eldercare sim``, and the load generator process that ``eldercare bench load`` starts.

The load generator (``python -m firmware_sim.run CONFIG_JSON``) plays a fleet in its own process (so
the platform's CPU is measurable apart), presses SOS buttons at a steady rate during the run, and
writes JSON lines on stdout: ``{"type":"ready",…}``, ``{"type":"press","device":…,"t":epoch s}``,
``{"type":"stats",…}`` every second and ``{"type":"done",…}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from firmware_sim.clock import SimClock
from firmware_sim.fleet import Fleet, HomeMix, make_homes, seed_registry
from firmware_sim.mqtt import MqttClient

from devices.protocol import TOPIC_PREFIX


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def run_sim(
    mqtt_url: str,
    homes: int,
    *,
    seed: int = 0,
    speed: float = 1.0,
    start: str | None = None,
    duration_s: float = 0.0,
    mix: HomeMix | None = None,
    prefix: str = TOPIC_PREFIX,
    z2m_base: str = "zigbee2mqtt",
    register_url: str | None = None,
    id_prefix: str = "",
    on_registered: Callable[[], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    """Play ``homes`` homes against ``mqtt_url`` (``duration_s`` 0: until interrupted).

    With ``register_url`` the homes are entered in that registry first, then ``on_registered`` is
    awaited (``eldercare sim`` has the running platform reload its registry there)."""
    from gateway import BrokerAddress

    address = BrokerAddress.parse(mqtt_url)
    specs = make_homes(homes, seed, mix, id_prefix=id_prefix)
    if register_url:
        from eldercare.db import migrate, open_pool
        from registry.store import Registry

        pool = await open_pool(register_url)
        try:
            await migrate(pool, "registry")
            devices = await seed_registry(Registry(pool), specs)
        finally:
            await pool.close()
        _progress(f"sim: registered {len(specs)} homes, {devices} devices")
        if on_registered is not None:
            await on_registered()
            await asyncio.sleep(0.5)  # the platform reloads its registry before the first message
    sim_start = datetime.fromisoformat(start).timestamp() if start else None
    clock = SimClock(start=sim_start, speed=speed)
    fleet = Fleet(
        specs,
        address.host,
        address.port,
        prefix=prefix,
        z2m_base=z2m_base,
        clock=clock,
        credentials=(address.username, address.password),
    )
    _progress(
        f"sim: {len(specs)} homes, {sum(len(h.devices) for h in specs)} devices, {len(fleet.clients)} connections"
    )
    await fleet.start()
    began = time.monotonic()
    last = fleet.link_stats().published
    try:
        while duration_s <= 0 or time.monotonic() - began < duration_s:
            await asyncio.sleep(min(10.0, duration_s) if duration_s > 0 else 10.0)
            published = fleet.link_stats().published
            local = datetime.fromtimestamp(clock.time()).isoformat(timespec="minutes")
            _progress(f"sim: {local}  {(published - last) / 10.0:.0f} msg/s  commands heard {fleet.commands_received}")
            last = published
    finally:
        await fleet.close()
    return {"homes": len(specs), "published": fleet.link_stats().published}


def _emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
    sys.stdout.flush()


async def loadgen(config: dict[str, Any]) -> None:
    """The load generator: config keys ``host port prefix z2m_base homes seed mix duration_s
    press_rate_hz warmup_s``."""
    mix_fields: dict[str, Any] = {k: tuple(v) if k == "imu_hz" else v for k, v in config.get("mix", {}).items()}
    mix = HomeMix(**mix_fields)
    specs = make_homes(int(config["homes"]), int(config.get("seed", 0)), mix)
    fleet = Fleet(
        specs,
        config["host"],
        int(config["port"]),
        prefix=config["prefix"],
        z2m_base=config["z2m_base"],
        retain_status=False,
        credentials=(config.get("username"), config.get("password")),
    )
    started = time.perf_counter()
    await fleet.start()
    _emit({"type": "ready", "connect_s": round(time.perf_counter() - started, 2), "connections": len(fleet.clients)})
    rng = random.Random(int(config.get("seed", 0)))
    buttons = [h for h in fleet.homes if h.device("sos_button") is not None]
    rng.shuffle(buttons)
    start = int(config.get("press_from", 0)) % max(1, len(buttons))  # homes not pressed by earlier runs
    buttons = buttons[start:] + buttons[:start]
    duration = float(config["duration_s"])
    rate = float(config.get("press_rate_hz", 2.0))
    loop = asyncio.get_running_loop()
    go = asyncio.Event()
    if config.get("wait_for_go"):  # the bench says "go" on stdin once the start-up burst is drained
        threading.Thread(target=lambda: (sys.stdin.readline(), loop.call_soon_threadsafe(go.set)), daemon=True).start()
    else:
        loop.call_later(float(config.get("warmup_s", 5.0)), go.set)
    next_stats = time.monotonic()
    began: float | None = None
    next_press = 0.0
    pressed = 0
    try:
        while began is None or time.monotonic() - began < duration:
            now = time.monotonic()
            if began is None and go.is_set():
                began = next_press = now
            if now >= next_stats:
                stats = fleet.link_stats()
                _emit({"type": "stats", "t": time.time(), **asdict(stats), "lag_s": fleet.scheduler.max_lag_s})
                next_stats += 1.0
            pressing = rate > 0 and began is not None and now - began < duration - 2.0 and pressed < len(buttons)
            if pressing and now >= next_press:
                home = buttons[pressed]
                pressed += 1
                device = home.press_sos("single")
                _emit({"type": "press", "device": device.id, "t": time.time()})
                next_press += 1.0 / rate
            wake = min(next_stats, next_press) if began is not None and rate > 0 else min(next_stats, now + 0.1)
            await asyncio.sleep(max(0.0, wake - time.monotonic()))
    finally:
        stats = fleet.link_stats()
        _emit({"type": "done", "t": time.time(), **asdict(stats), "presses": pressed})
        with contextlib.suppress(Exception):
            await fleet.close(clear_retained=False)


async def flood(config: dict[str, Any]) -> None:
    """Publish ``messages`` QoS 0 messages of ``size`` bytes on ``topic`` as fast as the socket takes
    them (the bare-broker measurement's publisher)."""
    client = MqttClient(
        config["host"],
        int(config["port"]),
        f"flood-{os.getpid()}",
        username=config.get("username"),
        password=config.get("password"),
    )
    client.start()
    await client.wait_connected()
    payload = b"x" * int(config.get("size", 200))
    for index in range(int(config["messages"])):
        client.publish(config["topic"], payload, qos=0)
        if index % 500 == 0:
            while client.write_buffer > 512 * 1024:
                await asyncio.sleep(0.001)
    while client.write_buffer:
        await asyncio.sleep(0.01)
    await client.close()


def main() -> None:  # pragma: no cover - subprocess entry point
    config = json.loads(sys.argv[1])
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(flood(config) if config.get("mode") == "flood" else loadgen(config))


if __name__ == "__main__":  # pragma: no cover
    main()
