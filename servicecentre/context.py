"""What the service centre's concepts share: the pool, the clock, the timer scheduler, the deadlines,
and one transaction shape (decide in one PostgreSQL transaction, schedule the timers after the commit).

After the commit, the transaction's order events go on the centre's :class:`~alerting.bus.EventBus`
(the console's websocket streams them beside the alert events).

The scheduler is alerting's :class:`~alerting.scheduler.Scheduler`: the platform hands the alert
service's own, so one timer loop (and one driven clock in tests) fires alert and order deadlines alike.
Order deadlines are rows in ``order_timers`` claimed once (``fired_at IS NULL``), as alert timers are.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, cast

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

from alerting.bus import EventBus
from alerting.scheduler import Scheduler
from registry.area import Area, like_prefix
from servicecentre.model import NotFound, OrderEvent, Reach

log = logging.getLogger("eldercare.servicecentre")

Clock = Callable[[], datetime]
Filter = tuple[str, object]
"""An SQL condition with one ``%s``, and its value (None: the filter is not asked for)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    accept_within_s: int = 30 * 60
    """A provider accepts (or refuses) a requested order within this, or the deadline is missed."""
    check_in_grace_s: int = 30 * 60
    """The worker checks in at most this long after the scheduled time: later is not on time."""
    complete_grace_s: int = 30 * 60
    """Completion is due at check-in + the item's duration + this."""
    plan_horizon_days: int = 2
    """Repeating plans spawn their orders this many local days ahead."""
    utc_offset_min: int = 480
    public_url: str = "http://127.0.0.1:8000"
    link_ttl_s: int = 3 * 24 * 3600


class Tx:
    """One deciding transaction: its connection, its time, the timers to mirror and the events to
    publish after the commit."""

    def __init__(self, conn: AsyncConnection[DictRow], now: datetime) -> None:
        self.conn = conn
        self.now = now
        self.timers: list[tuple[int, datetime]] = []
        self.cancelled: list[int] = []
        self.events: list[OrderEvent] = []

    async def audit(
        self,
        kind: str,
        object_id: object,
        actor: str,
        action: str,
        note: str = "",
        from_state: str | None = None,
        to_state: str | None = None,
    ) -> None:
        await self.conn.execute(
            "INSERT INTO service_audit (object_kind, object_id, at, actor, action, from_state, to_state, note)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (kind, str(object_id), self.now, actor, action, from_state, to_state, note),
        )

    async def one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        cursor = await self.conn.execute(sql, params)
        return await cursor.fetchone()

    async def all(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        cursor = await self.conn.execute(sql, params)
        return list(await cursor.fetchall())

    async def found(self, sql: str, params: Sequence[object], missing: str) -> dict[str, Any]:
        """The row ``sql`` reads (or locks, or changes), or :class:`NotFound` (``missing``)."""
        row = await self.one(sql, params)
        if row is None:
            raise NotFound(missing)
        return row

    async def resident(self, resident_id: str, area: Area, columns: str = "id, org_path") -> dict[str, Any]:
        """The resident if they live in ``area``; else :class:`NotFound` (an id outside does not leak)."""
        condition, params = area.where("org_path", "id")
        return await self.found(
            f"SELECT {columns} FROM residents WHERE id = %s AND {condition}",
            (resident_id, *params),
            f"no resident {resident_id!r} in your area",
        )


class ServiceContext:
    def __init__(
        self, pool: AsyncConnectionPool, clock: Clock, scheduler: Scheduler | None, config: ServiceConfig
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.scheduler = scheduler if scheduler is not None else Scheduler(lambda: self.clock())  # len() 0 is falsy
        self.config = config
        self.events: EventBus[OrderEvent] = EventBus()
        self.fire_timer: Callable[[int], Awaitable[None]] | None = None
        """What a due timer row does (set by :class:`~servicecentre.orders.Orders`)."""

    def connection(self) -> AbstractAsyncContextManager[AsyncConnection[DictRow]]:
        return cast("AbstractAsyncContextManager[AsyncConnection[DictRow]]", self.pool.connection())

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Tx]:
        """A transaction; its timers are scheduled (and cancelled ones dropped) and its events published
        if, and after, it commits."""
        async with self.connection() as conn, conn.transaction():
            tx = Tx(conn, self.clock())
            yield tx
        for timer_id in tx.cancelled:
            self.scheduler.cancel(("order_timer", timer_id))
        for timer_id, due in tx.timers:
            self.schedule_timer(timer_id, due)
        for event in tx.events:
            self.events.publish(event)

    def schedule_timer(self, timer_id: int, due: datetime) -> None:
        """Mirror a timer row into the scheduler; it fires through :attr:`fire_timer`."""
        if self.fire_timer is not None:
            self.scheduler.schedule(due, ("order_timer", timer_id), partial(self.fire_timer, timer_id))

    async def read(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        async with self.connection() as conn:
            cursor = await conn.execute(sql, params)
            return list(await cursor.fetchall())

    async def found(self, sql: str, params: Sequence[object], missing: str) -> dict[str, Any]:
        """The one row ``sql`` reads, or :class:`NotFound` (``missing``): ids outside the reach do not leak."""
        rows = await self.read(sql, params)
        if not rows:
            raise NotFound(missing)
        return rows[0]

    async def listing(
        self, sql: str, params: list[object], filters: Sequence[Filter], order: str, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """``sql`` (``SELECT … WHERE <the reach>``) narrowed by each filter whose value is given, in
        ``order``, ``limit`` rows at most."""
        for condition, value in filters:
            if value is not None:
                sql += f" AND {condition}"
                params.append(value)
        sql += f" ORDER BY {order}"
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        return await self.read(sql, params)

    def local_date(self, moment: datetime) -> date:
        return (moment.astimezone(UTC) + timedelta(minutes=self.config.utc_offset_min)).date()

    def local_to_utc(self, day: date, at: Any) -> datetime:
        naive = datetime.combine(day, at)
        return naive.replace(tzinfo=UTC) - timedelta(minutes=self.config.utc_offset_min)


def reach_clause(reach: Reach, table: str = "") -> tuple[str, list[object]]:
    """SQL limiting rows of a provider's work (orders, plans, complaints) to the reach: the provider's
    own, or those of the area (a family: their resident's)."""
    prefix = f"{table}." if table else ""
    if reach.provider_id is not None:
        return f"{prefix}provider_id = %s", [reach.provider_id]
    return reach.area.where(f"{prefix}org_path", f"{prefix}resident_id")


def overlapping(area: Area, path_column: str = "org_path") -> tuple[str, list[object]]:
    """Rows whose path lies inside the area or above it (a city menu is seen by a district; a
    district's provider by the city); a family sees the whole menu."""
    if area.resident_id is not None or area.org_path == "/":
        return "true", []
    return f"({path_column} LIKE %s OR %s LIKE {path_column} || '%%')", [like_prefix(area.org_path), area.org_path]
