"""The heap scheduler on a fake clock, and the simulated-day SLA benchmark on a small day."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from alerting.scheduler import Scheduler
from lab.bench.sla import simulate
from tests.alerting.conftest import T0, FakeClock
from tests.services import TestServices


async def test_scheduler_runs_in_order_survives_a_failing_callback_and_cancels(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    scheduler = Scheduler(clock)
    ran: list[str] = []

    def job(name: str, fail: bool = False):  # type: ignore[no-untyped-def]
        async def run() -> None:
            if fail:
                raise RuntimeError("boom")
            ran.append(name)

        return run

    scheduler.schedule(T0 + timedelta(seconds=20), "b", job("b"))
    scheduler.schedule(T0 + timedelta(seconds=10), "a", job("a"))
    scheduler.schedule(T0 + timedelta(seconds=15), "bad", job("bad", fail=True))
    scheduler.schedule(T0 + timedelta(seconds=30), "c", job("c"))
    assert scheduler.cancel("c") and not scheduler.cancel("c")
    assert await scheduler.run_due() == 0
    clock.advance(25)
    with caplog.at_level(logging.ERROR):
        assert await scheduler.run_due() == 3
    assert ran == ["a", "b"] and scheduler.failed == 1 and "scheduled callback failed" in caplog.text
    clock.advance(100)
    assert await scheduler.run_due() == 0 and scheduler.next_due() is None


async def test_bench_sla_small_day(services: TestServices) -> None:
    result = await simulate(services.database_url, alerts=40, operators=2, seed=7)
    total = result["report"]["total"]
    assert total["alerts"] + result["cancelled_by_resident"] <= 40
    assert total["answered"] == total["alerts"] > 0
    assert 0 < total["within_60s"] <= total["within_180s"] <= 1
