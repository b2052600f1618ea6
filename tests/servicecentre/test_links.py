"""The provider's phone links stop with the person or the provider: a deactivated account's links, an
inactive provider's orders (a visit already under way may still be completed)."""

from __future__ import annotations

import uuid

import pytest

from registry.area import Area
from registry.users import User, Users
from servicecentre import Conflict, Forbidden, Invalid, OrderRequest, OrderState
from servicecentre.model import DESK, EVERYWHERE
from tests.servicecentre.conftest import LUNCH_TIME, World

PASSWORD = "a-long-password-1"
ADMIN = User("admin", "admin")


def token(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def staff_account(world: World, username: str, provider: str = "P1") -> None:
    """``username`` on ``provider``'s staff with a platform account (deactivated by :func:`deactivate`)."""
    await Users(world.centre.ctx.pool).add(username, PASSWORD, "provider", org_node="D1")
    await world.centre.menu.add_staff(provider, username, EVERYWHERE, name=username, phone="13800000009")


async def deactivate(world: World, username: str) -> None:
    await Users(world.centre.ctx.pool).update(username, {"active": False}, Area("/"), ADMIN)


async def assigned(world: World, worker: str) -> uuid.UUID:
    centre = world.centre
    order = await centre.orders.create(OrderRequest("r-old", "lunch", "P1", LUNCH_TIME), world.d1)
    await centre.orders.move(order.id, OrderState.ACCEPTED, world.p1)
    await centre.orders.move(order.id, OrderState.ASSIGNED, world.p1, worker=worker)
    return order.id


async def test_a_deactivated_workers_links_stop_and_they_get_no_more_work(world: World) -> None:
    centre = world.centre
    worker = f"wk-{uuid.uuid4().hex[:8]}"
    await staff_account(world, worker)
    order_id = await assigned(world, worker)
    link = token(await centre.worker_link(order_id, worker))
    await centre.verify_link(link)  # works while the account is active
    await deactivate(world, worker)
    with pytest.raises(Forbidden, match="deactivated"):
        await centre.verify_link(link)
    with pytest.raises(Invalid, match="deactivated"):
        await centre.worker_link(order_id, worker)
    other = await centre.orders.create(OrderRequest("r-old", "lunch", "P1", LUNCH_TIME), world.d1)
    await centre.orders.move(other.id, OrderState.ACCEPTED, world.p1)
    with pytest.raises(Invalid, match="deactivated"):
        await centre.orders.move(other.id, OrderState.ASSIGNED, world.p1, worker=worker)
    assert worker not in [s["username"] for s in await centre.menu.staff("P1", working=True)]
    assert worker in [s["username"] for s in await centre.menu.staff("P1")]  # still on the books
    assert "w1" in [s["username"] for s in await centre.menu.staff("P1", working=True)]  # staff with no account


async def test_a_deactivated_desk_users_link_stops(world: World) -> None:
    centre = world.centre
    desk = f"desk-{uuid.uuid4().hex[:8]}"
    await staff_account(world, desk)
    order = await centre.orders.create(OrderRequest("r-old", "lunch", "P1", LUNCH_TIME), world.d1)
    link = token(await centre.desk_link(order.id, desk))
    await deactivate(world, desk)
    with pytest.raises(Forbidden, match="deactivated"):
        await centre.verify_link(link, DESK)
    with pytest.raises(Invalid):
        await centre.desk_link(order.id, desk)


async def test_an_inactive_providers_links_take_no_new_work_but_a_visit_under_way_completes(world: World) -> None:
    centre, p1 = world.centre, world.p1
    city = world.centre_staff
    requested = await centre.orders.create(OrderRequest("r-old", "lunch", "P1", LUNCH_TIME), world.d1)
    desk = token(await centre.desk_link(requested.id, "p1-desk"))
    waiting = await assigned(world, "w1")
    visiting = await assigned(world, "w1")
    await centre.orders.move(visiting, OrderState.CHECKED_IN, p1)
    waiting_link = token(await centre.worker_link(waiting, "w1"))
    visiting_link = token(await centre.worker_link(visiting, "w1"))
    provider = await centre.menu.provider("P1", city)
    await centre.menu.put_provider({**provider, "org_node": "D1", "areas": ["D1"], "active": False}, city)

    with pytest.raises(Forbidden, match="no longer active"):
        await centre.verify_link(desk, DESK)
    with pytest.raises(Forbidden, match="no longer active"):
        await centre.verify_link(waiting_link)
    with pytest.raises(Conflict, match="no longer active"):
        await centre.orders.move(requested.id, OrderState.ACCEPTED, p1)
    with pytest.raises(Conflict, match="no longer active"):
        await centre.orders.move(waiting, OrderState.CHECKED_IN, p1)
    _, worker = await centre.verify_link(visiting_link)  # the visit under way is finished
    assert (await centre.orders.move(visiting, OrderState.COMPLETED, worker)).state is OrderState.COMPLETED
    refused = await centre.orders.move(requested.id, OrderState.REFUSED, p1, reason="closing down")
    assert refused.state is OrderState.REFUSED  # handing an order back stays possible
