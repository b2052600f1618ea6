"""The demo's service centre at work: its residents call the hotline and order, the providers' desks
and workers serve the orders, in real time, so ``eldercare up --demo`` shows a living /service page.

Everything goes through the real :class:`~servicecentre.ServiceCentre` (calls logged, orders placed
and moved, deadlines kept), so each step is an order event on the console's websocket. How an order's
life goes is its :class:`Fate`, drawn from a generator seeded by the order's id: the same order takes
the same course after a restart, whoever placed it (a simulated call, a plan, an operator on the
page). The service bench (``lab/bench/service.py``) draws its orders' fates with the same model.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from eldercare.demo_services import ITEMS, PROVIDERS, STAFF
from registry.area import Area
from servicecentre import Order, OrderRequest, OrderState, Reach, ServiceCentre, ServiceCentreError
from servicecentre.model import OPEN_ORDER_STATES

log = logging.getLogger("eldercare.demo")

HOURLY = (0, 0, 0, 0, 0, 1, 3, 6, 9, 9, 8, 6, 4, 5, 6, 6, 5, 4, 3, 2, 1, 1, 0, 0)
"""Relative call rate per local hour."""
CALL_MIX = (("service_request", 0.62), ("consultation", 0.18), ("care_call", 0.12), ("complaint", 0.08))
CALL_NOTES = {
    "service_request": "老人来电预约服务 the resident books a service",
    "consultation": "咨询助餐补贴政策 asks about the meal subsidy",
    "care_call": "每周关爱回访 the weekly care call",
    "complaint": "反映送餐晚了 says the meal came late",
}
DURATIONS = {item.id: item.duration_min for item in ITEMS}
LEADS_MIN = (30, 60, 90, 120, 180)
"""How far ahead a caller books a service."""


def lognormal(rng: random.Random, median: float, sigma: float = 0.6) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


@dataclass(frozen=True, slots=True)
class Fate:
    """How one order's life goes: cancelled by the family, refused by the desk, or served (accepted,
    assigned to ``worker``, checked in ``late_s`` after the scheduled time, done in the item's duration
    × ``duration_factor``, rated ``rating`` or not at all)."""

    outcome: str
    decide_after: timedelta
    """From the request until the family cancels (5–60 min) or the desk answers (median 6 min)."""
    worker: str | None = None
    late_s: float = 0.0
    duration_factor: float = 1.0
    rating: int | None = None

    def duration(self, item_id: str) -> timedelta:
        return timedelta(minutes=DURATIONS.get(item_id, 60) * self.duration_factor)


def draw_fate(rng: random.Random, workers: Sequence[str]) -> Fate:
    """2 % cancelled by the family, 2 % refused, the rest served: some workers arrive early, most a
    little late, a few very late; 80 % of served orders are rated, lower when late."""
    fate = rng.random()
    if fate < 0.02:
        return Fate("cancel", timedelta(minutes=rng.uniform(5, 60)))
    decide = timedelta(seconds=lognormal(rng, 360.0, 0.9))
    if fate < 0.04:
        return Fate("refuse", decide)
    worker = rng.choice(workers)
    late_s = lognormal(rng, 480.0, 0.9) - 600.0
    factor = lognormal(rng, 1.0, 0.3)
    rating = None
    if rng.random() < 0.8:
        weights = (10, 6, 2, 1, 1) if late_s > 1800 else (60, 30, 6, 2, 2)
        rating = rng.choices((5, 4, 3, 2, 1), weights)[0]
    return Fate("serve", decide, worker, late_s, factor, rating)


CANCEL_REASON = "家属取消 the family cancelled"
REFUSE_REASON = "人手不足 short of staff"
ASSIGN_AFTER = timedelta(seconds=30)
RATE_AFTER = timedelta(minutes=30)
"""The centre's follow-up call asks for the rating this long after completion."""


class ServiceLife:
    """The demo's residents and providers, one :meth:`step` at a time (the live loop calls it often)."""

    def __init__(
        self,
        centre: ServiceCentre,
        residents: Sequence[tuple[str, str]],
        seed: int = 12349,
        call_every_s: float = 240.0,
    ) -> None:
        self.centre = centre
        self.residents = list(residents)
        """(resident id, phone) of those who call."""
        self.rng = random.Random(seed)
        self.call_every_s = call_every_s
        self.centre_reach = Reach(Area(), None, "demo")
        self.workers = {p: [u for q, u, _ in STAFF if q == p and not u.endswith("desk")] for p, *_ in PROVIDERS}
        self.desks = {p: next(u for q, u, _ in STAFF if q == p and u.endswith("desk")) for p, *_ in PROVIDERS}
        self.offers = {item: [p for p, _, _, offered in PROVIDERS if item in offered] for item in DURATIONS}
        self.next_call: datetime | None = None
        self.calls = 0
        self.moves = 0
        self.refused_moves = 0

    async def run(self, every_s: float = 15.0) -> None:
        """Step until cancelled; a failing step is logged and the next one comes."""
        while True:
            try:
                await self.step()
            except Exception:
                log.exception("demo service step failed; trying again")
            await asyncio.sleep(every_s)

    async def step(self) -> None:
        """The calls that are due, then each order's next step whose time has come."""
        now = self.centre.clock()
        if self.next_call is None:
            self.next_call = now + self._gap(now)
        while self.next_call <= now:
            await self.call()
            self.next_call += self._gap(self.next_call)
        for provider_id in self.desks:
            for order in await self.centre.orders.board(
                Reach(Area(), provider_id, self.desks[provider_id]),
                [*OPEN_ORDER_STATES, OrderState.COMPLETED],
                start=now - timedelta(days=1),
                limit=1000,
            ):
                await self._advance(order, now)

    def _gap(self, at: datetime) -> timedelta:
        """Time to the next call: exponential, busier by day (``HOURLY``), an hour apart on average at most."""
        hour = (at + timedelta(minutes=self.centre.ctx.config.utc_offset_min)).hour
        mean_s = min(3600.0, self.call_every_s * max(HOURLY) / max(HOURLY[hour], 0.5))
        return timedelta(seconds=self.rng.expovariate(1 / mean_s))

    async def call(self) -> dict[str, Any]:
        """One resident calls (or is called): logged, and a service request becomes an order."""
        rng, now = self.rng, self.centre.clock()
        resident_id, phone = rng.choice(self.residents)
        category = rng.choices([c for c, _ in CALL_MIX], [w for _, w in CALL_MIX])[0]
        started = now - timedelta(seconds=rng.uniform(60, 300))
        call = await self.centre.calls.log(
            {
                "number": phone, "category": category, "started_at": started,
                "direction": "outbound" if category == "care_call" else "inbound",
                "answered_at": started + timedelta(seconds=lognormal(rng, 8.0)), "ended_at": now,
                "notes": CALL_NOTES[category],
            },
            self.centre_reach,
        )  # fmt: skip
        self.calls += 1
        if category == "service_request":
            item = rng.choice(ITEMS)
            lead = timedelta(minutes=rng.choice(LEADS_MIN))
            scheduled = now + lead - timedelta(minutes=now.minute % 5, seconds=now.second, microseconds=now.microsecond)
            call_id = uuid.UUID(str(call["id"]))
            order = await self.centre.orders.create(
                OrderRequest(resident_id, item.id, rng.choice(self.offers[item.id]), scheduled, call_id=call_id),
                self.centre_reach,
            )
            call = await self.centre.calls.update(call_id, {"order_id": order.id}, self.centre_reach)
        elif category == "complaint":
            await self.centre.complaints.file(
                {"resident_id": resident_id, "call_id": call["id"], "text": CALL_NOTES["complaint"]}, self.centre_reach
            )
        return call

    async def _advance(self, order: Order, now: datetime) -> None:
        move = self._next_move(order, draw_fate(random.Random(order.id.int), self.workers[order.provider_id]), now)
        if move is None:
            return
        try:
            await self.centre.orders.move(
                order.id, move.state, move.reach, reason=move.reason, worker=move.worker, rating=move.rating
            )
            self.moves += 1
        except ServiceCentreError:
            self.refused_moves += 1  # someone on the page made the move first

    def _next_move(self, order: Order, fate: Fate, now: datetime) -> Move | None:
        """The order's next step if its time has come by ``now``."""
        desk = Reach(Area(), order.provider_id, self.desks[order.provider_id])
        worker = Reach(Area(), order.provider_id, f"worker:{order.worker}")
        if order.state is OrderState.REQUESTED and now >= order.requested_at + fate.decide_after:
            if fate.outcome == "cancel":
                return Move(OrderState.CANCELLED, self.centre_reach, reason=CANCEL_REASON)
            if fate.outcome == "refuse":
                return Move(OrderState.REFUSED, desk, reason=REFUSE_REASON)
            return Move(OrderState.ACCEPTED, desk)
        if order.state is OrderState.ACCEPTED and order.accepted_at and now >= order.accepted_at + ASSIGN_AFTER:
            return Move(OrderState.ASSIGNED, desk, worker=fate.worker or self.workers[order.provider_id][0])
        if order.state is OrderState.ASSIGNED and order.assigned_at:
            arrives = max(order.assigned_at + ASSIGN_AFTER, order.scheduled_at + timedelta(seconds=fate.late_s))
            return Move(OrderState.CHECKED_IN, worker) if now >= arrives else None
        if order.state is OrderState.CHECKED_IN and order.checked_in_at:
            done = order.checked_in_at + fate.duration(order.item_id)
            return Move(OrderState.COMPLETED, worker) if now >= done else None
        if order.state is OrderState.COMPLETED and fate.rating and order.completed_at:
            return (
                Move(OrderState.RATED, self.centre_reach, rating=fate.rating)
                if now >= order.completed_at + RATE_AFTER
                else None
            )
        return None


class Move(NamedTuple):
    state: OrderState
    reach: Reach
    reason: str = ""
    worker: str | None = None
    rating: int | None = None
