"""Ring first (alerting/early.py): an alarm certain to be a new alert is on the console before it is
stored; the device hears "call received" only after; whatever the store decides otherwise is settled."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from pathlib import Path

from alerting import AlertEvent, AlertEventType, AlertService
from alerting.early import OpenAlerts, Storing, is_provisional
from alerting.model import AlertState, alert_id_for
from alerting.spool import Spool
from alerting.spooled_intake import SpooledIntake
from stream.detections import Detection, DetectionKind
from tests.alerting.conftest import ORG, T0, ServiceFactory, bus, detection, downlinks


class Watched:
    """The service's store, noting what the console and the device had been told when it began."""

    def __init__(self, service: AlertService) -> None:
        self.service = service
        self.told_before_store: list[list[tuple[AlertEventType, uuid.UUID, bool]]] = []
        self.heard_before_store: list[list[str]] = []

    async def raise_detections(self, detections: Sequence[Detection]) -> list[AlertEvent]:
        self.told_before_store.append([(e.type, e.alert.id, is_provisional(e.alert)) for e in bus(self.service).events])
        self.heard_before_store.append(downlinks(self.service).types())
        await asyncio.sleep(0.01)  # a commit that takes its time
        return await self.service.raise_detections(detections)


def intake_for(service: AlertService, tmp_path: Path, store: Watched | None = None) -> SpooledIntake:
    raise_detections = store.raise_detections if store else service.raise_detections
    spool = Spool(tmp_path / "spool.jsonl")
    return SpooledIntake(raise_detections, service.bus, spool, ORG.get, lambda: T0.timestamp(), ring_first=service)


async def close(service: AlertService, alert_id: uuid.UUID) -> None:
    await service.acknowledge(alert_id, "op")
    await service.resolve(alert_id, "op", outcome="resident_fine")


def told(service: AlertService) -> list[tuple[AlertEventType, uuid.UUID, bool]]:
    return [(e.type, e.alert.id, is_provisional(e.alert)) for e in bus(service).events]


async def test_a_new_alarm_rings_before_it_is_stored_and_the_device_hears_only_after(
    service: AlertService, tmp_path: Path
) -> None:
    store = Watched(service)
    intake = intake_for(service, tmp_path, store)
    await intake.take([detection(key="k1")])
    await service.drain()
    k1 = alert_id_for("k1")
    assert store.told_before_store == [[(AlertEventType.RAISED, k1, True)]]
    assert store.heard_before_store == [[]]
    assert told(service) == [(AlertEventType.RAISED, k1, True), (AlertEventType.RAISED, k1, False)]  # same id
    assert downlinks(service).types("btn-1") == ["call_received"]
    provisional = bus(service).events[0].alert
    assert provisional.org_path == ORG["res-1"] and provisional.state is AlertState.RAISED
    assert len(service.storing) == 0


async def test_a_press_on_an_open_alert_and_alarms_that_may_wait_are_told_only_once_stored(
    make_service: ServiceFactory, tmp_path: Path
) -> None:
    service = make_service()  # falls start pending for the default policy's cancel window
    await service.restore()
    intake = intake_for(service, tmp_path)
    await intake.take([detection(key="k1")])
    await intake.take([detection(key="k2")])  # the same resident's SOS is open: a repeat, decided by the store
    await intake.take([detection(DetectionKind.FALL, resident="res-2", device="pendant-2", key="f1")])
    await intake.take([detection(resident="res-2", device="btn-2", key="k3")])  # may answer the pending fall
    assert [(t, provisional) for t, _, provisional in told(service)] == [
        (AlertEventType.RAISED, True),
        (AlertEventType.RAISED, False),
        (AlertEventType.REPEATED, False),
        (AlertEventType.PENDING, False),
        (AlertEventType.CANCELLED, False),
    ]


async def test_a_repeat_of_an_alert_another_process_opened_is_withdrawn(
    service: AlertService, make_service: ServiceFactory, tmp_path: Path
) -> None:
    other = make_service()  # another platform process, on the same database
    [opened] = await other.raise_detections([detection(key="elsewhere")])
    intake = intake_for(service, tmp_path)
    await intake.take([detection(key="here")])  # this process does not know res-1's SOS is open
    here = alert_id_for("here")
    assert told(service) == [
        (AlertEventType.RAISED, here, True),
        (AlertEventType.REPEATED, opened.alert.id, False),
        (AlertEventType.DUPLICATE, here, True),
    ]
    withdrawn = bus(service).events[-1]
    assert withdrawn.alert.state is AlertState.DUPLICATE and "withdrawn" in withdrawn.detail
    assert [a.id for a in await service.open_alerts()] == [opened.alert.id]
    await intake.take([detection(key="again")])  # now known to be open: no ring before the store
    assert told(service)[-1] == (AlertEventType.REPEATED, opened.alert.id, False)


async def test_an_alarm_stored_before_a_restart_and_delivered_again_is_shown_as_stored(
    service: AlertService, make_service: ServiceFactory, tmp_path: Path
) -> None:
    press = detection(key="k1")
    await service.raise_detections([press])
    await close(service, alert_id_for("k1"))
    restarted = make_service()
    await restarted.restore()
    await intake_for(restarted, tmp_path).take([press])  # the broker delivers it again
    k1 = alert_id_for("k1")
    assert told(restarted) == [(AlertEventType.RAISED, k1, True), (AlertEventType.UPDATED, k1, False)]
    assert bus(restarted).events[-1].alert.state is AlertState.RESOLVED  # the console drops it
    assert await restarted.open_alerts() == []


async def test_an_operator_acting_on_a_provisional_alert_waits_for_its_store(
    service: AlertService, tmp_path: Path
) -> None:
    store = Watched(service)
    intake = intake_for(service, tmp_path, store)
    taking = asyncio.create_task(intake.take([detection(key="k1")]))
    while not bus(service).events:
        await asyncio.sleep(0)
    acknowledged = await service.acknowledge(alert_id_for("k1"), "op")  # at once, on the provisional alert
    await taking
    assert acknowledged.state is AlertState.ACKNOWLEDGED


async def test_closing_an_alert_lets_the_next_press_ring_first_and_a_restore_reloads_what_is_open(
    service: AlertService, make_service: ServiceFactory, tmp_path: Path
) -> None:
    intake = intake_for(service, tmp_path)
    await intake.take([detection(key="k1")])
    assert service.ctx.open_alerts.may_have("res-1", "sos")
    await close(service, alert_id_for("k1"))
    assert not service.ctx.open_alerts.may_have("res-1", "sos")
    await intake.take([detection(key="k2")])
    assert told(service)[-2:] == [
        (AlertEventType.RAISED, alert_id_for("k2"), True),
        (AlertEventType.RAISED, alert_id_for("k2"), False),
    ]
    other = make_service()
    await other.raise_detections([detection(resident="res-3", device="btn-3", key="k3")])
    assert not service.ctx.open_alerts.may_have("res-3", "sos")
    await service.restore(periodic=True)
    assert service.ctx.open_alerts.may_have("res-3", "sos") and len(service.ctx.open_alerts) == 2


async def test_while_the_database_is_away_the_provisional_alert_stands_until_the_spool_drains(
    service: AlertService, tmp_path: Path
) -> None:
    async def away(detections: Sequence[Detection]) -> list[AlertEvent]:
        raise ConnectionError("the database is away")

    spool = Spool(tmp_path / "spool.jsonl")
    intake = SpooledIntake(away, service.bus, spool, ORG.get, lambda: T0.timestamp(), ring_first=service)
    await intake.take([detection(key="k1")])
    assert len(spool) == 1 and len(service.storing) == 0  # an action waits no longer: the alert is spooled
    assert {(t, provisional) for t, _, provisional in told(service)} == {(AlertEventType.RAISED, True)}
    drainer = intake.stop_draining()
    assert drainer is not None
    drainer.cancel()


def test_open_alerts_err_towards_open() -> None:
    index = OpenAlerts()
    first, second = uuid.uuid4(), uuid.uuid4()
    index.load([(first, "res-1", "sos"), (second, "res-1", "sos")])
    assert index.may_have("res-1", "sos") and not index.may_have("res-1", "fall") and len(index) == 2


async def test_storing_returns_at_once_for_alerts_not_being_stored_and_gives_up_after_its_timeout() -> None:
    storing = Storing()
    await asyncio.wait_for(storing.until_stored(uuid.uuid4()), 1)
    stuck = uuid.uuid4()
    storing.begin([stuck])
    await asyncio.wait_for(storing.until_stored(stuck, timeout_s=0.01), 1)
    storing.end([stuck])
    assert len(storing) == 0
