"""Hotline calls: the number matched to a resident, a phone-reported emergency running the whole alert
lifecycle (escalation, dispatch, SLA), complaints handled and audited, and the service reports."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from alerting import AlertNotFound, AlertState, Outcome
from alerting.model import alert_id_for
from registry.area import Area
from servicecentre import Conflict, Forbidden, Invalid, NotFound, OrderRequest, OrderState, Reach, ServiceCentre
from servicecentre.calls import normalise_number
from tests.alerting.conftest import T0, Downlinks, RecordingBus
from tests.servicecentre.conftest import LUNCH_TIME, World


def test_numbers_are_compared_as_digits_without_the_country_code() -> None:
    assert normalise_number("+86 138-0000-0001") == "13800000001"
    assert normalise_number("0086 13800000001") == "13800000001"
    assert normalise_number("(0371) 6789 1234") == "037167891234"


async def test_a_call_is_matched_to_the_resident_in_the_operators_area(world: World) -> None:
    calls = world.centre.calls
    call = await calls.log({"number": "+86 13800000001", "category": "consultation"}, world.d1)
    assert call["resident_id"] == "r-old" and call["org_path"] == "/C/D1/S1/K1/" and call["agent"] == "op-d1"
    assert call["answered_at"] == T0.isoformat()
    other = await calls.log({"number": "13800000001", "category": "consultation"}, world.d2)
    assert other["resident_id"] is None and other["org_path"] == "/C/D2/"  # not in D2's area
    with pytest.raises(NotFound):
        await calls.get(uuid.UUID(call["id"]), world.d2)
    assert [c["id"] for c in await calls.list(world.d1)] == [call["id"]]
    with pytest.raises(Forbidden):
        await calls.list(world.p1)
    with pytest.raises(Invalid, match="cannot be changed"):
        await calls.update(uuid.UUID(call["id"]), {"resident_id": "r-d2"}, world.d1)
    ended = await calls.update(uuid.UUID(call["id"]), {"ended_at": T0 + timedelta(minutes=3)}, world.d1)
    assert ended["ended_at"] == (T0 + timedelta(minutes=3)).isoformat()


async def test_an_emergency_by_phone_runs_the_whole_alert_lifecycle(world: World) -> None:
    calls, alerts = world.centre.calls, world.alerts
    call = await calls.log({"number": "13800000001", "category": "emergency", "notes": "老人摔倒"}, world.d1)
    linked = await calls.raise_emergency(uuid.UUID(call["id"]), world.d1, note="fell in the kitchen")
    alert_id = uuid.UUID(linked["alert_id"])
    assert alert_id == alert_id_for(f"phone:{call['id']}")
    alert = await alerts.get(alert_id, world.d1.area)
    assert (alert.kind, alert.device_id, alert.state, alert.priority) == (
        "phone",
        f"phone:{call['id']}",
        AlertState.RAISED,
        1,
    )
    assert alert.org_path == "/C/D1/S1/K1/" and alert.details["call_id"] == call["id"]
    await calls.raise_emergency(uuid.UUID(call["id"]), world.d1)  # twice: the same alert, no repeat
    assert len(await alerts.open_alerts()) == 1 and (await alerts.get(alert_id)).repeats == 1
    await world.advance(60)  # nobody took it: the ladder rings again, as for a button
    assert isinstance(alerts.bus, RecordingBus) and alerts.bus.steps() == ["ring_again"]
    acked = await alerts.acknowledge(alert_id, "op-d1", scope=world.d1.area)
    assert acked.sla(world.clock.now)["answered_in_s"] == 60.0
    await alerts.upsert_responder(
        {"username": "vol-1", "name": "社区志愿者", "kind": "volunteer", "org_node": "K1"}, "/C/D1/S1/K1/"
    )
    await alerts.dispatch(alert_id, "op-d1", "vol-1")
    await alerts.arrive(alert_id, "vol-1", responder="vol-1")
    resolved = await alerts.resolve(alert_id, "op-d1", Outcome.HOSPITAL.value, "送医")
    assert resolved.state is AlertState.RESOLVED
    await alerts.drain()
    assert isinstance(alerts.downlink, Downlinks)
    assert [d for d, _ in alerts.downlink.sent if d.startswith("phone:")] == []  # nothing is sent to a phone
    with pytest.raises(AlertNotFound):
        await alerts.get(alert_id, world.d2.area)


async def test_a_second_call_about_the_same_emergency_names_the_open_alert(world: World) -> None:
    calls = world.centre.calls
    first, second = [await calls.log({"number": "13800000001", "category": "emergency"}, world.d1) for _ in range(2)]
    alert_id = (await calls.raise_emergency(uuid.UUID(first["id"]), world.d1))["alert_id"]
    joined = await calls.raise_emergency(uuid.UUID(second["id"]), world.d1)
    assert joined["alert_id"] == alert_id != str(alert_id_for(f"phone:{second['id']}"))  # a repeat, not a new one
    assert (await world.alerts.get(uuid.UUID(alert_id))).repeats == 2
    again = await calls.raise_emergency(uuid.UUID(second["id"]), world.d1)  # raising twice changes nothing
    assert again["alert_id"] == alert_id and len(await world.alerts.open_alerts()) == 1


async def test_an_emergency_needs_a_resident(world: World) -> None:
    call = await world.centre.calls.log({"number": "110", "category": "emergency"}, world.d1)
    with pytest.raises(Invalid, match="resident"):
        await world.centre.calls.raise_emergency(uuid.UUID(call["id"]), world.d1)


async def test_complaints_are_filed_handled_once_and_audited(world: World) -> None:
    centre = world.centre
    order = await centre.orders.create(OrderRequest("r-old", "lunch", "P1", LUNCH_TIME), world.d1)
    complaint = await centre.complaints.file({"order_id": order.id, "text": "饭菜送晚了一小时"}, world.d1)
    assert complaint["provider_id"] == "P1" and complaint["resident_id"] == "r-old"
    complaint_id = uuid.UUID(complaint["id"])
    assert [c["id"] for c in await centre.complaints.list(world.p1)] == [complaint["id"]]
    assert await centre.complaints.list(world.p2) == [] and await centre.complaints.list(world.d2) == []
    with pytest.raises(Forbidden):
        await centre.complaints.handle(complaint_id, "ok", world.p1)
    handled = await centre.complaints.handle(complaint_id, "约谈服务商，退还本餐费用", world.d1)
    assert handled["state"] == "handled" and handled["handled_by"] == "op-d1"
    with pytest.raises(Conflict):
        await centre.complaints.handle(complaint_id, "again", world.d1)
    audit = (await centre.complaints.get(complaint_id, world.d1))["audit"]
    assert [(a["actor"], a["action"]) for a in audit] == [("op-d1", "filed"), ("op-d1", "handled")]
    with pytest.raises(Invalid):
        await centre.complaints.file({"text": "  "}, world.d1)


async def test_an_early_check_in_is_judged_at_once_and_the_rate_never_tops_100_percent(world: World) -> None:
    centre = world.centre
    late = await centre.orders.create(OrderRequest("r-old", "lunch", "P1", LUNCH_TIME), world.d1)
    early = await centre.orders.create(OrderRequest("r-old", "lunch", "P1", LUNCH_TIME + timedelta(days=1)), world.d1)
    for order in (late, early):
        for step in (OrderState.ACCEPTED, OrderState.ASSIGNED):
            await centre.orders.move(order.id, step, world.p1, worker="w1")
    await world.advance(2 * 3600 + 45 * 60)  # 45 min after the slot: past the check-in grace
    for order in (late, early):  # tomorrow's worker checks in a day early (a mistaken tap, or a visit brought forward)
        await centre.orders.move(order.id, OrderState.CHECKED_IN, world.p1)
    report = await centre.reports.orders(world.d1, T0, T0 + timedelta(days=2))
    total = report["total"]
    assert (total["due"], total["on_time"], total["on_time_rate"]) == (2, 1, 0.5)  # before: (1, 1, 1.0)


async def test_reports_count_on_time_orders_satisfaction_and_subsidy(world: World) -> None:
    centre = world.centre
    served = [await centre.orders.create(OrderRequest("r-old", "lunch", "P1", LUNCH_TIME), world.d1) for _ in range(3)]
    await centre.orders.create(OrderRequest("r-d2", "lunch", "P2", LUNCH_TIME), world.d2)
    cancelled = await centre.orders.create(OrderRequest("r-old", "lunch", "P1", LUNCH_TIME), world.d1)
    await centre.orders.move(cancelled.id, OrderState.CANCELLED, world.d1, reason="外出")
    for order in served:
        for step in (OrderState.ACCEPTED, OrderState.ASSIGNED):
            await centre.orders.move(order.id, step, world.p1, worker="w1")
    await world.advance(2 * 3600 + 10 * 60)  # two check in on time, one 45 min late
    for order in served[:2]:
        await centre.orders.move(order.id, OrderState.CHECKED_IN, world.p1)
    await world.advance(35 * 60)
    await centre.orders.move(served[2].id, OrderState.CHECKED_IN, world.p1)
    for order, rating in zip(served, (5, 4, 2), strict=True):
        await centre.orders.move(order.id, OrderState.COMPLETED, world.p1)
        await centre.orders.move(order.id, OrderState.RATED, world.d1, rating=rating)
    day = (T0, T0 + timedelta(days=1))
    assert [g["area"] for g in (await centre.reports.orders(world.centre_staff, *day))["groups"]] == ["C"]
    city = Reach(Area("/C/"), None, "op-city")
    by_area = await centre.reports.orders(city, *day, by="area")
    assert {g["area"]: g["orders"] for g in by_area["groups"]} == {"D1": 4, "D2": 1}
    d1 = next(g for g in by_area["groups"] if g["area"] == "D1")
    assert (d1["due"], d1["on_time"], d1["on_time_rate"], d1["cancelled"]) == (3, 2, 0.6667, 1)
    assert d1["rating"] == 3.67 and d1["subsidy_fen"] == 1500 and d1["resident_fen"] == 2100
    assert by_area["total"]["orders"] == 5
    by_provider = await centre.reports.orders(world.p1, *day, by="provider")
    assert [g["provider"] for g in by_provider["groups"]] == ["P1"]
    by_category = await centre.reports.orders(world.d2, *day, by="category")
    assert by_category["total"]["orders"] == 1
    with pytest.raises(Invalid):
        await centre.reports.orders(world.d1, *day, by="colour")


async def test_call_answer_times(world: World) -> None:
    calls = world.centre.calls
    for wait_s in (5, 20, 90):
        await calls.log(
            {"number": "13800000001", "category": "service_request", "started_at": T0,
             "answered_at": T0 + timedelta(seconds=wait_s)},
            world.d1,
        )  # fmt: skip
    report = await world.centre.reports.call_answer_times("/C/D1/", T0, T0 + timedelta(hours=1))
    assert report["total"]["calls"] == 3 and report["total"]["within_60s"] == 2
    assert report["total"]["answer_p50_s"] == 20.0
    elsewhere = await world.centre.reports.call_answer_times("/C/D2/", T0, T0 + timedelta(hours=1))
    assert elsewhere["total"]["calls"] == 0 and elsewhere["by_category"] == []


async def test_a_call_names_its_alert_only_once_alerting_stored_it(world: World) -> None:
    async def database_away(detections: object) -> None:
        raise ConnectionError("alerting's database is away")

    failing = ServiceCentre(world.alerts.pool, clock=world.clock, raise_alerts=database_away)
    call = await failing.calls.log({"number": "13800000001", "category": "emergency"}, world.d1)
    with pytest.raises(ConnectionError):  # the operator sees the failure and tries again: nothing is silent
        await failing.calls.raise_emergency(uuid.UUID(call["id"]), world.d1)
    assert (await failing.calls.get(uuid.UUID(call["id"]), world.d1))["alert_id"] is None
    retried = await world.centre.calls.raise_emergency(uuid.UUID(call["id"]), world.d1)
    assert retried["alert_id"] == str(alert_id_for(f"phone:{call['id']}"))
    assert (await world.alerts.get(uuid.UUID(retried["alert_id"]))).kind == "phone"


async def test_a_call_links_only_an_order_in_the_operators_area(world: World) -> None:
    theirs = await world.centre.orders.create(OrderRequest("r-d2", "lunch", "P2", LUNCH_TIME), world.d2)
    call = await world.centre.calls.log({"number": "13800000001", "category": "service_request"}, world.d1)
    with pytest.raises(NotFound):
        await world.centre.calls.update(uuid.UUID(call["id"]), {"order_id": theirs.id}, world.d1)
    ours = await world.centre.orders.create(OrderRequest("r-old", "lunch", "P1", LUNCH_TIME), world.d1)
    linked = await world.centre.calls.update(uuid.UUID(call["id"]), {"order_id": ours.id}, world.d1)
    assert linked["order_id"] == str(ours.id)
