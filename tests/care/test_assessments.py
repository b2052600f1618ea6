"""GB/T 42195-2022 scoring against worked examples computed by hand from the standard's rules, and the
assessments stored on a real PostgreSQL.

Example A, all items at their best: 32 + 15 + 28 + 15 = 90 → 能力完好.
Example B: self-care 3 on each of 8 items = 24; motor 3, 3, 3, 2 = 11; mental 4, 4, 4, 3, 4, 4, 1, 1, 2
= 27; perception 2, 2, 3, 2, 3 = 12; total 74 → 66–89 → 轻度失能. With a dementia diagnosis → one level
up → 中度失能; with dementia and two care-risk events still only one level up (中度失能).
Example C: self-care 1 each = 8; motor 1, 1, 1, 0 = 3; mental 2 × 6 + 1 + 0 + 2 = 15; perception
1, 1, 1, 0, 1 = 4; total 30 → 30–45 → 重度失能; in a coma → 完全失能 directly.
"""

from __future__ import annotations

from datetime import date

import pytest

from care import CareService
from care.instruments import GBT_42195_2022, Instrument, ScoringError
from registry.area import Area
from registry.errors import Invalid, NotFound
from tests.care.conftest import EVERYWHERE, ROOT, Registered

DOMAINS = ("self_care", "motor", "mental", "perception_social")


def answers(self_care: list[int], motor: list[int], mental: list[int], perception: list[int]) -> dict[str, int]:
    values = iter([*self_care, *motor, *mental, *perception])
    return {item.code: next(values) for item in GBT_42195_2022.items}


BEST = answers([4] * 8, [4, 4, 4, 3], [4] * 6 + [1, 1, 2], [2, 2, 4, 3, 4])
EXAMPLE_B = answers([3] * 8, [3, 3, 3, 2], [4, 4, 4, 3, 4, 4, 1, 1, 2], [2, 2, 3, 2, 3])
EXAMPLE_C = answers([1] * 8, [1, 1, 1, 0], [2] * 6 + [1, 0, 2], [1, 1, 1, 0, 1])


def test_the_instrument_has_the_standards_shape() -> None:
    counts = {domain: sum(1 for i in GBT_42195_2022.items if i.domain == domain) for domain in DOMAINS}
    assert counts == {"self_care": 8, "motor": 4, "mental": 9, "perception_social": 5}
    assert [GBT_42195_2022.domain_max(d) for d in DOMAINS] == [32, 15, 28, 15]
    assert GBT_42195_2022.max_total == 90


@pytest.mark.parametrize(
    ("given", "modifiers", "domains", "total", "level"),
    [
        (BEST, {}, [32, 15, 28, 15], 90, "intact"),
        (EXAMPLE_B, {}, [24, 11, 27, 12], 74, "mild"),
        (EXAMPLE_B, {"dementia": True}, [24, 11, 27, 12], 74, "moderate"),
        (EXAMPLE_B, {"dementia": True, "care_risk_events": True}, [24, 11, 27, 12], 74, "moderate"),
        (EXAMPLE_B, {"dementia": False}, [24, 11, 27, 12], 74, "mild"),
        (EXAMPLE_C, {}, [8, 3, 15, 4], 30, "severe"),
        (EXAMPLE_C, {"coma": True}, [8, 3, 15, 4], 30, "total"),
    ],
)
def test_worked_examples(
    given: dict[str, int], modifiers: dict[str, bool], domains: list[int], total: int, level: str
) -> None:
    scored = GBT_42195_2022.score(given, modifiers)
    assert [scored.domain_scores[d] for d in DOMAINS] == domains
    assert (scored.total, scored.level) == (total, level)


@pytest.mark.parametrize(
    ("total", "level"),
    [(90, "intact"), (89, "mild"), (66, "mild"), (65, "moderate"), (46, "moderate"), (45, "severe"),
     (30, "severe"), (29, "total"), (0, "total")],
)  # fmt: skip
def test_level_cut_offs(total: int, level: str) -> None:
    assert GBT_42195_2022.level_of(total).code == level


def test_bad_answers_are_refused_with_the_reason() -> None:
    with pytest.raises(ScoringError, match="unanswered items: eating"):
        GBT_42195_2022.score({k: v for k, v in BEST.items() if k != "eating"})
    with pytest.raises(ScoringError, match="unknown items: flying"):
        GBT_42195_2022.score({**BEST, "flying": 1})
    for bad in (5, -1, 2.0, True, None, "4", float("nan")):
        with pytest.raises(ScoringError, match="eating must be an integer 0–4"):
            GBT_42195_2022.score({**BEST, "eating": bad})
    with pytest.raises(ScoringError, match="stairs must be an integer 0–3"):
        GBT_42195_2022.score({**BEST, "stairs": 4})
    with pytest.raises(ScoringError, match="unknown modifiers"):
        GBT_42195_2022.score(BEST, {"rich": True})


def test_a_site_corrects_the_cut_offs_as_data() -> None:
    data = GBT_42195_2022.describe()
    assert Instrument.from_dict(data) == GBT_42195_2022  # the description round-trips
    data["levels"][1]["min_total"] = 75  # a site whose reading puts 轻度失能 at 75–89
    data["coma_level"] = "severe"
    corrected = Instrument.from_dict(data)
    assert corrected.score(EXAMPLE_B).level == "moderate"
    assert corrected.score(EXAMPLE_C, {"coma": True}).level == "severe"
    data["levels"][1]["min_total"] = 95
    with pytest.raises(ScoringError, match="highest min_total"):
        Instrument.from_dict(data)


async def test_assessments_are_stored_scoped_and_counted(care: CareService, registered: Registered) -> None:
    for rid in ("r1", "r2", "r3"):
        await registered.resident(rid, "A1" if rid != "r3" else "B1")
    record = {"instrument": "gbt42195-2022", "assessor": "评估员 张", "assessed_on": date(2026, 1, 5)}
    first = await care.assessments.record("r1", {**record, "answers": EXAMPLE_B}, EVERYWHERE, ROOT)
    assert (first["total"], first["level"], first["valid_until"]) == (74, "mild", date(2027, 1, 5))
    assert first["domain_scores"] == {"self_care": 24, "motor": 11, "mental": 27, "perception_social": 12}
    later = {**record, "assessed_on": date(2026, 2, 1), "answers": EXAMPLE_B, "modifiers": {"dementia": True}}
    await care.assessments.record("r1", later, EVERYWHERE, ROOT)
    await care.assessments.record("r2", {**record, "answers": BEST, "valid_until": date(2026, 1, 31)}, EVERYWHERE, ROOT)
    await care.assessments.record("r3", {**record, "answers": EXAMPLE_C}, EVERYWHERE, ROOT)
    # on 10 February: r1's latest says moderate, r2's has expired, r3 (B1) is severe
    assert await care.assessments.levels(EVERYWHERE, ROOT, date(2026, 2, 10)) == {"moderate": 1, "severe": 1}
    assert await care.assessments.levels(Area("/C1/D1/S1/"), ROOT, date(2026, 1, 10)) == {"mild": 1, "intact": 1}
    with pytest.raises(NotFound):
        await care.assessments.record("r3", {**record, "answers": BEST}, Area("/C1/D1/S1/"), ROOT)
    with pytest.raises(NotFound):
        await care.assessments.get(first["id"], Area("/C1/D1/S2/"), ROOT)
    with pytest.raises(Invalid, match="future"):
        await care.assessments.record(
            "r1", {**record, "assessed_on": date(2026, 3, 1), "answers": BEST}, EVERYWHERE, ROOT
        )
    with pytest.raises(Invalid, match="unknown instrument"):
        await care.assessments.record("r1", {**record, "instrument": "barthel", "answers": BEST}, EVERYWHERE, ROOT)
    with pytest.raises(Invalid, match="unanswered"):
        await care.assessments.record("r1", {**record, "answers": {"eating": 4}}, EVERYWHERE, ROOT)
    assert [a["level"] for a in await care.assessments.of_resident("r1", EVERYWHERE, ROOT)] == ["moderate", "mild"]
