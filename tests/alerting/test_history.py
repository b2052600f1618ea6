"""The event history on a real PostgreSQL: partitions ahead, retention, and the rollups against a
plain-Python reference computed from the raw rows (late, out-of-order and repeated events included).

The TimescaleDB path runs the same comparison when the server has the extension, and is skipped
with the reason otherwise.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from alerting.history import EventHistory, HistoryConfig
from alerting.rollups import ACTIVITY_HOURLY, DEVICE_DAILY
from devices.events import Event, Stream
from eldercare.db import open_pool
from tests.services import TestServices

OFFSET_MIN = 480  # UTC+8: a local day starts at 16:00 UTC
START = datetime(2026, 1, 30, 10, 0, tzinfo=UTC)
STREAMS = [Stream.MOTION, Stream.CONTACT, Stream.BED, Stream.STATUS, Stream.IMU, Stream.VITALS]


@pytest.fixture
async def pool(services: TestServices) -> AsyncIterator[AsyncConnectionPool]:
    pool = await open_pool(await services.create_database(), min_size=1, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _event(rng: random.Random, received: datetime) -> Event:
    stream = rng.choice(STREAMS)
    resident = rng.choice(["res-1", "res-2", "res-3", ""])  # "": a device bound to nobody
    values: dict[str, Any] = {}
    if stream is Stream.STATUS:
        values = rng.choice([{"online": True, "battery": rng.randint(0, 100)}, {"online": False}, {"tamper": True}])
    elif stream is Stream.MOTION:
        values = {"occupancy": True}
    return Event(
        device_id=f"dev-{rng.randint(1, 5)}",
        resident_id=resident,
        stream=stream,
        ts_ms=_ms(received) - rng.randint(0, 5000),
        received_ms=_ms(received),
        values=values,
        seq=rng.randint(0, 1000),
    )


def _events(seed: int, n: int, days: float) -> list[Event]:
    rng = random.Random(seed)
    return [_event(rng, START + timedelta(seconds=rng.uniform(0, days * 86400))) for _ in range(n)]


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _local_day(moment: datetime) -> tuple[datetime, int]:
    """The UTC start of ``moment``'s local day, and its local hour."""
    local = moment + timedelta(minutes=OFFSET_MIN)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(minutes=OFFSET_MIN)
    return start, local.hour


def reference(
    events: list[Event],
) -> tuple[dict[tuple[Any, ...], tuple[Any, ...]], dict[tuple[Any, ...], tuple[Any, ...]]]:
    """The reference twin of :data:`ACTIVITY_HOURLY` and :data:`DEVICE_DAILY`, from the raw events."""
    activity: dict[tuple[Any, ...], list[Any]] = {}
    devices: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(
        lambda: {"messages": 0, "status": 0, "offline": 0, "hours": 0, "batteries": [], "times": []}
    )
    for event in events:
        at = datetime.fromtimestamp(event.received_ms / 1000, UTC)
        if event.resident_id and event.stream not in (Stream.IMU, Stream.STATUS):
            key = (_hour(at), event.resident_id, event.device_id, event.stream.value)
            row = activity.setdefault(key, [0, at, at])
            row[0] += 1
            row[1], row[2] = min(row[1], at), max(row[2], at)
        day, hour = _local_day(at)
        figures = devices[(day, event.device_id, event.resident_id)]
        figures["messages"] += 1
        figures["hours"] |= 1 << hour
        figures["times"].append(at)
        if event.stream is Stream.STATUS:
            figures["status"] += 1
            figures["offline"] += event.values.get("online") is False
            if "battery" in event.values:
                figures["batteries"].append(float(event.values["battery"]))
    daily = {
        key: (
            f["messages"],
            f["status"],
            f["offline"],
            f["hours"],
            min(f["batteries"], default=None),
            max(f["batteries"], default=None),
            min(f["times"]),
            max(f["times"]),
        )
        for key, f in devices.items()
    }
    return {k: tuple(v) for k, v in activity.items()}, daily


async def stored(
    pool: AsyncConnectionPool,
) -> tuple[dict[tuple[Any, ...], tuple[Any, ...]], dict[tuple[Any, ...], tuple[Any, ...]]]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            f"SELECT bucket, resident_id, device_id, stream, events, first_at, last_at FROM {ACTIVITY_HOURLY.name}"
        )
        activity = {
            (r["bucket"], r["resident_id"], r["device_id"], r["stream"]): (r["events"], r["first_at"], r["last_at"])
            for r in await cursor.fetchall()  # type: ignore[call-overload]
        }
        cursor = await conn.execute(f"SELECT * FROM {DEVICE_DAILY.name}")
        daily = {
            (r["bucket"], r["device_id"], r["resident_id"]): (
                r["messages"],
                r["status_reports"],
                r["offline_reports"],
                r["hours_heard"],
                r["battery_min"],
                r["battery_max"],
                r["first_at"],
                r["last_at"],
            )
            for r in await cursor.fetchall()  # type: ignore[call-overload]
        }
    return activity, daily


async def test_rollups_equal_the_raw_figures_with_late_and_out_of_order_events(pool: AsyncConnectionPool) -> None:
    history = EventHistory(pool, HistoryConfig(utc_offset_min=OFFSET_MIN))
    assert await history.ensure_schema() == "partitioned"
    await history.ensure_partitions(START)
    events = _events(seed=15, n=3000, days=3)
    events.sort(key=lambda e: e.received_ms)
    rng = random.Random(16)
    # in time order, then a day of late events (a backlog flushed after an outage), then shuffled
    # batches, then the same hour written again in many small batches
    on_time, late = events[:2000], events[2000:]
    late_first = sorted(late, key=lambda e: -e.received_ms)
    rng.shuffle(on_time)
    batches: list[list[Event]] = []
    while on_time:
        size = rng.randint(1, 300)
        batches.append(on_time[:size])
        on_time = on_time[size:]
    batches += [late_first[i : i + 97] for i in range(0, len(late_first), 97)]
    for batch in batches:
        assert await history.append(batch) == len(batch)
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT count(*) AS n FROM events")
        assert (await cursor.fetchone())["n"] == len(events)  # type: ignore[index,call-overload]
    activity, daily = await stored(pool)
    expected_activity, expected_daily = reference(events)
    assert activity == expected_activity
    assert daily == expected_daily
    assert any(figures[4] is not None for figures in daily.values())  # batteries were compared
    assert any(figures[3] != (1 << 24) - 1 and figures[3] for figures in daily.values())


async def test_rollups_backfilled_when_added_to_an_existing_history(pool: AsyncConnectionPool) -> None:
    """A site upgrading keeps its events: the first start with rollups fills them from the raw rows."""
    history = EventHistory(pool, HistoryConfig(utc_offset_min=OFFSET_MIN))
    await history.ensure_schema()
    events = _events(seed=3, n=400, days=1)
    await history.append(events)
    async with pool.connection() as conn:
        await conn.execute(f"DROP TABLE {ACTIVITY_HOURLY.name}, {DEVICE_DAILY.name}")
    await EventHistory(pool, HistoryConfig(utc_offset_min=OFFSET_MIN)).ensure_schema()
    assert await stored(pool) == reference(events)


async def test_partitions_created_ahead_and_dropped_by_retention(pool: AsyncConnectionPool) -> None:
    history = EventHistory(pool, HistoryConfig(raw_days=30, aggregate_days=400, months_ahead=2))
    await history.ensure_schema()
    created = await history.ensure_partitions(datetime(2026, 1, 15, tzinfo=UTC))
    assert created == ["events_2026_01", "events_2026_02", "events_2026_03"]
    assert await history.ensure_partitions(datetime(2026, 1, 15, tzinfo=UTC)) == []
    months = [datetime(2026, m, 10, 12, tzinfo=UTC) for m in (1, 2, 3)]
    await history.append(
        [Event("pir-1", "res-1", Stream.MOTION, _ms(moment), _ms(moment), {"occupancy": True}) for moment in months]
    )
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT tableoid::regclass::text AS part FROM events ORDER BY received_at")
        assert [r["part"] for r in await cursor.fetchall()] == [  # type: ignore[call-overload]
            "events_2026_01",
            "events_2026_02",
            "events_2026_03",
        ]

    # 2026-03-05 minus 30 days is 2026-02-03: January lies wholly before it, February does not
    assert await history.apply_retention(datetime(2026, 3, 5, tzinfo=UTC)) == ["events_2026_01"]
    assert await history.apply_retention(datetime(2026, 3, 5, tzinfo=UTC)) == []
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT received_at FROM events ORDER BY received_at")
        assert [r["received_at"] for r in await cursor.fetchall()] == months[1:]  # type: ignore[call-overload]
        cursor = await conn.execute("SELECT to_regclass('events_2026_01') IS NULL AS gone")
        assert (await cursor.fetchone())["gone"]  # type: ignore[index,call-overload]
    # the aggregates outlive the raw rows: January's hour is still there
    assert [r["events"] for r in await history.activity("res-1", datetime(2026, 1, 1, tzinfo=UTC))] == [1, 1, 1]

    # maintain() makes the months ahead of "now" and applies both retentions
    history.config.aggregate_days = 60
    await history.maintain(datetime(2026, 4, 20, tzinfo=UTC))
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'events'::regclass AND c.relname LIKE 'events_2026_0%%' ORDER BY 1"
        )
        names = [r["relname"] for r in await cursor.fetchall()]  # type: ignore[call-overload]
    assert names == ["events_2026_03", "events_2026_04", "events_2026_05", "events_2026_06"]
    remaining = await history.activity("res-1", datetime(2026, 1, 1, tzinfo=UTC))
    assert [r["bucket"] for r in remaining] == [_hour(months[2])]  # older than 60 days: gone


async def test_default_partition_rows_age_out(pool: AsyncConnectionPool) -> None:
    """A late event of a month with no partition waits in the default partition, and ages out too."""
    history = EventHistory(pool, HistoryConfig(raw_days=30))
    await history.ensure_schema()
    old = datetime(2025, 6, 1, tzinfo=UTC)
    await history.append([Event("pir-1", "res-1", Stream.MOTION, _ms(old), _ms(old), {"occupancy": True})])
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT count(*) AS n FROM events_default")
        assert (await cursor.fetchone())["n"] == 1  # type: ignore[index,call-overload]
        await history.apply_retention(datetime(2025, 8, 1, tzinfo=UTC))
        cursor = await conn.execute("SELECT count(*) AS n FROM events_default")
        assert (await cursor.fetchone())["n"] == 0  # type: ignore[index,call-overload]


async def test_timescaledb_continuous_aggregates_equal_the_raw_figures(pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
        if await cursor.fetchone() is None:
            pytest.skip(
                "the timescaledb extension is not available on this PostgreSQL server (pg_available_extensions)"
            )
    history = EventHistory(pool, HistoryConfig(utc_offset_min=OFFSET_MIN, raw_days=36500))
    assert await history.ensure_schema() == "timescaledb"
    events = _events(seed=15, n=2000, days=3)
    rng = random.Random(1)
    rng.shuffle(events)
    for i in range(0, len(events), 250):
        await history.append(events[i : i + 250])
    async with pool.connection() as conn:
        await conn.set_autocommit(True)
        for name in (ACTIVITY_HOURLY.name, DEVICE_DAILY.name):
            await conn.execute(f"CALL refresh_continuous_aggregate('{name}', NULL, NULL)")  # type: ignore[arg-type]
        await conn.set_autocommit(False)
    assert await stored(pool) == reference(events)
    await history.ensure_schema()  # idempotent on an existing hypertable with its policies
