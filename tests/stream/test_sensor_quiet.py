"""Quiet beyond habit: an activity sensor that checks in but senses nothing while its home lives on."""

from __future__ import annotations

import math

import numpy as np
import pytest

from devices.events import Event, Stream
from lab.sensor_events import sensor_event
from stream.core import StreamCore
from stream.detections import DetectionKind
from stream.kernels import supervision as k
from stream.supervision import DeviceSupervisor, SupervisionConfig

M = 60_000
H = 60 * M
D = 24 * H


def motion(t: int, device: str = "pir_kitchen") -> Event:
    return sensor_event(Stream.MOTION, t, device, "ann", {"occupancy": True}, device_type="pir", location="kitchen")


def door(t: int, device: str = "front_door") -> Event:
    return sensor_event(Stream.CONTACT, t, device, "ann", {"open": True}, device_type="door", location="hall")


def status(t: int, device: str) -> Event:
    return sensor_event(Stream.STATUS, t, device, "ann", {"battery": 90}, device_type="door")


def live(sup: DeviceSupervisor, start: int, end: int, door_every: int | None, step: int = 30 * M) -> list:
    """The kitchen PIR every ``step`` and the front door every ``door_every`` from ``start`` to ``end``,
    one batch and one tick per step; the notices."""
    found = []
    for t in range(start, end, step):
        batch = [motion(t)]
        if door_every is not None and (t - start) % door_every == 0:
            batch.append(door(t))
        found += sup.process(batch, t) + sup.advance(t)
    return [d for d in found if d.kind is DetectionKind.DEVICE_SILENT]


def test_a_front_door_that_stops_sensing_is_noticed_once_after_four_times_its_habit() -> None:
    sup = DeviceSupervisor()
    assert live(sup, 0, 10 * D, door_every=8 * H) == []  # learned: mute 8 h at most while the home lives
    last_door = 10 * D - 8 * H
    found = live(sup, 10 * D, 14 * D, door_every=None)
    assert [(d.device_id, d.key) for d in found] == [("front_door", f"device_quiet:front_door:{last_door}")]
    notice = found[0]
    assert notice.ts_ms == last_door
    assert notice.details["threshold_s"] == 32 * 3600  # 4 × 8 h, over the 24 h floor
    assert notice.details["longest_mute_s"] == 8 * 3600
    assert notice.detected_ms - last_door == 32 * H + 30 * M  # the first tick past the limit
    assert "knocked off" in notice.details["reason"] and "检修" in notice.details["reason_zh"]
    # sensing again re-arms it; a second loss is a second notice
    assert live(sup, 14 * D, 16 * D, door_every=8 * H) == []
    assert len(live(sup, 16 * D, 19 * D, door_every=None)) == 1


def test_nothing_is_noticed_while_the_whole_home_is_quiet_nor_before_a_habit_is_learned() -> None:
    sup = DeviceSupervisor()
    assert live(sup, 0, 10 * D, door_every=8 * H) == []
    # a holiday: every sensor quiet for ten days (ticks go on), then life as before
    for t in range(10 * D, 20 * D, H):
        assert sup.advance(t) == []
    assert live(sup, 20 * D, 22 * D, door_every=8 * H) == []
    # a new home, door mute for days within its first week: nothing is known of its habit yet
    young = DeviceSupervisor()
    live(young, 0, 2 * D, door_every=4 * H)
    assert live(young, 2 * D, 6 * D, door_every=None) == []


def test_a_heartbeat_sensor_unheard_altogether_is_silent_by_its_type_not_quiet_too() -> None:
    sup = DeviceSupervisor(SupervisionConfig(silent_battery_s=30 * 3600))
    found = []
    for t in range(0, 10 * D, 30 * M):
        batch = [motion(t)] + ([door(t), status(t, "front_door")] if t % (8 * H) == 0 else [])
        found += sup.process(batch, t) + sup.advance(t)
    assert found == []
    for t in range(10 * D, 14 * D, 30 * M):
        found += sup.process([motion(t)], t) + sup.advance(t)
    keys = [d.key.split(":")[0] for d in found if d.device_id == "front_door"]
    assert keys == ["device_silent"]  # its limit (30 h) came first; quiet would say the same again


def test_the_learned_habit_survives_a_snapshot_and_old_snapshots_restore() -> None:
    sup = DeviceSupervisor()
    live(sup, 0, 10 * D, door_every=8 * H)
    core = StreamCore([sup])
    restored = DeviceSupervisor()
    StreamCore([restored]).restore(core.snapshot())
    assert [d.key for d in live(restored, 10 * D, 14 * D, door_every=None)] == [
        f"device_quiet:front_door:{10 * D - 8 * H}"
    ]
    state = sup.snapshot()
    state["dev_state"] = state["dev_state"][:, :11]  # before quiet beyond habit
    del state["dev_homes"]
    old = DeviceSupervisor()
    old.restore(state)
    assert live(old, 10 * D, 14 * D, door_every=None) == []  # nothing learned yet: no guess


@pytest.mark.parametrize(
    "field, value",
    [
        ("quiet_factor", -1.0),
        ("quiet_factor", math.nan),
        ("quiet_floor_s", math.inf),
        ("quiet_min_events", -1),
        ("quiet_decay", 0.0),
        ("quiet_decay", 1.5),
        ("quiet_learn_days", math.nan),
    ],
)
def test_quiet_settings_out_of_range_are_rejected(field: str, value: float) -> None:
    with pytest.raises(ValueError, match="quiet"):
        SupervisionConfig(**{field: value})


def test_quiet_factor_zero_turns_it_off() -> None:
    sup = DeviceSupervisor(SupervisionConfig(quiet_factor=0.0))
    live(sup, 0, 10 * D, door_every=8 * H)
    assert live(sup, 10 * D, 14 * D, door_every=None) == []


def reference_mute_max(events: list[tuple[int, int]], decay: float) -> dict[int, float]:
    """The longest faded mute spell per device, written plainly (the kernel's twin, with no notice in
    between): ``events`` are ``(t_ms, device)`` of one home in time order."""
    last: dict[int, int] = {}
    mute: dict[int, float] = {}
    history: list[tuple[int, int]] = []
    for t, dev in events:
        if dev in last and t > last[dev]:
            others = [s for s, d in history if d != dev]
            other = max(others) if others else -1
            spell = min(t, other) - last[dev]
            faded = int(mute[dev] * decay ** ((t - last[dev]) / D))
            mute[dev] = max(spell, faded)
        elif dev not in last:
            mute[dev] = 0
        if dev not in last or t > last[dev]:
            last[dev] = t
        history.append((t, dev))
    return mute


def test_the_kernel_learns_the_mute_spells_its_twin_does() -> None:
    rng = np.random.default_rng(7)
    times = np.sort(rng.integers(0, 20 * D, 600))
    devices = rng.choice(4, size=times.size, p=[0.6, 0.25, 0.1, 0.05])
    events = [(int(t), int(d)) for t, d in zip(times, devices, strict=True)]
    sup = DeviceSupervisor(SupervisionConfig(quiet_decay=0.9))
    for chunk in np.array_split(np.arange(len(events)), 37):
        batch = [motion(events[i][0], device=f"s{events[i][1]}") for i in chunk.tolist()]
        if batch:
            sup.process(batch, batch[-1].ts_ms)
    want = reference_mute_max(events, 0.9)
    table = sup.devices
    for dev, spell in want.items():
        slot = table.slots.get(f"s{dev}")
        assert slot is not None
        assert int(table.dev[slot, k.D_MUTE_MAX]) == int(spell)


def test_device_health_says_a_sensor_is_not_sensing_until_it_senses_again() -> None:
    sup = DeviceSupervisor()
    live(sup, 0, 10 * D, door_every=8 * H)
    health = sup.device_health(["front_door"])["front_door"]
    assert (health.not_sensing, health.last_sensed_ms) == (False, 10 * D - 8 * H)
    live(sup, 10 * D, 14 * D, door_every=None)
    health = sup.device_health(["front_door"])["front_door"]
    assert health.not_sensing and health.online and not health.silent
    sup.process([door(14 * D)], 14 * D)
    assert sup.device_health(["front_door"])["front_door"].not_sensing is False


def test_an_inactivity_alert_names_the_home_sensor_that_senses_nothing() -> None:
    from stream.home import HomeActivityDetector

    home = HomeActivityDetector()
    found = []
    for t in range(0, 12 * D, 30 * M):  # the door every 8 h for ten days, then mute; the kitchen throughout
        batch = [motion(t)] + ([door(t)] if t % (8 * H) == 0 and t < 10 * D else [])
        found += home.process(batch, t) + home.advance(t)
    assert [d for d in found if d.kind is not DetectionKind.UNMONITORED] == []
    for t in range(12 * D, 13 * D, 10 * M):  # then nothing at all: out through a door that no longer senses?
        found += home.advance(t)
    alerts = [d for d in found if d.kind is DetectionKind.INACTIVITY]
    assert alerts, "a day's silence in a home that was busy every half hour alerts"
    assert alerts[0].details["not_sensing"] == ["front_door"]
    assert "front_door" in alerts[0].details["reason"]
    # a home whose sensors all sense says nothing of the kind
    intact = HomeActivityDetector()
    found = []
    for t in range(0, 12 * D, 30 * M):
        batch = [motion(t)] + ([door(t)] if t % (8 * H) == 0 else [])
        found += intact.process(batch, t) + intact.advance(t)
    for t in range(12 * D, 13 * D, 10 * M):
        found += intact.advance(t)
    alerts = [d for d in found if d.kind is DetectionKind.INACTIVITY]
    assert alerts and "not_sensing" not in alerts[0].details
