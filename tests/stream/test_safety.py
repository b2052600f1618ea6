"""SafetyDetector: smoke, gas and water leaks at once, once per episode."""

from __future__ import annotations

from devices.events import Event, Stream
from lab.sensor_events import sensor_event
from stream.core import StreamCore
from stream.detections import DetectionKind
from stream.safety import SafetyDetector


def env(t: int, device: str = "smoke1", **values: object) -> Event:
    return sensor_event(Stream.ENV, t, device, "ann", values, location="kitchen")


def test_once_per_episode_per_channel() -> None:
    det = SafetyDetector()
    events = [
        env(1, smoke=True),
        env(2, smoke=True),
        env(3, smoke=True, gas=True),
        env(4, smoke=False),
        env(5, smoke=True),
        env(6, device="leak", water_leak="true"),
    ]
    found = det.process(events, 10)
    assert [(d.kind, d.ts_ms) for d in found] == [
        (DetectionKind.SMOKE, 1),
        (DetectionKind.GAS, 3),
        (DetectionKind.SMOKE, 5),
        (DetectionKind.WATER_LEAK, 6),
    ]
    assert found[0].key == "smoke:smoke1:1" and found[0].detected_ms == 10


def test_episode_survives_restart_and_other_streams_are_ignored() -> None:
    core = StreamCore([SafetyDetector()])
    assert len(core.process({"ann": [env(1, gas=True)]}, 1)) == 1
    other = Event(
        device_id="pir", resident_id="ann", stream=Stream.MOTION, ts_ms=2, received_ms=2, values={"occupancy": True}
    )
    restored = StreamCore([SafetyDetector()])
    restored.restore(core.snapshot())
    assert restored.process({"ann": [env(2, gas=True), other]}, 2) == []  # still the same episode
    assert len(restored.process({"ann": [env(3, gas=False), env(4, gas=True)]}, 4)) == 1
