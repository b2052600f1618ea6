"""``eldercare bench reports``: the care dashboard's queries on a synthetic city, p50/p95 per query.

The city (seeded): 6 districts × 5 streets × 6 communities = 180 communities; ``residents`` residents
(default 100,000) spread over them, registered a year before the measured month, 60 % with a device,
35 % in one or two care categories; a year of visits (each categorised resident visited 0–3 times a
month, 85 % at least once), 3 % with a home care bed and 4 services a month, a year of alerts (one per
resident on average, answered in a log-normal time with median 20 s), and the population per community
by age band and category. Rows are written by COPY in the lab (seeding is not what is measured).

The rollup (``care/rollup.py``) is then built as the scheduler's tick would have built it (timed,
and reported), the city's indicators are computed once from the raw rows (the reference, reported),
and each dashboard query runs ``repeats`` times through the real :class:`care.CareService` for the
last month of the year: the whole dashboard (indicators and today's counts) of the city, a district
and a community, the visit rate and the indicators of the city and a district, the overdue list of a
community and a district, a district's care-call queue, its home-care-bed compliance and ability
levels, and the city's dashboard read right after visits were recorded (so the read catches the
rollup up itself; only the read is timed). Target (issue 17): p95 under 200 ms each.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from care import CareService
from care.periods import Month
from eldercare.db import migrate, open_pool
from lab.bench.sla import _database
from lab.report import emit, progress
from registry.area import Area
from registry.users import User

MONTH = Month(2026, 2)
YEAR_START = datetime(2025, 3, 1, tzinfo=UTC)
CATEGORIES = ("living_alone", "empty_nest", "dibao", "disabled", "very_old", "tekun")
BENCH_USER = User("bench", "admin")
WRITES_BETWEEN_READS = 20


async def _members(pool: Any, count: int, seed_value: int) -> list[str]:
    """Residents with a category, shuffled (who the write-then-read query visits)."""
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT DISTINCT resident_id FROM care_categories ORDER BY 1")
        ids = [row["resident_id"] for row in await cursor.fetchall()]
    random.Random(seed_value).shuffle(ids)
    return ids[:count]


def _city() -> tuple[list[tuple[str, str, str, str | None]], list[str]]:
    nodes: list[tuple[str, str, str, str | None]] = [("C0", "合成市", "city", None)]
    communities = []
    for d in range(6):
        district = f"D{d}"
        nodes.append((district, f"区{d}", "district", "C0"))
        for s in range(5):
            street = f"{district}S{s}"
            nodes.append((street, f"街道{d}-{s}", "street", district))
            for c in range(6):
                community = f"{street}K{c}"
                nodes.append((community, f"社区{d}-{s}-{c}", "community", street))
                communities.append(community)
    return nodes, communities


async def seed(pool: Any, residents: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    nodes, communities = _city()
    counts: dict[str, int] = {}
    async with pool.connection() as conn:
        for code, name, level, parent in nodes:
            path = "/C0/" if parent is None else None
            if path is None:
                parent_path = (
                    await (await conn.execute("SELECT path FROM org_nodes WHERE code = %s", (parent,))).fetchone()
                )["path"]  # type: ignore[index]
                path = f"{parent_path}{code}/"
            await conn.execute(
                "INSERT INTO org_nodes (code, name, level, parent, path) VALUES (%s, %s, %s, %s, %s)",
                (code, name, level, parent, path),
            )
        registered = YEAR_START - timedelta(days=30)
        people = []
        async with conn.cursor().copy("COPY residents (id, name, org_node, birth_date, created_at) FROM STDIN") as copy:
            for n in range(residents):
                rid = f"r{n:06d}"
                born = date(1925 + rng.randrange(40), rng.randrange(1, 13), rng.randrange(1, 28))
                community = rng.choice(communities)
                people.append((rid, community))
                await copy.write_row((rid, f"居民{n}", community, born, registered))
        counts["residents"] = residents
        async with conn.cursor().copy("COPY devices (id, resident_id, type, status, created_at) FROM STDIN") as copy:
            devices = 0
            for rid, _ in people:
                if rng.random() < 0.6:
                    devices += 1
                    await copy.write_row((f"btn-{rid}", rid, "sos_button", "active", registered))
        counts["devices"] = devices
        members = [rid for rid, _ in people if rng.random() < 0.35]
        async with conn.cursor().copy(
            "COPY care_categories (resident_id, category, source, valid_from, created_by) FROM STDIN"
        ) as copy:
            rows = 0
            for rid in members:
                for category in rng.sample(CATEGORIES, rng.choice((1, 1, 2))):
                    rows += 1
                    await copy.write_row((rid, category, "bench", YEAR_START.date() - timedelta(days=60), "bench"))
        counts["category_memberships"] = rows
        visits = 0
        async with conn.cursor().copy(
            "COPY care_visits (resident_id, at, mode, visitor, org_path, recorded_by) FROM STDIN"
        ) as copy:
            for rid in members:
                for month in range(12):
                    start = YEAR_START + timedelta(days=30.4 * month)
                    times = 0 if rng.random() < 0.15 else rng.choice((1, 1, 2, 3))
                    for _ in range(times):
                        visits += 1
                        at = start + timedelta(seconds=rng.uniform(0, 29 * 86400))
                        await copy.write_row(
                            (rid, at, rng.choice(("in_person", "phone", "video")), "worker", "/", "bench")
                        )
        counts["visits"] = visits
        beds = [rid for rid in members if rng.random() < 0.09]
        async with conn.cursor().copy(
            "COPY care_beds (id, resident_id, provider, level, start_date, kit, visits_per_month, services_per_month,"
            " created_by) FROM STDIN"
        ) as copy:
            for rid in beds:
                await copy.write_row(
                    (f"bed-{rid}", rid, "provider", "moderate", YEAR_START.date(), ["sos_button"], 2, 4, "bench")
                )
        async with conn.cursor().copy("COPY care_bed_services (bed_id, at, service, recorded_by) FROM STDIN") as copy:
            for rid in beds:
                for month in range(12):
                    for _ in range(4):
                        at = YEAR_START + timedelta(days=30.4 * month + rng.uniform(0, 29))
                        await copy.write_row((f"bed-{rid}", at, "bathing", "bench"))
        counts["beds"] = len(beds)
        cursor = await conn.execute("SELECT code, path FROM org_nodes")
        paths = {row["code"]: row["path"] for row in await cursor.fetchall()}  # type: ignore[call-overload]
        async with conn.cursor().copy(
            "COPY alerts (id, resident_id, device_id, kind, priority, state, occurred_at, raised_at, last_trigger_at,"
            " ringing_at, acknowledged_at, org_path) FROM STDIN"
        ) as copy:
            alerts = 0
            for rid, community in people:
                for _ in range(rng.choice((0, 1, 1, 2))):
                    alerts += 1
                    at = YEAR_START + timedelta(seconds=rng.uniform(0, 365 * 86400))
                    answered = at + timedelta(seconds=rng.lognormvariate(3.0, 0.8))
                    await copy.write_row((uuid.UUID(int=rng.getrandbits(128)), rid, f"btn-{rid}", "sos", 1, "resolved",
                                          at, at, at, at, answered, paths[community]))  # fmt: skip
        counts["alerts"] = alerts
        for community in communities:
            for band, people_in_band in (("60-69", 400), ("70-79", 250), ("80+", 100)):
                await conn.execute(
                    "INSERT INTO care_population (org_node, year, age_band, category, people)"
                    " VALUES (%s, 2026, %s, 'all', %s)",
                    (community, band, people_in_band + rng.randrange(50)),
                )
            await conn.execute(
                "INSERT INTO care_population (org_node, year, age_band, category, people)"
                " VALUES (%s, 2026, 'all', 'disabled', %s)",
                (community, 40 + rng.randrange(20)),
            )
        await conn.execute("ANALYZE")
    return counts


async def measure(url: str | None, residents: int, repeats: int, seed_value: int) -> dict[str, Any]:
    async with _database(url) as database_url:
        pool = await open_pool(database_url, min_size=1, max_size=4)
        try:
            for component in ("registry", "alerting", "care"):
                await migrate(pool, component)
            started = time.perf_counter()
            counts = await seed(pool, residents, seed_value)
            seeded_s = time.perf_counter() - started
            progress(f"bench reports: seeded {counts} in {seeded_s:.0f} s; measuring …")
            now = datetime(2026, 3, 10, 2, tzinfo=UTC)

            async def sla(start: datetime, end: datetime, path: str) -> dict[str, Any]:
                from alerting.reports import sla_report

                return await sla_report(pool, start, end, path, "all", 480)

            care = CareService(pool, clock=lambda: now, answer_times=sla)
            await care.prepare()
            started = time.perf_counter()
            await care.rollup.catch_up(MONTH)  # what the scheduler's tick has done before anyone looks
            built_s = time.perf_counter() - started
            progress(f"bench reports: rollup built (the state and {MONTH}) in {built_s:.1f} s")
            async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as maintenance:
                # a live database has been vacuumed and checkpointed since its last bulk load: the timed
                # reads should not pay for writing back the seed
                await maintenance.execute("VACUUM ANALYZE")
                await maintenance.execute("CHECKPOINT")
            city, district, community = "/C0/", "/C0/D0/", "/C0/D0/D0S0/D0S0K0/"
            started = time.perf_counter()
            await care.indicators.monthly_from_rows(city, MONTH, BENCH_USER)
            raw_city_ms = (time.perf_counter() - started) * 1000
            progress(f"  indicators, city, from the raw rows (the reference, once): {raw_city_ms:.0f} ms")
            members = await _members(pool, 2000, seed_value)
            writes = itertools.cycle(members)

            async def after_writes() -> Any:
                """Visits recorded since the last read (the scheduler has not run): the read catches them up."""
                for _ in range(WRITES_BETWEEN_READS):
                    visit = {"at": now - timedelta(hours=1), "mode": "phone", "visitor": "bench"}
                    await care.visits.record(next(writes), visit, Area(), BENCH_USER)
                started = time.perf_counter()
                await care.dashboard.summary(city, MONTH, BENCH_USER)
                return (time.perf_counter() - started) * 1000

            queries: dict[str, Callable[[], Awaitable[Any]]] = {
                "dashboard, city": lambda: care.dashboard.summary(city, MONTH, BENCH_USER),
                "dashboard, district": lambda: care.dashboard.summary(district, MONTH, BENCH_USER),
                "dashboard, community": lambda: care.dashboard.summary(community, MONTH, BENCH_USER),
                "visit rate, city": lambda: care.indicators.visit_rate(city, MONTH),
                "visit rate, district": lambda: care.indicators.visit_rate(district, MONTH),
                "indicators, city": lambda: care.indicators.monthly(city, MONTH, BENCH_USER),
                "indicators, district": lambda: care.indicators.monthly(district, MONTH, BENCH_USER),
                "overdue list, community": lambda: care.visits.overdue(Area(community), BENCH_USER),
                "overdue list, district": lambda: care.visits.overdue(Area(district), BENCH_USER),
                "care-call queue, district": lambda: care.calls.queue(Area(district), BENCH_USER),
                "bed compliance, district": lambda: care.beds.compliance(Area(district), BENCH_USER, MONTH),
                "ability levels, district": lambda: care.assessments.levels(Area(district), BENCH_USER, MONTH.last_day),
                f"dashboard, city, {WRITES_BETWEEN_READS} visits recorded before each read": after_writes,
            }
            timings: dict[str, dict[str, float]] = {}
            for name, query in queries.items():
                samples = []
                for _ in range(repeats):
                    begun = time.perf_counter()
                    measured = await query()
                    elapsed = (time.perf_counter() - begun) * 1000
                    samples.append(measured if query is after_writes else elapsed)
                samples.sort()
                timings[name] = {
                    "p50_ms": round(statistics.median(samples), 1),
                    "p95_ms": round(samples[min(len(samples) - 1, int(0.95 * len(samples)))], 1),
                }
                progress(f"  {name}: p50 {timings[name]['p50_ms']} ms, p95 {timings[name]['p95_ms']} ms")
            within = all(t["p95_ms"] < 200 for t in timings.values())
            return {"counts": counts, "seed_s": round(seeded_s, 1), "rollup_build_s": round(built_s, 1),
                    "raw_city_indicators_ms": round(raw_city_ms), "repeats": repeats, "queries": timings,
                    "target_p95_ms": 200, "all_within_target": within}  # fmt: skip
        finally:
            await pool.close()


def run(database_url: str | None, residents: int, repeats: int, seed_value: int, json_output: bool) -> dict[str, Any]:
    progress(f"bench reports: a synthetic city of {residents} residents with a year of visits and alerts …")
    result = asyncio.run(measure(database_url, residents, repeats, seed_value))
    rows = [(name, f"p50 {t['p50_ms']} ms, p95 {t['p95_ms']} ms") for name, t in result["queries"].items()]
    rows.append(("all p95 under 200 ms", result["all_within_target"]))
    emit(f"care dashboard queries, {residents} residents, {repeats} runs each", rows, result, json_output)
    return result
