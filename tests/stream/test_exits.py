"""NightExitDetector: what counts as the door and as someone inside, the archive's watch, the alert,
and a restart in the middle of a night out."""

from __future__ import annotations

from typing import Any

import pytest

from devices.events import Event, Stream
from lab.sensor_events import sensor_event
from stream.core import StreamCore, default_detectors
from stream.detections import DetectionKind
from stream.exits import WATCH_REFRESH_MS, NightExitDetector, exit_code
from stream.kernels import exits as x

M = 60_000
H = 60 * M
NIGHT = 1_764_547_200_000  # 2025-12-01 00:00 UTC
CHINA = 480  # UTC+8


def local(hour: float) -> int:
    """Epoch ms of ``hour`` o'clock on the night's local (UTC+8) day."""
    return NIGHT + int(hour * H) - CHINA * M


def door(t: int, opened: bool, resident: str = "ann") -> Event:
    return sensor_event(Stream.CONTACT, t, f"door-{resident}", resident, {"open": opened}, device_type="door")


def motion(t: int, occupied: bool = True, resident: str = "ann") -> Event:
    values = {"occupancy": occupied}
    return sensor_event(Stream.MOTION, t, f"pir-{resident}", resident, values, device_type="pir", location="hall")


def event(stream: Stream, values: dict[str, Any], dtype: str) -> Event:
    return sensor_event(stream, 0, "d", "ann", values, device_type=dtype)


def test_what_each_event_says() -> None:
    assert exit_code(event(Stream.CONTACT, {"open": True}, "door")) == x.XE_DOOR
    assert exit_code(event(Stream.CONTACT, {"open": False}, "door")) == x.XE_DOOR
    for dtype in ("contact", "flush", "appliance"):  # an inner door, a cupboard, the toilet, the kettle
        assert exit_code(event(Stream.CONTACT, {"open": False}, dtype)) == x.XE_INSIDE
    assert exit_code(event(Stream.MOTION, {"occupancy": True}, "pir")) == x.XE_INSIDE
    assert exit_code(event(Stream.MOTION, {"occupancy": False}, "pir")) == x.XE_NONE  # clearing
    assert exit_code(event(Stream.BED, {"occupied": True}, "bed_pad")) == x.XE_INSIDE
    assert exit_code(event(Stream.SEAT, {"occupied": False}, "seat_pad")) == x.XE_NONE  # a sticky pad lets go late
    assert exit_code(event(Stream.BED, {"heart_rate": 60}, "bed_pad")) == x.XE_NONE
    assert exit_code(event(Stream.VIBRATION, {"vibration": True}, "vibration")) == x.XE_INSIDE
    assert exit_code(event(Stream.PRESENCE, {"present": True}, "radar")) == x.XE_NONE  # radars hold "present"
    assert exit_code(event(Stream.STATUS, {"battery": 80}, "door")) == x.XE_NONE
    assert exit_code(event(Stream.ALARM, {"kind": "sos"}, "button")) == x.XE_NONE


def test_out_at_night_is_told_with_the_door_the_time_and_the_watch() -> None:
    exits = NightExitDetector(utc_offset_min=CHINA)
    exits.set_watch("ann", (22 * 60, 6 * 60))
    leaving = [motion(local(2.5) - 2 * M), door(local(2.5), True), door(local(2.5) + 20_000, False)]
    assert exits.process(leaving, local(2.5) + 20_000) == []
    assert exits.advance(local(2.5) + 20_000 + 10 * M - 1) == []
    [told] = exits.advance(local(2.5) + 11 * M)
    assert (told.kind, told.resident_id, told.device_id) == (DetectionKind.NIGHT_EXIT, "ann", "door-ann")
    assert told.ts_ms == local(2.5) and told.detected_ms == local(2.5) + 11 * M
    assert told.key == f"night_exit:ann:{local(2.5)}"
    assert told.details["watch"] == "22:00-06:00" and told.details["grace_s"] == 600.0
    assert told.details["rule"] == "door_in_watch"
    assert told.details["last_inside_ms"] == local(2.5) - 2 * M
    assert "opened at 02:30" in told.details["reason"] and "10 min" in told.details["reason"]
    assert exits.advance(local(4)) == []
    # back in at 04:10: the hall's motion is a notice on that alert, once
    [back] = exits.process(
        [door(local(4) + 10 * M, True), motion(local(4) + 11 * M), motion(local(4) + 12 * M)], local(5)
    )
    assert (back.kind, back.device_id, back.ts_ms) == (DetectionKind.MOVING_AGAIN, "pir-ann", local(4) + 11 * M)
    assert back.details["alert_key"] == told.key and back.details["location"] == "hall"
    assert back.details["silent_s"] == (local(4) + 11 * M - local(2.5)) / 1000


def test_the_door_at_night_of_someone_not_watched_or_who_stays_in() -> None:
    exits = NightExitDetector(utc_offset_min=CHINA)
    exits.set_watch("ann", (22 * 60, 6 * 60))
    night = [door(local(2), True, "bob"), door(local(2) + 20_000, False, "bob")]  # bob has no watch
    night += [door(local(3), True), door(local(3) + 20_000, False), motion(local(3) + 3 * M)]  # ann looked out
    assert exits.process(night, local(3) + 3 * M) == []
    assert exits.advance(local(5)) == []
    assert exits.process([door(local(12), True), door(local(12) + 20_000, False)], local(12)) == []
    assert exits.advance(local(14)) == []  # noon: out of the watch


def test_the_archives_watch_is_asked_when_first_seen_and_every_hour() -> None:
    archive: dict[str, tuple[int, int] | None] = {"ann": (23 * 60, 5 * 60)}
    asked: list[str] = []

    def night_watch_of(resident: str) -> tuple[int, int] | None:
        asked.append(resident)
        return archive.get(resident)

    exits = NightExitDetector(utc_offset_min=CHINA, night_watch_of=night_watch_of)
    exits.process([motion(local(20))], local(20))
    assert asked == ["ann"] and exits.watches["ann"] == (23 * 60, 5 * 60)
    slot = exits.residents.get("ann")
    assert slot is not None and (exits.state[slot, x.X_FROM], exits.state[slot, x.X_TO]) == (1380, 300)
    archive["ann"] = None  # the watch taken off in the archive
    exits.advance(local(20) + 1)
    exits.advance(local(20) + WATCH_REFRESH_MS + 1)
    assert exits.state[slot, x.X_FROM] == -1
    exits.process([door(local(26), True)], local(26))
    assert exits.advance(local(27)) == []
    archive["ann"] = (24 * 60, 0)  # a value the archive should never hold: left out, the stream goes on
    exits.advance(local(20) + 3 * WATCH_REFRESH_MS)
    assert exits.state[slot, x.X_FROM] == -1


@pytest.mark.parametrize("bad", [(1440, 60), (-1, 60), (60, 60), (1.5, 60), (True, 60)])
def test_a_watch_must_be_two_different_minutes_of_the_day(bad: tuple[Any, Any]) -> None:
    with pytest.raises(ValueError, match="watch"):
        NightExitDetector().set_watch("ann", bad)


@pytest.mark.parametrize("grace_s", [0.0, 59.0, 3601.0, float("nan")])
def test_the_grace_is_a_minute_to_an_hour(grace_s: float) -> None:
    with pytest.raises(ValueError, match="grace_s"):
        NightExitDetector(grace_s=grace_s)


def test_a_restart_in_the_middle_of_a_night_out_still_tells_it() -> None:
    core = StreamCore(default_detectors(CHINA, night_watch_of={"ann": (22 * 60, 6 * 60)}.get))
    assert any(isinstance(d, NightExitDetector) for d in core.detectors)
    core.process({"ann": [door(local(1), True)]}, local(1))
    blob = core.snapshot()
    restored = StreamCore(default_detectors(CHINA, night_watch_of={"ann": (22 * 60, 6 * 60)}.get))
    restored.restore(blob)
    found = [d for d in restored.advance(local(1) + 10 * M) if d.kind is DetectionKind.NIGHT_EXIT]
    assert [d.key for d in found] == [f"night_exit:ann:{local(1)}"]
    assert [d for d in restored.advance(local(2)) if d.kind is DetectionKind.NIGHT_EXIT] == []


def test_out_since_the_evening_is_told_when_the_watch_begins() -> None:
    exits = NightExitDetector(utc_offset_min=CHINA)
    exits.set_watch("ann", (22 * 60, 6 * 60))
    assert exits.process([motion(local(19.9)), door(local(20), True), door(local(20) + 20_000, False)], local(20)) == []
    assert exits.advance(local(22) - 1) == []
    [told] = exits.advance(local(22))
    assert told.ts_ms == local(20) and told.details["rule"] == "out_when_watch_began"
    assert "since 20:00" in told.details["reason"] and "not back home" in told.details["reason"]
    # back in before the watch: nothing; a door older than the activity, arriving late, changes nothing
    exits.set_watch("bob", (22 * 60, 6 * 60))
    exits.process([door(local(45), True, "bob"), motion(local(45.6), resident="bob")], local(45.6))
    exits.process([door(local(44), True, "bob")], local(45.6))
    assert exits.advance(local(47)) == []
    # out while not yet watched: a watch set after starts with nothing known (nothing followed before)
    exits.process([door(local(44), True, "cat")], local(44))
    assert exits.residents.get("cat") is None  # an unwatched resident takes no state
    exits.set_watch("cat", (22 * 60, 6 * 60))
    assert exits.advance(local(47)) == []


def test_a_watch_set_in_the_archive_later_is_taken_within_the_hour_though_nobody_was_watched() -> None:
    archive: dict[str, tuple[int, int] | None] = {}
    exits = NightExitDetector(utc_offset_min=CHINA, night_watch_of=archive.get)
    exits.process([motion(local(20))], local(20))  # asked: no watch, no state
    exits.advance(local(20))
    assert exits.residents.get("ann") is None
    archive["ann"] = (22 * 60, 6 * 60)
    exits.advance(local(20) + WATCH_REFRESH_MS)
    assert exits.watches["ann"] == (22 * 60, 6 * 60) and exits.residents.get("ann") is not None
    exits.process([motion(local(22.5)), door(local(23), True)], local(23))
    assert [d.ts_ms for d in exits.advance(local(23) + 10 * M)] == [local(23)]
