"""Fault scenarios on real processes, small: no alarm lost, none paged twice."""

from __future__ import annotations

import shutil

import pytest

from lab import faults, faults_takeover, poison
from tests.services import TestServices

pytestmark = pytest.mark.faults


def assert_nothing_lost(result: faults.FaultResult) -> None:
    assert result.delivered == result.sent, result.row()
    assert result.duplicates == 0, result.row()


async def test_database_outage_spools_and_catches_up(services: TestServices) -> None:
    result = await faults.database_outage(services.mqtt_url, services.admin_database_url, 24, 4.0, 12.0)
    assert_nothing_lost(result)
    assert "NOT ready" in result.notes
    assert "spooled 0" not in result.notes
    assert "spool error: False" in result.notes
    assert result.worst_delay_s is not None and result.worst_delay_s < 3.0  # the console heard it live


async def test_full_spool_is_loud_and_alarms_wait_at_the_broker(services: TestServices) -> None:
    result = await faults.spool_full(services.mqtt_url, services.admin_database_url, 12, 3.0, 12.0)
    assert_nothing_lost(result)
    assert "NOT ready" in result.notes
    assert "spool error: True" in result.notes


async def test_broker_restart(services: TestServices) -> None:
    assert_nothing_lost(await faults.broker_restart(services.admin_database_url, 24, 1.0, 12.0))


async def test_worker_sigkill_and_restart(services: TestServices) -> None:
    assert_nothing_lost(await faults.worker_killed(services.mqtt_url, services.admin_database_url, 24, 8.0))


async def test_device_clock_skew_is_kept_flagged_and_ordered_by_arrival(services: TestServices) -> None:
    result = await faults.clock_skew(services.mqtt_url, services.admin_database_url, 6, 10.0)
    assert_nothing_lost(result)
    assert "flagged 6" in result.notes
    assert "arrival order: True" in result.notes


async def test_overload_sheds_telemetry_not_alarms(services: TestServices) -> None:
    result = await faults.overload(services.admin_database_url, 12, 30_000, 20.0)
    assert_nothing_lost(result)
    assert result.worst_delay_s is not None and result.worst_delay_s < 10.0


@pytest.mark.parametrize("kind", ["mosquitto", "embedded"])
async def test_a_device_taking_the_gateways_client_id_loses_no_alarm(services: TestServices, kind: str) -> None:
    if kind == "mosquitto" and not shutil.which("mosquitto"):
        pytest.skip("mosquitto binary not installed")
    result = await faults_takeover.client_id_takeover(services.admin_database_url, 16, 10.0, kind)
    assert_nothing_lost(result)
    assert "gateway sessions knocked off 0" in result.notes, result.row()
    assert not result.notes.startswith("0 intruder sessions"), result.row()


async def test_poison_messages_are_rejected_dead_lettered_and_telemetry_keeps_flowing(services: TestServices) -> None:
    result = await poison.poison_message(services.mqtt_url, services.admin_database_url, 6, 20.0, telemetry=20)
    assert_nothing_lost(result)
    assert "rejected out_of_range 4/4" in result.notes
    assert "dead-lettered and stored 1/1" in result.notes
    assert "telemetry after it 20/20" in result.notes
    assert "lane restarts 0; lanes ready True" in result.notes
