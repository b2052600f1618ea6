"""Care on a real PostgreSQL with a fake clock: one database for the package, tables emptied per test.

The seeded district (金水区, D1) has two streets and three communities:
``/C1/D1/S1/A1/``, ``/C1/D1/S1/A2/`` and ``/C1/D1/S2/B1/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from psycopg_pool import AsyncConnectionPool

from care import CareService
from care.context import Signals
from registry.area import Area
from registry.store import Registry
from registry.users import User
from tests.orgs import add_org_tree
from tests.services import TestServices, emptied, migrated_pool

ROOT = User("admin", "admin")
T0 = datetime(2026, 2, 10, 2, 0, tzinfo=UTC)  # 10:00 on 10 February at UTC+8
REGISTERED = datetime(2025, 1, 1, tzinfo=UTC)  # when the seeded residents joined the archive
ORG = {
    "C1 郑州市": {"D1 金水区": {"S1 经八路街道": ["A1 黄河社区", "A2 纬五路社区"], "S2 花园路街道": ["B1 花园社区"]}}
}


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
async def care_pool(services: TestServices) -> AsyncIterator[AsyncConnectionPool]:
    async with migrated_pool(services, "registry", "alerting", "care", max_size=4) as pool:
        await add_org_tree(Registry(pool), ORG)
        yield pool


@pytest.fixture
async def pool(care_pool: AsyncConnectionPool) -> AsyncConnectionPool:
    await emptied(
        care_pool,
        "care_residence, care_categories, care_visit_rules, care_assignments, care_visits, care_assessments",
        "care_beds, care_bed_services, care_population, care_calls, care_rollup_months, care_rollup_residents",
        "care_rollup_areas, care_resident_state, care_rollup_dirty, alerts",
    )
    async with care_pool.connection() as conn:
        await conn.execute("UPDATE care_rollup_meta SET state_day = NULL")
        await conn.execute("DELETE FROM devices")
        await conn.execute("DELETE FROM residents")
    return care_pool


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class Registered:
    """The registry of the test database, with shortcuts for seeding residents."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.registry = Registry(pool)
        self.pool = pool

    async def resident(
        self, rid: str, org_node: str, birth_date: date | None = None, created_at: datetime = REGISTERED
    ) -> str:
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO residents (id, name, org_node, birth_date, created_at) VALUES (%s, %s, %s, %s, %s)",
                (rid, f"Resident {rid}", org_node, birth_date, created_at),
            )
        return rid

    async def lived(self, rid: str, *moves: tuple[datetime, str]) -> None:
        """Replace the residence history of ``rid`` (as the trigger would have written it at those times)."""
        async with self.pool.connection() as conn:
            await conn.execute("DELETE FROM care_residence WHERE resident_id = %s", (rid,))
            for since, path in moves:
                await conn.execute(
                    "INSERT INTO care_residence (resident_id, since, org_path) VALUES (%s, %s, %s)", (rid, since, path)
                )


@pytest.fixture
def registered(pool: AsyncConnectionPool) -> Registered:
    return Registered(pool)


class SignalsStub:
    """A fixed answer from the platform's signals (the real one reads open alerts: tested apart)."""

    def __init__(self) -> None:
        self.answer: dict[str, list[str]] = {}

    async def __call__(self, resident_ids: Sequence[str]) -> dict[str, list[str]]:
        return {rid: self.answer[rid] for rid in resident_ids if rid in self.answer}


@pytest.fixture
def signals() -> SignalsStub:
    return SignalsStub()


@pytest.fixture
async def care(pool: AsyncConnectionPool, clock: FakeClock, signals: Signals) -> CareService:
    service = CareService(pool, clock=clock, utc_offset_min=480, signals=signals)
    await service.prepare()
    return service


EVERYWHERE = Area()
