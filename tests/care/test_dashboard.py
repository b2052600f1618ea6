"""The dashboard's counts of today on a seeded district (10 February 2026, 10:00 at UTC+8), by hand:

=====  =====  ==============================  ==========================  ===============================
who    where  plan                            visits                      assessment
=====  =====  ==============================  ==========================  ===============================
d1     A1     独居 weekly since 1 Jan         none → due 8 Jan: overdue   —
d2     A1     空巢 monthly since 1 Jan        5 Feb → due 7 Mar           —
d3     A2     独居 weekly since 1 Feb         phone 4 Feb → due 11 Feb    —
d4     B1     失能 weekly                     9 Feb → due 16 Feb          needed, none: due
d5     B1     home care bed only              —                           ends 1 Mar (< 12 Mar): due
d6     A1     失能 weekly since June          none: overdue               valid to December: not due
=====  =====  ==============================  ==========================  ===============================

S1: overdue 2 (d1 d6, both take calls), due this week 1 (d3); S2: due this week 1 (d4), assessments 2.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from care import CareService
from care.periods import Month
from tests.care.conftest import EVERYWHERE, ROOT, Registered

CST = timezone(timedelta(hours=8))


async def seed(care: CareService, registered: Registered) -> None:
    for rid, node, category, since in (("d1", "A1", "living_alone", date(2026, 1, 1)),
                                       ("d2", "A1", "empty_nest", date(2026, 1, 1)),
                                       ("d3", "A2", "living_alone", date(2026, 2, 1)),
                                       ("d4", "B1", "disabled", date(2025, 1, 1)),
                                       ("d5", "B1", None, None),
                                       ("d6", "A1", "disabled", date(2025, 6, 1))):  # fmt: skip
        await registered.resident(rid, node, date(1940, 1, 1))
        if category is not None:
            await care.memberships.add(rid, {"category": category, "valid_from": since}, EVERYWHERE, ROOT)
    for rid, day, mode in (("d2", 5, "in_person"), ("d3", 4, "phone"), ("d4", 9, "video")):
        await care.visits.record(rid, {"at": datetime(2026, 2, day, 9, tzinfo=CST), "mode": mode}, EVERYWHERE, ROOT)
    await care.beds.create("d5", {"provider": "p", "level": "mild", "start_date": date(2026, 1, 1)}, EVERYWHERE, ROOT)
    instrument = care.assessments.instrument("gbt42195-2022")
    answers = {item.code: item.max_score for item in instrument.items}
    for rid, assessed, until in (("d5", date(2025, 3, 2), date(2026, 3, 1)), ("d6", date(2026, 1, 5), None)):
        assessment = {"instrument": instrument.code, "answers": answers, "assessor": "张", "assessed_on": assessed,
                      "valid_until": until}  # fmt: skip
        await care.assessments.record(rid, assessment, EVERYWHERE, ROOT)


async def test_todays_counts_per_child_area(care: CareService, registered: Registered) -> None:
    await seed(care, registered)
    today = await care.dashboard.today("/C1/D1/")
    assert today["areas"] == [
        {"code": "S1", "overdue": 2, "due_soon": 1, "calls_due": 2, "assessments_due": 0},
        {"code": "S2", "overdue": 0, "due_soon": 1, "calls_due": 0, "assessments_due": 2},
    ]
    assert today["total"] == {"overdue": 2, "due_soon": 2, "calls_due": 2, "assessments_due": 2}
    overdue = await care.visits.overdue_from_rows(EVERYWHERE, ROOT)
    assert sorted(row["resident_id"] for row in overdue) == ["d1", "d6"]  # the raw rows agree
    soon = await care.visits.overdue_from_rows(EVERYWHERE, ROOT, within_days=7)
    assert len(soon) - len(overdue) == today["total"]["due_soon"]
    a1 = await care.dashboard.today("/C1/D1/S1/A1/")
    assert a1["areas"] == [{"code": "", "overdue": 2, "due_soon": 0, "calls_due": 2, "assessments_due": 0}]


async def test_the_summary_and_its_trail(care: CareService, registered: Registered) -> None:
    await seed(care, registered)
    summary = await care.dashboard.summary("/C1/D1/S2/", Month(2026, 2), ROOT, top="/C1/")
    assert [(node["code"], node["name"]) for node in summary["trail"]] == [
        ("C1", "郑州市"), ("D1", "金水区"), ("S2", "花园路街道")]  # fmt: skip
    assert [area["code"] for area in summary["areas"]] == ["B1"]
    assert (summary["total"]["beds"], summary["total"]["visits_due"], summary["total"]["visited"]) == (1, 1, 1)
    assert summary["today"]["areas"] == [
        {"code": "B1", "overdue": 0, "due_soon": 1, "calls_due": 0, "assessments_due": 2}]  # fmt: skip
    own = await care.dashboard.summary("/C1/D1/S2/", Month(2026, 2), ROOT, top="/C1/D1/S2/")
    assert [node["code"] for node in own["trail"]] == ["S2"]
