"""Service orders: requested → accepted → assigned → checked in → completed → rated, or cancelled /
refused with a reason, along :data:`~servicecentre.model.TRANSITIONS`; deadlines per step.

Each move is one transaction: the order locked ``FOR UPDATE`` inside the caller's reach, the move
checked against the table, the row updated, the audit trail written, the deadlines the move meets
cancelled. A deadline is a row in ``order_timers`` (``accept``: the provider answers within
``accept_within_s`` of the request; ``check_in``: the worker is at the home by the scheduled time +
``check_in_grace_s``; ``complete``: done by check-in + the item's duration + ``complete_grace_s``).
A deadline that fires first is recorded in the order's ``missed`` list and its audit trail, once.
Every new order, move and missed deadline is an :class:`~servicecentre.model.OrderEvent` on the
centre's bus once its transaction commits.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from registry.area import like_prefix
from servicecentre.context import ServiceContext, Tx, reach_clause
from servicecentre.menu import WORKING
from servicecentre.model import (
    CLOSED_ORDER_STATES,
    DEADLINE_STEPS,
    ORDER_COLUMNS,
    STATE_TIMES,
    TRANSITIONS,
    WORKER,
    Channel,
    Conflict,
    Forbidden,
    IllegalMove,
    Invalid,
    Order,
    OrderEvent,
    OrderEventType,
    OrderState,
    Reach,
    order_from,
    split_price,
)

log = logging.getLogger("eldercare.servicecentre")

PROVIDER_MOVES = frozenset(
    {OrderState.ACCEPTED, OrderState.REFUSED, OrderState.ASSIGNED, OrderState.CHECKED_IN, OrderState.COMPLETED}
)
"""What a provider's staff may do to their orders (never cancel on the centre's behalf, never rate)."""
REASON_NEEDED = frozenset({OrderState.CANCELLED, OrderState.REFUSED})
NEW_WORK = frozenset({OrderState.ACCEPTED, OrderState.ASSIGNED, OrderState.CHECKED_IN})
"""Moves an inactive provider may no longer make (a visit already checked in may still be completed; an
order may still be refused or cancelled)."""


@dataclass(frozen=True, slots=True)
class OrderRequest:
    resident_id: str
    item_id: str
    provider_id: str
    scheduled_at: datetime
    quantity: int = 1
    channel: Channel = Channel.PHONE
    notes: str = ""
    call_id: uuid.UUID | None = None


def age_on(birth: date | None, day: date) -> int | None:
    if birth is None:
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


class Orders:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        ctx.fire_timer = self.fire

    # -- creating --

    async def create(self, request: OrderRequest, reach: Reach) -> Order:
        if reach.is_provider:
            raise Forbidden("a provider takes orders; the centre, the family or a community worker places them")
        async with self.ctx.begin() as tx:
            order = await self.create_in(tx, request, reach, reach.actor)
        return order

    async def create_in(
        self,
        tx: Tx,
        request: OrderRequest,
        reach: Reach,
        actor: str,
        plan: tuple[uuid.UUID, date] | None = None,
    ) -> Order:
        """Check, price and store a new order with its deadlines (inside ``tx``)."""
        if request.scheduled_at.tzinfo is None:
            raise Invalid("scheduled_at needs a time zone offset")
        if not 1 <= request.quantity <= 100:
            raise Invalid("quantity is between 1 and 100")
        resident = await tx.resident(request.resident_id, reach.area, "id, org_path, birth_date")
        item = await tx.one(
            "SELECT id, subsidised, subsidy_fen, subsidy_min_age, active FROM service_items WHERE id = %s",
            (request.item_id,),
        )
        if item is None or not item["active"]:
            raise Invalid(f"no service item {request.item_id!r} on the menu")
        offer = await tx.one(
            "SELECT p.active, p.areas, o.price_fen FROM providers p"
            " LEFT JOIN provider_items o ON o.provider_id = p.id AND o.item_id = %s WHERE p.id = %s",
            (request.item_id, request.provider_id),
        )
        if offer is None or not offer["active"]:
            raise Invalid(f"no active provider {request.provider_id!r}")
        if offer["price_fen"] is None:
            raise Invalid(f"provider {request.provider_id!r} does not offer {request.item_id!r}")
        if not any(resident["org_path"].startswith(area) for area in offer["areas"]):
            raise Invalid(f"provider {request.provider_id!r} does not serve the resident's area")
        day = self.ctx.local_date(request.scheduled_at)
        price = split_price(
            offer["price_fen"],
            request.quantity,
            item["subsidised"],
            item["subsidy_fen"],
            item["subsidy_min_age"],
            age_on(resident["birth_date"], day),
        )
        order_id = uuid.uuid4()
        row = await tx.one(
            "INSERT INTO service_orders (id, resident_id, org_path, item_id, provider_id, quantity, unit_price_fen,"
            " total_fen, subsidy_fen, resident_fen, subsidy_note, state, channel, requested_by, requested_at,"
            " scheduled_at, plan_id, plan_date, call_id, notes)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            f" ON CONFLICT (plan_id, plan_date) DO NOTHING RETURNING {ORDER_COLUMNS}",
            (
                order_id, resident["id"], resident["org_path"], request.item_id, request.provider_id,
                request.quantity, price.unit_fen, price.total_fen, price.subsidy_fen, price.resident_fen,
                price.note, OrderState.REQUESTED.value, request.channel.value, actor, tx.now,
                request.scheduled_at, plan[0] if plan else None, plan[1] if plan else None,
                request.call_id, request.notes,
            ),
        )  # fmt: skip
        if row is None:
            raise Conflict("this plan's order for that day exists already")
        order = order_from(row)
        await tx.audit("order", order.id, actor, "requested", f"by {request.channel.value}", None, "requested")
        tx.events.append(OrderEvent(OrderEventType.REQUESTED, order, actor, tx.now))
        accept_by = tx.now + timedelta(seconds=self.ctx.config.accept_within_s)
        check_in_by = request.scheduled_at + timedelta(seconds=self.ctx.config.check_in_grace_s)
        await self._add_timer(tx, order.id, "accept", min(accept_by, check_in_by))
        await self._add_timer(tx, order.id, "check_in", check_in_by)
        return order

    # -- moves --

    async def move(
        self,
        order_id: uuid.UUID,
        to: OrderState,
        reach: Reach,
        *,
        reason: str = "",
        worker: str | None = None,
        rating: int | None = None,
        note: str = "",
    ) -> Order:
        """Make one move of the transition table (409 with the reason if the order cannot make it)."""
        if reach.is_provider and to not in PROVIDER_MOVES:
            raise Forbidden(f"a provider may not make an order {to.value}")
        if to in REASON_NEEDED and not reason.strip():
            raise Invalid(f"an order is {to.value} with a reason")
        async with self.ctx.begin() as tx:
            order = await self.lock(tx, order_id, reach)
            acting, _, worker_name = reach.actor.partition(":")
            if acting == WORKER.actor and order.worker != worker_name:  # reassigned since the page was opened
                raise Forbidden("this order is now assigned to another worker · 该工单已改派他人")
            if to not in TRANSITIONS[order.state]:
                raise IllegalMove(order.state, to)
            if to in NEW_WORK and not await self._provider_active(tx, order.provider_id):
                raise Conflict(f"provider {order.provider_id!r} is no longer active · 该服务商已停用")
            sets: dict[str, Any] = {"state": to.value}
            if to in STATE_TIMES:
                sets[STATE_TIMES[to]] = tx.now
            if to in REASON_NEEDED:
                sets["reason"] = reason.strip()
            if to is OrderState.ASSIGNED:
                sets["worker"] = await self._worker(tx, order, worker)
            if to is OrderState.COMPLETED:
                sets["closed_at"] = tx.now
            if to is OrderState.RATED:
                if rating is None or not 1 <= rating <= 5:
                    raise Invalid("a rating is a whole number from 1 to 5")
                sets["rating"] = rating
                sets["rating_note"] = note
            moved = await self._update(tx, order.id, sets)
            detail = reason or note or (f"worker {sets['worker']}" if "worker" in sets else "")
            await tx.audit("order", order.id, reach.actor, to.value, detail, order.state.value, to.value)
            await self._after_move(tx, moved)
            tx.events.append(OrderEvent(OrderEventType.entered(to), moved, reach.actor, tx.now))
        return moved

    async def lock(self, tx: Tx, order_id: uuid.UUID, reach: Reach) -> Order:
        condition, params = reach_clause(reach)
        sql = f"SELECT {ORDER_COLUMNS} FROM service_orders WHERE id = %s AND {condition} FOR UPDATE"
        return order_from(await tx.found(sql, (order_id, *params), f"no order {order_id}"))

    async def _update(self, tx: Tx, order_id: uuid.UUID, sets: dict[str, Any]) -> Order:
        assignments = ", ".join(f"{name} = %s" for name in sets)
        row = await tx.one(
            f"UPDATE service_orders SET {assignments} WHERE id = %s RETURNING {ORDER_COLUMNS}",
            (*sets.values(), order_id),
        )
        assert row is not None
        return order_from(row)

    async def _worker(self, tx: Tx, order: Order, worker: str | None) -> str:
        if not worker:
            raise Invalid("assigning needs a worker")
        row = await tx.one(
            f"SELECT username, {WORKING} AS working FROM provider_staff s WHERE username = %s AND provider_id = %s",
            (worker, order.provider_id),
        )
        if row is None:
            raise Invalid(f"{worker!r} is not on {order.provider_id!r}'s staff")
        if not row["working"]:
            raise Invalid(f"{worker!r}'s account is deactivated")
        return str(row["username"])

    async def _provider_active(self, tx: Tx, provider_id: str) -> bool:
        row = await tx.one("SELECT active FROM providers WHERE id = %s FOR SHARE", (provider_id,))
        return bool(row and row["active"])

    async def in_visit(self, order_id: uuid.UUID) -> bool:
        """Whether the order's worker is at the home (checked in, not yet completed)."""
        rows = await self.ctx.read("SELECT state FROM service_orders WHERE id = %s", (order_id,))
        return bool(rows) and rows[0]["state"] == OrderState.CHECKED_IN.value

    async def _after_move(self, tx: Tx, order: Order) -> None:
        """Stop the deadlines the move meets; start the completion deadline at check-in."""
        if order.state in CLOSED_ORDER_STATES:
            await self._cancel_timers(tx, order.id, None)
            return
        met = [kind for kind, state in DEADLINE_STEPS.items() if _reached(order, state)]
        await self._cancel_timers(tx, order.id, met)
        if order.state is OrderState.CHECKED_IN:
            duration = await tx.one("SELECT duration_min FROM service_items WHERE id = %s", (order.item_id,))
            minutes = duration["duration_min"] if duration else 60
            due = tx.now + timedelta(minutes=minutes, seconds=self.ctx.config.complete_grace_s)
            await self._add_timer(tx, order.id, "complete", due)

    # -- deadlines --

    async def _add_timer(self, tx: Tx, order_id: uuid.UUID, kind: str, due: datetime) -> None:
        row = await tx.one(
            "INSERT INTO order_timers (order_id, kind, due_at, created_at) VALUES (%s, %s, %s, %s) RETURNING id",
            (order_id, kind, due, tx.now),
        )
        assert row is not None
        tx.timers.append((row["id"], due))

    async def _cancel_timers(self, tx: Tx, order_id: uuid.UUID, kinds: Sequence[str] | None) -> None:
        if kinds is not None and not kinds:
            return
        query = (
            "UPDATE order_timers SET cancelled_at = %s WHERE order_id = %s AND fired_at IS NULL"
            " AND cancelled_at IS NULL"
        )
        params: list[Any] = [tx.now, order_id]
        if kinds is not None:
            query += " AND kind = ANY(%s)"
            params.append(list(kinds))
        rows = await tx.all(query + " RETURNING id", params)
        tx.cancelled.extend(row["id"] for row in rows)

    async def restore_timers(self) -> int:
        rows = await self.ctx.read(
            "SELECT id, due_at FROM order_timers WHERE fired_at IS NULL AND cancelled_at IS NULL"
        )
        for row in rows:
            self.ctx.schedule_timer(row["id"], row["due_at"])
        return len(rows)

    async def fire(self, timer_id: int) -> None:
        """A deadline passed: claim its row once; if its step is not done, the order missed it."""
        async with self.ctx.begin() as tx:
            claimed = await tx.one(
                "UPDATE order_timers SET fired_at = %s WHERE id = %s AND fired_at IS NULL AND cancelled_at IS NULL"
                " RETURNING order_id, kind",
                (tx.now, timer_id),
            )
            if claimed is None:
                return  # cancelled, or fired already (by another process or before a restart)
            order = await self.lock(tx, claimed["order_id"], Reach())
            kind = claimed["kind"]
            if order.state in CLOSED_ORDER_STATES or _reached(order, DEADLINE_STEPS[kind]):
                return
            missed = await self._update(tx, order.id, {"missed": [*order.missed, kind]})
            tx.events.append(OrderEvent(OrderEventType.MISSED, missed, "system", tx.now, {"deadline": kind}))
            await tx.audit("order", order.id, "system", "deadline missed", kind, order.state.value, order.state.value)
            log.warning("order deadline missed", extra={"order_id": str(order.id), "deadline": kind})

    # -- reading --

    async def get(self, order_id: uuid.UUID, reach: Reach) -> Order:
        condition, params = reach_clause(reach)
        sql = f"SELECT {ORDER_COLUMNS} FROM service_orders WHERE id = %s AND {condition}"
        return order_from(await self.ctx.found(sql, (order_id, *params), f"no order {order_id}"))

    async def board(
        self,
        reach: Reach,
        states: Sequence[OrderState] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        resident_id: str | None = None,
        limit: int = 200,
        within: str | None = None,
    ) -> list[Order]:
        """Orders in reach by scheduled time: the order board of an area (``within``: only the orders
        under that org path), or a provider's work list."""
        condition, params = reach_clause(reach)
        filters = [
            ("org_path LIKE %s", None if within is None else like_prefix(within)),
            ("state = ANY(%s)", [s.value for s in states] if states else None),
            ("scheduled_at >= %s", start),
            ("scheduled_at < %s", end),
            ("resident_id = %s", resident_id),
        ]
        sql = f"SELECT {ORDER_COLUMNS} FROM service_orders WHERE {condition}"
        return [order_from(row) for row in await self.ctx.listing(sql, params, filters, "scheduled_at, id", limit)]

    async def audit_trail(self, order_id: uuid.UUID, reach: Reach) -> list[dict[str, Any]]:
        await self.get(order_id, reach)
        return await self.ctx.read(
            "SELECT at, actor, action, from_state, to_state, note FROM service_audit"
            " WHERE object_kind = 'order' AND object_id = %s ORDER BY id",
            (str(order_id),),
        )

    async def pending_timers(self, order_id: uuid.UUID) -> list[dict[str, Any]]:
        return await self.ctx.read(
            "SELECT kind, due_at FROM order_timers WHERE order_id = %s AND fired_at IS NULL AND cancelled_at IS NULL"
            " ORDER BY due_at",
            (order_id,),
        )


def _reached(order: Order, state: OrderState) -> bool:
    column = STATE_TIMES[state]
    return getattr(order, column) is not None


async def resident_cards(ctx: ServiceContext, resident_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Name, address and phone of the residents of orders already in the caller's reach (a provider's
    worker needs them to serve the order; nothing else of the archive)."""
    if not resident_ids:
        return {}
    rows = await ctx.read(
        "SELECT id, name, address, phone FROM residents WHERE id = ANY(%s)", (list(dict.fromkeys(resident_ids)),)
    )
    return {row["id"]: row for row in rows}
