"""The raw event history: every accepted device event, in a time-partitioned table.

With the ``timescaledb`` extension available the table is a hypertable (chunks by day). Without it,
plain PostgreSQL declarative partitioning by month on ``received_at`` (the platform's clock, which
devices cannot skew), with a default partition so no row is ever refused; :meth:`ensure_partitions`
creates the current and next months' partitions and is called at start and daily.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from devices.events import Event

log = logging.getLogger("eldercare.history")

_COLUMNS = "(received_at, ts, device_id, resident_id, stream, seq, payload)"
_TABLE_BODY = (
    "received_at timestamptz NOT NULL, ts timestamptz NOT NULL, device_id text NOT NULL,"
    " resident_id text, stream text NOT NULL, seq bigint, payload jsonb NOT NULL"
)


class EventHistory:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self.mode = "unknown"

    async def ensure_schema(self) -> str:
        """Create the events table; returns ``"timescaledb"`` or ``"partitioned"``."""
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(7452)")
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
            await self.ensure_partitions(datetime.now(UTC))
        log.info("event history ready", extra={"mode": self.mode})
        return self.mode

    async def ensure_partitions(self, now: datetime, months_ahead: int = 2) -> None:
        """Monthly partitions from ``now``'s month to ``months_ahead`` later (idempotent)."""
        year, month = now.year, now.month
        async with self.pool.connection() as conn:
            for _ in range(months_ahead + 1):
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
                except Exception as error:  # rows already in the default partition for that range
                    log.warning("partition not created", extra={"partition": name, "error": str(error)})

    async def append(self, events: Sequence[Event]) -> int:
        """Write events with COPY; imu samples are summarised (count, rate), not stored."""
        if not events:
            return 0
        async with (
            self.pool.connection() as conn,
            conn.cursor() as cursor,
            cursor.copy(f"COPY events {_COLUMNS} FROM STDIN") as copy,
        ):
            for event in events:
                await copy.write_row(
                    (
                        _dt(event.received_ms),
                        _dt(event.ts_ms),
                        event.device_id,
                        event.resident_id or None,
                        event.stream.value,
                        event.seq,
                        json.dumps(_payload(event)),
                    )
                )
        return len(events)

    async def recent(self, resident_id: str, limit: int = 100) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT received_at, ts, device_id, stream, seq, payload FROM events"
                " WHERE resident_id = %s ORDER BY received_at DESC LIMIT %s",
                (resident_id, limit),
            )
            return list(await cursor.fetchall())  # type: ignore[arg-type]


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000.0, UTC)


def _payload(event: Event) -> dict[str, Any]:
    payload = dict(event.values)
    if event.imu is not None and len(event.imu):
        span = float(event.imu.t_ms[-1] - event.imu.t_ms[0])
        payload = {"samples": len(event.imu), "span_ms": span}
    return payload
