"""The escalation ladder on a fake clock, the cancel window both ways, and a restart mid-escalation."""

from __future__ import annotations

import pytest

from alerting import AlertState, EscalationPolicy, InvalidRequest
from alerting.service import AlertService
from stream.detections import DetectionKind
from tests.alerting.conftest import FakeClock, ServiceFactory, advance, bus, detection, downlinks

LADDER = EscalationPolicy(ring_again_s=(60, 120), supervisor_s=180, family_s=None, emergency_s=None)


async def test_ladder_fires_in_order_and_stops_on_acknowledgement(
    make_service: ServiceFactory, clock: FakeClock
) -> None:
    service = make_service(LADDER)
    await service.restore()
    [raised] = await service.raise_detections([detection()])
    await advance(service, clock, 59)
    assert bus(service).steps() == []
    await advance(service, clock, 1)
    assert bus(service).steps() == ["ring_again"]
    alert = await service.get(raised.alert.id)
    assert alert.urgency == 1 and alert.sla(clock.now)["waiting_s"] == 60.0
    await advance(service, clock, 60)
    assert bus(service).steps() == ["ring_again", "ring_again"]
    assert (await service.get(raised.alert.id)).urgency == 2
    await advance(service, clock, 30)  # 150 s: acknowledged before the supervisor step
    acked = await service.acknowledge(raised.alert.id, "op1")
    assert acked.sla(clock.now)["answered_in_s"] == 150.0 and acked.sla(clock.now)["within_180s"] is True
    await advance(service, clock, 3600)
    assert bus(service).steps() == ["ring_again", "ring_again"]
    assert await service.pending_timers(raised.alert.id) == []


async def test_supervisor_step_and_emergency_prompt(make_service: ServiceFactory, clock: FakeClock) -> None:
    service = make_service(EscalationPolicy(ring_again_s=(), supervisor_s=180, family_s=None, emergency_s=300))
    await service.restore()
    [raised] = await service.raise_detections([detection()])
    await advance(service, clock, 200)
    assert bus(service).steps() == ["supervisor"]
    await service.acknowledge(raised.alert.id, "op1")
    await advance(service, clock, 100)  # 300 s: nobody on the way, resident not reached
    assert bus(service).steps() == ["supervisor", "emergency_call"]
    alert = await service.get(raised.alert.id)
    assert alert.needs_emergency_call is True
    trail = [row["action"] for row in await service.audit_trail(alert.id)]
    assert "escalated to supervisor" in trail and "prompt emergency call" in trail


async def test_unreachable_resident_with_nobody_on_the_way_prompts_120_at_once(service: AlertService) -> None:
    [raised] = await service.raise_detections([detection()])
    await service.acknowledge(raised.alert.id, "op1")
    flagged = await service.record_contact(raised.alert.id, "op1", reached=False, note="no answer twice")
    assert flagged.needs_emergency_call is True
    assert bus(service).steps() == ["emergency_call"]


async def test_area_and_resident_overrides(make_service: ServiceFactory, clock: FakeClock) -> None:
    service = make_service(LADDER)
    await service.restore()
    await service.set_policy("area", "/c/d1/", {"ring_again_s": [30]}, "admin")
    await service.set_policy("resident", "res-2", {"ring_again_s": [10, 20]}, "admin")
    assert service.policy_for("res-1", "/c/d1/s1/k1/").ring_again_s == (30,)
    assert service.policy_for("res-2", "/c/d1/s1/k2/").ring_again_s == (10, 20)
    assert service.policy_for("res-3", "/c/d2/s3/k5/").ring_again_s == (60, 120)
    with pytest.raises(InvalidRequest, match="unknown escalation settings"):
        await service.set_policy("area", "/c/", {"ring_agian_s": [1]}, "admin")
    with pytest.raises(InvalidRequest):
        await service.set_policy("area", "/c/", {"supervisor_s": -1}, "admin")
    await service.raise_detections([detection(resident="res-1", device="btn-1", key="k1")])
    await advance(service, clock, 30)
    assert bus(service).steps() == ["ring_again"]
    restarted = make_service(LADDER)
    await restarted.restore()  # policies are read back from the database
    assert restarted.policy_for("res-2", "/c/d1/s1/k2/").ring_again_s == (10, 20)


async def test_cancel_window_press_cancels_and_raises_no_sos(service: AlertService, clock: FakeClock) -> None:
    [pending] = await service.raise_detections([detection(DetectionKind.FALL, device="pend-1", key="fall-1")])
    alert = pending.alert
    assert pending.type.value == "alert.pending" and alert.state is AlertState.PENDING
    assert alert.ringing_at is None and alert.sla(clock.now)["cancel_window_left_s"] == 60.0
    await service.drain()
    assert downlinks(service).types("pend-1") == ["announce_pending"]
    assert [a.id for a in await service.open_alerts(states=[AlertState.RAISED])] == []
    await advance(service, clock, 40)
    events = await service.raise_detections([detection(DetectionKind.SOS, device="btn-1", key="btn-1:7")])
    assert [e.type.value for e in events] == ["alert.cancelled"]
    cancelled = await service.get(alert.id)
    assert cancelled.state is AlertState.CANCELLED and cancelled.closed_by == "resident:btn-1"
    assert await service.open_alerts() == []  # the press raised no SOS
    trail = await service.audit_trail(alert.id)
    assert trail[-1]["action"] == "cancelled by resident" and "btn-1" in trail[-1]["note"]
    await service.drain()
    assert "cancelled" in downlinks(service).types("btn-1")
    await advance(service, clock, 600)
    assert bus(service).types() == ["alert.pending", "alert.cancelled"]  # nothing rang later
    again = await service.raise_detections([detection(DetectionKind.SOS, device="btn-1", key="btn-1:7")])
    assert again == []  # the same press redelivered changes nothing
    second = await service.raise_detections([detection(DetectionKind.SOS, device="btn-1", key="btn-1:8")])
    assert [e.type.value for e in second] == ["alert.raised"]  # a new press with nothing pending is an SOS


async def test_cancel_window_expires_and_the_console_rings(service: AlertService, clock: FakeClock) -> None:
    [pending] = await service.raise_detections([detection(DetectionKind.FALL, device="pend-1", key="fall-1")])
    await advance(service, clock, 59)
    assert (await service.get(pending.alert.id)).state is AlertState.PENDING
    await advance(service, clock, 1)
    rang = await service.get(pending.alert.id)
    assert rang.state is AlertState.RAISED and rang.ringing_at == clock.now
    assert bus(service).types() == ["alert.pending", "alert.raised"]
    assert downlinks(service).types("pend-1") == ["announce_pending", "call_received"]
    await advance(service, clock, 60)  # the ladder counts from when it started ringing
    assert bus(service).steps() == ["ring_again"]


async def test_sos_never_waits_and_window_zero_turns_it_off(service: AlertService) -> None:
    [sos] = await service.raise_detections([detection(DetectionKind.SOS, key="s")])
    assert sos.alert.state is AlertState.RAISED
    await service.set_policy("resident", "res-2", {"cancel_window_s": 0}, "admin")
    [fall] = await service.raise_detections([detection(DetectionKind.FALL, resident="res-2", device="p2", key="f")])
    assert fall.alert.state is AlertState.RAISED
    [inactive] = await service.raise_detections([detection(DetectionKind.INACTIVITY, device="pir-1", key="i")])
    assert inactive.alert.state is AlertState.PENDING


async def test_restart_in_the_middle_of_an_escalation_fires_once(
    make_service: ServiceFactory, clock: FakeClock
) -> None:
    first = make_service(LADDER)
    await first.restore()
    [raised] = await first.raise_detections([detection()])
    await advance(first, clock, 30)
    assert bus(first).steps() == []
    # the process dies here; it comes back 45 s later, when the 60 s step is overdue
    clock.advance(45)
    second = make_service(LADDER)
    assert await second.restore() == 3  # two ring-again steps and the supervisor step
    await second.tick()
    assert bus(second).steps() == ["ring_again"]
    assert (await second.get(raised.alert.id)).urgency == 1
    await second.tick()
    third = make_service(LADDER)  # a second process restoring the same timers fires nothing twice
    await third.restore()
    await third.tick()
    assert bus(third).steps() == []
    assert bus(second).steps() == ["ring_again"]
    await advance(second, clock, 45)  # 120 s after raising: the second step, once
    await third.tick()
    assert bus(second).steps() + bus(third).steps() == ["ring_again", "ring_again"]
    assert (await second.get(raised.alert.id)).urgency == 2
