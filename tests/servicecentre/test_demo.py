"""The demo's service centre: the menu, providers and a day of orders in every state, seeded once."""

from __future__ import annotations

from collections import Counter

from psycopg_pool import AsyncConnectionPool

from eldercare.demo import COMMUNITY, ORG_TREE, RESIDENTS
from eldercare.demo_services import CATEGORIES, DAY_OF_ORDERS, seed_service_centre
from registry.area import Area
from registry.store import Registry
from servicecentre import Reach, ServiceCentre
from tests.alerting.conftest import T0, FakeClock


async def test_the_demo_seeds_a_living_service_centre_once(pool: AsyncConnectionPool, clock: FakeClock) -> None:
    registry = Registry(pool)
    for code, name, level, parent in ORG_TREE:
        await registry.add_org_node(code, name, level, parent)
    for resident in RESIDENTS:
        await registry.add_resident(resident)
    centre = ServiceCentre(pool, clock=clock)
    await centre.restore()
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
