"""Order deadlines on a driven clock (missed once, across a restart), and repeating meal plans."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from psycopg_pool import AsyncConnectionPool

from servicecentre import Forbidden, Invalid, OrderRequest, OrderState, PlanRequest
from tests.alerting.conftest import T0, FakeClock
from tests.servicecentre.conftest import LUNCH_TIME, World, make_world


def lunch() -> OrderRequest:
    return OrderRequest("r-old", "lunch", "P1", LUNCH_TIME)


async def test_each_missed_deadline_is_recorded_once_and_met_ones_never(world: World) -> None:
    centre = world.centre
    late = await centre.orders.create(lunch(), world.d1)
    prompt = await centre.orders.create(lunch(), world.d1)
    await world.advance(29 * 60)
    await centre.orders.move(prompt.id, OrderState.ACCEPTED, world.p1)
    await world.advance(60)  # 30 min: the accept deadline passes
    assert (await centre.orders.get(late.id, world.d1)).missed == ["accept"]
    assert (await centre.orders.get(prompt.id, world.d1)).missed == []
    await centre.orders.move(late.id, OrderState.ACCEPTED, world.p1)
    for order in (late, prompt):
        await centre.orders.move(order.id, OrderState.ASSIGNED, world.p1, worker="w1")
    await world.advance(2 * 3600 - 60)  # 12:29 local: prompt's worker checks in just within the grace
    await centre.orders.move(prompt.id, OrderState.CHECKED_IN, world.p1)
    await world.advance(60)
    late_now = await centre.orders.get(late.id, world.d1)
    assert late_now.missed == ["accept", "check_in"] and late_now.state is OrderState.ASSIGNED
    await world.advance(58 * 60)
    assert (await centre.orders.get(prompt.id, world.d1)).missed == []
    await world.advance(60)  # the 30 min lunch + 30 min grace after the check-in
    assert (await centre.orders.get(prompt.id, world.d1)).missed == ["complete"]
    await world.advance(24 * 3600)
    assert (await centre.orders.get(late.id, world.d1)).missed == ["accept", "check_in"]
    trail = await centre.orders.audit_trail(late.id, world.d1)
    assert [r["note"] for r in trail if r["action"] == "deadline missed"] == ["accept", "check_in"]


async def test_a_deadline_that_passed_during_a_restart_fires_once(pool: AsyncConnectionPool, clock: FakeClock) -> None:
    first = await make_world(pool, clock)
    order = await first.centre.orders.create(lunch(), first.d1)
    clock.advance(3600)  # down for an hour: nothing ticked
    second = await make_world(pool, clock)
    third = await make_world(pool, clock)  # a second process restoring the same rows
    await second.alerts.tick()
    await third.alerts.tick()
    assert (await second.centre.orders.get(order.id, second.d1)).missed == ["accept"]
    await first.alerts.tick()
    assert (await first.centre.orders.get(order.id, first.d1)).missed == ["accept"]


async def test_cancelling_stops_every_deadline(world: World) -> None:
    order = await world.centre.orders.create(lunch(), world.d1)
    await world.centre.orders.move(order.id, OrderState.CANCELLED, world.d1, reason="家属代办")
    assert await world.centre.orders.pending_timers(order.id) == []
    await world.advance(48 * 3600)
    assert (await world.centre.orders.get(order.id, world.d1)).missed == []


WEEKDAYS = (1, 2, 3, 4, 5)


def meal_plan(**changes: object) -> PlanRequest:
    fields: dict[str, object] = {
        "resident_id": "r-old",
        "item_id": "lunch",
        "provider_id": "P1",
        "weekdays": WEEKDAYS,
        "local_time": time(11, 30),
        "starts_on": date(2026, 3, 2),
    }
    return PlanRequest(**{**fields, **changes})  # type: ignore[arg-type]


async def test_a_weekday_meal_plan_spawns_one_order_a_day_ahead_of_time(world: World) -> None:
    centre = world.centre
    plan = await centre.plans.create(meal_plan(), world.d1)
    assert await centre.plans.spawn() == 3  # Monday (today) to Wednesday: the horizon is 2 days
    assert await centre.plans.spawn() == 0  # a second run, or a second process, makes nothing more
    orders = await centre.orders.board(world.d1)
    assert [o.scheduled_at.isoformat() for o in orders] == [
        "2026-03-02T03:30:00+00:00",  # 11:30 at UTC+8
        "2026-03-03T03:30:00+00:00",
        "2026-03-04T03:30:00+00:00",
    ]
    assert {(o.channel, o.requested_by, o.subsidy_fen) for o in orders} == {("plan", f"plan:{plan['id']}", 500)}
    clock: FakeClock = world.clock
    clock.now = T0 + timedelta(days=2)  # Wednesday: Thursday and Friday
    assert await centre.plans.spawn() == 2
    clock.now = T0 + timedelta(days=5)  # Saturday: no meals at the weekend; Monday is two days ahead
    assert await centre.plans.spawn() == 1
    clock.now = T0 + timedelta(days=6)  # Sunday: Tuesday
    assert await centre.plans.spawn() == 1
    days = [o.plan_date.isoweekday() for o in await centre.orders.board(world.d1) if o.plan_date]
    assert days == [1, 2, 3, 4, 5, 1, 2]
    await centre.plans.stop(plan["id"], world.d1)
    clock.now = T0 + timedelta(days=8)
    assert await centre.plans.spawn() == 0


async def test_a_plan_made_after_todays_time_begins_with_the_next_day_it_can_keep(world: World) -> None:
    centre = world.centre
    clock: FakeClock = world.clock
    clock.now = T0 + timedelta(hours=2, minutes=1)  # 12:01 local: 11:30 + 30 min grace has passed
    await centre.plans.create(meal_plan(), world.d1)
    assert await centre.plans.spawn() == 2  # Tuesday and Wednesday; no lunch born late on Monday
    assert [o.plan_date for o in await centre.orders.board(world.d1)] == [date(2026, 3, 3), date(2026, 3, 4)]
    await world.advance(24 * 3600)  # Tuesday 12:01: its order was made in time, and nobody took it
    assert await centre.plans.spawn() == 1  # Thursday
    tuesday = next(o for o in await centre.orders.board(world.d1) if o.plan_date == date(2026, 3, 3))
    assert tuesday.state is OrderState.REQUESTED and tuesday.missed == ["accept", "check_in"]


async def test_a_plan_made_just_in_time_spawns_todays_order(world: World) -> None:
    clock: FakeClock = world.clock
    clock.now = T0 + timedelta(hours=1, minutes=59)  # 11:59 local: the check-in is still possible by 12:00
    await world.centre.plans.create(meal_plan(), world.d1)
    assert await world.centre.plans.spawn() == 3


async def test_a_plan_order_follows_the_lifecycle_and_a_bad_day_does_not_stop_the_plan(world: World) -> None:
    centre = world.centre
    await centre.plans.create(meal_plan(weekdays=(1, 2, 3, 4, 5, 6, 7), ends_on=date(2026, 3, 3)), world.d1)
    assert await centre.plans.spawn() == 2  # ends on Tuesday
    [monday, tuesday] = await centre.orders.board(world.p1)
    await centre.orders.move(monday.id, OrderState.REFUSED, world.p1, reason="停电")
    assert (await centre.orders.get(tuesday.id, world.d1)).state is OrderState.REQUESTED
    with pytest.raises(Invalid):
        await centre.plans.create(meal_plan(weekdays=(0,)), world.d1)
    with pytest.raises(Invalid, match="does not offer"):
        await centre.plans.create(meal_plan(provider_id="P2", item_id="clean"), world.d1)
    with pytest.raises(Forbidden):
        await centre.plans.create(meal_plan(), world.p1)
    assert len(await centre.plans.list(world.d1)) == 1
    assert await centre.plans.list(world.d2) == []
