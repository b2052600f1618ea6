"""Incidents injected into simulated homes are each raised as the matching alert (real broker and DB)."""

from __future__ import annotations

import time
from dataclasses import replace

from firmware_sim.fleet import HomeMix, make_homes
from firmware_sim.home import HomeSpec

from tests.services import TestServices
from tests.sim.harness import simulated_city

LOCAL = 8 * 3600  # the homes' UTC offset (UTC+8)


def _local_start(hour: float) -> float:
    """Today's ``hour`` o'clock local time (UTC+8) as epoch seconds."""
    day = (time.time() + LOCAL) // 86400 * 86400
    return day + hour * 3600 - LOCAL


def _with_hz(home: HomeSpec, hz: float) -> HomeSpec:
    devices = tuple(replace(d, imu_hz=hz) if d.imu_hz else d for d in home.devices)
    return replace(home, devices=devices)


def _report(harness_report: dict[str, object]) -> str:
    return "\n".join(str(line) for line in harness_report["incidents"])  # type: ignore[attr-defined]


async def test_acute_incidents_are_detected(services: TestServices) -> None:
    """Fall (real recording), SOS presses (v1 own link, v1 via hub, Zigbee2MQTT), smoke and water,
    a device losing power (last will; Zigbee2MQTT availability), a battery running down."""
    own = make_homes(
        1, seed=1, mix=HomeMix(wearable_share=1, zigbee_share=0, vitals_share=1, link="mixed"), id_prefix="a"
    )
    zig = make_homes(1, seed=2, mix=HomeMix(wearable_share=1, zigbee_share=1, water_share=1, link="hub"), id_prefix="b")
    hub = make_homes(1, seed=3, mix=HomeMix(wearable_share=0, zigbee_share=0, water_share=1, link="hub"), id_prefix="c")
    homes = [_with_hz(own[0], 50.0), _with_hz(zig[0], 25.0), hub[0]]
    async with simulated_city(services, homes, _local_start(10.0), 4.0) as city:
        s = city.scenarios
        a, b, c = (h.id for h in homes)
        await s.inject("fall", a, recording="sisfall_SA01_F01_R01")
        await s.inject("sos", a, press="single")
        await s.inject("sos", b, press="single")
        await s.inject("sos", c, press="hold")
        await s.inject("smoke", b)
        await s.inject("water_leak", c)
        await s.inject("low_battery", c, kind="pir", to_pct=12)
        await s.inject("device_offline", b, kind="door")
        assert await s.wait(30), _report(s.report())
        await s.inject("device_offline", a, kind="sos_button")
        assert await s.wait(15), _report(s.report())
        button = city.fleet.home(a).device("sos_button")
        assert button is not None and button.commands, "the button hears 'call received'"
    report = s.report()
    assert report["detected"] == report["injected"] == 9
    fall = next(i for i in s.incidents if i.name == "fall")
    assert fall.real_delay_s is not None and fall.real_delay_s < 10


async def test_silences_are_detected_in_simulated_time(services: TestServices) -> None:
    """A collapse (inactivity), not getting up (not_up) and a sensor going quiet (device_silent),
    over a simulated night at one simulated hour per second."""
    homes = make_homes(3, seed=5, mix=HomeMix(wearable_share=0, zigbee_share=0, link="hub"), id_prefix="n")
    async with simulated_city(services, homes, _local_start(19.0), 3600.0) as city:
        s = city.scenarios
        await s.inject("collapse", homes[0].id)
        await s.inject("not_up", homes[1].id)
        await s.inject("device_silent", homes[2].id, kind="smoke")
        assert await s.wait(40), _report(s.report())
    by_name = {i.name: i for i in s.incidents}
    collapse, silent = by_name["collapse"].sim_delay_s, by_name["device_silent"].sim_delay_s
    assert collapse is not None and 3600 < collapse < 16 * 3600
    assert silent is not None and silent >= 6 * 3600 - 60


async def test_a_zigbee_fall_radar_raises_a_fall(services: TestServices) -> None:
    """A fall seen by a Zigbee fall radar (MIR-HE200-TY, ``fall_down_status: "fall"``) is a fall alert."""
    homes = make_homes(1, seed=7, mix=HomeMix(wearable_share=0, zigbee_share=1, radar_share=1), id_prefix="f")
    async with simulated_city(services, homes, _local_start(10.0), 4.0) as city:
        s = city.scenarios
        await s.inject("radar_fall", homes[0].id)
        assert await s.wait(30), _report(s.report())
    report = s.report()
    assert report["detected"] == report["injected"] == 1
    assert s.incidents[0].device_id.endswith("-radar")


async def test_lying_still_under_a_presence_radar_is_inactivity(services: TestServices) -> None:
    """The resident collapses in the living room under a presence radar that goes on reporting
    someone there (``occupancy`` with every attribute update): still an inactivity alert."""
    homes = make_homes(1, seed=8, mix=HomeMix(wearable_share=0, zigbee_share=1, radar_share=1), id_prefix="p")
    async with simulated_city(services, homes, _local_start(10.0), 3600.0) as city:
        s = city.scenarios
        await s.inject("collapse", homes[0].id, under_radar=True)
        assert await s.wait(40), _report(s.report())
        radar = city.fleet.home(homes[0].id).device("radar")
        assert radar is not None and radar.state.get("presence") is True, "the radar still sees them"
    collapse = s.incidents[0]
    assert collapse.sim_delay_s is not None and 3600 < collapse.sim_delay_s < 8 * 3600
