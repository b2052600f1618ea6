"""Repeating orders: a plan (a meal every weekday at 11:30 for a resident) spawns one order per day.

:meth:`Plans.spawn` creates the orders of every active plan for each local day from today up to
``plan_horizon_days`` ahead, once per (plan, day): the table's unique key makes a second run, or a
second process, a no-op. A day whose order cannot be made (the provider stopped serving the area,
the item left the menu) is skipped with an audit entry; the plan's other days go on. A plan begins
with the first time it can still be kept: a day whose check-in deadline (the time + ``check_in_grace_s``)
had passed when the plan was made gets no order (a lunch plan made at 12:45 for 11:30 starts
tomorrow, rather than with an order late before anyone could take it). An order a plan made in time
and nobody served stays, with its missed deadlines.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from servicecentre.context import ServiceContext, reach_clause
from servicecentre.model import Channel, Forbidden, Invalid, Reach, ServiceCentreError, row_json
from servicecentre.orders import OrderRequest, Orders

log = logging.getLogger("eldercare.servicecentre")

PLAN_COLUMNS = (
    "id, resident_id, org_path, item_id, provider_id, quantity, weekdays, local_time, starts_on, ends_on, active,"
    " created_by, created_at"
)


@dataclass(frozen=True, slots=True)
class PlanRequest:
    resident_id: str
    item_id: str
    provider_id: str
    weekdays: tuple[int, ...]
    local_time: time
    starts_on: date
    ends_on: date | None = None
    quantity: int = 1


class Plans:
    def __init__(self, ctx: ServiceContext, orders: Orders) -> None:
        self.ctx = ctx
        self.orders = orders

    async def create(self, request: PlanRequest, reach: Reach) -> dict[str, Any]:
        if reach.is_provider:
            raise Forbidden("a provider does not place plans")
        if not request.weekdays or any(not 1 <= d <= 7 for d in request.weekdays):
            raise Invalid("weekdays are 1 (Monday) to 7 (Sunday), at least one")
        if request.ends_on is not None and request.ends_on < request.starts_on:
            raise Invalid("ends_on is before starts_on")
        if not 1 <= request.quantity <= 100:
            raise Invalid("quantity is between 1 and 100")
        async with self.ctx.begin() as tx:
            resident = await tx.resident(request.resident_id, reach.area)
            offered = await tx.one(
                "SELECT 1 FROM provider_items WHERE provider_id = %s AND item_id = %s",
                (request.provider_id, request.item_id),
            )
            if offered is None:
                raise Invalid(f"provider {request.provider_id!r} does not offer {request.item_id!r}")
            row = await tx.one(
                "INSERT INTO order_plans (id, resident_id, org_path, item_id, provider_id, quantity, weekdays,"
                " local_time, starts_on, ends_on, created_by, created_at)"
                f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {PLAN_COLUMNS}",
                (
                    uuid.uuid4(), request.resident_id, resident["org_path"], request.item_id, request.provider_id,
                    request.quantity, sorted(set(request.weekdays)), request.local_time, request.starts_on,
                    request.ends_on, reach.actor, tx.now,
                ),
            )  # fmt: skip
            assert row is not None
            await tx.audit("plan", row["id"], reach.actor, "created")
        return row_json(row)

    async def stop(self, plan_id: uuid.UUID, reach: Reach) -> dict[str, Any]:
        """End a plan: no more orders are spawned (those already made stay, and can be cancelled)."""
        if reach.is_provider:
            raise Forbidden("a provider does not stop plans")
        condition, params = reach.area.where("org_path", "resident_id")
        async with self.ctx.begin() as tx:
            sql = f"UPDATE order_plans SET active = false WHERE id = %s AND {condition} RETURNING {PLAN_COLUMNS}"
            row = await tx.found(sql, (plan_id, *params), f"no plan {plan_id}")
            await tx.audit("plan", plan_id, reach.actor, "stopped")
        return row_json(row)

    async def list(self, reach: Reach, resident_id: str | None = None) -> list[dict[str, Any]]:
        condition, params = reach_clause(reach)
        sql = f"SELECT {PLAN_COLUMNS} FROM order_plans WHERE {condition}"
        rows = await self.ctx.listing(sql, params, [("resident_id = %s", resident_id)], "created_at")
        return [row_json(row) for row in rows]

    async def spawn(self, now: datetime | None = None) -> int:
        """Create the orders every active plan has due up to the horizon; returns how many were made."""
        now = now or self.ctx.clock()
        today = self.ctx.local_date(now)
        last = today + timedelta(days=self.ctx.config.plan_horizon_days)
        plans = await self.ctx.read(
            f"SELECT {PLAN_COLUMNS} FROM order_plans WHERE active AND starts_on <= %s"
            " AND (ends_on IS NULL OR ends_on >= %s)",
            (last, today),
        )
        made = 0
        grace = timedelta(seconds=self.ctx.config.check_in_grace_s)
        for plan in plans:
            day = max(today, plan["starts_on"])
            while day <= last and (plan["ends_on"] is None or day <= plan["ends_on"]):
                if day.isoweekday() in plan["weekdays"] and not self._before(plan, day, grace):
                    made += await self._spawn_one(plan, day)
                day += timedelta(days=1)
        if made:
            log.info("plan orders spawned", extra={"orders": made})
        return made

    def _before(self, plan: dict[str, Any], day: date, grace: timedelta) -> bool:
        """Whether ``plan``'s check-in deadline on ``day`` had passed when the plan was made."""
        return bool(self.ctx.local_to_utc(day, plan["local_time"]) + grace <= plan["created_at"])

    async def _spawn_one(self, plan: dict[str, Any], day: date) -> int:
        scheduled = self.ctx.local_to_utc(day, plan["local_time"])
        request = OrderRequest(
            plan["resident_id"], plan["item_id"], plan["provider_id"], scheduled, plan["quantity"], Channel.PLAN
        )
        actor = f"plan:{plan['id']}"
        async with self.ctx.begin() as tx:
            exists = await tx.one(
                "SELECT 1 FROM service_orders WHERE plan_id = %s AND plan_date = %s", (plan["id"], day)
            )
            if exists is not None:
                return 0
        try:
            async with self.ctx.begin() as tx:
                await self.orders.create_in(tx, request, Reach(), actor, plan=(plan["id"], day))
        except ServiceCentreError as error:
            async with self.ctx.begin() as tx:
                await tx.audit("plan", plan["id"], "system", "order not made", f"{day}: {error}")
            log.warning("plan order not made", extra={"plan_id": str(plan["id"]), "reason": str(error)})
            return 0
        return 1
