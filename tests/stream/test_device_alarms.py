"""Device-reported alarms: an SOS press, a fall a device saw itself, a radar's possible fall."""

from __future__ import annotations

from devices.events import Event, Stream
from stream.core import DeviceAlarms
from stream.detections import DetectionKind


def alarm(**values: object) -> Event:
    return Event("radar-1", "res-1", Stream.ALARM, 1_000, 1_000, values, device_type="fall_radar")


def test_a_radar_fall_is_a_fall_and_its_warning_a_less_certain_one() -> None:
    fall, maybe, sos = DeviceAlarms().process(
        [alarm(kind="fall", source="radar"), alarm(kind="fall", source="radar", warning=True), alarm(kind="sos")],
        2_000,
    )
    assert (fall.kind, fall.confidence, fall.details["source"]) == (DetectionKind.FALL, 1.0, "radar")
    assert (maybe.kind, maybe.confidence, maybe.details["warning"]) == (DetectionKind.FALL, 0.5, True)
    assert (sos.kind, sos.details["source"]) == (DetectionKind.SOS, "device")
