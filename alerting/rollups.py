"""The history's aggregates: one set of definitions, maintained two ways.

Each :class:`Aggregate` is a ``GROUP BY`` over the raw ``events`` rows: a time bucket on
``received_at`` (the platform's clock), some keys, and measures whose values can be merged (a sum, a
minimum, a maximum, a bitwise or). From the one definition come:

- on **TimescaleDB**, a continuous aggregate (``CREATE MATERIALIZED VIEW … WITH
  (timescaledb.continuous)``, real-time, refreshed by a policy) over the ``events`` hypertable;
- on **plain PostgreSQL**, a rollup table with the same columns and primary key, maintained by
  :meth:`alerting.history.EventHistory.append` in the transaction that stores the batch: the same
  ``SELECT`` runs over the batch and is merged in with ``INSERT … ON CONFLICT DO UPDATE`` (counts
  added, minima and maxima kept, hour masks or-ed). Merging is order-free, so late and out-of-order
  events land in their own bucket exactly as if they had come in time.

Buckets are ``time_bucket(width, received_at, origin)`` on TimescaleDB and ``date_bin(width,
received_at, origin)`` on PostgreSQL: the same function (both count whole widths from ``origin``).
``origin`` is local midnight of 2000-01-03 at the homes' UTC offset, so a day is a local day.

The per-area alert figures (``alerts_daily``) are kept apart in :mod:`alerting.alert_rollup`: the
``alerts`` table is a plain table whose rows change after they are written (answered, on scene), so
it is refreshed on a schedule on both backends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MERGES = {
    "sum": "{t}.{c} + EXCLUDED.{c}",
    "min": "LEAST({t}.{c}, EXCLUDED.{c})",
    "max": "GREATEST({t}.{c}, EXCLUDED.{c})",
    "bit_or": "{t}.{c} | EXCLUDED.{c}",
}
"""How a rollup row takes in the same measure computed over a later batch."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    sql_type: str
    expression: str
    merge: str = ""
    """For measures: a key of :data:`MERGES`; empty for keys."""
    nullable: bool = False


@dataclass(frozen=True, slots=True)
class Aggregate:
    name: str
    width: str
    """The bucket width, a PostgreSQL interval (``1 hour``, ``1 day``)."""
    keys: tuple[Column, ...]
    measures: tuple[Column, ...]
    where: str

    def select(self, source: str, bucket_function: str, origin: datetime) -> str:
        """The defining query over ``source`` (``events`` or a batch with the same columns)."""
        columns = [f"{bucket_function}('{self.width}', received_at, TIMESTAMPTZ '{origin.isoformat()}') AS bucket"]
        columns += [f"{c.expression.format(origin=_literal(origin))} AS {c.name}" for c in self.keys + self.measures]
        group = ", ".join(str(n) for n in range(1, len(self.keys) + 2))
        return f"SELECT {', '.join(columns)} FROM {source} WHERE {self.where} GROUP BY {group}"

    def key_names(self) -> list[str]:
        """The primary key: the first key (a resident, a device) leads, so it also serves the reads."""
        return [self.keys[0].name, "bucket", *(c.name for c in self.keys[1:])]

    def create_table(self) -> list[str]:
        """The plain PostgreSQL rollup table (its primary key is the index the reads use)."""
        columns = ["bucket timestamptz NOT NULL"]
        columns += [f"{c.name} {c.sql_type}{'' if c.nullable else ' NOT NULL'}" for c in self.keys + self.measures]
        key = ", ".join(self.key_names())
        return [f"CREATE TABLE IF NOT EXISTS {self.name} ({', '.join(columns)}, PRIMARY KEY ({key}))"]

    def indexes(self) -> list[str]:
        """TimescaleDB: the read index on the continuous aggregate."""
        first = self.keys[0].name
        return [f"CREATE INDEX IF NOT EXISTS {self.name}_{first} ON {self.name} ({first}, bucket DESC)"]

    def upsert(self, source: str, origin: datetime) -> str:
        """Merge the aggregate of ``source`` into the rollup table."""
        merges = ", ".join(f"{c.name} = " + MERGES[c.merge].format(t=self.name, c=c.name) for c in self.measures)
        order = "2, 1" + "".join(f", {n}" for n in range(3, len(self.keys) + 2))  # one lock order: no deadlocks
        return (
            f"INSERT INTO {self.name} {self.select(source, 'date_bin', origin)} ORDER BY {order}"
            f" ON CONFLICT ({', '.join(self.key_names())}) DO UPDATE SET {merges}"
        )

    def continuous(self, origin: datetime) -> str:
        """The TimescaleDB continuous aggregate over the ``events`` hypertable."""
        return (
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {self.name}"
            " WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS "
            f"{self.select('events', 'time_bucket', origin)} WITH NO DATA"
        )


def _literal(moment: datetime) -> str:
    return f"TIMESTAMPTZ '{moment.isoformat()}'"


def origin_for(utc_offset_min: int) -> datetime:
    """Local midnight of Monday 2000-01-03 (TimescaleDB's default origin) at the homes' offset."""
    return datetime(2000, 1, 3, tzinfo=UTC) - timedelta(minutes=utc_offset_min)


_BATTERY = "CASE WHEN jsonb_typeof(payload -> 'battery') = 'number' THEN (payload ->> 'battery')::real END"
_LOCAL_HOUR = "(floor(extract(epoch FROM received_at - {origin}) / 3600)::bigint % 24)::int"

ACTIVITY_HOURLY = Aggregate(
    name="activity_hourly",
    width="1 hour",
    keys=(
        Column("resident_id", "text", "resident_id"),
        Column("device_id", "text", "device_id"),
        Column("stream", "text", "stream"),
    ),
    measures=(
        Column("events", "bigint", "count(*)", "sum"),
        Column("first_at", "timestamptz", "min(received_at)", "min"),
        Column("last_at", "timestamptz", "max(received_at)", "max"),
    ),
    where="resident_id IS NOT NULL AND stream NOT IN ('imu', 'status')",
)
"""What each resident did, per hour, device (its room) and kind of event (the stream)."""

DEVICE_DAILY = Aggregate(
    name="device_daily",
    width="1 day",
    keys=(
        Column("device_id", "text", "device_id"),
        Column("resident_id", "text", "COALESCE(resident_id, '')"),
    ),
    measures=(
        Column("messages", "bigint", "count(*)", "sum"),
        Column("status_reports", "bigint", "count(*) FILTER (WHERE stream = 'status')", "sum"),
        Column(
            "offline_reports",
            "bigint",
            "count(*) FILTER (WHERE stream = 'status' AND payload ->> 'online' = 'false')",
            "sum",
        ),
        Column("hours_heard", "integer", f"bit_or(1 << {_LOCAL_HOUR})", "bit_or"),
        Column("battery_min", "real", f"min({_BATTERY})", "min", nullable=True),
        Column("battery_max", "real", f"max({_BATTERY})", "max", nullable=True),
        Column("first_at", "timestamptz", "min(received_at)", "min"),
        Column("last_at", "timestamptz", "max(received_at)", "max"),
    ),
    where="TRUE",
)
"""Each device per local day: messages, status reports, the local hours it was heard in (a 24-bit
mask: uptime is its popcount / 24), and its battery range (null: none reported; ``LEAST`` and
``GREATEST`` skip nulls, so merging keeps the reported ones)."""

AGGREGATES = (ACTIVITY_HOURLY, DEVICE_DAILY)
