"""Synthetic wearable accelerometer signals for the fall-detector tests (seeded, in g and ms), the
IMU events that carry them, and a stream core fed with them one event at a time."""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt

from devices.events import Event, ImuBlock, Stream
from stream.core import StreamCore
from stream.detections import Detection

EPOCH = 1.7e12


def unit(rng: np.random.Generator) -> npt.NDArray[np.float64]:
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def perpendicular(v: npt.NDArray[np.float64], rng: np.random.Generator, angle_deg: float) -> npt.NDArray[np.float64]:
    """A unit vector at ``angle_deg`` from ``v``."""
    w = np.cross(v, unit(rng))
    w /= np.linalg.norm(w)
    a = np.radians(angle_deg)
    return np.cos(a) * v + np.sin(a) * w


def times(seconds: float, rate_hz: float, rng: np.random.Generator, irregular: bool = False) -> npt.NDArray[np.float64]:
    n = int(seconds * rate_hz)
    if not irregular:
        return EPOCH + np.arange(n) * 1000.0 / rate_hz
    steps = rng.uniform(0.5, 1.5, size=n) * 1000.0 / rate_hz
    return EPOCH + np.cumsum(steps)


def scenario(
    kind: str, rate_hz: float, rng: np.random.Generator, irregular: bool = False, seconds: float = 20.0
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float32], float]:
    """``(t_ms, acc_g, event_ms)`` for ``kind`` in ``fall``, ``sit_hard``, ``drop``, ``walk``, ``jump``.

    The event (impact) is at 8 s. ``fall``: walking, 0.5 s of descent (|a| → 0.4 g), a 4 g impact,
    then lying still at 90° from the upright gravity direction. ``sit_hard``: a 3 g impact and a 20°
    tilt, then sitting still. ``drop``: the device falls freely for 0.4 s, hits the floor at 6 g
    and lies perfectly still. ``jump``: a 3.5 g landing and upright again, walking on.
    """
    t = times(seconds, rate_hz, rng, irregular)
    s = (t - EPOCH) / 1000.0
    g0 = unit(rng)
    impact_s = 8.0
    walk_axis = unit(rng)
    walking = 0.35 * np.sin(2 * np.pi * 1.9 * s)[:, None] * walk_axis[None, :]
    acc = np.tile(g0, (len(t), 1)) + 0.01 * rng.normal(size=(len(t), 3))
    before = s < impact_s - 0.5
    if kind in ("fall", "walk", "jump", "sit_hard"):
        acc[before] += walking[before]
    near = np.abs(s - impact_s) < 0.06
    after = s >= impact_s + 0.06
    if kind == "fall":
        g1 = perpendicular(g0, rng, 90.0)
        descent = (s >= impact_s - 0.5) & (s < impact_s - 0.06)
        acc[descent] = 0.4 * g0 + 0.05 * rng.normal(size=(int(descent.sum()), 3))
        acc[near] = g0 * 4.0 + unit(rng) * 1.0
        acc[after] = g1 + 0.012 * rng.normal(size=(int(after.sum()), 3))
    elif kind == "sit_hard":
        g1 = perpendicular(g0, rng, 20.0)
        acc[near] = g0 * 3.0
        acc[after] = g1 + 0.012 * rng.normal(size=(int(after.sum()), 3))
    elif kind == "drop":
        g1 = unit(rng)
        free = (s >= impact_s - 0.4) & (s < impact_s - 0.06)
        acc[free] = 0.01 * rng.normal(size=(int(free.sum()), 3))
        acc[near] = unit(rng) * 6.0
        acc[after] = g1 + 0.002 * rng.normal(size=(int(after.sum()), 3))
    elif kind == "jump":
        acc[near] = g0 * 3.5
        acc[after] += walking[after]
    return t, acc.astype(np.float32), EPOCH + impact_s * 1000.0


def chunks(device: str, t: np.ndarray, a: np.ndarray, seconds: float = 1.0) -> list[Event]:
    events = []
    edges = np.arange(t[0], t[-1] + seconds * 1000, seconds * 1000)
    idx = np.searchsorted(t, edges)
    for lo, hi in itertools.pairwise(idx):
        if hi > lo:
            ts = int(t[hi - 1])
            events.append(Event(device, f"res-{device}", Stream.IMU, ts, ts, imu=ImuBlock(t[lo:hi], a[lo:hi])))
    return events


def feed(core: StreamCore, events: list[Event]) -> list[Detection]:
    out: list[Detection] = []
    for event in events:
        out.extend(core.process({event.resident_id: [event]}, event.ts_ms))
    out.extend(core.advance(events[-1].ts_ms + 30_000))
    return out
