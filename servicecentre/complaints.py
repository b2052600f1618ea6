"""Complaints (投诉): filed about an order, a call or a provider, handled by the centre, audited.

A complaint lies in the resident's area (or the filer's, without a resident). A provider's staff see
the complaints about their provider; only the centre's staff file or handle them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from servicecentre.context import ServiceContext, reach_clause
from servicecentre.model import Conflict, Forbidden, Invalid, Reach, row_json

COMPLAINT_COLUMNS = (
    "id, resident_id, org_path, order_id, call_id, provider_id, text, state, created_by, created_at,"
    " handled_by, handled_at, resolution"
)


class Complaints:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def file(self, data: dict[str, Any], reach: Reach) -> dict[str, Any]:
        if reach.is_provider:
            raise Forbidden("a provider does not file complaints")
        text = str(data.get("text") or "").strip()
        if not text:
            raise Invalid("a complaint says what went wrong")
        order_id, call_id = data.get("order_id"), data.get("call_id")
        resident_id, provider_id = data.get("resident_id"), data.get("provider_id")
        path = reach.area.org_path
        condition, params = reach.area.where("org_path", "resident_id")
        async with self.ctx.begin() as tx:
            if order_id is not None:
                order = await tx.found(
                    f"SELECT resident_id, provider_id, org_path FROM service_orders WHERE id = %s AND {condition}",
                    (order_id, *params),
                    f"no order {order_id}",
                )
                resident_id, provider_id, path = order["resident_id"], order["provider_id"], order["org_path"]
            elif resident_id is not None:
                path = (await tx.resident(resident_id, reach.area))["org_path"]
            elif reach.area.resident_id is not None:
                raise Invalid("a family complaint names the order or the resident")
            if call_id is not None:
                where, args = reach.area.where("org_path", None)
                await tx.found(
                    f"SELECT 1 FROM service_calls WHERE id = %s AND {where}", (call_id, *args), f"no call {call_id}"
                )
            known = provider_id is None or await tx.one("SELECT 1 FROM providers WHERE id = %s", (provider_id,))
            if not known:
                raise Invalid(f"no provider {provider_id!r}")
            row = await tx.one(
                f"INSERT INTO service_complaints ({COMPLAINT_COLUMNS}) VALUES"
                " (%s, %s, %s, %s, %s, %s, %s, 'open', %s, %s, NULL, NULL, '')"
                f" RETURNING {COMPLAINT_COLUMNS}",
                (uuid.uuid4(), resident_id, path, order_id, call_id, provider_id, text[:4000], reach.actor, tx.now),
            )
            assert row is not None
            await tx.audit("complaint", row["id"], reach.actor, "filed", text[:200], None, "open")
        return row_json(row)

    async def handle(self, complaint_id: uuid.UUID, resolution: str, reach: Reach) -> dict[str, Any]:
        if reach.is_provider or reach.area.resident_id is not None:
            raise Forbidden("the centre's staff handle complaints")
        if not resolution.strip():
            raise Invalid("handling a complaint records how it was resolved")
        condition, params = reach_clause(reach)
        async with self.ctx.begin() as tx:
            sql = f"SELECT state FROM service_complaints WHERE id = %s AND {condition} FOR UPDATE"
            current = await tx.found(sql, (complaint_id, *params), f"no complaint {complaint_id}")
            if current["state"] != "open":
                raise Conflict("this complaint was handled already")
            row = await tx.one(
                "UPDATE service_complaints SET state = 'handled', handled_by = %s, handled_at = %s, resolution = %s"
                f" WHERE id = %s RETURNING {COMPLAINT_COLUMNS}",
                (reach.actor, tx.now, resolution.strip()[:4000], complaint_id),
            )
            await tx.audit("complaint", complaint_id, reach.actor, "handled", resolution[:200], "open", "handled")
        assert row is not None
        return row_json(row)

    async def list(self, reach: Reach, state: str | None = None, since: datetime | None = None) -> list[dict[str, Any]]:
        condition, params = reach_clause(reach)
        filters = [("state = %s", state), ("created_at >= %s", since)]
        sql = f"SELECT {COMPLAINT_COLUMNS} FROM service_complaints WHERE {condition}"
        return [row_json(row) for row in await self.ctx.listing(sql, params, filters, "created_at DESC", 500)]

    async def get(self, complaint_id: uuid.UUID, reach: Reach) -> dict[str, Any]:
        condition, params = reach_clause(reach)
        sql = f"SELECT {COMPLAINT_COLUMNS} FROM service_complaints WHERE id = %s AND {condition}"
        row = row_json(await self.ctx.found(sql, (complaint_id, *params), f"no complaint {complaint_id}"))
        row["audit"] = [
            row_json(entry)
            for entry in await self.ctx.read(
                "SELECT at, actor, action, note FROM service_audit WHERE object_kind = 'complaint' AND object_id = %s"
                " ORDER BY id",
                (str(complaint_id),),
            )
        ]
        return row
