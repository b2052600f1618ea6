"""``eldercare bench ingest`` on a small backlog: both subscribers drain all of it, every press is
stored, and the figures say so; the backlog itself is what the simulated firmware writes."""

from __future__ import annotations

import json
import shutil

import pytest
from firmware_sim.fleet import HomeMix, make_homes

from devices import protocol
from eldercare.settings import Settings
from lab.bench.backlog import generate
from lab.bench.ingest import run_ingest
from tests.services import TestServices


def test_the_backlog_is_the_firmwares_traffic_with_numbered_presses() -> None:
    homes = make_homes(40, seed=3, mix=HomeMix(wearable_share=0.0))
    backlog = generate(homes, 2000, prefix="t/eldercare/v1", z2m_base="t/zigbee2mqtt", alarm_share=0.01)
    assert len(backlog.messages) == 2000 and len(backlog.presses) == 20
    alarms = [json.loads(payload) for topic, payload in backlog.messages if topic.endswith("/alarm")]
    assert sorted((body["seq"]) for body in alarms) == sorted(seq for _, seq in backlog.presses)
    for topic, payload in backlog.messages:
        if topic.startswith("t/eldercare/v1/"):
            _, stream = protocol.parse_topic(topic, "t/eldercare/v1")
            protocol.decode(stream, payload)  # raises on anything the gateway would reject
    assert backlog.simulated_s > 60


def test_imu_backlogs_hold_only_imu_blocks() -> None:
    homes = make_homes(10, seed=4, mix=HomeMix(wearable_share=1.0, imu_hz=(50.0,)))
    backlog = generate(homes, 300, prefix="t/eldercare/v1", z2m_base="t/zigbee2mqtt", keep="/imu", alarm_share=0)
    assert len(backlog.messages) == 300 and all(topic.endswith("/imu") for topic, _ in backlog.messages)
    with pytest.raises(ValueError, match="presses"):
        generate(homes, 10, prefix="p", z2m_base="z", keep="/imu", alarm_share=0.01)


@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="the bench starts a private Mosquitto; none installed")
async def test_a_small_ingest_bench_drains_everything_and_stores_every_press(services: TestServices) -> None:
    settings = Settings(database_url=services.admin_database_url, mqtt_url=services.mqtt_url)
    figures = await run_ingest(settings, homes=60, messages=3000, wearable_homes=10, imu_blocks=600)
    day, imu = figures["everyday"], figures["imu"]
    assert day["bare"]["received"] == 3000 and day["platform"]["received"] == 3000
    assert day["alarms"] == {"pressed": 30, "stored": 30}
    assert day["platform"]["rejected"] == {} and day["platform"]["shed"] == 0
    assert imu["bare"]["received"] == 600 and imu["platform"]["received"] == 600
    assert imu["mix"] == {"imu": 600} and imu["samples_per_s"] == imu["platform"]["msg_per_s"] * 50
    assert day["platform"]["msg_per_s"] > 0 and day["share_of_bare"] > 0
