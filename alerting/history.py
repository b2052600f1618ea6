"""The raw event history: every accepted device event, in a time-partitioned table, and its aggregates.

With the ``timescaledb`` extension available the table is a hypertable (chunks by day), compressed
after ``compress_after_days`` (segmented by resident and device, ordered by time), with continuous
aggregates refreshed by policies and retention policies on both. Without it, plain PostgreSQL
declarative partitioning by month on ``received_at`` (the platform's clock, which devices cannot
skew), with a default partition so no row is ever refused; :meth:`EventHistory.maintain` creates the
coming months' partitions, drops whole partitions older than ``raw_days`` and aggregate rows older
than ``aggregate_days``, and the aggregates (:mod:`alerting.rollups`) are rollup tables merged in the
same transaction as each batch.

The writer sends each batch with binary ``COPY``. The console and reports read the aggregates
(:meth:`EventHistory.activity`, :meth:`EventHistory.active_residents`), never the raw rows.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from alerting.rollups import ACTIVITY_HOURLY, AGGREGATES, origin_for
from devices.events import Event

log = logging.getLogger("eldercare.history")

_COLUMNS = "(received_at, ts, device_id, resident_id, stream, seq, payload)"
_TYPES = ["timestamptz", "timestamptz", "text", "text", "text", "int8", "jsonb"]
_TABLE_BODY = (
    "received_at timestamptz NOT NULL, ts timestamptz NOT NULL, device_id text NOT NULL,"
    " resident_id text, stream text NOT NULL, seq bigint, payload jsonb NOT NULL"
)
_PARTITION = re.compile(r"^events_(\d{4})_(\d{2})$")
_LOCK = 7452


@dataclass(slots=True)
class HistoryConfig:
    raw_days: int = 180
    """Raw events older than this are dropped, a whole partition (or chunk) at a time."""
    aggregate_days: int = 1830
    """Aggregate rows are kept this long (five years)."""
    months_ahead: int = 2
    """Plain PostgreSQL: monthly partitions created this many months ahead."""
    compress_after_days: int = 7
    """TimescaleDB: chunks older than this are compressed."""
    utc_offset_min: int = 480
    """The homes' local time: day buckets start at local midnight."""


class EventHistory:
    def __init__(self, pool: AsyncConnectionPool, config: HistoryConfig | None = None) -> None:
        self.pool = pool
        self.config = config or HistoryConfig()
        self.origin = origin_for(self.config.utc_offset_min)
        self.mode = "unknown"

    async def ensure_schema(self) -> str:
        """Create the events table and its aggregates; returns ``"timescaledb"`` or ``"partitioned"``."""
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            cursor = await conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
            timescale = await cursor.fetchone() is not None
            cursor = await conn.execute(
                "SELECT relkind FROM pg_class WHERE relname = 'events' AND relnamespace = 'public'::regnamespace"
            )
            existing = await cursor.fetchone()
            if existing is not None:
                self.mode = "partitioned" if existing["relkind"] == "p" else "timescaledb"  # type: ignore[call-overload]
            elif timescale:
                await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
                await conn.execute(f"CREATE TABLE events ({_TABLE_BODY})")
                await conn.execute(
                    "SELECT create_hypertable('events', 'received_at', chunk_time_interval => interval '1 day')"
                )
                self.mode = "timescaledb"
            else:
                await conn.execute(f"CREATE TABLE events ({_TABLE_BODY}) PARTITION BY RANGE (received_at)")
                await conn.execute("CREATE TABLE events_default PARTITION OF events DEFAULT")
                self.mode = "partitioned"
            if existing is None:
                await conn.execute("CREATE INDEX events_resident_ts ON events (resident_id, received_at DESC)")
                await conn.execute("CREATE INDEX events_device_ts ON events (device_id, received_at DESC)")
            if self.mode == "partitioned":
                await self._ensure_rollups(conn)
        if self.mode == "timescaledb":
            await self._ensure_timescale()
        else:
            await self.ensure_partitions(datetime.now(UTC))
        log.info("event history ready", extra={"mode": self.mode})
        return self.mode

    async def _ensure_rollups(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Rollup tables; one created on a database that already has events is filled from them once."""
        for aggregate in AGGREGATES:
            cursor = await conn.execute("SELECT to_regclass(%s) IS NOT NULL AS present", (aggregate.name,))
            present = (await cursor.fetchone())["present"]  # type: ignore[index,call-overload]
            for statement in aggregate.create_table():
                await conn.execute(statement)  # type: ignore[arg-type]
            if not present:
                await conn.execute(aggregate.upsert("events", self.origin))  # type: ignore[arg-type]

    async def _ensure_timescale(self) -> None:
        """Continuous aggregates, their refresh and retention policies, compression (idempotent).

        The refresh window starts a day inside the raw retention: a refresh over chunks already
        dropped would empty the aggregate's buckets there.
        """
        raw = f"{self.config.raw_days} days"
        window = f"{max(1, self.config.raw_days - 1)} days"
        statements = (
            []
            if await self._compressed()
            else [
                "ALTER TABLE events SET (timescaledb.compress,"
                " timescaledb.compress_segmentby = 'resident_id, device_id',"
                " timescaledb.compress_orderby = 'received_at DESC')"
            ]
        )
        statements += [
            f"SELECT add_compression_policy('events', interval '{self.config.compress_after_days} days',"
            " if_not_exists => true)",
            f"SELECT add_retention_policy('events', interval '{raw}', if_not_exists => true)",
        ]
        for aggregate in AGGREGATES:
            statements += [
                aggregate.continuous(self.origin),
                *aggregate.indexes(),
                f"SELECT add_continuous_aggregate_policy('{aggregate.name}', start_offset => interval '{window}',"
                " end_offset => interval '1 minute', schedule_interval => interval '1 minute', if_not_exists => true)",
                f"SELECT add_retention_policy('{aggregate.name}', interval '{self.config.aggregate_days} days',"
                " if_not_exists => true)",
            ]
        async with self.pool.connection() as conn:
            await conn.set_autocommit(True)  # continuous aggregates are not created inside a transaction
            try:
                await conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK,))
                await _telemetry_off(conn)
                for statement in statements:
                    await conn.execute(statement)  # type: ignore[arg-type]
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK,))
                await conn.set_autocommit(False)

    async def _compressed(self) -> bool:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT compression_enabled FROM timescaledb_information.hypertables WHERE hypertable_name = 'events'"
            )
            row = await cursor.fetchone()
        return bool(row and row["compression_enabled"])  # type: ignore[call-overload]

    async def ensure_partitions(self, now: datetime, months_ahead: int | None = None) -> list[str]:
        """Monthly partitions from ``now``'s month to ``months_ahead`` later (idempotent); the new ones."""
        if self.mode == "timescaledb":
            return []
        ahead = self.config.months_ahead if months_ahead is None else months_ahead
        created: list[str] = []
        year, month = now.year, now.month
        async with self.pool.connection() as conn:
            for _ in range(ahead + 1):
                start = datetime(year, month, 1, tzinfo=UTC)
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
                end = datetime(year, month, 1, tzinfo=UTC)
                name = f"events_{start:%Y_%m}"
                cursor = await conn.execute("SELECT 1 FROM pg_class WHERE relname = %s", (name,))
                if await cursor.fetchone() is not None:
                    continue
                try:
                    async with conn.transaction():
                        await conn.execute(
                            f"CREATE TABLE {name} PARTITION OF events FOR VALUES FROM ('{start.isoformat()}')"
                            f" TO ('{end.isoformat()}')"
                        )
                    created.append(name)
                except psycopg.Error as error:  # rows already in the default partition for that range
                    log.warning("partition not created", extra={"partition": name, "error": str(error)})
        return created

    async def apply_retention(self, now: datetime) -> list[str]:
        """Drop raw partitions wholly older than ``raw_days`` and aggregate rows older than
        ``aggregate_days``; returns the partitions dropped. On TimescaleDB the policies do this."""
        if self.mode == "timescaledb":
            return []
        raw_cutoff = now - timedelta(days=self.config.raw_days)
        aggregate_cutoff = now - timedelta(days=self.config.aggregate_days)
        dropped: list[str] = []
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " WHERE i.inhparent = 'events'::regclass ORDER BY c.relname"
            )
            for row in await cursor.fetchall():
                name = row["relname"]  # type: ignore[call-overload]
                match = _PARTITION.match(name)
                if match is None:
                    continue
                year, month = int(match[1]), int(match[2])
                end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
                if end <= raw_cutoff:
                    async with conn.transaction():
                        await conn.execute(f"ALTER TABLE events DETACH PARTITION {name}")
                        await conn.execute(f"DROP TABLE {name}")
                    dropped.append(name)
            async with conn.transaction():
                # late rows of months with no partition wait in the default one; they age out the same way
                await conn.execute("DELETE FROM events_default WHERE received_at < %s", (raw_cutoff,))
                for aggregate in AGGREGATES:
                    await conn.execute(
                        f"DELETE FROM {aggregate.name} WHERE bucket < %s",  # type: ignore[arg-type]
                        (aggregate_cutoff,),
                    )
        if dropped:
            log.info("raw history dropped", extra={"partitions": dropped, "older_than": raw_cutoff.isoformat()})
        return dropped

    async def maintain(self, now: datetime) -> None:
        """What the platform runs on a schedule: partitions ahead, then retention."""
        await self.ensure_partitions(now)
        await self.apply_retention(now)

    async def append(self, events: Sequence[Event]) -> int:
        """Write events with binary COPY (and merge them into the rollups); an imu block's samples are
        summarised (count and span), never stored."""
        if not events:
            return 0
        rows = (_row(event) for event in events)
        async with self.pool.connection() as conn, conn.transaction():
            if self.mode == "timescaledb":
                await _copy(conn, "events", rows)
                return len(events)
            await conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS events_batch ({_TABLE_BODY}) ON COMMIT DELETE ROWS")
            await _copy(conn, "events_batch", rows)
            await conn.execute(f"INSERT INTO events {_COLUMNS} SELECT * FROM events_batch")
            for aggregate in AGGREGATES:
                await conn.execute(aggregate.upsert("events_batch", self.origin))  # type: ignore[arg-type]
        return len(events)

    async def recent(self, resident_id: str, limit: int = 100) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT received_at, ts, device_id, stream, seq, payload FROM events"
                " WHERE resident_id = %s ORDER BY received_at DESC LIMIT %s",
                (resident_id, limit),
            )
            return list(await cursor.fetchall())  # type: ignore[arg-type]

    async def activity(self, resident_id: str, since: datetime) -> list[dict[str, Any]]:
        """The resident's hourly activity (per device and stream) heard since ``since``, newest first:
        ``bucket``, ``device_id``, ``stream``, ``events``, ``first_at``, ``last_at``."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT bucket, device_id, stream, events, first_at, last_at FROM {ACTIVITY_HOURLY.name}"
                " WHERE resident_id = %s AND bucket >= %s AND last_at >= %s ORDER BY last_at DESC",
                (resident_id, since - timedelta(hours=1), since),
            )
            return list(await cursor.fetchall())  # type: ignore[arg-type]

    async def active_residents(self, resident_ids: Iterable[str], since: datetime, streams: Iterable[str]) -> set[str]:
        """Which of ``resident_ids`` had an event of ``streams`` since ``since`` (one query)."""
        ids = list(resident_ids)
        if not ids:
            return set()
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT DISTINCT resident_id FROM {ACTIVITY_HOURLY.name}"
                " WHERE resident_id = ANY(%s) AND bucket >= %s AND last_at >= %s AND stream = ANY(%s)",
                (ids, since - timedelta(hours=1), since, list(streams)),
            )
            return {row["resident_id"] for row in await cursor.fetchall()}  # type: ignore[call-overload]

    async def last_heard(self, device_ids: Iterable[str]) -> dict[str, datetime]:
        """When each of ``device_ids`` last had an event stored (received), for those that have one (one query,
        on the ``events_device_ts`` index)."""
        ids = list(device_ids)
        if not ids:
            return {}
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT d.id, (SELECT max(e.received_at) FROM events e WHERE e.device_id = d.id) AS heard"
                " FROM unnest(%s::text[]) AS d(id)",
                (ids,),
            )
            return {row["id"]: row["heard"] for row in await cursor.fetchall() if row["heard"] is not None}  # type: ignore[call-overload]

    async def disk_bytes(self) -> dict[str, int]:
        """On-disk bytes (tables, indexes, TOAST) of the raw events and of each aggregate."""
        sizes: dict[str, int] = {}
        async with self.pool.connection() as conn:
            if self.mode == "timescaledb":
                cursor = await conn.execute("SELECT total_bytes FROM hypertable_detailed_size('events')")
            else:
                cursor = await conn.execute(
                    "SELECT COALESCE(sum(pg_total_relation_size(inhrelid)), 0)::bigint AS total_bytes"
                    " FROM pg_inherits WHERE inhparent = 'events'::regclass"
                )
            sizes["events"] = int((await cursor.fetchone())["total_bytes"] or 0)  # type: ignore[index,call-overload]
            for aggregate in AGGREGATES:
                cursor = await conn.execute(
                    "SELECT pg_total_relation_size(%s) AS total_bytes"
                    if self.mode != "timescaledb"
                    else "SELECT total_bytes FROM hypertable_detailed_size("
                    "(SELECT format('%%I.%%I', materialization_hypertable_schema, materialization_hypertable_name)"
                    " FROM timescaledb_information.continuous_aggregates WHERE view_name = %s)::regclass)",
                    (aggregate.name,),
                )
                sizes[aggregate.name] = int((await cursor.fetchone())["total_bytes"] or 0)  # type: ignore[index,call-overload]
        return sizes


async def _copy(conn: psycopg.AsyncConnection[Any], table: str, rows: Iterable[tuple[Any, ...]]) -> None:
    async with conn.cursor() as cursor, cursor.copy(f"COPY {table} {_COLUMNS} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(_TYPES)
        for row in rows:
            await copy.write_row(row)


async def _telemetry_off(conn: psycopg.AsyncConnection[Any]) -> None:
    """Sites are often offline: TimescaleDB's telemetry off for this database, where the role may."""
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('timescaledb.telemetry_level', 'off', false)")
            cursor = await conn.execute("SELECT current_database() AS db")
            name = (await cursor.fetchone())["db"]  # type: ignore[index,call-overload]
            await conn.execute(f"ALTER DATABASE \"{name}\" SET timescaledb.telemetry_level = 'off'")
    except psycopg.Error as error:
        log.warning(
            "timescaledb telemetry not switched off here; set it in postgresql.conf", extra={"error": str(error)}
        )


def _row(event: Event) -> tuple[Any, ...]:
    return (
        _dt(event.received_ms),
        _dt(event.ts_ms),
        event.device_id,
        event.resident_id or None,
        event.stream.value,
        event.seq,
        _payload(event),
    )


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000.0, UTC)


def _payload(event: Event) -> dict[str, Any]:
    payload = dict(event.values)
    if event.imu is not None and len(event.imu):
        span = float(event.imu.t_ms[-1] - event.imu.t_ms[0])
        payload = {"samples": len(event.imu), "span_ms": span}
    return payload
