"""IMU blocks reach the history as one row per device and minute."""

from __future__ import annotations

import numpy as np

from alerting.imu_minutes import MINUTE_MS, ImuMinutes
from devices.events import Event, ImuBlock, Stream

T0 = 1_790_000_040_000 - 1_790_000_040_000 % MINUTE_MS  # a whole minute


def block(device: str, received_ms: int, n: int = 50, hz: float = 50.0) -> Event:
    t = received_ms - 1000 + np.arange(n) * (1000.0 / hz)
    imu = ImuBlock(t_ms=t.astype(np.float64), acc=np.zeros((n, 3), dtype=np.float32))
    start = int(t[0]) if n else received_ms - 1000
    return Event(device, f"r-{device}", Stream.IMU, start, received_ms, {}, device_type="wristband", imu=imu)


def test_a_minute_of_blocks_is_one_event_with_its_counts() -> None:
    minutes = ImuMinutes()
    assert all(minutes.add(block("w1", T0 + 1000 * s)) is None for s in range(1, 60))
    closed = minutes.add(block("w1", T0 + MINUTE_MS + 500))  # the next minute's first block
    assert closed is not None and closed.imu is None and closed.stream is Stream.IMU
    assert closed.values["blocks"] == 59 and closed.values["samples"] == 59 * 50
    assert closed.ts_ms == T0 and closed.received_ms == T0 + 59_000
    assert closed.values["span_ms"] == 59_000 - 1000 + 980.0
    assert (closed.device_id, closed.resident_id, closed.device_type) == ("w1", "r-w1", "wristband")
    assert len(minutes) == 1  # the new minute is open


def test_devices_are_folded_apart_and_handed_over_once_their_minute_and_grace_are_over() -> None:
    minutes = ImuMinutes(grace_ms=5_000)
    for s in range(1, 30):
        minutes.add(block("w1", T0 + 1000 * s))
        minutes.add(block("w2", T0 + 1000 * s + 400))
    assert minutes.due(T0 + MINUTE_MS + 4_000) == []  # within the grace: a late block may still come
    over = minutes.due(T0 + MINUTE_MS + 5_000)
    assert sorted((e.device_id, e.values["blocks"]) for e in over) == [("w1", 29), ("w2", 29)]
    assert len(minutes) == 0 and minutes.due(T0 + 10 * MINUTE_MS) == []


def test_a_stop_hands_over_the_open_minutes() -> None:
    minutes = ImuMinutes()
    minutes.add(block("w1", T0 + 1000))
    minutes.add(block("w2", T0 + 2000, n=0))
    events = {e.device_id: e for e in minutes.all()}
    assert events["w1"].values["blocks"] == 1 and events["w2"].values["samples"] == 0
    assert len(minutes) == 0
