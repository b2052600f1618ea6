"""Alerting on a real PostgreSQL with a fake clock: every test gets a fresh database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from alerting import AlertBus, AlertEvent, AlertingConfig, AlertService, EscalationPolicy
from stream.detections import Detection, DetectionKind
from tests.services import TestServices, emptied, migrated_pool

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a Monday, 10:00 at UTC+8


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


class RecordingBus(AlertBus):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[AlertEvent] = []

    def publish(self, event: AlertEvent) -> None:
        self.events.append(event)
        super().publish(event)

    def types(self) -> list[str]:
        return [e.type.value for e in self.events]

    def steps(self) -> list[str]:
        return [e.detail.get("step", "") for e in self.events if e.type.value == "alert.escalated"]


class Downlinks:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, device_id: str, command: dict[str, Any]) -> None:
        self.sent.append((device_id, command))

    def types(self, device_id: str | None = None) -> list[str]:
        return [c["type"] for d, c in self.sent if device_id is None or d == device_id]


ORG = {
    "res-1": "/c/d1/s1/k1/",
    "res-2": "/c/d1/s1/k2/",
    "res-3": "/c/d2/s3/k5/",
}


def detection(
    kind: DetectionKind | str = DetectionKind.SOS,
    resident: str = "res-1",
    device: str = "btn-1",
    key: str | None = None,
    ts: datetime = T0,
) -> Detection:
    kind = DetectionKind(kind)
    key = key or f"{device}:{kind.value}:{int(ts.timestamp() * 1000)}"
    ms = int(ts.timestamp() * 1000)
    return Detection(resident, device, kind, ms, ms, key)


@pytest.fixture(scope="session")
async def alerting_pool(services: TestServices) -> AsyncIterator[AsyncConnectionPool]:
    """One database for the alerting tests (creating and dropping one per test costs seconds)."""
    async with migrated_pool(services, "alerting") as pool:
        yield pool


TABLES = (
    "alerts, alert_triggers, alert_audit, alert_timers, escalation_policies, responders, dispatches,"
    " notification_contacts, notification_deliveries, notification_outbox"
)


@pytest.fixture
async def pool(alerting_pool: AsyncConnectionPool) -> AsyncConnectionPool:
    """The alerting tables emptied for this test."""
    return await emptied(alerting_pool, TABLES)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


ServiceFactory = Callable[..., AlertService]
LOCAL_RECEIVERS = ("127.0.0.1",)


@pytest.fixture
def make_service(pool: AsyncConnectionPool, clock: FakeClock) -> ServiceFactory:
    def make(policy: EscalationPolicy | None = None, **config: Any) -> AlertService:
        # the tests' SMTP and webhook receivers listen on loopback: allowed explicitly, as a site would
        config.setdefault("notify_allowed_hosts", LOCAL_RECEIVERS)
        return AlertService(
            pool,
            RecordingBus(),
            downlink=Downlinks(),
            clock=clock,
            org_of=ORG.get,
            config=AlertingConfig(policy=policy or EscalationPolicy(), **config),
        )

    return make


@pytest.fixture
async def service(make_service: ServiceFactory) -> AlertService:
    svc = make_service()
    await svc.restore()
    return svc


def bus(service: AlertService) -> RecordingBus:
    assert isinstance(service.bus, RecordingBus)
    return service.bus


def downlinks(service: AlertService) -> Downlinks:
    assert isinstance(service.downlink, Downlinks)
    return service.downlink


async def advance(service: AlertService, clock: FakeClock, seconds: float, step: float = 1.0) -> None:
    """Move the fake clock forward, firing timers at their due times on the way (no sleeping)."""
    end = clock.now + timedelta(seconds=seconds)
    while True:
        due = service.scheduler.next_due()
        if due is None or due > end:
            break
        clock.now = max(clock.now, due)
        await service.tick()
    clock.now = end
    await service.tick()
