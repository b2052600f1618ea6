"""The demo's service centre: the menu, providers and a day of orders in every state, seeded once;
then, on a driven clock, its residents call and order and the providers serve every order as its
fate says (the reference: :func:`~eldercare.demo_service_life.draw_fate` seeded by the order's id)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta

import pytest
from psycopg_pool import AsyncConnectionPool

from eldercare.demo import COMMUNITY, ORG_TREE, RESIDENTS
from eldercare.demo_service_life import ASSIGN_AFTER, RATE_AFTER, ServiceLife, draw_fate
from eldercare.demo_services import CATEGORIES, DAY_OF_ORDERS, STAFF, seed_service_centre
from registry.area import Area
from registry.store import Registry
from servicecentre import Order, OrderRequest, Reach, ServiceCentre
from servicecentre.model import OrderEvent
from tests.alerting.conftest import T0, FakeClock


async def demo_centre(pool: AsyncConnectionPool, clock: FakeClock) -> ServiceCentre:
    registry = Registry(pool)
    for code, name, level, parent in ORG_TREE:
        await registry.add_org_node(code, name, level, parent)
    for resident in RESIDENTS:
        await registry.add_resident(resident)
    centre = ServiceCentre(pool, clock=clock)
    await centre.restore()
    return centre


async def test_the_demo_seeds_a_living_service_centre_once(pool: AsyncConnectionPool, clock: FakeClock) -> None:
    centre = await demo_centre(pool, clock)
    assert await seed_service_centre(centre, COMMUNITY, T0) == len(DAY_OF_ORDERS)
    assert await seed_service_centre(centre, COMMUNITY, T0) == 0  # a restart seeds nothing twice
    everything = Reach(Area(), None, "test")
    orders = await centre.orders.board(everything, limit=1000)
    states = Counter(o.state.value for o in orders if o.plan_id is None)
    assert states == Counter({"rated": 1, "completed": 2, "checked_in": 1, "assigned": 1, "accepted": 1,
                              "requested": 1, "cancelled": 1})  # fmt: skip
    assert [o.plan_date.isoformat() for o in orders if o.plan_id] == ["2026-03-02", "2026-03-03", "2026-03-04"]
    assert {c["code"] for c in await centre.menu.menu(everything)} == {code for code, _, _ in CATEGORIES}
    assert len(await centre.calls.list(everything)) == 2
    assert all(o.subsidy_fen + o.resident_fen == o.total_fen for o in orders)


async def test_the_demo_day_reads_as_a_provider_day(pool: AsyncConnectionPool, clock: FakeClock) -> None:
    """Each seeded step is stamped when it would have been made, never after the demo started: the day's
    report reads 100 % on time (stamped at startup, the 09:00 cleaning was checked in an hour late)."""
    centre = await demo_centre(pool, clock)
    await seed_service_centre(centre, COMMUNITY, T0)  # a Monday, 10:00 local
    everything = Reach(Area(), None, "test")
    orders = [o for o in await centre.orders.board(everything, limit=1000) if o.plan_id is None]
    for o in orders:
        steps = (o.requested_at, o.accepted_at, o.assigned_at, o.checked_in_at, o.completed_at)
        stamps = [t for t in steps if t is not None]
        assert stamps == sorted(stamps) and stamps[-1] <= T0, o
    cleaning = next(o for o in orders if o.item_id == "clean-2h")  # 09:00, served
    assert cleaning.checked_in_at is not None and cleaning.checked_in_at - cleaning.scheduled_at < timedelta(minutes=5)
    assert cleaning.requested_at < cleaning.scheduled_at - timedelta(hours=12)  # booked the day before
    report = await centre.reports.orders(everything, T0 - timedelta(days=1), T0 + timedelta(days=1))
    total = report["total"]
    assert (total["due"], total["on_time_rate"]) == (4, 1.0)  # every check-in stamped at startup: 0.75


def expected(order: Order, end: datetime) -> set[str] | None:
    """The states an order can be in at ``end`` by its fate (the reference); None: too close to call."""
    workers = [u for p, u, _ in STAFF if p == order.provider_id and not u.endswith("desk")]
    fate = draw_fate(random.Random(order.id.int), workers)
    slack = timedelta(minutes=3)  # the loop looks every minute; each step waits for the one before
    decided = order.requested_at + fate.decide_after
    if decided + slack > end:
        return None
    if fate.outcome != "serve":
        return {"cancel": {"cancelled"}, "refuse": {"refused"}}[fate.outcome]
    arrives = max(decided + ASSIGN_AFTER * 2, order.scheduled_at + timedelta(seconds=fate.late_s))
    done = arrives + fate.duration(order.item_id)
    if done + RATE_AFTER + slack > end:
        return None
    return {"rated"} if fate.rating else {"completed"}


async def test_the_demo_residents_call_and_order_and_the_providers_serve_them(
    pool: AsyncConnectionPool, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    centre = await demo_centre(pool, clock)
    await seed_service_centre(centre, COMMUNITY, T0)
    events: list[OrderEvent] = []
    publish = centre.events.publish
    monkeypatch.setattr(centre.events, "publish", lambda event: (events.append(event), publish(event)))
    everything = Reach(Area(), None, "test")
    clock.advance(1)
    placed = await centre.orders.create(  # an operator's order on the page: the simulated desk serves it too
        OrderRequest("res-0002", "lunch", "canteen-huanghe", T0 + timedelta(hours=1)), everything
    )
    life = ServiceLife(centre, [(r.id, r.phone) for r in RESIDENTS], seed=7, call_every_s=600)
    end = T0 + timedelta(hours=9)
    while clock.now < end:
        clock.advance(60)
        await centre.tick()
        await life.step()
    calls = await centre.calls.list(everything, start=T0 + timedelta(seconds=1), limit=1000)
    assert len(calls) == life.calls >= 10
    assert {c["category"] for c in calls} >= {"service_request", "consultation"}
    by_phone = {c["order_id"]: c for c in calls if c["order_id"] is not None}
    assert by_phone and all(c["category"] == "service_request" for c in by_phone.values())
    orders = [o for o in await centre.orders.board(everything, limit=1000) if o.requested_at > T0]
    assert {str(o.id) for o in orders if o.call_id is not None} == set(by_phone)
    assert placed.id in {o.id for o in orders}
    judged = 0
    for order in orders:
        states = expected(order, end)
        if states is not None:
            judged += 1
            assert order.state.value in states, (order.id, order.state, states)
    assert judged >= 5
    assert any(o.state.value == "rated" for o in orders)
    types = {e.type.value for e in events}
    assert types >= {f"order.{s}" for s in ("requested", "accepted", "assigned", "checked_in", "completed", "rated")}
    assert all(e.type.value == f"order.{e.order.state.value}" for e in events if e.type.value != "order.missed")
    assert life.refused_moves == 0
