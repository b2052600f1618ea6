"""The service menu (菜单式服务): categories and items, providers and their offers and staff, sites.

Everything carries an ``org_path``. A caller sees what lies inside their area or above it (the city's
menu is every district's menu; a district sees a city-wide provider), and changes only what lies
inside their area. A provider's staff see their own provider. A staff member whose platform account is
deactivated (:data:`WORKING`) works for no provider: no reach, no links, no orders; staff without an
account are unaffected.
"""

from __future__ import annotations

from typing import Any

from servicecentre.context import ServiceContext, Tx, overlapping
from servicecentre.model import Forbidden, Invalid, NotFound, Reach, row_json

ITEM_COLUMNS = (
    "id, category, name, name_en, unit, price_fen, subsidised, subsidy_fen, subsidy_min_age, duration_min,"
    " org_path, active"
)
PROVIDER_COLUMNS = "id, name, licence, contact, phone, org_path, areas, active"
SITE_COLUMNS = "id, name, type, address, org_node, org_path, hours, capacity, provider_id"
SITE_TYPES = ("canteen", "day_care", "service_station", "care_home", "other")
"""长者饭堂/老年餐桌, 日间照料中心, 服务站, 养老院, other."""
WORKING = "NOT EXISTS (SELECT 1 FROM users u WHERE u.username = s.username AND NOT u.active)"
"""A ``provider_staff s`` row whose platform account (if they have one) is not deactivated."""


class Menu:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # -- where things are --

    async def _path(self, tx: Tx, org_node: str | None, reach: Reach) -> str:
        """The org path of ``org_node`` (the caller's own area when None); it must lie inside the reach."""
        if reach.is_provider or reach.area.resident_id is not None:
            raise Forbidden("only the centre's staff change the menu")
        if org_node is None:
            return reach.area.org_path
        row = await tx.one("SELECT path FROM org_nodes WHERE code = %s", (org_node,))
        if row is None:
            raise Invalid(f"org node {org_node!r} does not exist")
        if not reach.area.covers(row["path"]):
            raise Forbidden(f"org node {org_node!r} is outside your area")
        return str(row["path"])

    async def _owned(self, tx: Tx, table: str, key: str, value: str, reach: Reach) -> bool:
        """Whether a row exists; an existing row outside the caller's area is refused as not found."""
        row = await tx.one(f"SELECT org_path FROM {table} WHERE {key} = %s FOR UPDATE", (value,))
        if row is None:
            return False
        if not reach.area.covers(row["org_path"]):
            raise NotFound(f"no {table[:-1].replace('_', ' ')} {value!r} in your area")
        return True

    # -- categories and items --

    async def put_category(self, data: dict[str, Any], reach: Reach) -> dict[str, Any]:
        async with self.ctx.begin() as tx:
            path = await self._path(tx, data.get("org_node"), reach)
            await self._owned(tx, "service_categories", "code", data["code"], reach)
            row = await tx.one(
                "INSERT INTO service_categories (code, name, name_en, org_path) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, name_en = EXCLUDED.name_en,"
                " org_path = EXCLUDED.org_path RETURNING code, name, name_en, org_path",
                (data["code"], data["name"], data.get("name_en", ""), path),
            )
            await tx.audit("category", data["code"], reach.actor, "put")
        assert row is not None
        return row

    async def put_item(self, data: dict[str, Any], reach: Reach) -> dict[str, Any]:
        async with self.ctx.begin() as tx:
            path = await self._path(tx, data.get("org_node"), reach)
            if await tx.one("SELECT 1 FROM service_categories WHERE code = %s", (data["category"],)) is None:
                raise Invalid(f"no category {data['category']!r}")
            await self._owned(tx, "service_items", "id", data["id"], reach)
            values = [data[c] for c in ITEM_COLUMNS.split(", ")[1:10]]
            row = await tx.one(
                f"INSERT INTO service_items ({ITEM_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET category = EXCLUDED.category, name = EXCLUDED.name,"
                " name_en = EXCLUDED.name_en, unit = EXCLUDED.unit, price_fen = EXCLUDED.price_fen,"
                " subsidised = EXCLUDED.subsidised, subsidy_fen = EXCLUDED.subsidy_fen,"
                " subsidy_min_age = EXCLUDED.subsidy_min_age, duration_min = EXCLUDED.duration_min,"
                f" org_path = EXCLUDED.org_path, active = EXCLUDED.active RETURNING {ITEM_COLUMNS}",
                (data["id"], *values, path, data.get("active", True)),
            )
            await tx.audit("item", data["id"], reach.actor, "put", f"price {data['price_fen']} fen")
        assert row is not None
        return row

    async def menu(self, reach: Reach) -> list[dict[str, Any]]:
        """Categories with their items, as the caller's area sees the menu."""
        condition, params = overlapping(reach.area)
        categories = await self.ctx.read(
            f"SELECT code, name, name_en, org_path FROM service_categories WHERE {condition} ORDER BY code", params
        )
        items = await self.ctx.read(
            f"SELECT {ITEM_COLUMNS} FROM service_items WHERE active AND {condition} ORDER BY category, id", params
        )
        for category in categories:
            category["items"] = [item for item in items if item["category"] == category["code"]]
        return categories

    async def item_names(self, item_ids: list[str]) -> dict[str, tuple[str, str]]:
        """(Chinese, English) names of menu items, for the pages and messages people read."""
        rows = await self.ctx.read("SELECT id, name, name_en FROM service_items WHERE id = ANY(%s)", (item_ids,))
        return {row["id"]: (row["name"], row["name_en"]) for row in rows}

    # -- providers --

    async def put_provider(self, data: dict[str, Any], reach: Reach) -> dict[str, Any]:
        async with self.ctx.begin() as tx:
            path = await self._path(tx, data.get("org_node"), reach)
            areas = [await self._path(tx, code, reach) for code in data.get("areas") or []] or [path]
            await self._owned(tx, "providers", "id", data["id"], reach)
            row = await tx.one(
                f"INSERT INTO providers ({PROVIDER_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, licence = EXCLUDED.licence,"
                " contact = EXCLUDED.contact, phone = EXCLUDED.phone, org_path = EXCLUDED.org_path,"
                f" areas = EXCLUDED.areas, active = EXCLUDED.active RETURNING {PROVIDER_COLUMNS}",
                (
                    data["id"], data["name"], data.get("licence", ""), data.get("contact", ""), data.get("phone", ""),
                    path, areas, data.get("active", True),
                ),
            )  # fmt: skip
            await tx.audit("provider", data["id"], reach.actor, "put")
        assert row is not None
        return row

    async def offer(self, provider_id: str, item_id: str, price_fen: int, reach: Reach) -> dict[str, Any]:
        """The provider offers ``item_id`` at ``price_fen`` (replacing its price)."""
        if price_fen < 0:
            raise Invalid("a price is not negative")
        async with self.ctx.begin() as tx:
            await self._path(tx, None, reach)
            if not await self._owned(tx, "providers", "id", provider_id, reach):
                raise NotFound(f"no provider {provider_id!r} in your area")
            if await tx.one("SELECT 1 FROM service_items WHERE id = %s", (item_id,)) is None:
                raise Invalid(f"no service item {item_id!r}")
            await tx.conn.execute(
                "INSERT INTO provider_items (provider_id, item_id, price_fen) VALUES (%s, %s, %s)"
                " ON CONFLICT (provider_id, item_id) DO UPDATE SET price_fen = EXCLUDED.price_fen",
                (provider_id, item_id, price_fen),
            )
            await tx.audit("provider", provider_id, reach.actor, "offer", f"{item_id} at {price_fen} fen")
        return {"provider_id": provider_id, "item_id": item_id, "price_fen": price_fen}

    async def add_staff(
        self, provider_id: str, username: str, reach: Reach, name: str = "", phone: str = ""
    ) -> dict[str, Any]:
        """A worker or dispatcher of the provider (their account, if any, has the ``provider`` role)."""
        async with self.ctx.begin() as tx:
            await self._path(tx, None, reach)
            if not await self._owned(tx, "providers", "id", provider_id, reach):
                raise NotFound(f"no provider {provider_id!r} in your area")
            taken = await tx.one("SELECT provider_id FROM provider_staff WHERE username = %s", (username,))
            if taken is not None and taken["provider_id"] != provider_id:
                raise Invalid(f"{username!r} works for another provider")
            await tx.conn.execute(
                "INSERT INTO provider_staff (username, provider_id, name, phone) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (username) DO UPDATE SET name = EXCLUDED.name, phone = EXCLUDED.phone",
                (username, provider_id, name, phone),
            )
            await tx.audit("provider", provider_id, reach.actor, "staff", username)
        return {"provider_id": provider_id, "username": username, "name": name}

    async def provider_of(self, username: str) -> str | None:
        """The provider ``username`` works for; None when on no staff or their account is deactivated."""
        rows = await self.ctx.read(
            f"SELECT provider_id FROM provider_staff s WHERE username = %s AND {WORKING}", (username,)
        )
        return str(rows[0]["provider_id"]) if rows else None

    async def provider_active(self, provider_id: str) -> bool:
        rows = await self.ctx.read("SELECT active FROM providers WHERE id = %s", (provider_id,))
        return bool(rows and rows[0]["active"])

    async def providers(self, reach: Reach, provider_id: str | None = None) -> list[dict[str, Any]]:
        """The directory: each provider with its offers, staff count and rating (its on-time rate is the order
        report's, by provider)."""
        params: list[object]
        if reach.is_provider:
            condition, params = "p.id = %s", [reach.provider_id]
        else:
            condition, params = overlapping(reach.area, "p.org_path")
        if provider_id is not None:
            condition += " AND p.id = %s"
            params.append(provider_id)
        rows = await self.ctx.read(
            f"SELECT p.id, p.name, p.licence, p.contact, p.phone, p.org_path, p.areas, p.active,"
            " (SELECT round(avg(rating)::numeric, 2) FROM service_orders o WHERE o.provider_id = p.id) AS rating,"
            " (SELECT count(*) FROM service_orders o WHERE o.provider_id = p.id AND o.rating IS NOT NULL) AS ratings,"
            " (SELECT count(*) FROM provider_staff s WHERE s.provider_id = p.id) AS staff,"
            " (SELECT coalesce(json_agg(json_build_object('item_id', i.item_id, 'price_fen', i.price_fen)"
            "   ORDER BY i.item_id), '[]') FROM provider_items i WHERE i.provider_id = p.id) AS offers"
            f" FROM providers p WHERE {condition} ORDER BY p.id",
            params,
        )
        for row in rows:
            row["rating"] = None if row["rating"] is None else float(row["rating"])
        return [row_json(row) for row in rows]

    async def provider(self, provider_id: str, reach: Reach) -> dict[str, Any]:
        found = await self.providers(reach, provider_id)
        if not found:
            raise NotFound(f"no provider {provider_id!r}")
        return found[0]

    async def staff(self, provider_id: str, working: bool = False) -> list[dict[str, Any]]:
        """The provider's staff (``working``: only those who may be given work, see :data:`WORKING`)."""
        condition = f" AND {WORKING}" if working else ""
        return await self.ctx.read(
            f"SELECT username, name, phone FROM provider_staff s WHERE provider_id = %s{condition} ORDER BY username",
            (provider_id,),
        )

    # -- sites --

    async def put_site(self, data: dict[str, Any], reach: Reach) -> dict[str, Any]:
        if data["type"] not in SITE_TYPES:
            raise Invalid(f"a site's type is one of {', '.join(SITE_TYPES)}")
        async with self.ctx.begin() as tx:
            path = await self._path(tx, data["org_node"], reach)
            await self._owned(tx, "service_sites", "id", data["id"], reach)
            row = await tx.one(
                f"INSERT INTO service_sites ({SITE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, type = EXCLUDED.type,"
                " address = EXCLUDED.address, org_node = EXCLUDED.org_node, org_path = EXCLUDED.org_path,"
                " hours = EXCLUDED.hours, capacity = EXCLUDED.capacity, provider_id = EXCLUDED.provider_id"
                f" RETURNING {SITE_COLUMNS}",
                (
                    data["id"], data["name"], data["type"], data.get("address", ""), data["org_node"], path,
                    data.get("hours", ""), data.get("capacity", 0), data.get("provider_id"),
                ),
            )  # fmt: skip
            await tx.audit("site", data["id"], reach.actor, "put")
        assert row is not None
        return row

    async def sites(self, reach: Reach) -> list[dict[str, Any]]:
        params: list[object]
        if reach.is_provider:
            condition, params = "provider_id = %s", [reach.provider_id]
        else:
            condition, params = overlapping(reach.area)
        return await self.ctx.read(f"SELECT {SITE_COLUMNS} FROM service_sites WHERE {condition} ORDER BY id", params)
