"""``eldercare bench sla``: a simulated day of alerts answered by simulated operators.

Everything goes through the real :class:`~alerting.AlertService` on PostgreSQL (a throwaway
database), on a simulated clock: the cancel windows, the escalation ladder, dispatch to the nearest
responder, declines and acceptance timeouts all run as in production, only faster than real time.

The model (seeded, so runs compare):

* arrivals: ``alerts`` over 24 h, following a daytime-heavy hourly profile; kinds SOS 45 %, falls
  15 %, inactivity 12 %, smoke/gas/water 5 %, vital signs 10 %, device problems 13 %; residents
  spread over 2 districts × 3 streets × 3 communities;
* residents cancel 35 % of pending sensor alerts within the 60 s window (a press 5–50 s in);
* ``operators`` operators each take the head of the real queue (SOS and falls first, oldest
  first) when free; they answer after a reaction time (log-normal, median 6 s) and stay on the
  call for a handling time (log-normal, median 100 s);
* half of the SOS and fall calls are dispatched to the nearest available responder, who accepts
  after a log-normal delay (median 40 s), declines 10 % of the time, and never answers 4 % of the
  time (the 5-minute acceptance timer passes the alert on); travel takes a log-normal median 9 min;
  on-scene alerts are resolved 15 min later.

Prints the SLA report (share answered within 60 s and 180 s, answer-time and time-to-scene
percentiles) per district, and with ``--json`` one JSON object last.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import math
import random
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from alerting import AlertBus, AlertEvent, AlertingConfig, AlertService, AlertState, EscalationPolicy
from alerting.alert_rollup import refresh_alerts_daily
from alerting.model import CANCELLABLE_KINDS
from alerting.reports import sla_report
from eldercare.db import migrate, open_pool
from lab.harness import throwaway_database
from lab.report import emit, progress
from registry.rows import connection
from stream.detections import Detection, DetectionKind

KINDS: list[tuple[DetectionKind, float]] = [
    (DetectionKind.SOS, 0.45),
    (DetectionKind.FALL, 0.15),
    (DetectionKind.INACTIVITY, 0.12),
    (DetectionKind.SMOKE, 0.02),
    (DetectionKind.GAS, 0.01),
    (DetectionKind.WATER_LEAK, 0.02),
    (DetectionKind.VITALS, 0.10),
    (DetectionKind.DEVICE_OFFLINE, 0.08),
    (DetectionKind.LOW_BATTERY, 0.05),
]
HOURLY = [2, 1, 1, 1, 1, 2, 4, 6, 8, 8, 7, 7, 6, 6, 7, 7, 7, 7, 6, 5, 4, 3, 3, 2]
"""Relative alert rate per local hour."""


class SimClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class CountingBus(AlertBus):
    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()
        self.reoffered: list[uuid.UUID] = []
        """Alerts the service passed to the next responder by itself (after a timeout)."""

    def publish(self, event: AlertEvent) -> None:
        key = event.type.value
        if key == "alert.escalated":
            key = f"{key}.{event.detail.get('step', '')}"
            if event.detail.get("step") == "next_responder" and event.actor == "system":
                self.reoffered.append(event.alert.id)
        self.counts[key] += 1
        super().publish(event)


def lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


class Simulation:
    def __init__(
        self, service: AlertService, bus: CountingBus, clock: SimClock, rng: random.Random, operators: int
    ) -> None:
        self.service = service
        self.bus = bus
        self.clock = clock
        self.rng = rng
        self.free_operators = [f"op{n}" for n in range(1, operators + 1)]
        self.claimed: set[uuid.UUID] = set()
        self.events: list[tuple[datetime, int, Callable[[], Awaitable[None]]]] = []
        self.seq = itertools.count()
        self.cancelled_by_resident = 0

    def at(self, when: datetime, action: Callable[[], Awaitable[None]]) -> None:
        heapq.heappush(self.events, (when, next(self.seq), action))

    def after(self, seconds: float, action: Callable[[], Awaitable[None]]) -> None:
        self.at(self.clock.now + timedelta(seconds=seconds), action)

    async def run(self) -> None:
        while self.events or self.service.scheduler.next_due() is not None:
            next_event = self.events[0][0] if self.events else None
            due = self.service.scheduler.next_due()
            if due is not None and (next_event is None or due <= next_event):
                self.clock.now = max(self.clock.now, due)
                await self.service.tick()
                reoffered, self.bus.reoffered = self.bus.reoffered, []
                for alert_id in reoffered:  # the next responder gets the offer and answers in turn
                    await self.responder_answers(alert_id)
            else:
                when, _, action = heapq.heappop(self.events)
                self.clock.now = max(self.clock.now, when)
                await action()
            await self.assign()

    async def assign(self) -> None:
        """Free operators take the head of the ringing queue (the real, prioritised one)."""
        if not self.free_operators:
            return
        queue = await self.service.open_alerts(limit=50, states=[AlertState.RAISED])
        for alert in queue:
            if not self.free_operators:
                break
            if alert.id in self.claimed:
                continue
            self.claimed.add(alert.id)
            operator = self.free_operators.pop(0)
            self.after(lognormal(self.rng, 6.0, 0.7), partial_call(self.answer, alert.id, alert.kind, operator))

    async def answer(self, alert_id: uuid.UUID, kind: str, operator: str) -> None:
        alert = await self.service.get(alert_id)
        if alert.state is not AlertState.RAISED:  # e.g. a family member acknowledged it first
            self.free_operators.append(operator)
            return
        await self.service.acknowledge(alert_id, operator, "simulated call")
        handling = lognormal(self.rng, 100.0, 0.5)
        dispatch = kind in (DetectionKind.SOS, DetectionKind.FALL) and self.rng.random() < 0.5
        if dispatch:
            self.after(handling * 0.6, partial_call(self.dispatch, alert_id, operator))
        else:
            outcome = "device_fault" if kind in ("device_offline", "low_battery") else "resident_fine"
            self.after(handling, partial_call(self.resolve, alert_id, operator, outcome))
        self.after(handling, partial_call(self.release, operator))

    async def release(self, operator: str) -> None:
        self.free_operators.append(operator)

    async def dispatch(self, alert_id: uuid.UUID, operator: str) -> None:
        try:
            await self.service.dispatch(alert_id, operator)
        except Exception:  # nobody available: the operator handles it on the phone
            await self.resolve(alert_id, operator, "resident_fine")
            return
        await self.responder_answers(alert_id)

    async def responder_answers(self, alert_id: uuid.UUID) -> None:
        offers = [d for d in await self.service.dispatches(alert_id) if d["status"] == "offered"]
        if not offers:
            return
        offer = offers[-1]
        roll = self.rng.random()
        if roll < 0.04:
            return  # never answers: the acceptance timer passes it on
        accept = roll >= 0.14
        self.after(lognormal(self.rng, 40.0, 0.6), partial_call(self.respond, alert_id, offer, accept))

    async def respond(self, alert_id: uuid.UUID, offer: dict[str, Any], accept: bool) -> None:
        try:
            alert = await self.service.respond(alert_id, offer["responder"], offer["id"], accept)
        except Exception:
            return  # already timed out and passed on
        self.bus.reoffered.clear()  # a decline's re-offer is answered here, not after the next tick
        if not accept:
            if alert.state is AlertState.DISPATCHED:
                await self.responder_answers(alert_id)
            else:
                await self.resolve(alert_id, "op1", "resident_fine")
            return
        self.after(lognormal(self.rng, 540.0, 0.45), partial_call(self.arrive, alert_id, offer["responder"]))

    async def arrive(self, alert_id: uuid.UUID, responder: str) -> None:
        with contextlib.suppress(Exception):
            await self.service.arrive(alert_id, f"responder:{responder}", responder=responder)
            self.after(900, partial_call(self.resolve, alert_id, f"responder:{responder}", "emergency_handled"))

    async def resolve(self, alert_id: uuid.UUID, actor: str, outcome: str) -> None:
        with contextlib.suppress(Exception):
            await self.service.resolve(alert_id, actor, outcome)

    async def press(self, detection: Detection) -> None:
        events = await self.service.raise_detections([detection])
        self.cancelled_by_resident += sum(1 for e in events if e.type.value == "alert.cancelled")

    async def raise_alert(self, detection: Detection) -> None:
        events = await self.service.raise_detections([detection])
        if not events or events[0].type.value != "alert.pending":
            return
        if self.rng.random() < 0.35:
            press_at = self.rng.uniform(5.0, 50.0)
            ms = int((self.clock.now + timedelta(seconds=press_at)).timestamp() * 1000)
            press = Detection(
                detection.resident_id,
                f"btn-{detection.resident_id}",
                DetectionKind.SOS,
                ms,
                ms,
                f"press-{ms}-{detection.key}",
            )
            self.after(press_at, partial_call(self.press, press))


def partial_call(function: Callable[..., Awaitable[None]], *args: Any) -> Callable[[], Awaitable[None]]:
    async def call() -> None:
        await function(*args)

    return call


def network() -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Residents → org paths, and responders (one community worker per community, one volunteer per street)."""
    paths = []
    responders = []
    for d in (1, 2):
        for s in (1, 2, 3):
            street = f"/city/d{d}/d{d}s{s}/"
            responders.append({"username": f"vol-d{d}s{s}", "kind": "volunteer", "path": street})
            for c in (1, 2, 3):
                community = f"{street}d{d}s{s}c{c}/"
                paths.append(community)
                responders.append({"username": f"cw-d{d}s{s}c{c}", "kind": "community_worker", "path": community})
    residents = {f"r{n:04d}": paths[n % len(paths)] for n in range(540)}
    return residents, responders


@contextlib.asynccontextmanager
async def _database(url: str | None, settings: Mapping[str, str] | None = None) -> AsyncIterator[str]:
    """A throwaway database on ``url``'s server, or on an embedded PostgreSQL in a temp directory
    (started with ``settings``)."""
    if url is None:
        from eldercare.embedded import EmbeddedPostgres

        with tempfile.TemporaryDirectory(prefix="eldercare-bench-sla-") as directory:
            server = EmbeddedPostgres(directory, settings=settings)
            await server.start()
            try:
                yield server.url()
            finally:
                await server.stop()
        return
    async with throwaway_database(url) as fresh:
        yield fresh


async def simulate(database_url: str | None, alerts: int, operators: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    local = timedelta(hours=8)
    day = datetime(2026, 3, 2, tzinfo=UTC) - local  # local midnight, UTC+8
    residents, responders = network()
    started = time.perf_counter()
    async with _database(database_url) as url:
        pool = await open_pool(url, min_size=1, max_size=4)
        try:
            await migrate(pool, "alerting")
            clock = SimClock(day)
            bus = CountingBus()
            service = AlertService(
                pool,
                bus,
                clock=clock,
                org_of=residents.get,
                config=AlertingConfig(policy=EscalationPolicy()),
            )
            await service.restore()
            for r in responders:
                node = [s for s in r["path"].split("/") if s][-1]
                await service.upsert_responder(
                    {"username": r["username"], "name": r["username"], "kind": r["kind"], "org_node": node}, r["path"]
                )
            sim = Simulation(service, bus, clock, rng, operators)
            times = sorted(_arrivals(rng, alerts))
            kinds, kind_weights = zip(*KINDS, strict=True)
            resident_ids = list(residents)
            for n, at_s in enumerate(times):
                kind = rng.choices(kinds, kind_weights)[0]
                resident = rng.choice(resident_ids)
                when = day + timedelta(seconds=at_s)
                ms = int(when.timestamp() * 1000)
                device = f"btn-{resident}" if kind is DetectionKind.SOS else f"{kind.value}-{resident}"
                detection = Detection(resident, device, kind, ms, ms, f"sim-{n}")
                sim.at(when, partial_call(sim.raise_alert, detection))
            await sim.run()
            await service.drain()
            await refresh_alerts_daily(pool, service.config.utc_offset_min)  # as the platform does every minute
            report = await sla_report(pool, day, day + timedelta(days=2), "/city/", "all")
            async with connection(pool) as conn:
                cursor = await conn.execute("SELECT state, count(*) AS n FROM alerts GROUP BY state ORDER BY state")
                states = {row["state"]: row["n"] for row in await cursor.fetchall()}
        finally:
            await pool.close()
    return {
        "report": report,
        "states": states,
        "events": dict(sorted(bus.counts.items())),
        "cancelled_by_resident": sim.cancelled_by_resident,
        "wall_s": round(time.perf_counter() - started, 1),
        "pending_kinds": sorted(k.value for k in CANCELLABLE_KINDS),
    }


def _arrivals(rng: random.Random, n: int) -> list[float]:
    """``n`` arrival times (seconds into the day) following the hourly profile."""
    total = sum(HOURLY)
    hours = rng.choices(range(24), [w / total for w in HOURLY], k=n)
    return [hour * 3600 + rng.uniform(0, 3600) for hour in hours]


def run(database_url: str | None, alerts: int, operators: int, seed: int, json_output: bool) -> dict[str, Any]:
    progress(f"bench sla: simulating a day of {alerts} alerts, {operators} operators (seed {seed}) …")
    result = asyncio.run(simulate(database_url, alerts, operators, seed))
    total = result["report"]["total"]
    rows: list[tuple[str, Any]] = [
        ("alerts raised (incl. cancelled)", sum(result["states"].values())),
        ("rang at the console", total["alerts"]),
        ("cancelled by resident press", result["cancelled_by_resident"]),
        ("answered within 60 s", f"{_pct(total['within_60s'])}  (target 97.5 %)"),
        ("answered within 180 s", f"{_pct(total['within_180s'])}  (target 99 %)"),
        (
            "answer time p50 / p90 / max",
            f"{total['answer_p50_s']} / {total['answer_p90_s']} / {total['answer_max_s']} s",
        ),
        ("responder on scene", total["on_scene"]),
        ("time to scene p50 / p90", f"{total['on_scene_p50_s']} / {total['on_scene_p90_s']} s"),
        ("escalations (ring again)", result["events"].get("alert.escalated.ring_again", 0)),
        ("escalations (supervisor)", result["events"].get("alert.escalated.supervisor", 0)),
        ("passed to next responder", result["events"].get("alert.escalated.next_responder", 0)),
        ("120 prompts", result["events"].get("alert.escalated.emergency_call", 0)),
        ("simulated in", f"{result['wall_s']} s"),
    ]
    for area in result["report"]["areas"]:
        rows.append(
            (
                f"  district {area['area']}",
                f"{area['alerts']} alerts, {_pct(area['within_60s'])} ≤60 s, {_pct(area['within_180s'])} ≤180 s,"
                f" on scene p50 {area['on_scene_p50_s']} s",
            )
        )
    figures = {
        "bench": "sla",
        "alerts": alerts,
        "operators": operators,
        "seed": seed,
        "rang": total["alerts"],
        "within_60s": total["within_60s"],
        "within_180s": total["within_180s"],
        "meets_targets": total["meets_targets"],
        "answer_p50_s": total["answer_p50_s"],
        "answer_p90_s": total["answer_p90_s"],
        "answer_max_s": total["answer_max_s"],
        "on_scene": total["on_scene"],
        "on_scene_p50_s": total["on_scene_p50_s"],
        "on_scene_p90_s": total["on_scene_p90_s"],
        "cancelled_by_resident": result["cancelled_by_resident"],
        "states": result["states"],
        "events": result["events"],
        "areas": result["report"]["areas"],
        "wall_s": result["wall_s"],
    }
    emit("SLA over a simulated day (real AlertService on PostgreSQL, simulated clock)", rows, figures, json_output)
    return figures


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:.1f} %"
