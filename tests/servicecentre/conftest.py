"""The service centre on a real PostgreSQL with a driven clock: one database, the service tables
emptied for each test; an org tree of two districts, residents, a menu and two providers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from psycopg_pool import AsyncConnectionPool

from alerting import AlertingConfig, AlertService, EscalationPolicy
from registry.area import Area
from registry.store import Registry, ResidentRecord
from servicecentre import Reach, ServiceCentre
from tests.alerting.conftest import T0, Downlinks, FakeClock, RecordingBus, advance
from tests.alerting.conftest import TABLES as ALERT_TABLES
from tests.orgs import add_org_tree
from tests.services import TestServices, emptied, migrated_pool

ORG = {"C 郑州市": {"D1 金水区": {"S1 经八路街道": ["K1 黄河社区"]}, "D2 二七区": {"S2 建中街街道": ["K2 建中社区"]}}}
D1, D2, K1 = "/C/D1/", "/C/D2/", "/C/D1/S1/K1/"
RESIDENTS = (
    ResidentRecord("r-old", "王秀英", phone="138 0000 0001", birth_date=date(1940, 5, 1), org_node="K1"),
    ResidentRecord("r-d2", "李桂兰", phone="13800000002", birth_date=date(1945, 1, 1), org_node="K2"),
    ResidentRecord("r-young", "张伟", phone="13800000003", birth_date=date(1970, 1, 1), org_node="K1"),
    ResidentRecord("r-unknown", "赵敏", phone="13800000004", org_node="K1"),
)
SERVICE_TABLES = (
    "service_audit, order_timers, service_complaints, service_orders, order_plans, service_calls, service_sites,"
    " provider_staff, provider_items, providers, service_items, service_categories"
)


@pytest.fixture(scope="session")
async def centre_pool(services: TestServices) -> AsyncIterator[AsyncConnectionPool]:
    async with migrated_pool(services, "registry", "alerting", "servicecentre") as pool:
        registry = Registry(pool)
        await add_org_tree(registry, ORG)
        for resident in RESIDENTS:
            await registry.add_resident(resident)
        yield pool


@pytest.fixture
async def pool(centre_pool: AsyncConnectionPool) -> AsyncConnectionPool:
    return await emptied(centre_pool, SERVICE_TABLES, ALERT_TABLES)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@dataclass
class World:
    centre: ServiceCentre
    alerts: AlertService
    clock: FakeClock
    centre_staff: Reach  # the city's operator
    d1: Reach
    d2: Reach
    p1: Reach  # provider P1's dispatcher
    p2: Reach

    async def advance(self, seconds: float) -> None:
        """Move the clock, firing every deadline (alerts' and orders') at its due time on the way."""
        await advance(self.alerts, self.clock, seconds)


MENU = {
    "meal": ("助餐", "Meals"),
    "clean": ("助洁", "Cleaning"),
}


async def make_world(pool: AsyncConnectionPool, clock: FakeClock) -> World:
    registry = Registry(pool)
    await registry.load()
    alerts = AlertService(
        pool,
        RecordingBus(),
        downlink=Downlinks(),
        clock=clock,
        org_of=registry.resident_org_path,
        config=AlertingConfig(policy=EscalationPolicy(ring_again_s=(60,), supervisor_s=None, family_s=None)),
    )
    centre = ServiceCentre(pool, clock=clock, scheduler=alerts.scheduler, raise_alerts=alerts.raise_detections)
    await alerts.restore()
    await centre.restore()
    city = Reach(Area("/"), None, "op-city")
    for code, (name, name_en) in MENU.items():
        await centre.menu.put_category({"code": code, "name": name, "name_en": name_en}, city)
    item = {"unit": "份", "subsidised": True, "subsidy_fen": 500, "subsidy_min_age": 60, "duration_min": 30}
    await centre.menu.put_item({"id": "lunch", "category": "meal", "name": "午餐", "name_en": "lunch",
                                "price_fen": 1500, **item}, city)  # fmt: skip
    await centre.menu.put_item({"id": "snack", "category": "meal", "name": "点心", "name_en": "snack",
                                "price_fen": 300, **item}, city)  # fmt: skip
    await centre.menu.put_item({"id": "clean", "category": "clean", "name": "居家保洁", "name_en": "home cleaning",
                                "unit": "次", "price_fen": 6000, "subsidised": False, "subsidy_fen": 0,
                                "subsidy_min_age": 60, "duration_min": 120}, city)  # fmt: skip
    await centre.menu.put_provider({"id": "P1", "name": "金水助餐服务中心", "licence": "豫民养 001",
                                    "org_node": "D1", "areas": ["D1"]}, city)  # fmt: skip
    await centre.menu.put_provider({"id": "P2", "name": "郑州家政公司", "licence": "豫民养 002",
                                    "org_node": "C", "areas": ["D1", "D2"]}, city)  # fmt: skip
    await centre.menu.offer("P1", "lunch", 1200, city)
    await centre.menu.offer("P1", "snack", 300, city)
    await centre.menu.offer("P1", "clean", 5000, city)
    await centre.menu.offer("P2", "lunch", 1400, city)
    for provider, username in (("P1", "p1-desk"), ("P1", "w1"), ("P2", "p2-desk"), ("P2", "w2")):
        await centre.menu.add_staff(provider, username, city, name=username)
    return World(
        centre,
        alerts,
        clock,
        city,
        Reach(Area(D1), None, "op-d1"),
        Reach(Area(D2), None, "op-d2"),
        await centre.reach_of("p1-desk", "provider", Area("/")),
        await centre.reach_of("p2-desk", "provider", Area("/")),
    )


@pytest.fixture
async def world(pool: AsyncConnectionPool, clock: FakeClock) -> World:
    return await make_world(pool, clock)


LUNCH_TIME = T0 + timedelta(hours=2)  # 12:00 local
