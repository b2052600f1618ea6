"""The care-call queue on a seeded district (10 February 2026, 10:00 at UTC+8):

* c1 (A1, 独居, weekly, any mode), never visited → due since 8 January: on the queue;
* c2 (A1, 空巢, monthly), visited in person on 5 February → due 7 March: only looking 30 days ahead;
* c3 (B1, 独居; B1's rule takes in-person visits only) → due, but not by phone: never on the queue;
* c4 (A2, 低保, monthly), no sign of life today → first on the queue.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone

import pytest

from care import CareService
from care.periods import Month
from registry.area import Area
from registry.errors import Conflict, Forbidden, NotFound
from registry.users import User
from tests.care.conftest import EVERYWHERE, ROOT, FakeClock, Registered, SignalsStub

CST = timezone(timedelta(hours=8))
OP1, OP2 = User("op1", "operator"), User("op2", "operator")


async def seed(care: CareService, registered: Registered, signals: SignalsStub) -> None:
    for rid, node, category, since in (("c1", "A1", "living_alone", date(2026, 1, 1)),
                                       ("c2", "A1", "empty_nest", date(2026, 1, 1)),
                                       ("c3", "B1", "living_alone", date(2026, 1, 1)),
                                       ("c4", "A2", "dibao", date(2025, 12, 1))):  # fmt: skip
        await registered.resident(rid, node)
        await care.memberships.add(rid, {"category": category, "valid_from": since}, EVERYWHERE, ROOT)
    await care.visits.set_rule("/C1/D1/S2/B1/", "living_alone", 7, ["in_person"], EVERYWHERE, ROOT)
    await care.visits.record("c2", {"at": datetime(2026, 2, 5, 9, tzinfo=CST), "mode": "in_person"}, EVERYWHERE, ROOT)
    signals.answer = {"c4": ["no_activity_today"]}


async def queued(care: CareService, who: User = OP1, area: Area = EVERYWHERE, within: int = 0) -> list[str]:
    return [row["resident_id"] for row in await care.calls.queue(area, who, within)]


async def test_the_queue_a_claim_a_retry_and_a_reached_call(
    care: CareService, registered: Registered, signals: SignalsStub, clock: FakeClock
) -> None:
    await seed(care, registered, signals)
    assert await queued(care) == ["c4", "c1"]
    assert await queued(care, within=30) == ["c4", "c1", "c2"]
    assert await queued(care, area=Area("/C1/D1/S2/")) == []  # c3: in person only

    call = await care.calls.start("c1", EVERYWHERE, OP1)
    with pytest.raises(Conflict, match="op1 is calling"):
        await care.calls.start("c1", EVERYWHERE, OP2)
    assert await queued(care, OP2) == ["c4"]  # someone is calling c1
    with pytest.raises(Forbidden, match="op1's"):
        await care.calls.finish(call["id"], {"outcome": "no_answer"}, EVERYWHERE, OP2)
    missed = await care.calls.finish(call["id"], {"outcome": "no_answer", "note": "无人接听"}, EVERYWHERE, OP1)
    retry = clock.now + timedelta(hours=2)
    assert (missed["outcome"], missed["retry_at"], missed["visit_id"]) == ("no_answer", retry, None)
    with pytest.raises(Conflict, match="already finished"):
        await care.calls.finish(call["id"], {"outcome": "reached"}, EVERYWHERE, OP1)
    assert await queued(care) == ["c4"]
    clock.advance(hours=2, minutes=1)
    assert await queued(care) == ["c4", "c1"]  # back after the retry time

    call = await care.calls.start("c1", EVERYWHERE, OP2)
    outcome = {"outcome": "reached", "findings": {"health": "腿疼", "needs": "助浴"}, "concern": False}
    reached = await care.calls.finish(call["id"], outcome, EVERYWHERE, OP2)
    visit = (await care.visits.of_resident("c1", EVERYWHERE, ROOT))[0]
    assert (reached["visit_id"], visit["mode"], visit["visitor"], visit["findings"]["needs"]) == (
        visit["id"],
        "phone",
        "op2",
        "助浴",
    )
    assert await queued(care) == ["c4"]  # a phone visit: due again in a week
    history = await care.calls.of_resident("c1", EVERYWHERE, ROOT)
    assert [row["outcome"] for row in history] == ["reached", "no_answer"]

    report = await care.indicators.monthly("/C1/D1/", Month(2026, 2), ROOT)
    assert (report["total"]["calls"], report["total"]["calls_reached"]) == (2, 1)
    assert report == await care.indicators.monthly_from_rows("/C1/D1/", Month(2026, 2), ROOT)


async def test_a_call_finished_twice_at_once_stores_one_visit(
    care: CareService, registered: Registered, signals: SignalsStub
) -> None:
    await seed(care, registered, signals)
    call = await care.calls.start("c1", EVERYWHERE, OP1)
    reached = {"outcome": "reached", "findings": {"health": "头晕"}, "concern": True}
    finishing = [care.calls.finish(call["id"], reached, EVERYWHERE, OP1) for _ in range(2)]  # a double tap
    answers = await asyncio.gather(*finishing, return_exceptions=True)
    [finished] = [a for a in answers if isinstance(a, dict)]
    assert [type(a) for a in answers if not isinstance(a, dict)] == [Conflict]
    [visit] = await care.visits.of_resident("c1", EVERYWHERE, ROOT)  # before: two, one of them linked to no call
    assert finished["visit_id"] == visit["id"] and visit["concern"] is True


async def test_a_forgotten_claim_lapses_and_calls_stay_in_scope(
    care: CareService, registered: Registered, signals: SignalsStub, clock: FakeClock
) -> None:
    await seed(care, registered, signals)
    forgotten = await care.calls.start("c4", EVERYWHERE, OP1)
    clock.advance(minutes=14)
    with pytest.raises(Conflict):
        await care.calls.start("c4", EVERYWHERE, OP2)
    assert await queued(care, OP2) == ["c1"]
    clock.advance(minutes=2)
    assert await queued(care, OP2) == ["c4", "c1"]  # the claim lapsed after 15 minutes
    await care.calls.start("c4", EVERYWHERE, OP2)
    lapsed = (await care.calls.of_resident("c4", EVERYWHERE, ROOT))[1]
    assert (lapsed["id"], lapsed["outcome"]) == (forgotten["id"], "abandoned")
    outside = Area("/C1/D1/S2/")
    with pytest.raises(NotFound):
        await care.calls.start("c1", outside, OP1)
    with pytest.raises(NotFound):
        await care.calls.finish(forgotten["id"], {"outcome": "busy"}, outside, OP1)
