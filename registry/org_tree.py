"""The four-level service network (city → district → street → community) and where things are placed."""

from __future__ import annotations

from collections.abc import Iterable

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from registry.area import ROOT, Area
from registry.audit import write_audit
from registry.errors import Conflict, Invalid, OutOfScope
from registry.index import RegistryIndex
from registry.models import ORG_LEVELS
from registry.rows import Row, connection, found, only_row
from registry.users import User


class OrgTree(RegistryIndex):
    """Org nodes: their paths (cached), listing in the caller's area, and placing objects at a node."""

    async def add_org_node(self, code: str, name: str, level: str, parent: str | None = None) -> None:
        """Create an org node (idempotent by code); its level must be one below its parent's."""
        if level not in ORG_LEVELS:
            raise Invalid(f"level must be one of {ORG_LEVELS}")
        async with connection(self.pool) as conn:
            await self._insert_org_node(conn, code, name, level, parent)

    async def _insert_org_node(
        self, conn: AsyncConnection[DictRow], code: str, name: str, level: str, parent: str | None
    ) -> str:
        parent_path = ROOT
        if parent is not None:
            cursor = await conn.execute("SELECT path, level FROM org_nodes WHERE code = %s", (parent,))
            row = await cursor.fetchone()
            if row is None:
                raise Invalid(f"parent org node {parent!r} does not exist")
            parent_level = ORG_LEVELS.index(row["level"])
            if ORG_LEVELS.index(level) != parent_level + 1:
                raise Invalid(f"a {level} cannot be placed under a {row['level']}")
            parent_path = row["path"]
        elif level != "city":
            raise Invalid(f"a {level} needs a parent")
        path = f"{parent_path}{code}/"
        await conn.execute(
            "INSERT INTO org_nodes (code, name, level, parent, path) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (code) DO NOTHING",
            (code, name, level, parent, path),
        )
        stored = await only_row(await conn.execute("SELECT path FROM org_nodes WHERE code = %s", (code,)))
        self._org_paths[code] = stored["path"]
        return self._org_paths[code]

    async def create_org_node(
        self, code: str, name: str, level: str, parent: str | None, area: Area, actor: User
    ) -> Row:
        """An org node under the caller's area (a city only for the whole-network administrator)."""
        parent_path = await self.org_path(parent) if parent else ROOT
        if parent_path is None:
            raise Invalid(f"parent org node {parent!r} does not exist")
        if not area.covers(parent_path) or (parent is None and not area.is_root):
            raise OutOfScope("the new node would lie outside your area")
        async with connection(self.pool) as conn, conn.transaction():
            exists = await (await conn.execute("SELECT 1 FROM org_nodes WHERE code = %s", (code,))).fetchone()
            if exists:
                raise Conflict(f"org node {code!r} already exists")
            path = await self._insert_org_node(conn, code, name, level, parent)
            await write_audit(conn, actor, "create", "org_node", code, path, {"name": name, "level": level})
        return {"code": code, "name": name, "level": level, "parent": parent, "path": path}

    async def org_path(self, code: str | None) -> str | None:
        """``/city/district/street/community/`` codes of an org node (cached; nodes do not move)."""
        if code is None:
            return None
        if code in self._org_paths:
            return self._org_paths[code]
        async with connection(self.pool) as conn:
            cursor = await conn.execute("SELECT path FROM org_nodes WHERE code = %s", (code,))
            row = await cursor.fetchone()
        if row is None:
            return None
        self._org_paths[code] = row["path"]
        return self._org_paths[code]

    async def org_paths(self, codes: Iterable[str]) -> dict[str, str]:
        """Paths of many org nodes (unknown codes are left out)."""
        wanted = set(codes)
        missing = [code for code in wanted if code not in self._org_paths]
        if missing:
            async with connection(self.pool) as conn:
                cursor = await conn.execute("SELECT code, path FROM org_nodes WHERE code = ANY(%s)", (missing,))
                for row in await cursor.fetchall():
                    self._org_paths[row["code"]] = row["path"]
        return {code: self._org_paths[code] for code in wanted if code in self._org_paths}

    async def list_org_nodes(
        self, area: Area, limit: int, offset: int, level: str | None = None, parent: str | None = None
    ) -> tuple[list[Row], int]:
        condition, params = area.where("path", None)
        sql = f"SELECT code, name, level, parent, path, count(*) OVER () AS total FROM org_nodes WHERE {condition}"
        if level:
            sql += " AND level = %s"
            params.append(level)
        if parent:
            sql += " AND parent = %s"
            params.append(parent)
        sql += " ORDER BY path LIMIT %s OFFSET %s"
        return await self._page(sql, [*params, limit, offset])

    async def get_org_node(self, code: str, area: Area) -> Row:
        condition, params = area.where("path", None)
        async with connection(self.pool) as conn:
            cursor = await conn.execute(
                f"SELECT code, name, level, parent, path FROM org_nodes WHERE code = %s AND {condition}",
                (code, *params),
            )
            return await found(cursor, f"no org node {code!r} in your area")

    async def _placed(self, org_node: str | None, area: Area) -> str:
        """The path of ``org_node``, checked to lie inside ``area``."""
        if org_node is None:
            if not area.is_root:
                raise Invalid("org_node is required")
            return ROOT
        path = await self.org_path(org_node)
        if path is None:
            raise Invalid(f"org node {org_node!r} does not exist")
        if not area.covers(path):
            raise OutOfScope(f"org node {org_node!r} is outside your area")
        return path
