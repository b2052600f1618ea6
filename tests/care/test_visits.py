"""Visit plans, the overdue list and the monthly visit rate, on a seeded district, against hand counts.

January 2026 (UTC+8), seen from 10 February (the clock):

* r1 (A1, 独居 weekly): visited 31 Jan 23:30 local (15:30 UTC) → visited in January.
* r2 (A1, 空巢 monthly): visited 1 Feb 00:30 local (31 Jan 16:30 UTC) → February, not January.
* r3 (低保 monthly): lived in A1, visited there on 5 Jan, moved to B1 on 20 Jan, to A2 on 5 Feb
  → January: due and visited in B1 (where they lived at the month's end), nothing in A1.
* r4 (A2, 空巢 from 5 Feb) → not due in January, due in February.
* r5 (A2, 特困 until 31 Dec 2025) → due in neither month.
* r6 (B1, 独居; B1's rule takes in-person visits only): a phone call on 10 Jan → due, not visited.

January under D1: due 4 (r1 r2 r3 r6), visited 2 (r1 r3) → 0.5; S1 1/2, S2 1/2.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from alerting import AlertBus, AlertService
from care import CareService
from care.periods import Month, month_bounds
from registry.area import Area
from registry.errors import Invalid, NotFound
from registry.store import Registry
from tests.care.conftest import EVERYWHERE, ROOT, FakeClock, Registered, SignalsStub

CST = timezone(timedelta(hours=8))
D1 = "/C1/D1/"


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CST)


async def seed(care: CareService, registered: Registered) -> None:
    members = (
        ("r1", "A1", "living_alone", date(2025, 12, 1), None),
        ("r2", "A1", "empty_nest", date(2025, 12, 1), None),
        ("r3", "A1", "dibao", date(2025, 12, 1), None),
        ("r4", "A2", "empty_nest", date(2026, 2, 5), None),
        ("r5", "A2", "tekun", date(2025, 1, 1), date(2025, 12, 31)),
        ("r6", "B1", "living_alone", date(2025, 12, 1), None),
    )
    for rid, node, category, start, end in members:
        await registered.resident(rid, node)
        await care.memberships.add(rid, {"category": category, "valid_from": start, "valid_to": end,
                                         "source": "民政台账"}, EVERYWHERE, ROOT)  # fmt: skip
    await registered.lived("r3", (local(2025, 11, 1), "/C1/D1/S1/A1/"), (local(2026, 1, 20, 9), "/C1/D1/S2/B1/"),
                           (local(2026, 2, 5, 9), "/C1/D1/S1/A2/"))  # fmt: skip
    async with registered.pool.connection() as conn:
        await conn.execute("UPDATE residents SET org_node = 'A2' WHERE id = 'r3'")
        await conn.execute("DELETE FROM care_residence WHERE resident_id = 'r3' AND since > %s", (local(2026, 2, 6),))
    await care.visits.set_rule("/C1/D1/S2/B1/", "living_alone", 7, ["in_person"], EVERYWHERE, ROOT)
    for rid, at, mode in (
        ("r1", local(2026, 1, 31, 23, 30), "in_person"),
        ("r2", local(2026, 2, 1, 0, 30), "phone"),
        ("r3", local(2026, 1, 5, 10), "in_person"),
        ("r6", local(2026, 1, 10, 10), "phone"),
    ):
        await care.visits.record(rid, {"at": at, "mode": mode, "visitor": "worker-1",
                                       "findings": {"health": "ok"}}, EVERYWHERE, ROOT)  # fmt: skip


def test_month_bounds_are_local_calendar_months() -> None:
    start, end = month_bounds(Month(2026, 1), 480)
    assert start == datetime(2025, 12, 31, 16, tzinfo=UTC) and end == datetime(2026, 1, 31, 16, tzinfo=UTC)
    assert Month(2026, 12).next() == Month(2027, 1) and Month(2024, 2).last_day == date(2024, 2, 29)
    for bad in ("2026-13", "2026-1", "26-01", "2026-00"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            Month.parse(bad)


async def test_january_rate_counts_each_resident_once_where_they_lived_at_month_end(
    care: CareService, registered: Registered
) -> None:
    await seed(care, registered)
    january = await care.visits.monthly_rate(D1, Month(2026, 1), by="resident")
    assert (january["due"], january["visited"], january["rate"]) == (4, 2, 0.5)
    assert january["areas"] == [
        {"code": "S1", "due": 2, "visited": 1, "rate": 0.5},
        {"code": "S2", "due": 2, "visited": 1, "rate": 0.5},
    ]
    placed = {row["resident_id"]: (row["org_path"], row["visited"]) for row in january["residents"]}
    assert placed == {
        "r1": ("/C1/D1/S1/A1/", True),  # 23:30 on the 31st, local time, is still January
        "r2": ("/C1/D1/S1/A1/", False),  # 00:30 on 1 February is not
        "r3": ("/C1/D1/S2/B1/", True),  # visited in A1, counted in B1 where they lived on 31 January
        "r6": ("/C1/D1/S2/B1/", False),  # B1 takes in-person visits only
    }
    community = await care.visits.monthly_rate("/C1/D1/S1/", Month(2026, 1))
    assert community["areas"] == [{"code": "A1", "due": 2, "visited": 1, "rate": 0.5}]  # r3 left A1
    # the dashboard reads the rollup: the same figures, the mover and the midnight visits included
    by_child = {key: value for key, value in january.items() if key != "residents"}
    assert await care.indicators.visit_rate(D1, Month(2026, 1)) == by_child
    assert await care.indicators.visit_rate("/C1/D1/S1/", Month(2026, 1)) == community


async def test_the_running_month_places_residents_where_they_live_now(
    care: CareService, registered: Registered
) -> None:
    await seed(care, registered)
    february = await care.visits.monthly_rate(D1, Month(2026, 2), by="resident")
    placed = {row["resident_id"]: (row["org_path"], row["visited"]) for row in february["residents"]}
    assert placed == {
        "r1": ("/C1/D1/S1/A1/", False),
        "r2": ("/C1/D1/S1/A1/", True),
        "r3": ("/C1/D1/S1/A2/", False),  # moved to A2 on 5 February
        "r4": ("/C1/D1/S1/A2/", False),  # in the category from 5 February: due this month
        "r6": ("/C1/D1/S2/B1/", False),
    }
    assert (february["due"], february["visited"]) == (5, 1)
    empty = await care.visits.monthly_rate(D1, Month(2024, 6))
    assert (empty["due"], empty["rate"]) == (0, None)


async def test_overdue_list_puts_the_platforms_signals_first(
    care: CareService, registered: Registered, signals: SignalsStub, clock: FakeClock
) -> None:
    await seed(care, registered)
    overdue = await care.visits.overdue(EVERYWHERE, ROOT)
    # r6: never visited in person, due since 8 Dec; r3: last visit 5 Jan + 30 d; r1: 31 Jan + 7 d
    assert [row["resident_id"] for row in overdue] == ["r6", "r3", "r1"]
    assert overdue[2]["next_due"] == local(2026, 2, 7, 23, 30)
    assert overdue[2]["overdue_days"] == pytest.approx(2.4, abs=0.05)
    signals.answer = {"r1": ["no_activity_today"], "r3": ["device_offline"]}
    overdue = await care.visits.overdue(EVERYWHERE, ROOT)
    assert [row["resident_id"] for row in overdue] == ["r1", "r3", "r6"]
    assert overdue[0]["signals"] == ["no_activity_today"]
    soon = await care.visits.overdue(EVERYWHERE, ROOT, within_days=30)
    assert {row["resident_id"] for row in soon} == {"r1", "r2", "r3", "r4", "r6"}
    in_a1 = await care.visits.overdue(Area("/C1/D1/S1/A1/"), ROOT)
    assert [row["resident_id"] for row in in_a1] == ["r1"]


async def test_a_move_through_the_registry_is_recorded(care: CareService, registered: Registered) -> None:
    await registered.resident("mover", "A1")
    await Registry(registered.pool).update_resident("mover", {"org_node": "B1"}, EVERYWHERE, ROOT)
    async with registered.pool.connection() as conn:
        rows = await (await conn.execute(
            "SELECT org_path FROM care_residence WHERE resident_id = 'mover' ORDER BY since")).fetchall()  # fmt: skip
    assert [row["org_path"] for row in rows] == ["/C1/D1/S1/A1/", "/C1/D1/S2/B1/"]  # type: ignore[call-overload]


async def test_visits_are_scoped_audited_and_checked(care: CareService, registered: Registered) -> None:
    await registered.resident("r1", "A1")
    outside = Area("/C1/D1/S2/")
    with pytest.raises(NotFound):
        await care.visits.record("r1", {"at": local(2026, 2, 9), "mode": "phone"}, outside, ROOT)
    with pytest.raises(NotFound):
        await care.visits.of_resident("r1", outside, ROOT)
    with pytest.raises(Invalid, match="future"):
        await care.visits.record("r1", {"at": local(2026, 3, 1), "mode": "phone"}, EVERYWHERE, ROOT)
    with pytest.raises(Invalid, match="mode"):
        await care.visits.record("r1", {"at": local(2026, 2, 9), "mode": "telepathy"}, EVERYWHERE, ROOT)
    with pytest.raises(Invalid, match="category"):
        await care.memberships.add("r1", {"category": "rich", "valid_from": date(2026, 1, 1)}, EVERYWHERE, ROOT)
    visit = await care.visits.record("r1", {"at": local(2026, 2, 9), "mode": "video"}, EVERYWHERE, ROOT)
    await care.visits.get(visit["id"], Area("/C1/D1/S1/A1/"), ROOT)
    with pytest.raises(NotFound):
        await care.visits.get(visit["id"], outside, ROOT)
    async with registered.pool.connection() as conn:
        rows = await (await conn.execute(
            "SELECT action, object_type FROM registry_audit WHERE object_type = 'care_visit' AND object_id = %s"
            " ORDER BY id", (str(visit["id"]),))).fetchall()  # fmt: skip
    assert [(row["action"], row["object_type"]) for row in rows] == [("create", "care_visit"), ("read", "care_visit")]  # type: ignore[call-overload]


async def test_a_visit_can_raise_an_alert_once(registered: Registered, clock: FakeClock) -> None:
    pool = registered.pool
    alerts = AlertService(pool, AlertBus(), org_of=lambda rid: "/C1/D1/S1/A1/", clock=clock)
    await alerts.restore()
    care = CareService(pool, clock=clock, raise_alert=alerts.raise_detections)
    await registered.resident("r1", "A1")
    visit = await care.record_visit(
        "r1", {"at": local(2026, 2, 10, 9), "mode": "in_person", "findings": {"health": "chest pain"}},
        EVERYWHERE, ROOT, raise_alert=True,
    )  # fmt: skip
    assert visit["concern"] is True and visit["alert_id"] is not None
    opened = await alerts.open_alerts()
    assert [(a.resident_id, a.kind, a.id) for a in opened] == [("r1", "care_concern", visit["alert_id"])]
