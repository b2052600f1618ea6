"""``alerts_daily`` and the SLA report on it: whole days from the rollup, the ends of a range from the
alerts, the same figures as a plain-Python reference over the alert rows, late answers included."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from psycopg_pool import AsyncConnectionPool

from alerting import AlertService
from alerting.alert_rollup import refresh_alerts_daily
from alerting.reports import sla_report
from stream.detections import DetectionKind
from tests.alerting.conftest import T0, FakeClock, detection

OFFSET_MIN = 480
DAY0 = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # local midnight of Monday 2026-03-02 at UTC+8


async def _clear(pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn:
        await conn.execute("TRUNCATE alerts_daily, rollup_positions")


async def _day_of_alerts(service: AlertService, clock: FakeClock, rng: random.Random, days: int) -> list[uuid.UUID]:
    """Per day and resident, three SOS calls 40 min apart; most answered within seconds to minutes, some
    never; a third of the answered ones get a responder on scene."""
    raised: list[uuid.UUID] = []
    for day in range(days):
        for k in range(3):
            for resident, device in (("res-1", "btn-1"), ("res-2", "btn-2"), ("res-3", "btn-3")):
                at = T0 + timedelta(days=day, minutes=40 * k + rng.randint(0, 9))
                clock.now = at
                [event] = await service.raise_detections(
                    [detection(DetectionKind.SOS, resident, device, key=f"{device}:{at.isoformat()}", ts=at)]
                )
                raised.append(event.alert.id)
                if rng.random() < 0.8:
                    clock.now = at + timedelta(seconds=rng.uniform(3, 240))
                    await service.acknowledge(event.alert.id, "op1")
                    if rng.random() < 0.35:
                        await _on_scene(service.pool, event.alert.id, at + timedelta(minutes=rng.uniform(5, 30)))
    return raised


async def _on_scene(pool: AsyncConnectionPool, alert_id: uuid.UUID, at: datetime) -> None:
    async with pool.connection() as conn:
        await conn.execute("UPDATE alerts SET on_scene_at = %s WHERE id = %s", (at, alert_id))
        await conn.execute(
            "INSERT INTO alert_audit (alert_id, at, actor, action) VALUES (%s, %s, 'resp-1', 'on_scene')",
            (alert_id, at),
        )


async def reference(pool: AsyncConnectionPool, start: datetime, end: datetime) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (district, local day): the report's figures computed in Python from the alert rows."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT org_path, ringing_at, acknowledged_at, on_scene_at FROM alerts"
            " WHERE ringing_at >= %s AND ringing_at < %s",
            (start, end),
        )
        rows = await cursor.fetchall()
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in rows:
        local_day = (row["ringing_at"] + timedelta(minutes=OFFSET_MIN)).date().isoformat()  # type: ignore[call-overload]
        groups[(row["org_path"].split("/")[2], local_day)].append(row)  # type: ignore[call-overload]
    figures = {}
    for key, group in groups.items():
        answers = [(r["acknowledged_at"] - r["ringing_at"]).total_seconds() for r in group if r["acknowledged_at"]]
        scenes = [(r["on_scene_at"] - r["ringing_at"]).total_seconds() for r in group if r["on_scene_at"]]
        figures[key] = {
            "alerts": len(group),
            "answered": len(answers),
            "within_60s": round(sum(a <= 60 for a in answers) / len(group), 4),
            "within_180s": round(sum(a <= 180 for a in answers) / len(group), 4),
            "answer_p50_s": round(float(np.percentile(answers, 50)), 1) if answers else None,
            "answer_p90_s": round(float(np.percentile(answers, 90)), 1) if answers else None,
            "answer_max_s": round(max(answers), 1) if answers else None,
            "on_scene": len(scenes),
            "on_scene_p90_s": round(float(np.percentile(scenes, 90)), 1) if scenes else None,
        }
    return figures


def _by_area_day(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    keys = ("alerts", "answered", "within_60s", "within_180s", "answer_p50_s", "answer_p90_s", "answer_max_s")
    return {
        (row["area"], row["period"]): {k: row[k] for k in (*keys, "on_scene", "on_scene_p90_s")}
        for row in report["areas"]
    }


async def test_whole_days_come_from_the_rollup_and_equal_the_alert_rows(
    service: AlertService, clock: FakeClock, pool: AsyncConnectionPool
) -> None:
    await _clear(pool)
    raised = await _day_of_alerts(service, clock, random.Random(15), days=3)
    start, end = DAY0, DAY0 + timedelta(days=3)

    # not yet refreshed: whole days are read from the rollup, which is empty
    before = await sla_report(pool, start, end, "/c/", "day", OFFSET_MIN)
    assert before["total"]["alerts"] == 0

    assert await refresh_alerts_daily(pool, OFFSET_MIN) == 9  # 3 communities x 3 days
    assert await refresh_alerts_daily(pool, OFFSET_MIN) == 0  # nothing new
    report = await sla_report(pool, start, end, "/c/", "day", OFFSET_MIN)
    expected = await reference(pool, start, end)
    assert _by_area_day(report) == expected
    assert report["total"]["alerts"] == len(raised) == 27

    # an alert of the first day answered two days late: the next refresh corrects that day only
    unanswered = [a for a in raised[:9] if (await service.get(a)).acknowledged_at is None]
    assert unanswered, "the seeded day has an unanswered call"
    clock.now = T0 + timedelta(days=2, hours=5)
    await service.acknowledge(unanswered[0], "op2")
    stale = await sla_report(pool, start, end, "/c/", "day", OFFSET_MIN)
    assert _by_area_day(stale) == expected  # the rollup has not seen it yet
    assert await refresh_alerts_daily(pool, OFFSET_MIN) >= 1
    fresh = await sla_report(pool, start, end, "/c/", "day", OFFSET_MIN)
    assert _by_area_day(fresh) == await reference(pool, start, end)
    assert _by_area_day(fresh) != expected


async def test_partial_days_at_the_ends_are_read_from_the_alerts(
    service: AlertService, clock: FakeClock, pool: AsyncConnectionPool
) -> None:
    await _clear(pool)
    await _day_of_alerts(service, clock, random.Random(7), days=3)
    await refresh_alerts_daily(pool, OFFSET_MIN)
    start, end = DAY0 + timedelta(hours=10, minutes=5), DAY0 + timedelta(days=2, hours=10, minutes=45)
    month = await sla_report(pool, start, end, "/c/d1/", "month", OFFSET_MIN)
    rows = await reference(pool, start, end)
    d1 = [f for (area, _), f in rows.items() if area == "d1"]
    assert month["total"]["alerts"] == sum(f["alerts"] for f in d1)
    assert month["total"]["answered"] == sum(f["answered"] for f in d1)
    assert [(row["area"], row["period"]) for row in month["areas"]] == [("s1", "2026-03-01")]
    whole = await sla_report(pool, start, end, "/c/", "all", OFFSET_MIN)
    assert whole["total"]["alerts"] == sum(f["alerts"] for f in rows.values())
