"""The homes of ``eldercare bench scaling``, in a process of their own (its CPU is not the platform's).

``python -m lab.bench.scaling_fleet CONFIG_JSON`` plays three fleets (:mod:`firmware_sim.fleet`)
against the broker: **everyday** homes (sensors, pads, buttons, status; no wearables) in two halves,
ids ``e…`` from the start and ids ``f…`` once told, and **wearable** homes (ids ``w…``: the same kind
of home with a pendant or wristband streaming one-second IMU blocks while worn) once told. Commands,
one per line on stdin:

- ``start more`` / ``start wearables``: connect the second everyday half / the wearable homes;
- ``press RATE``: press the SOS button of one everyday home after another, ``RATE`` per second
  (each home once; ``press 0`` stops);
- ``stop``: stop pressing, report, disconnect and exit.

On stdout, JSON lines: ``ready`` (the first half connected), ``started`` (a fleet connected),
``stats`` every second (messages published so far by ``everyday`` and ``wearable`` homes), ``press``
(``device``, ``t`` epoch seconds just before the publish) and ``done``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from firmware_sim.fleet import Fleet, HomeMix, make_homes


@dataclass(frozen=True, slots=True)
class FleetPlan:
    """The fleets of a run (also what the bench registers)."""

    everyday_homes: int
    wearable_homes: int
    imu_hz: float = 50.0
    seed: int = 0

    @property
    def first_half(self) -> int:
        return self.everyday_homes - self.everyday_homes // 2

    def homes(self, fleet: str) -> list[Any]:
        """``everyday`` (the first half), ``more`` (the second half) or ``wearables``."""
        plain = HomeMix(wearable_share=0.0)
        if fleet == "everyday":
            return make_homes(self.first_half, self.seed, plain, id_prefix="e")
        if fleet == "more":
            return make_homes(self.everyday_homes // 2, self.seed + 1, plain, id_prefix="f")
        mix = HomeMix(wearable_share=1.0, imu_hz=(self.imu_hz,))
        offset = daytime_offset_min()
        homes = make_homes(self.wearable_homes, self.seed, mix, id_prefix="w")
        return [replace(spec, utc_offset_min=offset) for spec in homes]

    def all_homes(self) -> list[Any]:
        return self.homes("everyday") + self.homes("more") + self.homes("wearables")


def daytime_offset_min(hour: int = 10) -> int:
    """A UTC offset that makes it ``hour`` o'clock in the homes now: the wearers are up and wearing
    their bands whenever the bench runs (a band lies on its charger while its wearer is in bed, and
    streams nothing)."""
    offset = (hour - datetime.now(UTC).hour) * 60
    return offset + 24 * 60 if offset < -12 * 60 else offset - 24 * 60 if offset > 14 * 60 else offset


def _say(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
    sys.stdout.flush()


class Homes:
    """The running fleets and the button presser."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.plan = FleetPlan(**config["plan"])
        self.link = {
            "host": config["host"],
            "port": int(config["port"]),
            "prefix": config["prefix"],
            "z2m_base": config["z2m_base"],
            "retain_status": False,
        }
        self.fleets: dict[str, Fleet] = {}
        self.buttons: list[Any] = []
        self.pressed = 0
        self.rate_hz = 0.0

    def published(self) -> dict[str, int]:
        counts = {name: fleet.link_stats().published for name, fleet in self.fleets.items()}
        return {"everyday": counts.get("everyday", 0) + counts.get("more", 0), "wearable": counts.get("wearables", 0)}

    async def start(self, name: str) -> None:
        if name in self.fleets or name not in {"everyday", "more", "wearables"}:
            return
        fleet = Fleet(self.plan.homes(name), **self.link)
        self.fleets[name] = fleet
        started = time.perf_counter()
        await fleet.start()
        if name != "wearables":
            self.buttons += [h for h in fleet.homes if h.device("sos_button") is not None]
        seconds = round(time.perf_counter() - started, 2)
        _say({"type": "started", "fleet": name, "connections": len(fleet.clients), "connect_s": seconds})

    async def press_loop(self) -> None:
        next_at = time.monotonic()
        while True:
            if self.rate_hz <= 0 or self.pressed >= len(self.buttons):
                await asyncio.sleep(0.05)
                next_at = time.monotonic()
                continue
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if self.rate_hz <= 0:
                continue
            home = self.buttons[self.pressed]
            self.pressed += 1
            t = time.time()
            device = home.press_sos("single")
            _say({"type": "press", "device": device.id, "resident": home.spec.resident_id, "t": t})
            next_at += 1.0 / self.rate_hz

    async def stats_loop(self) -> None:
        while True:
            _say({"type": "stats", "t": time.time(), **self.published()})
            await asyncio.sleep(1.0)

    async def close(self) -> None:
        for fleet in self.fleets.values():
            with contextlib.suppress(Exception):
                await fleet.close(clear_retained=False)


async def _commands() -> tuple[asyncio.Queue[str], asyncio.Task[None]]:
    """Lines of stdin, read without blocking the loop (and the task reading them)."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def pump() -> None:
        while line := await reader.readline():
            lines.put_nowait(line.decode().strip())
        lines.put_nowait("stop")  # the bench went away

    return lines, loop.create_task(pump())


async def play(config: dict[str, Any]) -> None:
    homes = Homes(config)
    await homes.start("everyday")
    _say({"type": "ready", "buttons": len(homes.buttons)})
    helpers = [asyncio.create_task(homes.press_loop()), asyncio.create_task(homes.stats_loop())]
    commands, reading = await _commands()
    helpers.append(reading)
    try:
        while (command := await commands.get()) != "stop":
            word, _, argument = command.partition(" ")
            if word == "press":
                homes.rate_hz = float(argument or 0)
            elif word == "start":
                await homes.start(argument)
    finally:
        for task in helpers:
            task.cancel()
        _say({"type": "done", "t": time.time(), "presses": homes.pressed, **homes.published()})
        await homes.close()


def main() -> None:  # pragma: no cover - subprocess entry point
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(play(json.loads(sys.argv[1])))


if __name__ == "__main__":  # pragma: no cover
    main()
