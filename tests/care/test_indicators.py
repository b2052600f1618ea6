"""Indicators of February 2026 on the seeded district 金水区 (D1), against values computed by hand.

Residents (ages on 28 Feb 2026):

=====  ==========  ===  ==============  =======================  ====================
who    community   age  category        device                   home care bed
=====  ==========  ===  ==============  =======================  ====================
a      A1 (S1)     75   独居            SOS button, active       yes
b      A1 (S1)     86   失能            —                        —
c      A2 (S1)     65   —               retired only after Feb   —
g      B1 → A2     70   —               —                        —     (moved 20 Feb: S1)
d      B1 (S2)     80   失能            —                        yes
f      B1 (S2)     —    —               —                        —     (no birth date)
e      B1 (S2)     —    —               —                        —     (registered 2 March: not yet)
=====  ==========  ===  ==============  =======================  ====================

Population 2026 (by community): A1 100/80/20 (60-69/70-79/80+) = 200, 失能 10, 独居 15; A2 50/40/10 = 100;
B1 150/100/50 = 300, 失能 5 (60-69) + 15 (80+) = 20. A 2025 row for A1 must be ignored.

S1: residents 4 of 300 → 0.0133; 60-69 1/150, 70-79 2/120, 80+ 1/30; devices 2/4 = 0.5; beds 1/4 = 0.25,
of 失能 1/10 = 0.1; 独居 1/15; 失能 1/10; visits: a visited, b not → 1/2.
S2: residents 2 of 300 → 0.0067; 80+ 1/50; devices 0/2; beds 1/2, of 失能 1/20 = 0.05; 失能 1/20; visits 0/1.
D1: 6 of 600 = 0.01; devices 2/6; beds 2/6, of 失能 2/30; visits 1/3.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from care import CareService
from care.indicators import to_csv, to_xlsx
from care.periods import Month
from registry.area import Area
from registry.errors import Invalid, OutOfScope
from tests.care.conftest import EVERYWHERE, ROOT, FakeClock, Registered

CST = timezone(timedelta(hours=8))
D1 = "/C1/D1/"


async def answer_times(start: datetime, end: datetime, path: str) -> dict[str, Any]:
    assert (start, end, path) == (datetime(2026, 1, 31, 16, tzinfo=UTC), datetime(2026, 2, 28, 16, tzinfo=UTC), D1)
    figures = {"alerts": 4, "answered": 4, "within_60s": 0.75, "answer_p50_s": 31.0, "answer_p90_s": 95.0}
    return {"areas": [{"area": "S1", **figures}], "total": figures}


ORDERS_S1 = {"orders": 12, "completed": 9, "cancelled": 1, "refused": 0, "due": 10, "on_time": 8,
             "on_time_rate": 0.8, "ratings": 6, "rating": 4.5, "subsidy_fen": 4500, "resident_fen": 9000}  # fmt: skip


async def service_orders(start: datetime, end: datetime, path: str) -> dict[str, Any]:
    assert (start, end, path) == (datetime(2026, 1, 31, 16, tzinfo=UTC), datetime(2026, 2, 28, 16, tzinfo=UTC), D1)
    return {"groups": [{"area": "S1", **ORDERS_S1}], "total": ORDERS_S1}


async def seed(care: CareService, registered: Registered) -> None:
    people = (("a", "A1", date(1950, 3, 1)), ("b", "A1", date(1940, 1, 1)), ("c", "A2", date(1960, 6, 1)),
              ("g", "A2", date(1955, 5, 5)), ("d", "B1", date(1945, 12, 31)), ("f", "B1", None))  # fmt: skip
    for rid, node, born in people:
        await registered.resident(rid, node, born)
    await registered.resident("e", "B1", date(1950, 1, 1), created_at=datetime(2026, 3, 2, tzinfo=UTC))
    await registered.lived("g", (datetime(2025, 1, 1, tzinfo=UTC), "/C1/D1/S2/B1/"),
                           (datetime(2026, 2, 20, tzinfo=CST), "/C1/D1/S1/A2/"))  # fmt: skip
    async with registered.pool.connection() as conn:
        await conn.execute(
            "INSERT INTO devices (id, resident_id, type, status, created_at) VALUES"
            " ('btn-a', 'a', 'sos_button', 'active', '2025-06-01'),"
            " ('btn-c', 'c', 'sos_button', 'retired', '2025-06-01'),"
            " ('btn-late', 'f', 'sos_button', 'active', '2026-03-01 12:00+08')"
        )
    for rid, category in (("a", "living_alone"), ("b", "disabled"), ("d", "disabled")):
        await care.memberships.add(rid, {"category": category, "valid_from": date(2025, 1, 1)}, EVERYWHERE, ROOT)
    for rid in ("a", "d"):
        await care.beds.create(rid, {"provider": "幸福家园", "level": "moderate", "start_date": date(2026, 2, 1)},
                               EVERYWHERE, ROOT)  # fmt: skip
    await care.visits.record("a", {"at": datetime(2026, 2, 12, 10, tzinfo=CST), "mode": "in_person"}, EVERYWHERE, ROOT)
    rows = [
        *({"org_node": node, "year": 2026, "age_band": band, "category": "all", "people": people}
          for node, counts in (("A1", (100, 80, 20)), ("A2", (50, 40, 10)), ("B1", (150, 100, 50)))
          for band, people in zip(("60-69", "70-79", "80+"), counts, strict=True)),
        {"org_node": "A1", "year": 2026, "age_band": "all", "category": "disabled", "people": 10},
        {"org_node": "A1", "year": 2026, "age_band": "all", "category": "living_alone", "people": 15},
        {"org_node": "B1", "year": 2026, "age_band": "60-69", "category": "disabled", "people": 5},
        {"org_node": "B1", "year": 2026, "age_band": "80+", "category": "disabled", "people": 15},
        {"org_node": "A1", "year": 2025, "age_band": "60-69", "category": "all", "people": 999},
    ]  # fmt: skip
    assert await care.indicators.import_population(rows, EVERYWHERE, ROOT) == len(rows)


@pytest.fixture
async def report(pool: object, registered: Registered, clock: FakeClock) -> dict[str, Any]:
    clock.now = datetime(2026, 3, 5, 10, tzinfo=CST)
    care = CareService(registered.pool, clock=clock, answer_times=answer_times, service_orders=service_orders)
    await care.prepare()
    await seed(care, registered)
    return await care.indicators.monthly(D1, Month(2026, 2), ROOT)


def cells(entry: dict[str, Any], group: str) -> dict[str, tuple[int, int, float | None]]:
    return {key: (cell["residents"], cell["population"], cell["rate"]) for key, cell in entry[group].items()}


async def test_street_figures(report: dict[str, Any]) -> None:
    s1, s2 = report["areas"]
    assert (s1["code"], s1["name"], s2["code"], s2["name"]) == ("S1", "经八路街道", "S2", "花园路街道")
    assert (s1["residents"], s1["population"], s1["enrolment"]) == (4, 300, 0.0133)
    assert cells(s1, "age_bands") == {"60-69": (1, 150, 0.0067), "70-79": (2, 120, 0.0167), "80+": (1, 30, 0.0333)}
    assert (s1["with_devices"], s1["device_coverage"]) == (2, 0.5)
    assert (s1["with_beds"], s1["bed_share"], s1["bed_coverage_of_disabled"]) == (1, 0.25, 0.1)
    assert cells(s1, "categories") == {"living_alone": (1, 15, 0.0667), "disabled": (1, 10, 0.1)}
    assert (s1["visits_due"], s1["visited"], s1["visit_rate"]) == (2, 1, 0.5)
    assert s1["alerts"]["within_60s"] == 0.75
    assert (s2["residents"], s2["population"], s2["enrolment"]) == (2, 300, 0.0067)
    assert cells(s2, "age_bands") == {"60-69": (0, 150, 0.0), "70-79": (0, 100, 0.0), "80+": (1, 50, 0.02)}
    assert (s2["with_devices"], s2["device_coverage"]) == (0, 0.0)
    assert (s2["with_beds"], s2["bed_share"], s2["bed_coverage_of_disabled"]) == (1, 0.5, 0.05)
    assert cells(s2, "categories") == {"disabled": (1, 20, 0.05)}
    assert (s2["visits_due"], s2["visited"], s2["visit_rate"]) == (1, 0, 0.0)
    assert s2["alerts"]["alerts"] is None  # no alert rang there
    assert s1["orders"] == {"orders": 12, "completed": 9, "due": 10, "on_time": 8, "on_time_rate": 0.8,
                            "ratings": 6, "rating": 4.5, "subsidy_fen": 4500}  # fmt: skip
    assert s2["orders"]["orders"] == 0 and s2["orders"]["on_time_rate"] is None  # no order there


async def test_district_total(report: dict[str, Any]) -> None:
    total = report["total"]
    assert (total["residents"], total["population"], total["enrolment"]) == (6, 600, 0.01)
    assert (total["device_coverage"], total["bed_share"], total["bed_coverage_of_disabled"]) == (0.3333, 0.3333, 0.0667)
    assert (total["visits_due"], total["visited"], total["visit_rate"]) == (3, 1, 0.3333)
    assert total["alerts"]["alerts"] == 4
    assert (total["orders"]["orders"], total["orders"]["on_time_rate"]) == (12, 0.8)


async def test_exports(report: dict[str, Any]) -> None:
    lines = to_csv(report).splitlines()
    assert lines[0].startswith("month,code,name,population,residents,enrolment,with_devices")
    assert lines[1].startswith("2026-02,S1,经八路街道,300,4,0.0133,2,0.5,1,0.25,0.1,2,1,0.5,4,0.75,31.0,95.0")
    assert lines[1].split(",")[22:27] == ["12", "9", "0.8", "4.5", "4500"]  # the service orders
    assert lines[3].startswith("2026-02,*,")
    assert len(lines) == 4
    import io

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(to_xlsx(report))).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("month", "code", "name") and values[1][:5] == ("2026-02", "S1", "经八路街道", 300, 4)


async def test_population_import_is_scoped_and_checked(care: CareService) -> None:
    row = {"org_node": "B1", "year": 2026, "age_band": "60-69", "category": "all", "people": 1}
    with pytest.raises(OutOfScope, match="row 1"):
        await care.indicators.import_population([row], Area("/C1/D1/S1/"), ROOT)
    with pytest.raises(Invalid, match="by age band"):
        await care.indicators.import_population([{**row, "age_band": "all"}], EVERYWHERE, ROOT)
    with pytest.raises(Invalid, match="age_band"):
        await care.indicators.import_population([{**row, "age_band": "55-59"}], EVERYWHERE, ROOT)
