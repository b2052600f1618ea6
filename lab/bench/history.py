"""``eldercare bench history``: a year of everyday history for a city's residents, written and read back.

In a throwaway database (on ``--database-url``'s server, else ``ELDERCARE_DATABASE_URL``'s, else an
embedded PostgreSQL), through the platform's own :class:`~alerting.history.EventHistory`:

* **write**: ``days`` of synthetic everyday history for ``residents`` residents, ending now, in
  time order a day at a time, in batches of ``batch`` events through ``append`` (binary COPY into the
  events, merged into the rollups in the same transaction; on TimescaleDB straight into the
  hypertable), by ``writers`` concurrent writers, each over its own residents (as the history's
  writers of a city each take their own resident partitions: their rollup rows never meet), while the
  next day is generated in a thread. The model (seeded): each home has a living-room and a bedroom PIR, an entrance door
  and a bed pad, ``activity`` events a day on them (a daytime-heavy hourly profile; the bed pad at
  night), and a ``status`` report (online, battery slowly draining) from each device every
  ``24 / status`` hours. The write rate is events over the time spent in ``append``.
  With ``raw_days`` the platform's retention runs after each simulated day, as it does hourly at a
  site: raw partitions wholly older than ``raw_days`` are dropped while the year is written (the
  aggregates stay); ``0`` keeps every raw event.
* **bare COPY**: the first two days' rows again, binary COPY into a plain table with no index and
  no rollup: what the disk and server take without the history's work, for comparison.
* **alerts**: about two alerts per resident a month (SQL-generated rows, 90 % answered, log-normal
  answer times), then the ``alerts_daily`` refresh.
* **reads** (after ``ANALYZE``), ``queries`` each at random: the resident timeline (24 h of a
  resident's hourly activity), the overview's activity check (which of a district's residents, up
  to 500, were active today), and the monthly area report (:func:`~alerting.reports.sla_report`,
  ``period=month``, for a district and a month): p50 / p95 / max in ms (target p95 < 100 ms).
* **disk**: bytes of the raw events (tables, indexes, TOAST) and of the aggregates, per resident-year.

Without ``--database-url`` (and ``ELDERCARE_DATABASE_URL``) the embedded server runs with the site
settings in ``deploy/postgresql.conf``; the server's memory and checkpoint settings are printed either way.
Prints whether TimescaleDB was present, and with ``--json`` one JSON object last.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from psycopg_pool import AsyncConnectionPool

from alerting.alert_rollup import refresh_alerts_daily
from alerting.history import _PARTITION, _TABLE_BODY, EventHistory, HistoryConfig, _copy, _row
from alerting.reports import sla_report
from devices.events import Event, Stream
from eldercare.db import migrate, open_pool
from lab.bench.sla import _database
from lab.report import emit, progress

HOURLY = np.array([1, 1, 1, 1, 1, 2, 5, 9, 9, 8, 7, 7, 8, 6, 5, 6, 7, 8, 9, 8, 6, 4, 2, 1], dtype=np.float64)
"""Relative activity per local hour (awake in the day, a night visit or two)."""
NIGHT_BED = np.array([8, 8, 8, 8, 8, 8, 4, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 4, 8, 8], dtype=np.float64)
ROOMS = (("living", Stream.MOTION, 0.45), ("bedroom", Stream.MOTION, 0.25), ("door", Stream.CONTACT, 0.12))
DEVICES = ("pir-l", "pir-b", "door", "bed")
OFFSET_MIN = 480
DISTRICTS, STREETS, COMMUNITIES = 6, 4, 5
SITE_SETTINGS = Path(__file__).resolve().parents[2] / "deploy" / "postgresql.conf"
SHOWN_SETTINGS = ("shared_buffers", "max_wal_size", "checkpoint_timeout", "wal_compression", "synchronous_commit")


def site_settings(path: Path = SITE_SETTINGS) -> dict[str, str]:
    """``name = value`` lines of a postgresql.conf (comments and blank lines skipped)."""
    settings = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, value = line.partition("=")
            settings[name.strip()] = value.strip().strip("'")
    return settings


def org_path(index: int) -> str:
    community = index % (DISTRICTS * STREETS * COMMUNITIES)
    district, rest = divmod(community, STREETS * COMMUNITIES)
    street, block = divmod(rest, COMMUNITIES)
    return f"/city/d{district + 1}/s{street + 1}/c{block + 1}/"


def day_events(
    rng: np.random.Generator, day_start_ms: int, residents: int, activity: int, status: int, battery: np.ndarray
) -> list[Event]:
    """One local day of every home's events, in time order."""
    hour_p = HOURLY / HOURLY.sum()
    bed_share = 0.18
    n = residents * activity
    who = np.repeat(np.arange(residents), activity)
    is_bed = rng.random(n) < bed_share
    hours = np.where(is_bed, rng.choice(24, n, p=NIGHT_BED / NIGHT_BED.sum()), rng.choice(24, n, p=hour_p))
    offsets = hours * 3_600_000 + rng.integers(0, 3_600_000, n)
    weights = np.array([share for *_, share in ROOMS])
    room = rng.choice(len(ROOMS), n, p=weights / weights.sum())
    flag = rng.random(n) < 0.5
    # status: every device, ``status`` times a day, evenly with jitter
    m = residents * len(DEVICES) * status
    s_who = np.repeat(np.arange(residents), len(DEVICES) * status)
    s_dev = np.tile(np.repeat(np.arange(len(DEVICES)), status), residents)
    s_off = np.tile(np.arange(status), residents * len(DEVICES)) * (86_400_000 // status) + rng.integers(0, 600_000, m)
    times = np.concatenate([offsets, s_off]) + day_start_ms
    order = np.argsort(times, kind="stable")
    events: list[Event] = []
    for i in order.tolist():
        at = int(times[i])
        if i < n:
            r = int(who[i])
            if is_bed[i]:
                device, stream, values = f"bed-{r}", Stream.BED, {"occupied": bool(flag[i])}
            else:
                name, stream, _ = ROOMS[int(room[i])]
                device = f"{'door' if name == 'door' else 'pir-' + name[0]}-{r}"
                values = {"open": bool(flag[i])} if stream is Stream.CONTACT else {"occupancy": True}
            events.append(Event(device, f"r{r:05d}", stream, at - 40, at, values))
        else:
            j = i - n
            r, d = int(s_who[j]), int(s_dev[j])
            battery[r, d] = max(5.0, battery[r, d] - 0.02)
            level = int(battery[r, d])
            events.append(
                Event(f"{DEVICES[d]}-{r}", f"r{r:05d}", Stream.STATUS, at - 40, at, {"online": True, "battery": level})
            )
    return events


@dataclass(frozen=True, slots=True)
class Workload:
    """What ``eldercare bench history`` writes and reads (its command-line options)."""

    residents: int = 10_000
    days: int = 365
    activity: int = 40
    """activity events per home and day"""
    status: int = 2
    """status reports per device and day"""
    batch: int = 5000
    queries: int = 200
    seed: int = 15
    raw_days: int = 0
    """raw events kept, with retention as the days pass; 0: all"""
    writers: int = 1


async def write(history: EventHistory, pool: AsyncConnectionPool, work: Workload) -> dict[str, Any]:
    residents, days, batch, writers = work.residents, work.days, work.batch, work.writers
    rng = np.random.default_rng(work.seed)
    battery = rng.uniform(60, 100, (residents, len(DEVICES)))
    now = datetime.now(UTC)
    local_midnight = (now + timedelta(minutes=OFFSET_MIN)).replace(hour=0, minute=0, second=0, microsecond=0)
    first = local_midnight - timedelta(minutes=OFFSET_MIN) - timedelta(days=days - 1)
    months = (now.year - first.year) * 12 + now.month - first.month + history.config.months_ahead
    await history.ensure_partitions(first, months_ahead=months)
    async with pool.connection() as conn:
        await conn.execute(f"CREATE UNLOGGED TABLE IF NOT EXISTS events_bare ({_TABLE_BODY})")
        await conn.execute("ALTER TABLE events_bare SET LOGGED")
    rows = bare_rows = 0
    append_s = bare_s = maintain_s = 0.0
    dropped: list[str] = []
    writer_of = {f"r{r:05d}": r % writers for r in range(residents)}

    def generate(day: int) -> list[Event]:
        start_ms = int((first + timedelta(days=day)).timestamp() * 1000)
        events = day_events(rng, start_ms, residents, work.activity, work.status, battery)
        now_ms = int(time.time() * 1000)
        return [e for e in events if e.received_ms <= now_ms]  # today: only what has happened

    async def append_all(events: list[Event]) -> None:
        for i in range(0, len(events), batch):
            await history.append(events[i : i + batch])

    wall = time.perf_counter()
    upcoming = asyncio.ensure_future(asyncio.to_thread(generate, 0))
    for day in range(days):
        events = await upcoming
        if day + 1 < days:  # the next day is generated while this one is written
            upcoming = asyncio.ensure_future(asyncio.to_thread(generate, day + 1))
        shares: list[list[Event]] = [[] for _ in range(writers)]
        for event in events:
            shares[writer_of[event.resident_id]].append(event)
        t0 = time.perf_counter()
        await asyncio.gather(*(append_all(share) for share in shares))
        append_s += time.perf_counter() - t0
        rows += len(events)
        if day < 2:
            t0 = time.perf_counter()
            for i in range(0, len(events), batch):
                async with pool.connection() as conn, conn.transaction():
                    await _copy(conn, "events_bare", (_row(e) for e in events[i : i + batch]))
            bare_s += time.perf_counter() - t0
            bare_rows += len(events)
        if work.raw_days:
            t0 = time.perf_counter()
            # at each simulated day's end; today's has not come yet, so today it runs now (a clock up to
            # a day ahead would drop a month the platform still holds)
            day_end = min(first + timedelta(days=day + 1), datetime.now(UTC))
            dropped += await history.apply_retention(day_end)
            maintain_s += time.perf_counter() - t0
        if day % 10 == 9 or day == days - 1:
            progress(
                f"  day {day + 1}/{days}: {rows:,} events, {rows / max(append_s, 1e-9):,.0f} events/s"
                + (f", {len(dropped)} raw partitions dropped" if dropped else "")
            )
    async with pool.connection() as conn:
        await conn.execute("DROP TABLE events_bare")
    return {
        "rows": rows,
        "writers": writers,
        "append_s": round(append_s, 1),
        "write_rows_per_s": round(rows / max(append_s, 1e-9)),
        "bare_copy_rows": bare_rows,
        "bare_copy_rows_per_s": round(bare_rows / max(bare_s, 1e-9)),
        "wall_s": round(time.perf_counter() - wall, 1),
        "retention_s": round(maintain_s, 1),
        "raw_partitions_dropped": dropped,
        "first_day": first.isoformat(),
    }


async def make_alerts(pool: AsyncConnectionPool, residents: int, days: int, seed: int) -> dict[str, Any]:
    """About two alerts per resident a month, 90 % answered (log-normal, median 20 s), 40 % with a
    responder on scene (median 15 min); ``alerts_daily`` refreshed from them."""
    count = max(1, residents * days * 2 // 30)
    communities = DISTRICTS * STREETS * COMMUNITIES
    async with pool.connection() as conn:
        await conn.execute("SELECT setseed(%s)", (seed / 2**31,))
        await conn.execute(
            """
            WITH a AS (
                SELECT gen_random_uuid() AS id, (random() * %(residents)s)::int AS r,
                       now() - random() * make_interval(days => %(days)s) AS at, random() AS p,
                       exp(ln(20) + 0.9 * sqrt(-2 * ln(random())) * cos(2 * pi() * random())) AS answer_s,
                       exp(ln(900) + 0.5 * sqrt(-2 * ln(random())) * cos(2 * pi() * random())) AS scene_s
                FROM generate_series(1, %(count)s)
            ), rows AS (
                INSERT INTO alerts (id, resident_id, device_id, kind, priority, state, occurred_at, raised_at,
                                    last_trigger_at, ringing_at, acknowledged_at, on_scene_at, org_path)
                SELECT id, format('r%%s', lpad(r::text, 5, '0')), format('btn-%%s', r), 'sos', 1, 'resolved', at, at,
                       at, at, CASE WHEN p < 0.9 THEN at + make_interval(secs => answer_s) END,
                       CASE WHEN p < 0.4 THEN at + make_interval(secs => scene_s) END,
                       format('/city/d%%s/s%%s/c%%s/', (r %% %(communities)s) / 20 + 1,
                              (r %% %(communities)s) %% 20 / 5 + 1, (r %% %(communities)s) %% 5 + 1)
                FROM a RETURNING id, raised_at
            )
            INSERT INTO alert_audit (alert_id, at, actor, action) SELECT id, raised_at, 'bench', 'raised' FROM rows
            """,
            {"residents": residents, "days": days, "count": count, "communities": communities},
        )
    t0 = time.perf_counter()
    written = await refresh_alerts_daily(pool, OFFSET_MIN)
    return {"alerts": count, "alerts_daily_rows": written, "refresh_s": round(time.perf_counter() - t0, 2)}


async def timed(samples: int, query: Any) -> dict[str, float]:
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        await query()
        times.append((time.perf_counter() - t0) * 1000)
    values = np.asarray(times)
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p95_ms": round(float(np.percentile(values, 95)), 2),
        "max_ms": round(float(values.max()), 2),
    }


async def reads(
    history: EventHistory, pool: AsyncConnectionPool, residents: int, days: int, queries: int, seed: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    async with pool.connection() as conn:
        await conn.execute("ANALYZE")
    now = datetime.now(UTC)
    today = (now + timedelta(minutes=OFFSET_MIN)).replace(hour=0, minute=0, second=0, microsecond=0)
    today_start = today - timedelta(minutes=OFFSET_MIN)
    streams = ["motion", "contact", "bed", "seat", "vibration", "alarm", "env", "vitals"]
    by_district: dict[str, list[str]] = {}
    for r in range(residents):
        by_district.setdefault(org_path(r).split("/")[2], []).append(f"r{r:05d}")

    async def timeline() -> None:
        await history.activity(f"r{rng.randrange(residents):05d}", now - timedelta(hours=24))

    async def overview() -> None:
        ids = by_district[rng.choice(sorted(by_district))][:500]
        await history.active_residents(ids, today_start, streams)

    async def monthly() -> None:
        month = (today.replace(day=1) - timedelta(days=rng.randrange(0, max(1, days - 1)))).replace(day=1)
        end = (month + timedelta(days=32)).replace(day=1)
        offset = timedelta(minutes=OFFSET_MIN)
        await sla_report(
            pool, month - offset, end - offset, f"/city/d{rng.randint(1, DISTRICTS)}/", "month", OFFSET_MIN
        )

    return {
        "timeline": await timed(queries, timeline),
        "overview_activity": await timed(queries, overview),
        "monthly_area_report": await timed(queries, monthly),
    }


async def raw_days_held(pool: AsyncConnectionPool, first: datetime, now: datetime) -> float:
    """Days of raw events still held: from the oldest remaining monthly partition's start (or the first
    day written) to now."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT min(c.relname) AS oldest FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'events'::regclass AND c.relname ~ '^events_[0-9]{4}_[0-9]{2}$'"
        )
        oldest = (await cursor.fetchone())["oldest"]  # type: ignore[index,call-overload]
    start = first
    if oldest is not None and (match := _PARTITION.match(oldest)):
        start = max(first, datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC))
    return (now - start).total_seconds() / 86_400


async def measure(url: str | None, work: Workload) -> dict[str, Any]:
    residents, days, raw_days, writers, seed = work.residents, work.days, work.raw_days, work.writers, work.seed
    async with _database(url, None if url else site_settings()) as database_url:
        pool = await open_pool(database_url, min_size=1, max_size=writers + 2)
        try:
            await migrate(pool, "alerting")
            async with pool.connection() as conn:
                cursor = await conn.execute(
                    "SELECT name, current_setting(name) AS value FROM unnest(%s::text[]) AS name",
                    (list(SHOWN_SETTINGS),),
                )
                shown = {row["name"]: row["value"] for row in await cursor.fetchall()}  # type: ignore[call-overload]
                server = {"embedded": url is None, **shown}
            kept = raw_days or days + 62
            history = EventHistory(pool, HistoryConfig(raw_days=kept, utc_offset_min=OFFSET_MIN))
            mode = await history.ensure_schema()
            progress(f"bench history: {residents:,} residents x {days} days, {mode} …")
            written = await write(history, pool, work)
            alerts = await make_alerts(pool, residents, days, seed)
            latencies = await reads(history, pool, residents, days, work.queries, seed)
            sizes = await history.disk_bytes()
            held = await raw_days_held(pool, datetime.fromisoformat(written["first_day"]), datetime.now(UTC))
        finally:
            await pool.close()
    resident_years = residents * days / 365.0
    return {
        "mode": mode,
        "server": server,
        "write": written,
        "raw_days_kept": raw_days,
        "raw_days_held": round(held, 1),
        "alerts": alerts,
        "reads": latencies,
        "bytes": sizes,
        "bytes_per_resident_year": {
            "events": round(sizes["events"] / (residents * min(held, days) / 365.0)),
            "aggregates": round(sum(v for k, v in sizes.items() if k != "events") / resident_years),
        },
    }


def run(database_url: str | None, work: Workload, json_output: bool) -> dict[str, Any]:
    result = asyncio.run(measure(database_url, work))
    residents, days, raw_days, writers = work.residents, work.days, work.raw_days, work.writers
    w, r, per = result["write"], result["reads"], result["bytes_per_resident_year"]
    timescale = result["mode"] == "timescaledb"
    rows: list[tuple[str, Any]] = [
        ("TimescaleDB", "present (hypertable, continuous aggregates)" if timescale else "absent (partitions, rollups)"),
        (
            "PostgreSQL",
            ("embedded, deploy/postgresql.conf: " if result["server"]["embedded"] else "as configured: ")
            + ", ".join(f"{name} {result['server'][name]}" for name in SHOWN_SETTINGS),
        ),
        ("events written", f"{w['rows']:,} in {w['append_s']} s of append ({w['wall_s']} s wall)"),
        ("write rate (append: COPY + rollups)", f"{w['write_rows_per_s']:,} events/s, {writers} writer(s)"),
        ("bare binary COPY, plain table", f"{w['bare_copy_rows_per_s']:,} rows/s ({w['bare_copy_rows']:,} rows)"),
        (
            "raw events kept",
            f"{raw_days} days (retention after each day; {len(w['raw_partitions_dropped'])} monthly partitions"
            f" dropped in {w['retention_s']} s), {result['raw_days_held']} days held at the end"
            if raw_days
            else "all",
        ),
        ("raw events on disk / resident-year", f"{per['events']:,} bytes"),
        ("aggregates on disk / resident-year", f"{per['aggregates']:,} bytes"),
        (
            "alerts / alerts_daily rows / refresh",
            f"{result['alerts']['alerts']:,} / "
            f"{result['alerts']['alerts_daily_rows']:,} / {result['alerts']['refresh_s']} s",
        ),
    ]
    for name, figures in r.items():
        rows.append((f"{name} p50 / p95 / max", f"{figures['p50_ms']} / {figures['p95_ms']} / {figures['max_ms']} ms"))
    figures = {
        "bench": "history",
        "timescaledb": timescale,
        "residents": residents,
        "days": days,
        "activity_per_day": work.activity,
        "status_per_device_day": work.status,
        "batch": work.batch,
        "writers": writers,
        "seed": work.seed,
        "server": result["server"],
        "raw_days_kept": raw_days,
        "raw_days_held": result["raw_days_held"],
        "rows": w["rows"],
        "write_rows_per_s": w["write_rows_per_s"],
        "bare_copy_rows_per_s": w["bare_copy_rows_per_s"],
        "bytes_per_resident_year": per,
        "bytes": result["bytes"],
        "timeline_p95_ms": r["timeline"]["p95_ms"],
        "overview_p95_ms": r["overview_activity"]["p95_ms"],
        "monthly_report_p95_ms": r["monthly_area_report"]["p95_ms"],
        "reads": r,
        "alerts": result["alerts"],
        "write": w,
    }
    emit(f"History: {residents:,} residents x {days} days of everyday events", rows, figures, json_output)
    return figures
