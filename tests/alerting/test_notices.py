"""The stream's "moving again" notice on a home alert, over the real database: written on the alert it
names (a repeat's too), announced once, never an alert of its own, never rung while the database is away."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from alerting import AlertEventType, AlertService
from alerting.model import Alert, AlertState, alert_id_for
from alerting.notices import NOTICES_LEFT
from alerting.spool import Spool
from devices.events import Event, Stream
from stream.detections import Detection, DetectionKind
from stream.notices import moving_again
from tests.alerting.conftest import T0, bus, detection
from tests.alerting.test_intake import Database, intake_for

START_MS = int(T0.timestamp() * 1000)
HOUR_MS = 3_600_000


def silence(resident: str = "res-1", start_ms: int = START_MS) -> Detection:
    """An inactivity alert keyed as the home detector keys it."""
    kind = DetectionKind.INACTIVITY
    return Detection(resident, "", kind, start_ms, start_ms + 3 * HOUR_MS, f"{kind.value}:{resident}:{start_ms}")


def moved(resident: str = "res-1", start_ms: int = START_MS, after_ms: int = 3 * HOUR_MS + 600_000) -> Detection:
    """The home detector's notice: the kitchen's motion sensor ``after_ms`` into the silence."""
    at = start_ms + after_ms
    event = Event("pir-kitchen", resident, Stream.MOTION, at, at, {"occupancy": True}, 1, "pir", "kitchen")
    return moving_again(resident, DetectionKind.INACTIVITY, start_ms, event, at + 1000)


def left(reason: str) -> float:
    return NOTICES_LEFT.labels(DetectionKind.MOVING_AGAIN.value, reason)._value.get()


async def test_moving_again_is_written_on_the_alert_it_names_and_told_once(service: AlertService) -> None:
    await service.raise_detections([silence()])
    alert_id = alert_id_for(silence().key)
    before = (await service.get(alert_id)).state
    events = await service.raise_detections([moved()])
    assert [e.type for e in events] == [AlertEventType.UPDATED] and events[0].alert.id == alert_id
    moving = events[0].detail["moving_again"]
    assert moving == {
        "at": (T0 + timedelta(hours=3, minutes=10)).isoformat(),
        "device_id": "pir-kitchen",
        "device_type": "pir",
        "location": "kitchen",
        "silent_s": 3 * 3600 + 600,
    }
    alert = await service.get(alert_id)
    assert alert.details["moving_again"] == moving and alert.state == before  # it closes nothing
    trail = await service.audit_trail(alert_id)
    assert [row["note"] for row in trail if row["action"] == "moving again"] == [
        "moving again: pir-kitchen (kitchen) after 190 min"
    ]
    assert len(await service.open_alerts()) == 1  # no alert of its own
    told = left("told")
    assert await service.raise_detections([moved(after_ms=4 * HOUR_MS)]) == []  # only the first is kept
    assert left("told") == told + 1
    assert (await service.get(alert_id)).details["moving_again"] == moving


async def test_a_repeat_finds_its_alert_and_a_closed_or_missing_one_takes_nothing(service: AlertService) -> None:
    """A silence stored as a repeat of the open alert (its key mapped to it) is found through that key;
    a notice in the same batch as its alert follows it; a closed alert and no alert take nothing."""
    later = START_MS + 5 * HOUR_MS
    events = await service.raise_detections([silence(), silence(start_ms=later), moved(start_ms=later)])
    assert [e.type for e in events][1:] == [AlertEventType.REPEATED, AlertEventType.UPDATED]
    assert events[-1].alert.id == alert_id_for(silence().key)

    await service.raise_detections([silence("res-2")])
    closed = await service.cancel(alert_id_for(silence("res-2").key), "op-1", "the resident phoned in")
    assert closed.state is AlertState.CANCELLED
    gone, missing = left("closed"), left("no_alert")
    assert await service.raise_detections([moved("res-2"), moved("res-3")]) == []
    assert (left("closed"), left("no_alert")) == (gone + 1, missing + 1)
    assert "moving_again" not in (await service.get(closed.id)).details


async def test_while_the_database_is_away_a_notice_waits_in_the_spool_and_never_rings(
    service: AlertService, tmp_path: Path
) -> None:
    await service.raise_detections([silence()])
    database = Database(service)
    intake = intake_for(database, Spool(tmp_path / "spool.jsonl"))
    bus(service).events.clear()
    press = detection(resident="res-2", device="btn-2", key="btn-2:1")
    await intake.take([moved(), press])
    assert [(e.type, e.alert.kind) for e in bus(service).events] == [(AlertEventType.RAISED, "sos")]
    database.up = True
    drainer = intake.stop_draining()
    assert drainer is not None
    await drainer
    assert (await service.get(alert_id_for(silence().key))).details["moving_again"]["device_id"] == "pir-kitchen"
    assert {a.kind for a in await service.open_alerts()} == {"inactivity", "sos"}


async def test_a_notice_that_cannot_be_written_is_counted_and_holds_nothing_back(service: AlertService) -> None:
    """Writing one notice fails (here: telling res-1's family): that notice is undone and counted, the
    others of the batch are written, and the alarm stored with them stands."""
    await service.raise_detections([silence(), silence("res-2")])

    async def broken(tx: object, alert: Alert, at: object) -> int:
        if alert.resident_id == "res-1":
            raise RuntimeError("the family's record cannot be read")
        return 0

    service.intake.tell_family = broken
    failed = left("error")
    press = detection(resident="res-3", device="btn-3", key="btn-3:1")
    events = await service.raise_detections([moved(), moved("res-2"), press])
    assert [e.type for e in events] == [AlertEventType.RAISED, AlertEventType.UPDATED]
    assert left("error") == failed + 1
    assert "moving_again" not in (await service.get(alert_id_for(silence().key))).details
    assert "moving_again" in (await service.get(alert_id_for(silence("res-2").key))).details
    trail = await service.audit_trail(alert_id_for(silence().key))
    assert "moving again" not in [row["action"] for row in trail]
