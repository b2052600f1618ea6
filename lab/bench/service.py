"""``eldercare bench service``: a simulated day of one district's service centre.

Everything goes through the real :class:`~servicecentre.ServiceCentre` (and, for emergencies by
phone, the real :class:`~alerting.AlertService`) on PostgreSQL (a throwaway database), on a
simulated clock: order deadlines fire from their timer rows exactly as in production.

The model (seeded, so runs compare):

* a district of ``residents`` residents (default 10,000) in 10 streets × 5 communities, born
  1930–1968 (so some are under the subsidy age), the demo's menu and providers, plus two more meal
  providers and one more home-service provider;
* ``plan_share`` of residents (default 10 %) on a weekday lunch plan: their orders are spawned;
* hotline calls over the day (daytime-heavy): each ``service_request`` call places one order for a
  random menu item at the provider offering it; consultation, care and complaint calls are logged;
  ``emergencies`` calls raise phone alerts;
* providers accept after a log-normal delay (median 6 min; 2 % refuse), assign a worker, who checks
  in at the scheduled time plus a log-normal lateness (some early, most a little late, a few very
  late), completes after the item's duration × a log-normal factor (median 1); 2 % are cancelled
  by the family; 80 % of completed orders are rated, lower when late (each order's
  :class:`~eldercare.demo_service_life.Fate`, the model the demo's live service centre uses too).

Meanwhile the order board is read as an operator (the district), a community worker and a
provider's desk would read it; its query latency is measured on the way.

Prints the on-time rate, missed deadlines, satisfaction, subsidy spent, and the board's p50/p99
query time, and with ``--json`` one JSON object last.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from typing import Any

from alerting import AlertingConfig, AlertService, EscalationPolicy
from eldercare.db import migrate, open_pool
from eldercare.demo_service_life import CALL_MIX, CANCEL_REASON, HOURLY, REFUSE_REASON, draw_fate, lognormal
from eldercare.demo_services import ITEMS, PROVIDERS, seed_menu
from lab.bench.sla import SimClock, _database
from lab.report import emit, progress
from registry.area import Area
from registry.store import Registry
from servicecentre import (
    IllegalMove,
    OrderRequest,
    OrderState,
    PlanRequest,
    Reach,
    ServiceCentre,
    ServiceCentreError,
)

EXTRA_PROVIDERS = (
    ("canteen-2", "第二长者饭堂", ("lunch", "dinner", "meal-delivery")),
    ("canteen-3", "第三长者饭堂", ("lunch", "dinner", "meal-delivery")),
    ("homecare-2", "康乐居家服务", ("clean-2h", "laundry", "bath-home", "escort-walk", "chat-visit", "shopping")),
)
LOCAL = timedelta(hours=8)


class Day:
    """The event heap of the simulated day; every event runs at its time on the shared clock."""

    def __init__(self, clock: SimClock, alerts: AlertService) -> None:
        self.clock = clock
        self.alerts = alerts
        self.heap: list[tuple[datetime, int, Callable[[], Awaitable[None]]]] = []
        self.seq = itertools.count()

    def at(self, when: datetime, action: Callable[[], Awaitable[None]]) -> None:
        heapq.heappush(self.heap, (when, next(self.seq), action))

    async def run(self) -> None:
        scheduler = self.alerts.scheduler
        while self.heap:
            when, _, action = heapq.heappop(self.heap)
            while (due := scheduler.next_due()) is not None and due <= when:
                self.clock.now = max(self.clock.now, due)
                await scheduler.run_due()
            self.clock.now = max(self.clock.now, when)
            await action()
        self.clock.now += timedelta(days=1)
        await scheduler.run_due()


async def _network(pool: Any, registry: Registry, residents: int, rng: random.Random, day: date) -> list[str]:
    await registry.add_org_node("city", "市", "city")
    await registry.add_org_node("d1", "区", "district", "city")
    communities = []
    for s in range(10):
        await registry.add_org_node(f"d1s{s}", f"街道{s}", "street", "d1")
        for c in range(5):
            code = f"d1s{s}c{c}"
            await registry.add_org_node(code, f"社区{s}-{c}", "community", f"d1s{s}")
            communities.append(code)
    rows = [
        (f"r{n:05d}", f"居民{n}", f"1390{n:07d}", date(rng.randint(1930, 1968), rng.randint(1, 12), 1),
         communities[n % len(communities)])
        for n in range(residents)
    ]  # fmt: skip
    async with pool.connection() as conn, conn.cursor() as cursor:
        await cursor.executemany(
            "INSERT INTO residents (id, name, phone, birth_date, org_node) VALUES (%s, %s, %s, %s, %s)", rows
        )
    return [row[0] for row in rows]


async def simulate(
    database_url: str | None, residents: int, calls: int, plan_share: float, emergencies: int, seed: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    day = date(2026, 3, 2)  # a Monday
    midnight = datetime(2026, 3, 2, tzinfo=UTC) - LOCAL
    started = time.perf_counter()
    async with _database(database_url) as url:
        pool = await open_pool(url, min_size=1, max_size=4)
        try:
            for component in ("registry", "alerting", "servicecentre"):
                await migrate(pool, component)
            registry = Registry(pool)
            ids = await _network(pool, registry, residents, rng, day)
            await registry.load()
            clock = SimClock(midnight)
            alerts = AlertService(
                pool, clock=clock, org_of=registry.resident_org_path, config=AlertingConfig(policy=EscalationPolicy())
            )
            centre = ServiceCentre(pool, clock=clock, scheduler=alerts.scheduler, raise_alerts=alerts.raise_detections)
            await alerts.restore()
            await centre.restore()
            sim = Simulation(centre, alerts, clock, rng, ids)
            await sim.setup(day, plan_share)
            await sim.plan_calls(midnight, calls, emergencies)
            await sim.day.run()
            figures = await sim.figures(midnight)
        finally:
            await pool.close()
    figures["wall_s"] = round(time.perf_counter() - started, 1)
    return figures


class Simulation:
    def __init__(
        self, centre: ServiceCentre, alerts: AlertService, clock: SimClock, rng: random.Random, residents: list[str]
    ) -> None:
        self.centre = centre
        self.alerts = alerts
        self.clock = clock
        self.rng = rng
        self.residents = residents
        self.day = Day(clock, alerts)
        self.root = Reach(Area(), None, "bench")
        self.offers: dict[str, list[str]] = {}
        self.workers: dict[str, list[str]] = {}
        self.board_ms: list[float] = []
        self.refused_moves = 0
        self.calls_logged = 0
        self.alerts_raised = 0

    async def setup(self, day: date, plan_share: float) -> None:
        await seed_menu(self.centre, "d1")
        prices = {item.id: item.price_fen for item in ITEMS}
        for provider_id, name, offers in EXTRA_PROVIDERS:
            await self.centre.menu.put_provider({"id": provider_id, "name": name, "org_node": "d1"}, self.root)
            for item_id in offers:
                await self.centre.menu.offer(provider_id, item_id, prices[item_id], self.root)
        everyone: list[tuple[str, tuple[str, ...]]] = [(p, o) for p, _, _, o in PROVIDERS]
        everyone += [(p, o) for p, _, o in EXTRA_PROVIDERS]
        for provider_id, offered in everyone:
            for item_id in offered:
                self.offers.setdefault(item_id, []).append(provider_id)
            self.workers[provider_id] = [f"{provider_id}-w{n}" for n in range(8)]
            for username in self.workers[provider_id]:
                await self.centre.menu.add_staff(provider_id, username, self.root)
        on_plan = self.rng.sample(self.residents, int(len(self.residents) * plan_share))
        for resident_id in on_plan:
            canteen = self.rng.choice(self.offers["lunch"])
            await self.centre.plans.create(
                PlanRequest(resident_id, "lunch", canteen, (1, 2, 3, 4, 5), dt_time(11, 30), day, day), self.root
            )
        await self.centre.plans.spawn(self.clock())
        spawned = await self.centre.orders.board(self.root, limit=100_000)
        for order in sorted(spawned, key=lambda o: (o.scheduled_at, o.resident_id)):  # ids are random: not by id
            self.follow(order.id, order.provider_id, order.scheduled_at, order.item_id)

    async def plan_calls(self, midnight: datetime, calls: int, emergencies: int) -> None:
        total = sum(HOURLY)
        hours = self.rng.choices(range(24), [w / total for w in HOURLY], k=calls)
        categories = [category for category, _ in CALL_MIX]
        weights = [weight for _, weight in CALL_MIX]
        for hour in hours:
            when = midnight + timedelta(seconds=hour * 3600 + self.rng.uniform(0, 3600))
            self.day.at(when, self._call(self.rng.choices(categories, weights)[0]))
        for _ in range(emergencies):
            when = midnight + timedelta(hours=self.rng.uniform(6, 22))
            self.day.at(when, self._call("emergency"))
        for minute in range(6 * 60, 22 * 60, 5):  # the board, read every five minutes as three roles would
            self.day.at(midnight + timedelta(minutes=minute), self._read_board)

    def _call(self, category: str) -> Callable[[], Awaitable[None]]:
        resident_id = self.rng.choice(self.residents)

        async def call() -> None:
            started = self.clock() - timedelta(seconds=lognormal(self.rng, 8.0))
            logged = await self.centre.calls.log(
                {"number": f"1390{resident_id[1:]:0>7}", "category": category, "started_at": started}, self.root
            )
            self.calls_logged += 1
            if category == "emergency":
                await self.centre.calls.raise_emergency(uuid.UUID(logged["id"]), self.root)
                self.alerts_raised += 1
            elif category == "service_request":
                call_id = uuid.UUID(logged["id"])
                item = self.rng.choice(ITEMS)
                provider_id = self.rng.choice(self.offers[item.id])
                lead = timedelta(hours=self.rng.choice((1, 2, 3, 4, 24)))
                order = await self.centre.orders.create(
                    OrderRequest(resident_id, item.id, provider_id, self.clock() + lead, call_id=call_id),
                    self.root,
                )
                self.follow(order.id, provider_id, order.scheduled_at, item.id)

        return call

    def follow(self, order_id: Any, provider_id: str, scheduled: datetime, item_id: str) -> None:
        """Schedule the provider's, the worker's and the family's steps for one order (its fate)."""
        fate, now = draw_fate(self.rng, self.workers[provider_id]), self.clock()
        desk = Reach(Area(), provider_id, f"{provider_id}-desk")
        decided = now + fate.decide_after
        if fate.outcome == "cancel":
            self.day.at(decided, self._move(order_id, OrderState.CANCELLED, self.root, reason=CANCEL_REASON))
            return
        if fate.outcome == "refuse":
            self.day.at(decided, self._move(order_id, OrderState.REFUSED, desk, reason=REFUSE_REASON))
            return
        self.day.at(decided, self._move(order_id, OrderState.ACCEPTED, desk))
        self.day.at(
            decided + timedelta(seconds=30), self._move(order_id, OrderState.ASSIGNED, desk, worker=fate.worker)
        )
        check_in = max(decided + timedelta(minutes=1), scheduled + timedelta(seconds=fate.late_s))
        self.day.at(check_in, self._move(order_id, OrderState.CHECKED_IN, desk))
        done = check_in + fate.duration(item_id)
        self.day.at(done, self._move(order_id, OrderState.COMPLETED, desk))
        if fate.rating is not None:
            self.day.at(
                done + timedelta(hours=2), self._move(order_id, OrderState.RATED, self.root, rating=fate.rating)
            )

    def _move(self, order_id: Any, to: OrderState, reach: Reach, **kw: Any) -> Callable[[], Awaitable[None]]:
        async def move() -> None:
            try:
                await self.centre.orders.move(order_id, to, reach, **kw)
            except IllegalMove:
                self.refused_moves += 1  # e.g. a family cancelled what the desk was about to accept
            except ServiceCentreError:
                self.refused_moves += 1

        return move

    async def _read_board(self) -> None:
        open_states = [OrderState.REQUESTED, OrderState.ACCEPTED, OrderState.ASSIGNED, OrderState.CHECKED_IN]
        start = self.clock() - timedelta(hours=12)
        end = self.clock() + timedelta(hours=12)
        for reach in (
            Reach(Area("/city/d1/"), None, "district"),
            Reach(Area(f"/city/d1/d1s{self.rng.randrange(10)}/"), None, "street"),
            Reach(Area(), self.rng.choice(list(self.workers)), "desk"),
        ):
            t0 = time.perf_counter()
            await self.centre.orders.board(reach, open_states, start, end, limit=500)
            self.board_ms.append((time.perf_counter() - t0) * 1000)

    async def figures(self, midnight: datetime) -> dict[str, Any]:
        report = await self.centre.reports.orders(
            Reach(Area("/city/d1/"), None, "bench"), midnight, midnight + timedelta(days=3), by="category"
        )
        total = report["total"]
        async with self.centre.ctx.connection() as conn:
            cursor = await conn.execute(
                "SELECT kind, count(*) AS n FROM order_timers WHERE fired_at IS NOT NULL GROUP BY kind"
            )
            fired = {row["kind"]: row["n"] for row in await cursor.fetchall()}
            cursor = await conn.execute("SELECT unnest(missed) AS kind, count(*) AS n FROM service_orders GROUP BY 1")
            missed = {row["kind"]: row["n"] for row in await cursor.fetchall()}
            cursor = await conn.execute("SELECT count(*) FILTER (WHERE rating >= 4) AS good, count(rating) AS rated"
                                        " FROM service_orders")  # fmt: skip
            rated = await cursor.fetchone()
        board = sorted(self.board_ms)
        assert rated is not None
        return {
            "orders": total["orders"],
            "completed": total["completed"],
            "cancelled": total["cancelled"],
            "refused": total["refused"],
            "on_time_rate": total["on_time_rate"],
            "missed_deadlines": missed,
            "deadline_timers_fired": fired,
            "satisfaction_mean": total["rating"],
            "satisfied_share": round(rated["good"] / rated["rated"], 4) if rated["rated"] else None,
            "ratings": rated["rated"],
            "subsidy_yuan": total["subsidy_fen"] / 100,
            "resident_paid_yuan": total["resident_fen"] / 100,
            "calls": self.calls_logged,
            "phone_alerts": self.alerts_raised,
            "refused_moves": self.refused_moves,
            "board_queries": len(board),
            "board_p50_ms": round(board[len(board) // 2], 2) if board else None,
            "board_p99_ms": round(board[min(len(board) - 1, int(len(board) * 0.99))], 2) if board else None,
            "by_category": {g["category"]: g["orders"] for g in report["groups"]},
        }


def run(
    database_url: str | None,
    residents: int,
    calls: int,
    plan_share: float,
    emergencies: int,
    seed: int,
    json_output: bool,
) -> dict[str, Any]:
    progress(f"bench service: a day of a district of {residents} residents, {calls} calls (seed {seed}) …")
    result = asyncio.run(simulate(database_url, residents, calls, plan_share, emergencies, seed))
    rows: list[tuple[str, Any]] = [
        ("orders (completed / cancelled / refused)",
         f"{result['orders']} ({result['completed']} / {result['cancelled']} / {result['refused']})"),
        ("on time (checked in ≤ 30 min late)", result["on_time_rate"]),
        ("missed deadlines", result["missed_deadlines"]),
        ("satisfaction mean / share ≥ 4", f"{result['satisfaction_mean']} / {result['satisfied_share']}"),
        ("subsidy / resident paid", f"¥{result['subsidy_yuan']:.2f} / ¥{result['resident_paid_yuan']:.2f}"),
        ("calls (phone alerts)", f"{result['calls']} ({result['phone_alerts']})"),
        ("order board p50 / p99", f"{result['board_p50_ms']} / {result['board_p99_ms']} ms"),
        ("simulated in", f"{result['wall_s']} s"),
    ]  # fmt: skip
    emit("eldercare bench service", rows, result, json_output)
    return result
