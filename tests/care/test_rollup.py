"""The rollup (``care/rollup.py``) gives exactly what the raw rows give.

A seeded district with three months of memberships that begin and end mid-month, residents who move
between communities (one a minute before a month ends, one at the very first instant of a month),
visits on both sides of local midnight at the month's edge, devices installed, retired and added
late, home care beds, care calls and assessments. Every indicator report, visit rate and overdue list
read from the rollup is compared with the same one computed from the raw rows: once built, then after
each kind of change (caught up resident by resident, no rebuild), when a month closes and when a day
turns.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from care import CareService
from care.categories import ASSESSED_CATEGORIES
from care.context import child_code
from care.periods import Month, month_bounds
from registry.area import Area
from registry.store import Registry
from tests.care.conftest import EVERYWHERE, ROOT, FakeClock, Registered

CST = timezone(timedelta(hours=8))
NODES = {"A1": "/C1/D1/S1/A1/", "A2": "/C1/D1/S1/A2/", "B1": "/C1/D1/S2/B1/"}
PATHS = ("/", "/C1/D1/S1/", "/C1/D1/S2/", *NODES.values())
AREAS = (EVERYWHERE, Area("/C1/D1/S1/"), Area("/C1/D1/S2/B1/"), Area("/C1/D1/S1/A2/", "r007"))
CATEGORIES = ("living_alone", "empty_nest", "dibao", "disabled", "very_old")


def months_to(now: datetime) -> tuple[Month, Month, Month]:
    this = Month.of(now, 480)
    last = Month.of(month_bounds(this, 480)[0] - timedelta(days=1), 480)
    before = Month.of(month_bounds(last, 480)[0] - timedelta(days=1), 480)
    return before, last, this


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CST)


async def seed(care: CareService, registered: Registered, now: datetime, rng: random.Random) -> list[str]:
    before, last, this = months_to(now)
    mid_last = last.first_day + timedelta(days=14)
    ids = []
    for n in range(40):
        rid, node = f"r{n:03d}", ("A1", "A2", "B1")[n % 3]
        born = None if n % 9 == 0 else date(1926 + rng.randrange(45), rng.randrange(1, 13), rng.randrange(1, 28))
        registered_at = at(mid_last) if n % 11 == 5 else at(this.first_day, 1) if n % 13 == 6 else datetime(
            2024, 1, 1, tzinfo=UTC)  # fmt: skip
        ids.append(await registered.resident(rid, node, born, registered_at))
    # moves: mid-month, a minute before a month ends, at the first instant of a month
    await registered.lived("r003", (datetime(2024, 1, 1, tzinfo=UTC), NODES["A1"]), (at(mid_last), NODES["B1"]))
    await registered.lived("r004", (datetime(2024, 1, 1, tzinfo=UTC), NODES["A2"]),
                           (at(before.last_day, 23, 59), NODES["B1"]))  # fmt: skip
    await registered.lived("r005", (datetime(2024, 1, 1, tzinfo=UTC), NODES["B1"]),
                           (at(last.first_day, 0), NODES["A1"]))  # fmt: skip
    await registered.lived("r008", (at(before.first_day, 10), NODES["A2"]), (at(this.first_day, 9), NODES["A1"]))
    starts = (before.first_day - timedelta(days=40), mid_last, this.first_day, this.last_day + timedelta(days=3))
    ends = (None, None, before.last_day, mid_last, this.first_day + timedelta(days=1))
    for rid in ids:
        if rng.random() < 0.25:
            continue
        for category in rng.sample(CATEGORIES, rng.choice((1, 1, 2))):
            valid_from = rng.choice(starts)
            valid_to = rng.choice([e for e in ends if e is None or e >= valid_from])
            await care.memberships.add(rid, {"category": category, "valid_from": valid_from, "valid_to": valid_to},
                                       EVERYWHERE, ROOT)  # fmt: skip
        for _ in range(rng.randrange(5)):
            moment = month_bounds(before, 480)[0] + (now - month_bounds(before, 480)[0]) * rng.random()
            visit = {"at": min(moment, now - timedelta(minutes=1)), "mode": rng.choice(("in_person", "phone", "video"))}
            await care.visits.record(rid, visit, EVERYWHERE, ROOT)
    for rid, moment in (("r001", at(before.last_day, 23, 30)), ("r002", at(last.first_day, 0, 30)),
                        ("r006", at(last.last_day, 23, 59)), ("r007", at(this.first_day, 0, 0))):  # fmt: skip
        await care.memberships.add(rid, {"category": "living_alone", "valid_from": before.first_day}, EVERYWHERE, ROOT)
        if moment < now:
            await care.visits.record(rid, {"at": moment, "mode": "in_person"}, EVERYWHERE, ROOT)
    await care.visits.set_rule(NODES["B1"], "living_alone", 7, ["in_person"], EVERYWHERE, ROOT)
    await care.visits.set_rule(NODES["A2"], "empty_nest", 14, ["phone"], EVERYWHERE, ROOT)
    async with registered.pool.connection() as conn:
        for n, rid in enumerate(ids):
            status, created, updated = ("active", datetime(2024, 6, 1, tzinfo=UTC), now)
            if n % 6 == 1:
                status, updated = "retired", at(mid_last)
            elif n % 6 == 2:
                status = "failed"
            elif n % 6 == 3:
                created = at(this.first_day, 8)
            elif n % 6 == 4:
                continue
            await conn.execute(
                "INSERT INTO devices (id, resident_id, type, status, created_at, updated_at)"
                " VALUES (%s, %s, 'sos_button', %s, %s, %s)",
                (f"btn-{rid}", rid, status, created, min(updated, now)),
            )
        for n, rid in enumerate(ids[::4]):
            await conn.execute(
                "INSERT INTO care_calls (resident_id, operator, org_path, started_at, finished_at, outcome)"
                " VALUES (%s, 'op', '/', %s, %s, %s)",
                (rid, at(mid_last), at(mid_last, 12, 5), ("reached", "no_answer", "abandoned", "busy")[n % 4]),
            )
        for rid, assessed in (("r010", last.first_day), ("r013", before.first_day - timedelta(days=350))):
            await conn.execute(
                "INSERT INTO care_assessments (resident_id, instrument, assessed_on, valid_until, assessor, answers,"
                " domain_scores, total, level, org_path, recorded_by)"
                " VALUES (%s, 'gbt42195-2022', %s, %s, 'x', '{}', '{}', 50, 'mild', '/', 'x')",
                (rid, assessed, assessed + timedelta(days=365)),
            )
    beds = (("r010", mid_last, None), ("r012", before.first_day, mid_last), ("r014", this.first_day, None),
            ("r015", before.first_day, None), ("r016", before.first_day, None))  # fmt: skip
    for n, (rid, start, end) in enumerate(beds):
        bed = await care.beds.create(rid, {"provider": "p", "level": "mild", "start_date": start, "end_date": end,
                                           "kit": ["sos_button"] if n % 2 else [], "services_per_month": n,
                                           "visits_per_month": n % 2}, EVERYWHERE, ROOT)  # fmt: skip
        for day in range(n + 1):
            moment = at(last.first_day + timedelta(days=3 * day))
            await care.beds.record_service(bed["id"], {"at": moment, "service": "bathing"}, EVERYWHERE, ROOT)
    return ids


async def today_from_rows(care: CareService, path: str) -> list[dict[str, Any]]:
    """The dashboard's counts of today (care/dashboard.py) from the raw rows: the overdue list a week
    ahead, and the assessments needed (失能, 重残 or a bed today) with none valid 30 days ahead."""
    now, today = care.ctx.clock(), care.today()
    areas: dict[str, dict[str, int]] = {}

    def area(org_path: str) -> dict[str, int]:
        counts = {"overdue": 0, "due_soon": 0, "calls_due": 0, "assessments_due": 0}
        return areas.setdefault(child_code(path, org_path), counts)

    for row in await care.visits.overdue_from_rows(Area(path), ROOT, within_days=7, limit=100_000):
        counts = area(row["org_path"])
        if row["next_due"] <= now:
            counts["overdue"] += 1
            counts["calls_due"] += "phone" in row["modes"]
        else:
            counts["due_soon"] += 1
    async with care.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT r.org_path FROM residents r WHERE r.org_path LIKE %(prefix)s AND (EXISTS (SELECT 1 FROM"
            " care_categories c WHERE c.resident_id = r.id AND c.category = ANY(%(assessed)s) AND c.valid_from <="
            " %(today)s AND (c.valid_to IS NULL OR c.valid_to >= %(today)s)) OR EXISTS (SELECT 1 FROM care_beds b"
            " WHERE b.resident_id = r.id AND b.start_date <= %(today)s AND (b.end_date IS NULL OR b.end_date >="
            " %(today)s))) AND coalesce((SELECT a.valid_until FROM care_assessments a WHERE a.resident_id = r.id"
            " ORDER BY a.assessed_on DESC, a.id DESC LIMIT 1), '-infinity') < %(notice)s",
            {"prefix": f"{path}%", "assessed": list(ASSESSED_CATEGORIES), "today": today,
             "notice": today + timedelta(days=30)},
        )  # fmt: skip
        for row in await cursor.fetchall():
            area(row["org_path"])["assessments_due"] += 1  # type: ignore[call-overload]
    return [{"code": code, **counts} for code, counts in sorted(areas.items()) if any(counts.values())]


async def assert_rollup_is_exact(care: CareService, months: tuple[Month, ...], after: str = "") -> dict[str, Any]:
    """Compare everything; return the district's report of the middle month (to see it is not empty)."""
    for month in months:
        for path in PATHS:
            rolled = await care.indicators.monthly(path, month, ROOT)
            raw = await care.indicators.monthly_from_rows(path, month, ROOT)
            assert rolled == raw, (after, str(month), path)
            rate = await care.visits.monthly_rate(path, month)
            assert await care.indicators.visit_rate(path, month) == rate, (after, str(month), path)
    for area in AREAS:
        for within in (0, 9):
            listed = await care.visits.overdue(area, ROOT, within)
            assert listed == await care.visits.overdue_from_rows(area, ROOT, within), (after, area, within)
    for path in PATHS:
        assert await today_from_rows(care, path) == (await care.dashboard.today(path))["areas"], (after, path)
    return await care.indicators.monthly("/C1/D1/", months[len(months) // 2], ROOT)


async def test_the_rollup_equals_the_raw_rows_through_every_kind_of_change(
    care: CareService, registered: Registered, clock: FakeClock
) -> None:
    clock.now = datetime.now(UTC)
    months = months_to(clock.now)
    ids = await seed(care, registered, clock.now, random.Random(42))
    report = await assert_rollup_is_exact(care, months)
    total = report["total"]
    assert total["residents"] > 30 and total["visits_due"] > 10 and 0 < total["visited"] < total["visits_due"]
    assert total["with_devices"] > 10 and total["with_beds"] == 4 and total["calls"] == 8 and total["categories"]
    assert 0 < total["beds_compliant"] < total["beds"] == 4
    counts = (await care.dashboard.today("/"))["total"]
    assert all(counts[key] > 0 for key in ("overdue", "due_soon", "calls_due", "assessments_due")), counts
    rebuilt, last_month = care.rollup.rebuilt, months[1]
    registry = Registry(registered.pool)

    async def sql(statement: str, *params: Any) -> None:
        async with registered.pool.connection() as conn:
            await conn.execute(statement, params)

    async def call() -> None:
        started = await care.calls.start("r020", EVERYWHERE, ROOT)
        await care.calls.finish(started["id"], {"outcome": "reached", "findings": {"health": "ok"}}, EVERYWHERE, ROOT)

    before = months[0].first_day

    async def service(resident_id: str, moment: datetime) -> None:
        bed = await care.beds.compliance(Area(), ROOT, last_month)
        bed_id = next(row["id"] for row in bed if row["resident_id"] == resident_id)
        await care.beds.record_service(bed_id, {"at": moment, "service": "cleaning"}, EVERYWHERE, ROOT)

    membership = next(m for m in await care.memberships.of_resident("r001", EVERYWHERE, ROOT)
                      if (m["category"], m["valid_from"], m["valid_to"]) == ("living_alone", before, None))  # fmt: skip
    changes: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("a visit a minute before last month ended", lambda: care.visits.record(
            "r030", {"at": at(last_month.last_day, 23, 59), "mode": "in_person"}, EVERYWHERE, ROOT)),
        ("a move through the registry", lambda: registry.update_resident("r009", {"org_node": "B1"}, EVERYWHERE, ROOT)),
        ("a membership ended", lambda: care.memberships.end("r001", membership["id"], last_month.first_day,
                                                            EVERYWHERE, ROOT)),
        ("a membership added", lambda: care.memberships.add(
            "r016", {"category": "disabled", "valid_from": last_month.last_day}, EVERYWHERE, ROOT)),
        ("a device retired", lambda: sql(
            "UPDATE devices SET status = 'retired', updated_at = now() WHERE id = 'btn-r000'")),
        ("a device added", lambda: sql(
            "INSERT INTO devices (id, resident_id, type) VALUES ('btn-x', 'r004', 'sos_button')")),
        ("a device moved to another resident", lambda: sql(
            "UPDATE devices SET resident_id = 'r022', updated_at = now() WHERE id = 'btn-r003'")),
        ("a home care bed", lambda: care.beds.create("r018", {"provider": "p", "level": "severe",
                                                               "start_date": last_month.first_day}, EVERYWHERE, ROOT)),
        ("a service under a home care bed", lambda: service("r016", at(last_month.last_day, 20))),
        ("a visit rule", lambda: care.visits.set_rule(NODES["A1"], "dibao", 3, ["video"], EVERYWHERE, ROOT)),
        ("a care call", call),
        ("an assessment", lambda: sql(
            "UPDATE care_assessments SET valid_until = valid_until + 30 WHERE resident_id = 'r013'")),
        ("a birth date corrected", lambda: sql("UPDATE residents SET birth_date = '1950-01-01' WHERE id = 'r000'")),
        ("a name corrected", lambda: sql("UPDATE residents SET name = '王秀英' WHERE id = 'r001'")),
        ("a resident removed", lambda: sql("DELETE FROM residents WHERE id = 'r028'")),
    ]  # fmt: skip
    assert "r028" in ids
    for name, change in changes:
        await change()
        clock.now = datetime.now(UTC)
        await assert_rollup_is_exact(care, months, name)
    assert care.rollup.rebuilt == rebuilt  # every change was caught up resident by resident
    assert care.rollup.refreshed >= len(changes)


async def test_a_month_closes_and_a_day_turns(care: CareService, registered: Registered, clock: FakeClock) -> None:
    clock.now = datetime(2026, 1, 31, 23, 0, tzinfo=CST)
    for rid, category, valid_from, valid_to in (
        ("m1", "living_alone", date(2025, 12, 1), date(2026, 1, 31)),  # ends with the month
        ("m2", "disabled", date(2026, 2, 1), None),  # begins with the next
        ("m3", "empty_nest", date(2025, 11, 1), None),
    ):
        await registered.resident(rid, "A1", date(1945, 5, 5))
        await care.memberships.add(rid, {"category": category, "valid_from": valid_from, "valid_to": valid_to},
                                   EVERYWHERE, ROOT)  # fmt: skip
    january, february = Month(2026, 1), Month(2026, 2)
    await assert_rollup_is_exact(care, (january,))
    assert [row["resident_id"] for row in await care.visits.overdue(EVERYWHERE, ROOT)] == ["m3", "m1"]
    await care.visits.record("m3", {"at": datetime(2026, 1, 31, 23, 4, tzinfo=CST), "mode": "phone"}, EVERYWHERE, ROOT)
    rebuilt = care.rollup.rebuilt
    clock.now = datetime(2026, 2, 1, 0, 30, tzinfo=CST)  # January closes, a new day begins
    report = await assert_rollup_is_exact(care, (january, february))
    assert care.rollup.rebuilt == rebuilt + 2  # January rebuilt as of its end, February built
    january_rate = await care.indicators.visit_rate("/", january)
    assert (january_rate["due"], january_rate["visited"]) == (2, 1)
    assert [row["resident_id"] for row in await care.visits.overdue(EVERYWHERE, ROOT, within_days=60)] == ["m2", "m3"]
    assert report["total"]["visits_due"] == 2  # February: m2 (from the 1st) and m3; m1's ended in January
