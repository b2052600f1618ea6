"""A simulated home as data: its devices, its resident's habits, and the plan of one day.

:class:`HomeSpec` (the resident, the devices, the routine's seed) is what the fleet seeds the
registry from and what :class:`firmware_sim.home.Home` plays; :func:`plan_day` turns a
:class:`Routine` into one day's places with day-to-day variation.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from firmware_sim.kinds import KINDS

from devices.protocol import HOME_UTC_OFFSET_MIN

DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """One device of a home. ``link``: ``own`` (its own MQTT connection, client id and last will) or
    ``hub`` (published by the home's hub on the device's own topic); ``protocol``: ``v1`` or ``z2m``
    (Zigbee2MQTT, friendly name = ``id``)."""

    id: str
    kind: str
    location: str
    link: str = "hub"
    protocol: str = "v1"
    imu_hz: float = 0.0
    username: str | None = None
    password: str | None = None

    @property
    def registry_type(self) -> str:
        return KINDS[self.kind].registry_type

    @property
    def model(self) -> str:
        return KINDS[self.kind].z2m_model if self.protocol == "z2m" else ""


@dataclass(frozen=True, slots=True)
class Routine:
    """A resident's habits (minutes after local midnight, probabilities per day)."""

    wake_min: float = 390.0
    bed_min: float = 1290.0
    out_morning_p: float = 0.6
    out_afternoon_p: float = 0.4
    night_bath_mean: float = 1.0
    nap_p: float = 0.5
    jitter_min: float = 20.0

    @classmethod
    def random(cls, rng: random.Random) -> Routine:
        return cls(
            wake_min=rng.uniform(330, 450),
            bed_min=rng.uniform(1230, 1350),
            out_morning_p=rng.uniform(0.3, 0.9),
            out_afternoon_p=rng.uniform(0.1, 0.6),
            night_bath_mean=rng.uniform(0.3, 2.0),
            nap_p=rng.uniform(0.2, 0.8),
            jitter_min=rng.uniform(10, 30),
        )


@dataclass(frozen=True, slots=True)
class HomeSpec:
    id: str
    resident_id: str
    resident_name: str
    address: str
    devices: tuple[DeviceSpec, ...]
    routine: Routine = field(default_factory=Routine)
    org_node: str | None = None
    utc_offset_min: int = HOME_UTC_OFFSET_MIN
    seed: int = 0

    def find(self, kind: str, location: str | None = None) -> DeviceSpec | None:
        for device in self.devices:
            if device.kind == kind and (location is None or device.location == location):
                return device
        return None


def plan_day(
    routine: Routine, rng: random.Random, midnight: float, wake: float
) -> tuple[list[tuple[float, str]], float]:
    """One day from waking at ``wake`` to the next wake-up: ``[(local s, place)]`` and that next wake.

    Places: ``bedroom`` (just up), ``bathroom``, ``kitchen``, ``living`` (sitting), ``out``, ``bed``.
    """
    j = routine.jitter_min * 60.0
    m = lambda lo, hi: rng.uniform(lo, hi) * 60.0  # noqa: E731 - minutes → s
    plan: list[tuple[float, str]] = [(wake, "bedroom")]
    t = wake + m(1, 4)

    def go(place: str, duration: float) -> None:
        nonlocal t
        plan.append((t, place))
        t += duration

    def fill_until(end: float) -> None:
        while t < end - 15 * 60:
            go("living", min(m(40, 150), max(60.0, end - t)))
            if t < end - 10 * 60 and rng.random() < 0.6:
                go("bathroom", m(3, 10))

    go("bathroom", m(8, 20))
    go("kitchen", m(20, 40))
    if rng.random() < routine.out_morning_p:
        go("living", m(10, 40))
        go("out", m(30, 120))
    fill_until(midnight + 690 * 60 + rng.gauss(0, j))
    go("kitchen", m(30, 50))
    if rng.random() < routine.nap_p:
        go("living", m(45, 100))
    fill_until(midnight + 900 * 60 + rng.gauss(0, j))
    if rng.random() < routine.out_afternoon_p:
        go("out", m(30, 90))
    fill_until(midnight + 1050 * 60 + rng.gauss(0, j))
    go("kitchen", m(30, 50))
    bedtime = max(t + 30 * 60, midnight + routine.bed_min * 60 + rng.gauss(0, j))
    fill_until(bedtime)
    go("bathroom", m(5, 12))
    plan.append((t, "bed"))
    next_wake = midnight + DAY_S + routine.wake_min * 60 + rng.gauss(0, j)
    trips = sorted(rng.uniform(t + 3600, next_wake - 3600) for _ in range(_poisson(rng, routine.night_bath_mean)))
    for trip in trips:
        if trip > t + 600:
            plan.append((trip, "bathroom"))
            plan.append((trip + m(3, 8), "bed"))
            t = trip + 600
    return plan, next_wake


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
