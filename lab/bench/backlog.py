"""A broker's backlog: simulated homes' messages, as their firmware writes them, without sockets.

The homes of :mod:`firmware_sim` run on a clock that only jumps (:meth:`Scheduler.run_next`), each
link replaced by a recorder, so a quarter of an hour of a city's traffic is written in seconds:
births, motion, doors, pads, vitals, radar, heartbeats, Zigbee2MQTT states, and (for wearable homes)
one-second binary IMU blocks. SOS presses are added at a fixed share of the messages, each from a
call button that numbers its presses (``seq``), so every press can be looked up as an alert trigger.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any, cast

from firmware_sim.clock import SimClock
from firmware_sim.fleet import Fleet
from firmware_sim.home import HomeSpec


@dataclass
class Recorder:
    """Stands in for a home's MQTT link: keeps what would have been published."""

    keep: str = ""
    """Keep only topics ending with this (``/imu``); empty: everything."""
    messages: list[tuple[str, bytes]] = field(default_factory=list)

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        if topic.endswith(self.keep):
            self.messages.append((topic, bytes(payload)))

    def subscribe(self, topic: str, qos: int = 0) -> None:
        pass


@dataclass(frozen=True, slots=True)
class Backlog:
    messages: list[tuple[str, bytes]]
    presses: list[tuple[str, int]]
    """(device id, seq) of every SOS press among ``messages``."""
    simulated_s: float
    """The simulated time the messages span."""


def generate(
    homes: list[HomeSpec],
    messages: int,
    *,
    prefix: str,
    z2m_base: str,
    alarm_share: float = 0.01,
    keep: str = "",
    end_at: float | None = None,
    warmup_s: float = 3600.0,
    seed: int = 0,
) -> Backlog:
    """``messages`` messages of ``homes`` (``keep``: only topics ending so), ``alarm_share`` of them
    SOS presses, after ``warmup_s`` simulated seconds left out (the births and the first heartbeats
    of every device at once are a reconnect's burst, not everyday traffic). The simulated clock is
    set so the traffic ends near ``end_at`` (default: now), as a backlog that built up while the
    platform was away."""
    if keep and alarm_share:
        raise ValueError("presses are kept only in a backlog of every topic (keep='')")
    recorder = Recorder(keep)
    rate_guess = max(1.0, len(homes) * (1.0 if keep == "/imu" else 1.5 / 60.0))
    span_guess = messages / rate_guess
    clock = SimClock(start=(end_at or time.time()) - span_guess - warmup_s, speed=1e-9)
    fleet = Fleet(homes, "127.0.0.1", 1, prefix=prefix, z2m_base=z2m_base, clock=clock)
    link = cast(Any, recorder)
    for home in fleet.homes:
        home.hub_client = link
        for device in home.devices.values():
            if device.spec.link == "own":
                device.client = link
    buttons = [
        device
        for home in fleet.homes
        for device in home.devices.values()
        if device.spec.kind == "sos_button" and device.spec.protocol == "v1"
    ]
    if alarm_share > 0 and not buttons:
        raise ValueError("no home has a call button that numbers its presses")
    started = clock.time()
    for home in fleet.homes:
        home.birth(link)
        home.start(started)
    while clock.time() < started + warmup_s and fleet.scheduler.run_next():
        pass
    recorder.messages.clear()
    started = clock.time()
    rng = random.Random(seed)
    presses: list[tuple[str, int]] = []
    wanted_presses = round(messages * alarm_share)
    every = messages / wanted_presses if wanted_presses else float("inf")
    out = recorder.messages
    while len(out) < messages and fleet.scheduler.run_next():
        while len(presses) < wanted_presses and len(out) >= (len(presses) + 1) * every - 1:
            button = rng.choice(buttons)
            fleet.alarm(button, "single", clock.time())
            presses.append((button.id, button.seq))
    del out[messages:]
    if len(out) < messages:
        raise RuntimeError(f"the homes wrote {len(out)} messages, not {messages}")
    return Backlog(out, presses, clock.time() - started)
