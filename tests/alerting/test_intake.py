"""Alerting's intake while the database is away: spooled, announced at once, stored once when it is back."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from alerting import AlertEvent, AlertEventType, AlertService
from alerting.model import alert_id_for
from alerting.spool import Spool
from alerting.spooled_intake import STORE_CHUNK, SpooledIntake
from stream.detections import Detection
from tests.alerting.conftest import ORG, T0, bus, detection


class Database:
    """The service's ``raise_detections`` behind a switch: while down it fails like a lost connection."""

    def __init__(self, service: AlertService) -> None:
        self.service = service
        self.up = False

    async def raise_detections(self, detections: Sequence[Detection]) -> list[AlertEvent]:
        if not self.up:
            raise ConnectionError("the database is away")
        return await self.service.raise_detections(detections)


def intake_for(database: Database, spool: Spool) -> SpooledIntake:
    return SpooledIntake(
        database.raise_detections, database.service.bus, spool, ORG.get, lambda: T0.timestamp(), retry_max_s=0.2
    )


async def test_spooled_alarms_ring_at_once_and_are_stored_once_in_order(service: AlertService, tmp_path: Path) -> None:
    database = Database(service)
    spool = Spool(tmp_path / "spool.jsonl")
    intake = intake_for(database, spool)
    first = detection(key="k1")
    second = detection(resident="res-2", device="btn-2", key="k2")
    await intake.take([first])
    await intake.take([second])
    assert len(spool) == 2 and intake.error is None and intake.detections == 2

    provisional = bus(service).events
    assert [(e.type, e.alert.id) for e in provisional] == [
        (AlertEventType.RAISED, alert_id_for("k1")),
        (AlertEventType.RAISED, alert_id_for("k2")),
    ]
    assert [e.alert.details["stored"] for e in provisional] == [False, False]
    assert provisional[0].alert.org_path == ORG["res-1"]

    database.up = True
    drainer = intake.stop_draining()
    assert drainer is not None
    await drainer
    assert len(spool) == 0 and Spool(tmp_path / "spool.jsonl").peek(10) == []
    stored = {a.id: a for a in await service.open_alerts()}
    assert set(stored) == {alert_id_for("k1"), alert_id_for("k2")}  # the ids the console already shows
    assert "stored" not in stored[alert_id_for("k1")].details

    await intake.take([first])  # a redelivery after the drain changes nothing
    assert len(await service.open_alerts()) == 2 and len(spool) == 0


async def test_a_full_spool_holds_the_alarm_and_says_why_until_the_database_takes_it(
    service: AlertService, tmp_path: Path
) -> None:
    database = Database(service)
    spool = Spool(tmp_path / "spool.jsonl", max_bytes=16)
    intake = intake_for(database, spool)
    taking = asyncio.create_task(intake.take([detection(key="k1")]))
    while intake.error is None:
        await asyncio.sleep(0.01)
    assert "full" in intake.error and not taking.done()  # the caller (the broker's ack) waits

    database.up = True
    await taking
    [stored] = await service.open_alerts()
    assert stored.id == alert_id_for("k1") and len(spool) == 0
    assert [e.type for e in bus(service).events] == [AlertEventType.RAISED]  # never announced provisionally


async def test_a_backlog_of_alarms_is_stored_a_chunk_at_a_time_within_the_timeout(
    service: AlertService, tmp_path: Path
) -> None:
    """A thousand presses in one batch after an outage: each chunk gets the timeout, so a database that
    takes a few ms per alert stores them all directly and none goes to the spool."""
    seconds_per_alert = 0.005
    calls: list[int] = []

    async def slow_database(detections: Sequence[Detection]) -> list[AlertEvent]:
        calls.append(len(detections))
        await asyncio.sleep(seconds_per_alert * len(detections))
        return await service.raise_detections(detections)

    spool = Spool(tmp_path / "spool.jsonl")
    # under the whole batch's 300 × 5 ms = 1.5 s, over a chunk's 50 × 5 ms = 0.25 s with room for the
    # chunk's real store on a busy machine
    timeout_s = 1.0
    intake = SpooledIntake(
        slow_database, service.bus, spool, ORG.get, lambda: T0.timestamp(), store_timeout_s=timeout_s
    )
    presses = [detection(resident=f"res-{i}", device=f"btn-{i}", key=f"k{i}") for i in range(300)]
    await intake.take(presses)
    assert len(spool) == 0 and intake.detections == 300
    assert calls == [STORE_CHUNK] * (300 // STORE_CHUNK)
    assert len(await service.open_alerts()) == 300
    raised = [e for e in bus(service).events if e.type is AlertEventType.RAISED]
    assert len(raised) == 300 and all("stored" not in e.alert.details for e in raised)


async def test_a_batch_stores_new_repeated_and_redelivered_alarms_each_as_decided(service: AlertService) -> None:
    """A backlog's batch goes to the database as one pipeline: a redelivery in it changes nothing, a
    second press of an open alarm is a repeat, the others are new; each is told in order."""
    first = detection(key="btn-1:1")
    await service.raise_detections([first])
    events = await service.raise_detections(
        [
            detection(key="btn-2:1", device="btn-2", resident="res-2"),
            first,  # redelivered: raise_alert_v3 answers with no row
            detection(key="btn-1:2"),  # the same resident's open SOS
            detection(key="btn-3:1", device="btn-3", resident="res-3"),
        ]
    )
    assert [(e.type, e.alert.resident_id) for e in events] == [
        (AlertEventType.RAISED, "res-2"),
        (AlertEventType.REPEATED, "res-1"),
        (AlertEventType.RAISED, "res-3"),
    ]
    repeated = events[1].alert
    assert repeated.id == alert_id_for("btn-1:1") and repeated.repeats == 2  # the first press and this one
    assert len(await service.open_alerts()) == 3


async def test_stopping_while_an_alarm_is_being_stored_keeps_it_in_the_spool_for_the_next_start(
    service: AlertService, tmp_path: Path
) -> None:
    """The stream state that made a detection is saved at shutdown as it is: cancelled while storing it,
    the intake must keep it (a smoke episode or an inactivity alert would not be made again)."""
    storing = asyncio.Event()

    async def slow_store(detections: Sequence[Detection]) -> list[AlertEvent]:
        storing.set()
        await asyncio.sleep(60)
        return await service.raise_detections(detections)

    spool = Spool(tmp_path / "spool.jsonl")
    intake = SpooledIntake(slow_store, service.bus, spool, ORG.get, lambda: T0.timestamp(), retry_max_s=0.2)
    taking = asyncio.create_task(intake.take([detection(key="k1")]))
    await storing.wait()
    taking.cancel()
    with pytest.raises(asyncio.CancelledError):
        await taking
    assert [d.key for d in Spool(tmp_path / "spool.jsonl").peek(10)] == ["k1"]

    database = Database(service)  # the next start drains it into the database
    database.up = True
    restarted = intake_for(database, Spool(tmp_path / "spool.jsonl"))
    restarted.start_draining()
    drainer = restarted.stop_draining()
    assert drainer is not None
    await drainer
    assert [a.id for a in await service.open_alerts()] == [alert_id_for("k1")]
