"""A platform and a simulated fleet sharing one simulated clock, for the scenario tests."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import httpx
import uvicorn
from firmware_sim.clock import SimClock
from firmware_sim.fleet import Fleet, seed_registry
from firmware_sim.home import HomeSpec
from firmware_sim.scenarios import Scenarios, follow

from api import create_app
from api.security import TokenIssuer
from eldercare.db import open_pool
from eldercare.runtime import Platform, PlatformConfig
from gateway import BrokerAddress, GatewayConfig
from stream.core import StreamCore, default_detectors
from stream.supervision import SupervisionConfig
from tests.harness import ADMIN, Namespace, free_port
from tests.services import TestServices


@dataclass
class SimHarness:
    platform: Platform
    fleet: Fleet
    scenarios: Scenarios
    clock: SimClock
    namespace: Namespace


@contextlib.asynccontextmanager
async def simulated_city(
    services: TestServices, homes: Sequence[HomeSpec], start: float, speed: float, *, tick_s: float = 0.05
) -> AsyncIterator[SimHarness]:
    """Platform (gateway, stream, alerting, API) on a simulated clock from ``start`` (epoch s), the
    homes seeded and playing, the console followed by a :class:`Scenarios` that matches alerts to
    injected incidents. The clock runs at real pace during setup and at ``speed`` once all is up."""
    clock = SimClock(start=start, speed=1.0)
    namespace = Namespace()
    pool = await open_pool(await services.create_database())
    config = PlatformConfig(
        gateway=GatewayConfig(
            topic_prefix=namespace.prefix,
            zigbee2mqtt_base=namespace.z2m_base,
            client_id=namespace.client_id,
            batch_linger_ms=1.0,
        ),
        stream_tick_s=tick_s,
    )
    # Mains-powered devices are silent after 10 min; at 3600× that is 0.17 s of real time, less than the
    # broker and batching add to a heartbeat, so a fast simulation gives every silence 2 real seconds.
    supervision = SupervisionConfig(silent_mains_s=max(600.0, 2.0 * speed))
    stream = StreamCore(default_detectors(config.alerting.utc_offset_min, supervision))
    platform = Platform(
        pool, BrokerAddress(services.mqtt_host, services.mqtt_port), config, clock=clock.time, stream=stream
    )
    fleet = Fleet(
        homes, services.mqtt_host, services.mqtt_port, prefix=namespace.prefix, z2m_base=namespace.z2m_base, clock=clock
    )
    scenarios = Scenarios(fleet)
    follower: asyncio.Task[None] | None = None
    server: uvicorn.Server | None = None
    serving: asyncio.Task[None] | None = None
    try:
        await platform.prepare()
        await platform.users.add(*ADMIN, role="admin")
        await seed_registry(platform.registry, homes)
        await platform.start()
        issuer = TokenIssuer(f"sim-{namespace.tag}-{uuid.uuid4().hex}", 600)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(platform, issuer), port=port, log_config=None, lifespan="off", ws="websockets-sansio"
            )
        )
        serving = asyncio.create_task(server.serve())
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            response = await client.post("/api/v1/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]})
            response.raise_for_status()
            token = response.json()["access_token"]
        ready = asyncio.Event()
        follower = asyncio.create_task(follow(scenarios, f"ws://127.0.0.1:{port}", token, ready))
        await asyncio.wait_for(ready.wait(), 10)
        await fleet.start()
        clock.set_speed(speed)
        yield SimHarness(platform, fleet, scenarios, clock, namespace)
    finally:
        if follower is not None:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await follower
        if server is not None and serving is not None:
            server.should_exit = True
            await serving
        await platform.stop()
        await fleet.close()  # after the gateway: clearing retained status is not traffic for it
        await pool.close()
