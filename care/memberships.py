"""Which categories a resident belongs to, from which source, for which period. Every read is audited."""

from __future__ import annotations

from datetime import date
from typing import Any

from care.categories import BY_CODE
from care.context import CareContext, Row, audit_path, resident_in, resident_rows
from registry.area import Area
from registry.audit import Actor, write_audit
from registry.errors import Invalid, NotFound

COLUMNS = "c.id, c.resident_id, c.category, c.source, c.valid_from, c.valid_to, c.note, c.created_by, c.created_at"


class Memberships:
    def __init__(self, ctx: CareContext) -> None:
        self.ctx = ctx

    async def add(self, resident_id: str, data: dict[str, Any], area: Area, actor: Actor) -> Row:
        """Put a resident in a category from ``valid_from`` (to ``valid_to``, open-ended if absent)."""
        if data["category"] not in BY_CODE:
            raise Invalid(f"unknown category {data['category']!r}; known: {', '.join(BY_CODE)}")
        _check_period(data["valid_from"], data.get("valid_to"))
        async with self.ctx.pool.connection() as conn, conn.transaction():
            resident = await resident_in(conn, resident_id, area)
            cursor = await conn.execute(
                "INSERT INTO care_categories AS c"
                " (resident_id, category, source, valid_from, valid_to, note, created_by)"
                f" VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {COLUMNS}",
                (resident_id, data["category"], data.get("source", ""), data["valid_from"], data.get("valid_to"),
                 data.get("note", ""), actor.username),
            )  # fmt: skip
            row: Row = await cursor.fetchone()  # type: ignore[assignment]
            await write_audit(conn, actor, "create", "care_category", str(row["id"]), resident["org_path"],
                              {"resident_id": resident_id, "category": data["category"]})  # fmt: skip
        return row

    async def end(self, resident_id: str, membership_id: int, valid_to: date, area: Area, actor: Actor) -> Row:
        """Close a membership on ``valid_to`` (kept for the history; months before still count)."""
        async with self.ctx.pool.connection() as conn, conn.transaction():
            resident = await resident_in(conn, resident_id, area)
            cursor = await conn.execute(
                "SELECT valid_from FROM care_categories WHERE id = %s AND resident_id = %s FOR UPDATE",
                (membership_id, resident_id),
            )
            found = await cursor.fetchone()
            if found is None:
                raise NotFound(f"no category entry {membership_id} for this resident")
            _check_period(found["valid_from"], valid_to)  # type: ignore[call-overload]
            cursor = await conn.execute(
                f"UPDATE care_categories AS c SET valid_to = %s WHERE id = %s RETURNING {COLUMNS}",
                (valid_to, membership_id),
            )
            row: Row = await cursor.fetchone()  # type: ignore[assignment]
            await write_audit(conn, actor, "update", "care_category", str(membership_id), resident["org_path"],
                              {"resident_id": resident_id, "valid_to": valid_to.isoformat()})  # fmt: skip
        return row

    async def of_resident(self, resident_id: str, area: Area, actor: Actor) -> list[Row]:
        sql = f"SELECT {COLUMNS} FROM care_categories c WHERE c.resident_id = %s ORDER BY c.valid_from, c.id"
        return await resident_rows(self.ctx, resident_id, area, actor, "care_category", sql)

    async def in_area(
        self, area: Area, actor: Actor, category: str | None, on: date, limit: int, offset: int
    ) -> tuple[list[Row], int]:
        """Memberships valid on ``on`` of residents in ``area`` (optionally one category)."""
        condition, params = area.where("r.org_path", "r.id")
        sql = (
            f"SELECT {COLUMNS}, r.name AS resident_name, r.org_path, count(*) OVER () AS total"
            " FROM care_categories c JOIN residents r ON r.id = c.resident_id"
            f" WHERE {condition} AND c.valid_from <= %s AND (c.valid_to IS NULL OR c.valid_to >= %s)"
        )
        params += [on, on]
        if category is not None:
            sql += " AND c.category = %s"
            params.append(category)
        sql += " ORDER BY r.org_path, c.resident_id, c.category LIMIT %s OFFSET %s"
        async with self.ctx.pool.connection() as conn:
            rows: list[Row] = await (await conn.execute(sql, [*params, limit, offset])).fetchall()  # type: ignore[arg-type,assignment]
            await write_audit(conn, actor, "list", "care_category", "", audit_path(area),
                              {"returned": [row["resident_id"] for row in rows][:200],
                               "category": category})  # fmt: skip
        total = int(rows[0]["total"]) if rows else 0
        for row in rows:
            row.pop("total")
        return rows, total


def _check_period(valid_from: date, valid_to: date | None) -> None:
    if valid_to is not None and valid_to < valid_from:
        raise Invalid(f"valid_to {valid_to} is before valid_from {valid_from}")
