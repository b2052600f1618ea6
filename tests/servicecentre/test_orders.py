"""The order lifecycle and its refused moves, the subsidy split, and who sees which orders."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from servicecentre import Forbidden, IllegalMove, Invalid, NotFound, OrderRequest, OrderState
from servicecentre.model import EVERYWHERE, TRANSITIONS, split_price
from tests.servicecentre.conftest import LUNCH_TIME, World


def lunch(resident: str = "r-old", provider: str = "P1", quantity: int = 1) -> OrderRequest:
    return OrderRequest(resident, "lunch", provider, LUNCH_TIME, quantity)


async def test_an_order_from_request_to_rating(world: World) -> None:
    centre, p1 = world.centre, world.p1
    order = await centre.orders.create(lunch(), world.d1)
    assert order.state is OrderState.REQUESTED and order.org_path == "/C/D1/S1/K1/"
    await world.advance(60)
    order = await centre.orders.move(order.id, OrderState.ACCEPTED, p1)
    order = await centre.orders.move(order.id, OrderState.ASSIGNED, p1, worker="w1")
    assert order.worker == "w1"
    await world.advance(2 * 3600 - 60)
    order = await centre.orders.move(order.id, OrderState.CHECKED_IN, p1)
    await world.advance(20 * 60)
    order = await centre.orders.move(order.id, OrderState.COMPLETED, p1)
    order = await centre.orders.move(order.id, OrderState.RATED, world.d1, rating=5, note="饭菜可口")
    assert order.state is OrderState.RATED and order.rating == 5 and order.missed == []
    trail = await centre.orders.audit_trail(order.id, world.d1)
    assert [row["action"] for row in trail] == ["requested", "accepted", "assigned", "checked_in", "completed", "rated"]
    assert [row["actor"] for row in trail][1:5] == ["p1-desk"] * 4
    assert await centre.orders.pending_timers(order.id) == []


async def test_a_worker_the_order_was_taken_from_can_no_longer_move_it(world: World) -> None:
    centre, p1 = world.centre, world.p1
    await centre.menu.add_staff("P1", "w1b", EVERYWHERE)
    order = await centre.orders.create(lunch(), world.d1)
    await centre.orders.move(order.id, OrderState.ACCEPTED, p1)
    await centre.orders.move(order.id, OrderState.ASSIGNED, p1, worker="w1")
    url = await centre.worker_link(order.id, "w1")
    _, w1 = await centre.verify_link(url.rsplit("/", 1)[1])  # w1 opened their page ...
    await centre.orders.move(order.id, OrderState.ASSIGNED, p1, worker="w1b")  # ... and the desk reassigned it
    with pytest.raises(Forbidden, match="assigned to another worker"):  # before: checked in by w1, w1b's order
        await centre.orders.move(order.id, OrderState.CHECKED_IN, w1)
    _, w1b = await centre.verify_link((await centre.worker_link(order.id, "w1b")).rsplit("/", 1)[1])
    assert (await centre.orders.move(order.id, OrderState.CHECKED_IN, w1b)).worker == "w1b"


@pytest.mark.parametrize(
    ("path", "wanted"),
    [
        ((), OrderState.COMPLETED),
        ((), OrderState.CHECKED_IN),
        ((OrderState.ACCEPTED,), OrderState.CHECKED_IN),
        ((OrderState.ACCEPTED,), OrderState.REFUSED),
        ((OrderState.ACCEPTED, OrderState.ASSIGNED, OrderState.CHECKED_IN), OrderState.CANCELLED),
        ((OrderState.REFUSED,), OrderState.ACCEPTED),
        ((OrderState.CANCELLED,), OrderState.REQUESTED),
    ],
)
async def test_moves_outside_the_table_are_refused_with_the_reason(
    world: World, path: tuple[OrderState, ...], wanted: OrderState
) -> None:
    centre = world.centre
    order = await centre.orders.create(lunch(), world.d1)
    for step in path:
        reach = world.d1 if step is OrderState.CANCELLED else world.p1
        order = await centre.orders.move(order.id, step, reach, worker="w1", reason="没有人手")
    assert wanted not in TRANSITIONS[order.state]
    reach = world.d1 if wanted in (OrderState.CANCELLED, OrderState.REQUESTED) else world.p1
    with pytest.raises(IllegalMove) as refused:
        await centre.orders.move(order.id, wanted, reach, reason="x", worker="w1")
    assert f"cannot become {wanted.value}" in str(refused.value)
    assert (await centre.orders.get(order.id, world.d1)).state is order.state


async def test_refusals_and_cancellations_need_a_reason_and_the_right_role(world: World) -> None:
    centre = world.centre
    order = await centre.orders.create(lunch(), world.d1)
    with pytest.raises(Invalid, match="reason"):
        await centre.orders.move(order.id, OrderState.REFUSED, world.p1, reason="  ")
    with pytest.raises(Forbidden):
        await centre.orders.move(order.id, OrderState.CANCELLED, world.p1, reason="不想去")
    with pytest.raises(Forbidden):
        await centre.orders.create(lunch(), world.p1)
    await centre.orders.move(order.id, OrderState.ACCEPTED, world.p1)
    with pytest.raises(Invalid, match="staff"):
        await centre.orders.move(order.id, OrderState.ASSIGNED, world.p1, worker="w2")  # P2's worker
    refused = await centre.orders.create(lunch(), world.d1)
    refused = await centre.orders.move(refused.id, OrderState.REFUSED, world.p1, reason="今日满单")
    assert refused.reason == "今日满单" and refused.closed_at is not None
    cancelled = await centre.orders.move(order.id, OrderState.CANCELLED, world.d1, reason="老人住院")
    assert cancelled.state is OrderState.CANCELLED and cancelled.reason == "老人住院"


async def test_the_price_is_split_into_subsidy_and_resident_payment(world: World) -> None:
    centre = world.centre
    two = await centre.orders.create(lunch(quantity=2), world.d1)  # P1 sells lunch at 12 yuan; 5 yuan subsidy
    assert (two.unit_price_fen, two.total_fen, two.subsidy_fen, two.resident_fen) == (1200, 2400, 1000, 1400)
    young = await centre.orders.create(lunch("r-young"), world.d1)
    assert (young.subsidy_fen, young.resident_fen) == (0, 1200) and "under 60" in young.subsidy_note
    unknown = await centre.orders.create(lunch("r-unknown"), world.d1)
    assert unknown.subsidy_fen == 0 and "birth date" in unknown.subsidy_note
    cleaning = await centre.orders.create(OrderRequest("r-old", "clean", "P1", LUNCH_TIME), world.d1)
    assert (cleaning.subsidy_fen, cleaning.resident_fen) == (0, 5000)
    snack = await centre.orders.create(OrderRequest("r-old", "snack", "P1", LUNCH_TIME, 3), world.d1)
    assert (snack.total_fen, snack.subsidy_fen, snack.resident_fen) == (900, 900, 0)  # capped at the price
    other = await centre.orders.create(lunch(provider="P2"), world.d1)
    assert (other.unit_price_fen, other.subsidy_fen, other.resident_fen) == (1400, 500, 900)


def test_split_price_reference() -> None:
    assert split_price(1000, 3, True, 400, 60, 80).resident_fen == 1800
    assert split_price(1000, 3, True, 400, 80, 79).subsidy_fen == 0
    assert split_price(100, 1, True, 400, 60, 90).subsidy_fen == 100


async def test_an_order_needs_a_provider_that_offers_the_item_in_the_residents_area(world: World) -> None:
    centre = world.centre
    with pytest.raises(Invalid, match="does not serve"):
        await centre.orders.create(lunch("r-d2", "P1"), world.centre_staff)  # P1 serves D1 only
    with pytest.raises(Invalid, match="does not offer"):
        await centre.orders.create(OrderRequest("r-old", "clean", "P2", LUNCH_TIME), world.d1)
    with pytest.raises(Invalid, match="time zone"):
        await centre.orders.create(OrderRequest("r-old", "lunch", "P1", LUNCH_TIME.replace(tzinfo=None)), world.d1)
    with pytest.raises(Invalid, match="quantity"):
        await centre.orders.create(lunch(quantity=0), world.d1)


async def test_a_provider_sees_only_its_orders_and_a_district_only_its_own(world: World) -> None:
    centre = world.centre
    p1_order = await centre.orders.create(lunch(), world.d1)
    p2_order = await centre.orders.create(lunch(provider="P2"), world.d1)
    d2_order = await centre.orders.create(lunch("r-d2", "P2"), world.d2)
    board = {o.id for o in await centre.orders.board(world.p1)}
    assert board == {p1_order.id}
    assert {o.id for o in await centre.orders.board(world.p2)} == {p2_order.id, d2_order.id}
    assert {o.id for o in await centre.orders.board(world.d1)} == {p1_order.id, p2_order.id}
    assert {o.id for o in await centre.orders.board(world.d2)} == {d2_order.id}
    assert len(await centre.orders.board(world.centre_staff)) == 3
    for reach, order_id in ((world.p1, p2_order.id), (world.p2, p1_order.id), (world.d2, p1_order.id)):
        with pytest.raises(NotFound):
            await centre.orders.get(order_id, reach)
        with pytest.raises(NotFound):
            await centre.orders.move(order_id, OrderState.ACCEPTED, reach)
        with pytest.raises(NotFound):
            await centre.orders.audit_trail(order_id, reach)
    with pytest.raises(NotFound):
        await centre.orders.create(lunch("r-d2", "P2"), world.d1)  # a D2 resident, ordered from D1
    with pytest.raises(NotFound):
        await centre.orders.get(uuid.uuid4(), world.centre_staff)
    assert (await centre.orders.get(p1_order.id, world.d1)).id == p1_order.id


async def test_a_provider_directory_shows_offers_and_ratings(world: World) -> None:
    centre = world.centre
    order = await centre.orders.create(lunch(), world.d1)
    for step in (OrderState.ACCEPTED, OrderState.ASSIGNED, OrderState.CHECKED_IN, OrderState.COMPLETED):
        await centre.orders.move(order.id, step, world.p1, worker="w1")
    await centre.orders.move(order.id, OrderState.RATED, world.d1, rating=4)
    directory = {p["id"]: p for p in await centre.menu.providers(world.d1)}
    assert set(directory) == {"P1", "P2"}  # P2 is registered at the city, serving D1 too
    assert directory["P1"]["rating"] == 4.0 and directory["P1"]["staff"] == 2
    assert {o["item_id"] for o in directory["P1"]["offers"]} == {"lunch", "snack", "clean"}
    assert [p["id"] for p in await centre.menu.providers(world.d2)] == ["P2"]
    assert [p["id"] for p in await centre.menu.providers(world.p1)] == ["P1"]
    menu = await centre.menu.menu(world.d2)
    assert {c["code"] for c in menu} == {"meal", "clean"}
    with pytest.raises(Forbidden):
        await centre.menu.put_provider({"id": "P9", "name": "x"}, world.p1)
    with pytest.raises(NotFound):
        await centre.menu.put_provider({"id": "P1", "name": "hijacked", "org_node": "D2"}, world.d2)


async def test_deadline_times(world: World) -> None:
    order = await world.centre.orders.create(lunch(), world.d1)
    timers = await world.centre.orders.pending_timers(order.id)
    assert [(t["kind"], t["due_at"] - world.clock.now) for t in timers] == [
        ("accept", timedelta(minutes=30)),
        ("check_in", timedelta(hours=2, minutes=30)),
    ]
