"""``eldercare bench service`` on a small district: its figures are consistent with each other."""

from __future__ import annotations

from lab.bench.service import simulate
from tests.services import TestServices


async def test_a_small_simulated_day_adds_up(services: TestServices) -> None:
    result = await simulate(services.admin_database_url, residents=300, calls=80, plan_share=0.1, emergencies=2,
                            seed=7)  # fmt: skip
    assert result["orders"] >= 30 + 40  # 30 residents on the plan (Monday to Wednesday ahead), ~50 requests
    assert result["completed"] + result["cancelled"] + result["refused"] == result["orders"]
    assert 0.5 < result["on_time_rate"] <= 1.0
    assert result["missed_deadlines"] == result["deadline_timers_fired"]  # a timer fires only when missed
    assert 1.0 <= result["satisfaction_mean"] <= 5.0 and result["ratings"] > 0
    assert result["phone_alerts"] == 2 and result["calls"] == 82
    assert result["board_queries"] == 3 * (16 * 12) and result["board_p99_ms"] >= result["board_p50_ms"]
    assert sum(result["by_category"].values()) == result["orders"]
