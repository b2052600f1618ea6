"""A few simulated homes for ``eldercare up --demo``: motion, doors, bed, battery, a call button."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass

from firmware_sim.device import SimulatedDevice

log = logging.getLogger("eldercare.sim")


@dataclass(frozen=True, slots=True)
class DemoDevice:
    id: str
    type: str
    location: str


async def run_homes(host: str, port: int, homes: Sequence[Sequence[DemoDevice]], seed: int = 7) -> None:
    """Keep every demo device online and publishing plausible activity until cancelled."""
    rng = random.Random(seed)
    async with contextlib.AsyncExitStack() as stack:
        online: list[tuple[DemoDevice, SimulatedDevice]] = []
        for home in homes:
            for spec in home:
                device = SimulatedDevice(spec.id, host, port)
                await stack.enter_async_context(device.online(listen=spec.type == "sos_button"))
                await device.report("status", battery=rng.randint(60, 100))
                online.append((spec, device))
        log.info("demo homes online", extra={"homes": len(homes), "devices": len(online)})
        while True:
            spec, device = rng.choice(online)
            if spec.type == "pir":
                await device.report("motion", occupancy=True)
            elif spec.type in {"door", "contact"}:
                await device.report("contact", open=rng.random() < 0.5)
            elif spec.type == "bed":
                await device.report("bed", occupied=rng.random() < 0.3)
            await asyncio.sleep(rng.uniform(2.0, 6.0) / max(1, len(homes)))
