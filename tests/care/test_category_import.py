"""Category memberships from CSV: rows taken or refused with their line and reasons, scope, audit, and a
second run of the same file adding nothing."""

from __future__ import annotations

from datetime import date

import pytest

from care import CareService
from registry.area import Area
from registry.errors import Invalid
from tests.care.conftest import EVERYWHERE, ROOT, Registered

FILE = """\ufeffresident_external_id,category,source,valid_from,valid_to,note
MZ-001,tekun,民政台账 2026,2026-01-01,,
MZ-001,living_alone,入户调查,2026-01-15,2026-12-31,独居
MZ-002,disabled,民政台账 2026,2026-02-01,,
MZ-002,rich,民政台账 2026,2026-02-01,,
MZ-003,dibao,民政台账 2026,2026-02-30,,
MZ-009,dibao,民政台账 2026,2026-02-01,,
MZ-004,dibao,民政台账 2026,2026-02-01,,
,dibao,民政台账 2026,2026-02-01,,
MZ-003,dibao,民政台账 2026,2026-03-01,2026-02-01,
MZ-003,empty_nest,,2026-02-01,,,extra
"""


async def test_import_takes_good_rows_reports_the_rest_and_repeats_safely(
    care: CareService, registered: Registered
) -> None:
    for rid, node, external in (("p1", "A1", "MZ-001"), ("p2", "A2", "MZ-002"), ("p3", "A1", "MZ-003"),
                                ("p4", "B1", "MZ-004")):  # fmt: skip
        await registered.resident(rid, node)
        async with registered.pool.connection() as conn:
            await conn.execute("UPDATE residents SET external_id = %s WHERE id = %s", (external, rid))
    street = Area("/C1/D1/S1/")  # A1 and A2, not B1
    report = await care.import_categories(FILE, street, ROOT)
    assert (report.kind, report.rows, report.created, report.skipped_existing) == ("care_categories", 10, 3, 0)
    problems = {problem.row: (problem.external_id, " ".join(problem.errors)) for problem in report.rejected}
    assert sorted(problems) == [5, 6, 7, 8, 9, 10, 11]
    assert "unknown category 'rich'" in problems[5][1]
    assert "valid_from" in problems[6][1]  # 30 February
    assert problems[7] == ("MZ-009", "no such resident in your area")
    assert problems[8] == ("MZ-004", "no such resident in your area")  # in B1, outside the street
    assert problems[9] == (None, "resident_external_id is empty")
    assert problems[10] == ("MZ-003", "valid_to is before valid_from")
    assert problems[11] == ("MZ-003", "more cells than columns")
    rows = await care.memberships.of_resident("p1", EVERYWHERE, ROOT)
    assert [(r["category"], r["source"], r["valid_from"], r["valid_to"], r["note"]) for r in rows] == [
        ("tekun", "民政台账 2026", date(2026, 1, 1), None, ""),
        ("living_alone", "入户调查", date(2026, 1, 15), date(2026, 12, 31), "独居"),
    ]
    again = await care.import_categories(FILE, street, ROOT)
    assert (again.created, again.skipped_existing) == (0, 3)
    by_id = "resident_id,category,valid_from\np4,very_old,2026-01-01\n"
    assert (await care.import_categories(by_id, EVERYWHERE, ROOT)).created == 1
    async with registered.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) AS n FROM registry_audit WHERE object_type = 'care_category' AND action = 'import'"
        )
        assert (await cursor.fetchone())["n"] == 4  # type: ignore[index]
    with pytest.raises(Invalid, match="header"):
        await care.import_categories("name,category\nx,tekun\n", EVERYWHERE, ROOT)
