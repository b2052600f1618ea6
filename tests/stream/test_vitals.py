"""VitalsDetector: persistent limits (never one bad reading), personal limits, trends, snapshots."""

from __future__ import annotations

import numpy as np

from devices.events import Event, Stream
from lab.sensor_events import sensor_event
from stream.core import StreamCore
from stream.detections import DetectionKind
from stream.vitals import VitalsDetector

S = 1000


def reading(t: int, resident: str = "bob", **values: object) -> Event:
    return sensor_event(Stream.VITALS, t, "cuff", resident, values, device_type="vitals")


def test_spo2_needs_60_s_sustained_and_alerts_once() -> None:
    det = VitalsDetector()
    assert det.process([reading(0, spo2=85)], 0) == []  # one bad reading: nothing
    assert det.process([reading(30 * S, spo2=86)], 30 * S) == []  # 30 s: not yet
    found = det.process([reading(61 * S, spo2=87)], 61 * S)
    assert len(found) == 1 and found[0].kind is DetectionKind.VITALS
    assert found[0].key == "vitals:bob:spo2:low:0" and found[0].details["threshold"] == 90.0
    assert det.process([reading(90 * S, spo2=84)], 90 * S) == []  # same episode
    assert det.process([reading(100 * S, spo2=97), reading(110 * S, spo2=80)], 110 * S) == []  # new run
    assert len(det.process([reading(171 * S, spo2=80)], 171 * S)) == 1


def test_single_spike_and_artefacts_never_alert() -> None:
    det = VitalsDetector()
    events = [reading(i * 5 * S, hr=70) for i in range(40)]
    events[10] = reading(50 * S, hr=180)
    events[20] = reading(100 * S, hr=0)  # artefact
    events[21] = reading(105 * S, hr="n/a")  # unreadable
    assert det.process(events, 200 * S) == []


def test_high_heart_rate_batch_equals_one_by_one() -> None:
    rng = np.random.default_rng(1)
    hr = np.where(rng.random(300) < 0.3, 140.0, 75.0)
    hr[100:130] = 150.0
    events = [reading(i * 5 * S, hr=float(v)) for i, v in enumerate(hr)]
    batch = VitalsDetector().process(events, 10**7)
    single = VitalsDetector()
    one = [d for e in events for d in single.process([e], 10**7)]
    assert [d.key for d in batch] == [d.key for d in one]
    assert any(d.details["rule"] == "high" and d.ts_ms == 500 * S for d in batch)


def test_personal_limits() -> None:
    det = VitalsDetector()
    det.set_limits("bob", "hr", 35.0, 130.0)
    events = [reading(i * 10 * S, hr=38) for i in range(10)] + [
        reading(i * 10 * S, resident="eve", hr=38) for i in range(10)
    ]
    found = det.process(events, 10**6)
    assert [d.resident_id for d in found] == ["eve"]


def test_temperature_trend_against_own_baseline_and_snapshot() -> None:
    hour = 3600 * S
    det = VitalsDetector()
    events = [reading(h * hour, temp=36.4 + 0.05 * np.sin(h)) for h in range(24 * 5)]
    assert det.process(events, 0) == []
    core = StreamCore([det])
    blob = core.snapshot()
    restored = StreamCore([VitalsDetector()])
    restored.restore(blob)
    rise = [reading((24 * 5 + h) * hour, temp=37.6) for h in range(12)]  # +1.2 °C, still below 38 °C
    found = restored.process({"bob": rise}, 0)
    assert [d.details["rule"] for d in found] == ["trend"]
    assert found[0].details["baseline"] < 36.6
    assert VitalsDetector().process(rise, 0) == []  # without the learned baseline: no trend
