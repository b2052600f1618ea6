"""A platform and a simulated fleet sharing one simulated clock, for the scenario tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from firmware_sim.clock import SimClock
from firmware_sim.fleet import Fleet, seed_registry
from firmware_sim.home import HomeSpec
from firmware_sim.scenarios import Scenarios, follow

from eldercare.runtime import Platform
from gateway import BrokerAddress
from lab.harness import platform_config, platform_on, serve_api
from stream.core import StreamCore, default_detectors
from stream.supervision import SupervisionConfig
from tests.harness import ADMIN, Namespace
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
    config = platform_config(namespace, batch_linger_ms=1.0, stream_tick_s=tick_s)
    # Mains-powered devices are silent after 10 min; at 3600× that is 0.17 s of real time, less than the
    # broker and batching add to a heartbeat, so a fast simulation gives every silence 2 real seconds.
    supervision = SupervisionConfig(silent_mains_s=max(600.0, 2.0 * speed))
    stream = StreamCore(default_detectors(config.alerting.utc_offset_min, supervision))
    fleet = Fleet(
        homes, services.mqtt_host, services.mqtt_port, prefix=namespace.prefix, z2m_base=namespace.z2m_base, clock=clock
    )
    scenarios = Scenarios(fleet)

    async def seed(platform: Platform) -> None:
        await platform.users.add(*ADMIN, role="admin")
        await seed_registry(platform.registry, homes)

    try:
        async with (
            platform_on(
                await services.create_database(),
                BrokerAddress(services.mqtt_host, services.mqtt_port),
                config,
                seed=seed,
                clock=clock.time,
                stream=stream,
            ) as platform,
            serve_api(platform) as api,
        ):
            ready = asyncio.Event()
            follower = asyncio.create_task(follow(scenarios, api.ws_url, await api.login(*ADMIN), ready))
            try:
                await asyncio.wait_for(ready.wait(), 10)
                await fleet.start()
                clock.set_speed(speed)
                yield SimHarness(platform, fleet, scenarios, clock, namespace)
            finally:
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await follower
    finally:
        await fleet.close()  # after the gateway: clearing retained status is not traffic for it
