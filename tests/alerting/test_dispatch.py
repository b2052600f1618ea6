"""Dispatch: the nearest available responder by org tree, rotas, decline and timeout pass it on."""

from __future__ import annotations

from alerting import AlertState, EscalationPolicy
from alerting.service import AlertService
from tests.alerting.conftest import FakeClock, ServiceFactory, advance, bus, detection, downlinks

# res-1 lives in /c/d1/s1/k1/
PEOPLE = {
    "same-community": "/c/d1/s1/k1/",
    "same-street": "/c/d1/s1/k2/",
    "same-district": "/c/d1/s2/k3/",
    "other-district": "/c/d2/s3/k5/",
    "city-wide": "/c/",
}


async def add(service: AlertService, username: str, path: str, **extra: object) -> None:
    node = [s for s in path.split("/") if s][-1]
    data = {"username": username, "name": username, "kind": "volunteer", "org_node": node, **extra}
    await service.upsert_responder(data, path)


async def acknowledged(service: AlertService, resident: str = "res-1", key: str = "k") -> object:
    [raised] = await service.raise_detections([detection(resident=resident, device=f"btn-{resident}", key=key)])
    await service.acknowledge(raised.alert.id, "op1")
    return raised.alert.id


async def test_proposals_are_nearest_first_and_skip_the_unavailable(service: AlertService) -> None:
    for username, path in reversed(PEOPLE.items()):
        await add(service, username, path)
    await add(service, "off-sick", "/c/d1/s1/k1/", available=False)
    # on duty only at night (local time UTC+8); the fake clock is Monday 10:00 local
    await add(
        service, "night-shift", "/c/d1/s1/k1/", rota=[{"days": [0, 1, 2, 3, 4, 5, 6], "start": "20:00", "end": "08:00"}]
    )
    alert_id = await acknowledged(service)
    proposals = await service.propose(alert_id)  # type: ignore[arg-type]
    assert [(p["responder"]["username"], p["nearness"]) for p in proposals] == [
        ("same-community", "community"),
        ("same-street", "street"),
        ("same-district", "district"),
        ("city-wide", "city"),
    ]  # never another district's responder (finding 4 of issue 12)
    alert = await service.dispatch(alert_id, "op1")  # type: ignore[arg-type]
    assert alert.responder == "same-community"


async def test_busy_responders_are_not_proposed_for_another_alert(service: AlertService) -> None:
    await add(service, "same-community", PEOPLE["same-community"])
    await add(service, "same-street", PEOPLE["same-street"])
    first = await acknowledged(service, "res-1", "a")
    await service.dispatch(first, "op1")  # type: ignore[arg-type]
    second = await acknowledged(service, "res-2", "b")  # res-2 lives in k2: same-street is nearest anyway
    names = [p["responder"]["username"] for p in await service.propose(second)]  # type: ignore[arg-type]
    assert names == ["same-street"]


async def test_decline_and_timeout_pass_the_alert_on(make_service: ServiceFactory, clock: FakeClock) -> None:
    service = make_service(
        EscalationPolicy(ring_again_s=(), supervisor_s=None, family_s=None, emergency_s=None, responder_accept_s=300)
    )
    await service.restore()
    for username, path in list(PEOPLE.items())[:3]:
        await add(service, username, path)
    alert_id = await acknowledged(service)
    await service.dispatch(alert_id, "op1")  # type: ignore[arg-type]
    [offer] = await service.dispatches(alert_id)  # type: ignore[arg-type]
    clock.advance(30)
    alert = await service.respond(alert_id, "same-community", offer["id"], accept=False, note="I am at the clinic")  # type: ignore[arg-type]
    assert alert.state is AlertState.DISPATCHED and alert.responder == "same-street"
    await advance(service, clock, 300)  # same-street never answers
    alert = await service.get(alert_id)  # type: ignore[arg-type]
    assert alert.responder == "same-district"
    assert [d["status"] for d in await service.dispatches(alert_id)] == ["declined", "expired", "offered"]  # type: ignore[arg-type]
    assert [e.detail.get("step") for e in bus(service).events if e.type.value == "alert.escalated"] == [
        "next_responder",
        "next_responder",
    ]
    latest = (await service.dispatches(alert_id))[-1]  # type: ignore[arg-type]
    await service.respond(alert_id, "same-district", latest["id"], accept=True)  # type: ignore[arg-type]
    await service.drain()
    help_on_the_way = [c for d, c in downlinks(service).sent if c["type"] == "help_on_the_way"]
    assert help_on_the_way and help_on_the_way[0]["responder"] == "same-district"


async def test_nobody_left_hands_back_and_prompts_120(service: AlertService, clock: FakeClock) -> None:
    await add(service, "only-one", PEOPLE["same-community"])
    alert_id = await acknowledged(service)
    await service.dispatch(alert_id, "op1")  # type: ignore[arg-type]
    [offer] = await service.dispatches(alert_id)  # type: ignore[arg-type]
    alert = await service.respond(alert_id, "only-one", offer["id"], accept=False)  # type: ignore[arg-type]
    assert alert.state is AlertState.ACKNOWLEDGED and alert.responder is None
    assert alert.needs_emergency_call is True
    assert bus(service).steps()[-2:] == ["no_responder", "emergency_call"]


async def test_answering_twice_is_a_conflict(service: AlertService) -> None:
    await add(service, "wang", PEOPLE["same-community"])
    alert_id = await acknowledged(service)
    await service.dispatch(alert_id, "op1")  # type: ignore[arg-type]
    [offer] = await service.dispatches(alert_id)  # type: ignore[arg-type]
    await service.respond(alert_id, "wang", offer["id"], accept=True)  # type: ignore[arg-type]
    from alerting import Conflict

    try:
        await service.respond(alert_id, "wang", offer["id"], accept=False)  # type: ignore[arg-type]
        raise AssertionError("a second answer must be refused")
    except Conflict as error:
        assert "already accepted" in str(error)
