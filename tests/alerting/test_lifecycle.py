"""The lifecycle: raise → acknowledge → dispatch → on scene → resolve; refused moves; coalescing; queue."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import timedelta
from typing import Any

import pytest
from psycopg import pq
from psycopg_pool import AsyncConnectionPool

from alerting import AlertService, AlertState, IllegalTransition, InvalidRequest, NoResponderAvailable
from alerting.model import TRANSITIONS
from eldercare.db import open_pool
from stream.detections import DetectionKind
from tests.alerting.conftest import ORG, Downlinks, FakeClock, RecordingBus, bus, detection, downlinks


async def add_responder(service: AlertService, username: str, path: str, **extra: object) -> None:
    node = [s for s in path.split("/") if s][-1]
    await service.upsert_responder(
        {"username": username, "name": username, "kind": "community_worker", "org_node": node, **extra}, path
    )


async def test_full_lifecycle_is_audited_and_announced(service: AlertService, clock: FakeClock) -> None:
    [raised] = await service.raise_detections([detection()])
    alert = raised.alert
    assert alert.state is AlertState.RAISED and alert.org_path == "/c/d1/s1/k1/"
    assert alert.ringing_at == clock.now
    await add_responder(service, "wang", "/c/d1/s1/k1/")
    clock.advance(25)
    acked = await service.acknowledge(alert.id, "op1", "calling her")
    assert acked.sla(clock.now)["answered_in_s"] == 25.0 and acked.sla(clock.now)["within_60s"] is True
    clock.advance(30)
    dispatched = await service.dispatch(alert.id, "op1", note="please go")
    assert dispatched.state is AlertState.DISPATCHED and dispatched.responder == "wang"
    [offer] = await service.dispatches(alert.id)
    clock.advance(60)
    await service.respond(alert.id, "wang", offer["id"], accept=True)
    clock.advance(600)
    on_scene = await service.arrive(alert.id, "responder:wang", "with her now")
    assert on_scene.state is AlertState.ON_SCENE
    clock.advance(900)
    resolved = await service.resolve(alert.id, "op1", "hospital", "ambulance took her to the city hospital")
    assert resolved.state is AlertState.RESOLVED and resolved.outcome == "hospital"
    assert resolved.sla(clock.now)["on_scene_in_s"] == 25 + 30 + 60 + 600
    await service.drain()

    trail = await service.audit_trail(alert.id)
    assert [(row["action"], row["actor"]) for row in trail] == [
        ("raised", "system"),
        ("acknowledged", "op1"),
        ("dispatched", "op1"),
        ("responder accepted", "responder:wang"),
        ("on_scene", "responder:wang"),
        ("resolved", "op1"),
    ]
    assert trail[-1]["note"] == "ambulance took her to the city hospital"
    assert bus(service).types() == [
        "alert.raised",
        "alert.acknowledged",
        "alert.dispatched",
        "alert.dispatched",
        "alert.on_scene",
        "alert.resolved",
    ]
    assert downlinks(service).types("btn-1") == ["call_received", "help_on_the_way"]
    assert await service.pending_timers(alert.id) == []  # the ladder is gone with the alert
    assert [d["status"] for d in await service.dispatches(alert.id)] == ["done"]


async def test_illegal_transitions_are_refused_with_the_reason(service: AlertService) -> None:
    [raised] = await service.raise_detections([detection()])
    alert_id = raised.alert.id
    with pytest.raises(IllegalTransition, match="raised cannot become resolved"):
        await service.resolve(alert_id, "op1", "false_alarm")
    with pytest.raises(IllegalTransition, match="raised cannot become dispatched"):
        await service.dispatch(alert_id, "op1")
    with pytest.raises(IllegalTransition, match="raised cannot become cancelled"):
        await service.cancel(alert_id, "op1")
    await service.acknowledge(alert_id, "op1")
    with pytest.raises(IllegalTransition, match="acknowledged cannot become acknowledged"):
        await service.acknowledge(alert_id, "op2")
    with pytest.raises(InvalidRequest, match="outcome must be one of"):
        await service.resolve(alert_id, "op1", "went shopping")
    with pytest.raises(IllegalTransition, match="on_scene"):
        await service.arrive(alert_id, "op1")
    await service.resolve(alert_id, "op1", "false_alarm", "pressed by mistake")
    with pytest.raises(IllegalTransition, match="closed"):
        await service.acknowledge(alert_id, "op1")
    trail = await service.audit_trail(alert_id)
    assert [row["action"] for row in trail] == ["raised", "acknowledged", "resolved"]


def test_transition_table_is_closed_under_states() -> None:
    for state, targets in TRANSITIONS.items():
        assert state not in targets
    assert TRANSITIONS[AlertState.RESOLVED] == frozenset()


async def test_repeats_coalesce_and_replays_change_nothing(service: AlertService, clock: FakeClock) -> None:
    events = await service.raise_detections([detection(key="btn-1:1"), detection(key="btn-1:2")])
    assert [e.type.value for e in events] == ["alert.raised", "alert.repeated"]
    clock.advance(120)
    again = await service.raise_detections([detection(key="btn-1:3"), detection(key="btn-1:2")])
    assert [e.type.value for e in again] == ["alert.repeated"]  # the replayed key is ignored
    [alert] = await service.open_alerts()
    assert alert.repeats == 3
    other_kind = await service.raise_detections([detection(DetectionKind.SMOKE, device="smk-1", key="smk-1:1")])
    assert other_kind[0].type.value == "alert.raised"
    clock.advance(11 * 60)  # past the coalescing window
    later = await service.raise_detections([detection(key="btn-1:4")])
    assert later[0].type.value == "alert.raised"
    assert len(await service.open_alerts()) == 3


async def test_a_press_again_on_an_open_alert_is_answered_on_the_button_pressed(
    service: AlertService, clock: FakeClock
) -> None:
    await add_responder(service, "wang", "/c/d1/s1/k1/")
    [raised] = await service.raise_detections([detection(key="btn-1:1")])
    clock.advance(20)
    await service.raise_detections([detection(device="btn-2", key="btn-2:1")])  # her bedside button: a repeat
    await service.drain()
    assert (downlinks(service).types("btn-1"), downlinks(service).types("btn-2")) == (["call_received"],) * 2
    # the first press sent again (a restart lost its answer): nothing raised or rung again, but answered
    assert await service.raise_detections([detection(key="btn-1:1")]) == []
    await service.drain()
    assert downlinks(service).types("btn-1") == ["call_received"] * 2
    await service.acknowledge(raised.alert.id, "op1")
    await service.dispatch(raised.alert.id, "op1")
    [offer] = await service.dispatches(raised.alert.id)
    await service.respond(raised.alert.id, "wang", offer["id"], accept=True)
    clock.advance(60)
    # still waiting, she presses again, and the bedside button's press arrives again with it (one batch)
    await service.raise_detections([detection(key="btn-1:2"), detection(device="btn-2", key="btn-2:1")])
    await service.drain()
    for button in ("btn-1", "btn-2"):
        *_, answer = [c for d, c in downlinks(service).sent if d == button]
        assert (answer["type"], answer["responder"]) == ("help_on_the_way", "wang"), button
        assert answer["alert_id"] == str(raised.alert.id)
    # a fall seen again inside its cancel window is announced by the home, not answered as a call
    await service.raise_detections([detection(DetectionKind.FALL, "res-2", "pend-2", key="p:1")])
    await service.raise_detections([detection(DetectionKind.FALL, "res-2", "pend-2", key="p:2")])
    await service.drain()
    assert "call_received" not in downlinks(service).types("pend-2")


async def test_queue_puts_sos_and_falls_first_then_oldest(service: AlertService, clock: FakeClock) -> None:
    policy_off = {"cancel_window_s": 0}
    await service.set_policy("area", "/c/", policy_off, "admin")
    for kind, resident, device in [
        (DetectionKind.DEVICE_OFFLINE, "res-1", "pir-1"),
        (DetectionKind.VITALS, "res-2", "vit-2"),
        (DetectionKind.SOS, "res-2", "btn-2"),
        (DetectionKind.GAS, "res-3", "gas-3"),
        (DetectionKind.INACTIVITY, "res-1", "pir-1"),
        (DetectionKind.FALL, "res-3", "pend-3"),
    ]:
        await service.raise_detections([detection(kind, resident, device, ts=clock.now)])
        clock.advance(5)
    queue = await service.open_alerts()
    assert [a.kind for a in queue] == ["sos", "fall", "gas", "inactivity", "vitals", "device_offline"]
    await service.acknowledge(queue[0].id, "op1")
    queue = await service.open_alerts()
    assert queue[0].kind == "fall" and queue[-1].kind == "sos"  # ringing first, then those in hand


async def test_two_operators_cannot_both_dispatch(service: AlertService) -> None:
    [raised] = await service.raise_detections([detection()])
    await add_responder(service, "wang", "/c/d1/s1/k1/")
    await add_responder(service, "li", "/c/d1/s1/k1/")
    await service.acknowledge(raised.alert.id, "op1")
    results = await asyncio.gather(
        service.dispatch(raised.alert.id, "op1", "wang"),
        service.dispatch(raised.alert.id, "op2", "li"),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], IllegalTransition)
    assert "dispatched cannot become dispatched" in str(errors[0])
    assert len(await service.dispatches(raised.alert.id)) == 1


async def test_duplicate_closes_and_counts_as_answered(service: AlertService, clock: FakeClock) -> None:
    [first] = await service.raise_detections([detection(key="a")])
    [second] = await service.raise_detections([detection(DetectionKind.FALL, device="pend-1", key="b")])
    clock.advance(10)
    with pytest.raises(InvalidRequest):
        await service.close_duplicate(first.alert.id, first.alert.id, "op1")
    closed = await service.close_duplicate(second.alert.id, first.alert.id, "op1", "same fall, she pressed too")
    assert closed.state is AlertState.DUPLICATE and closed.duplicate_of == first.alert.id
    assert bus(service).types()[-1] == "alert.duplicate"


async def test_no_responder_available_is_a_conflict(service: AlertService) -> None:
    [raised] = await service.raise_detections([detection()])
    await service.acknowledge(raised.alert.id, "op1")
    with pytest.raises(NoResponderAvailable):
        await service.dispatch(raised.alert.id, "op1")


async def test_scope_limits_every_query(service: AlertService) -> None:
    from api.scope import Scope
    from registry.users import User

    await service.raise_detections([detection(resident="res-1", device="btn-1", key="1")])
    [other] = await service.raise_detections([detection(resident="res-3", device="btn-3", key="3")])
    district_1 = Scope(User("op", "operator"), "/c/d1/")
    family_3 = Scope(User("fam", "family"), "\x00", resident_id="res-3")
    assert [a.resident_id for a in await service.open_alerts(scope=district_1)] == ["res-1"]
    assert [a.resident_id for a in await service.open_alerts(scope=family_3)] == ["res-3"]
    from alerting import AlertNotFound

    with pytest.raises(AlertNotFound):
        await service.get(other.alert.id, district_1)
    with pytest.raises(AlertNotFound):
        await service.acknowledge(other.alert.id, "op", scope=district_1)
    assert (await service.get(other.alert.id, family_3)).id == other.alert.id
    assert len(await service.recent_alerts(district_1, since=other.alert.raised_at - timedelta(1))) == 1


async def test_only_the_current_raise_function_is_installed(pool: AsyncConnectionPool) -> None:
    """The replaced raise_alert and raise_alert_v2 are dropped by a migration, not left callable."""
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT proname FROM pg_proc WHERE proname LIKE 'raise_alert%%' ORDER BY proname")
        names = [row["proname"] for row in await cursor.fetchall()]
    assert names == ["raise_alert_v3"]


async def sent_messages(conn_pool: AsyncConnectionPool, action: Any) -> list[tuple[str, str]]:
    """The protocol messages ``action()`` sends over a one-connection pool, as (type, first field),
    from a libpq trace."""
    with tempfile.TemporaryFile("w+") as trace:
        async with conn_pool.connection() as conn:
            conn.pgconn.trace(trace.fileno())
            conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            await action()
        finally:
            async with conn_pool.connection() as conn:
                conn.pgconn.untrace()
        trace.seek(0)
        sent = [line.split("\t") for line in trace.read().splitlines() if line.startswith("F")]
    return [(fields[2], fields[3].strip() if len(fields) > 3 else "") for fields in sent]


def round_trips(messages: list[tuple[str, str]]) -> list[str]:
    """Outside a pipeline, each ``Sync`` or simple ``Query`` the client sends waits for the server's answer."""
    return [text if kind == "Query" else "statement" for kind, text in messages if kind in ("Sync", "Query")]


def statements(messages: list[tuple[str, str]]) -> list[str]:
    """The statements parsed, ``execute`` for each execution and ``sync`` where the client marked a
    point to wait for."""
    names = {"Sync": "sync", "Execute": "execute"}
    return [names[kind] if kind in names else text.split('"')[3].split("(")[0] for kind, text in messages
            if kind in ("Parse", "Execute", "Sync")]  # fmt: skip


async def test_an_alarm_is_stored_in_one_round_trip_and_the_connection_goes_back_as_it_was(
    pool: AsyncConnectionPool, clock: FakeClock
) -> None:
    """The alarm lane's usual case (one detection, no pending alert to cancel): raise_alert_v3 commits
    by itself, with no BEGIN and COMMIT around it; a batch of several is still one transaction, its
    calls sent one after the other without waiting for each (a pipeline)."""
    single = await open_pool(pool.conninfo, min_size=1, max_size=1)
    try:
        service = AlertService(single, RecordingBus(), downlink=Downlinks(), clock=clock, org_of=ORG.get)
        await service.restore()
        one = round_trips(await sent_messages(single, lambda: service.raise_detections([detection(key="btn-1:1")])))
        assert one == ["statement"], one
        async with single.connection() as conn:
            assert not conn.autocommit
        several = statements(
            await sent_messages(
                single,
                lambda: service.raise_detections(
                    [
                        detection(key="btn-2:1", device="btn-2", resident="res-2"),
                        detection(DetectionKind.SMOKE, device="smk-1", key="s:1"),
                    ]
                ),
            )
        )
        begin, commit = several.index("BEGIN"), several.index("COMMIT")
        raising = several[several.index("SELECT * FROM raise_alert_v3") : commit]
        assert begin < commit and raising[:3] == ["SELECT * FROM raise_alert_v3", "execute", "execute"], several
        assert raising.count("execute") == 2  # both sent before either answer is waited for
        [alert] = [a for a in await service.open_alerts() if a.device_id == "btn-1"]
        assert alert.state is AlertState.RAISED
        await service.drain()
        assert downlinks(service).types("btn-1") == ["call_received"]
    finally:
        await single.close()
