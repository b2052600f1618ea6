"""The resident archive and the homes residents live in (protected fields through the field cipher)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from registry.area import ROOT, Area
from registry.audit import write_audit
from registry.crypto import mask_id_number
from registry.errors import Invalid
from registry.index import REMEMBERED
from registry.like import like_contains, like_prefix_or_nothing
from registry.org_tree import OrgTree
from registry.records import (
    DEVICE_COLUMNS,
    LIVE_STATUSES,
    ResidentRecord,
    assignments,
    column_value,
    conflict_from,
    new_id,
)
from registry.rows import Row, connection, found, only_row
from registry.users import User

RESIDENT_SUMMARY = (
    "r.id, r.external_id, r.name, r.id_number_masked, r.birth_date, r.sex, r.org_node, r.org_path,"
    " r.address, r.phone, r.living_alone, r.care_level"
)
RESIDENT_FULL = (
    RESIDENT_SUMMARY + ", r.home_id, r.languages, r.mobility, r.conditions, r.medications, r.emergency_contacts,"
    " r.consent_monitoring, r.consent_data_sharing, r.photo_url, r.usual_wake, r.usual_bed, r.night_exit_watch,"
    " r.created_at, r.updated_at"
)
HOME_COLUMNS = (
    "h.id, h.external_id, h.org_node, h.org_path, h.address, h.key_holders,"
    " h.key_safe_enc IS NOT NULL AS key_safe_set, h.notes, h.created_at, h.updated_at"
)
_RESIDENT_SETTABLE = (
    "name", "birth_date", "sex", "org_node", "home_id", "address", "phone", "languages", "living_alone",
    "mobility", "conditions", "medications", "care_level", "emergency_contacts", "consent_monitoring",
    "consent_data_sharing", "photo_url", "usual_wake", "usual_bed", "night_exit_watch",
)  # fmt: skip
_RESIDENT_NOT_NULL = (
    "name", "address", "phone", "sex", "mobility", "care_level", "living_alone", "consent_monitoring",
    "consent_data_sharing",
)  # fmt: skip
_HOME_SETTABLE = ("org_node", "address", "key_holders", "notes")

log = logging.getLogger("eldercare.registry")


class ResidentArchive(OrgTree):
    """Residents (the archive, read audited) and homes (the key-safe code revealed only on its own)."""

    # -- residents (compatibility helpers used by the demo and tests) --

    async def add_resident(self, resident: ResidentRecord) -> None:
        async with connection(self.pool) as conn:
            cursor = await conn.execute(
                "INSERT INTO residents (id, name, address, phone, birth_date, org_node, profile, usual_wake, usual_bed,"
                " night_exit_watch) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address,"
                " phone = EXCLUDED.phone, birth_date = EXCLUDED.birth_date, org_node = EXCLUDED.org_node,"
                " profile = EXCLUDED.profile, usual_wake = EXCLUDED.usual_wake, usual_bed = EXCLUDED.usual_bed,"
                f" night_exit_watch = EXCLUDED.night_exit_watch RETURNING {REMEMBERED}",
                (
                    resident.id,
                    resident.name,
                    resident.address,
                    resident.phone,
                    resident.birth_date,
                    resident.org_node,
                    Jsonb(resident.profile),
                    resident.usual_wake,
                    resident.usual_bed,
                    resident.night_exit_watch,
                ),
            )
            row = await only_row(cursor)
        self._remember_resident(resident.id, row)
        self._residents[resident.id] = resident

    async def resident(self, resident_id: str) -> ResidentRecord | None:
        found = await self.residents([resident_id])
        return found.get(resident_id)

    def residents_in_memory(self, ids: list[str]) -> dict[str, ResidentRecord]:
        """The cards of these residents already read, without waiting for the others."""
        return {rid: self._residents[rid] for rid in ids if rid in self._residents}

    async def residents(self, ids: list[str]) -> dict[str, ResidentRecord]:
        """Resident cards by id, from memory where already read (the console asks on every alert)."""
        found = {rid: self._residents[rid] for rid in ids if rid in self._residents}
        missing = [rid for rid in ids if rid not in found]
        reading = {self._card_reads[rid] for rid in missing if rid in self._card_reads}
        if reading:  # being read for an alarm already: that read, not a second one
            await asyncio.wait(reading)
            found.update((rid, self._residents[rid]) for rid in missing if rid in self._residents)
            missing = [rid for rid in missing if rid not in found]
        if missing:
            found.update(await self._read_cards(missing))
        return found

    def warm_cards(self, resident_ids: Iterable[str]) -> asyncio.Task[dict[str, ResidentRecord]] | None:
        """Start reading the cards of these residents not yet in memory, without waiting: an alarm's,
        while the alarm is being stored, so the console does not read it after. Returns the read (None
        when there is nothing to read); nobody need await it."""
        missing = [rid for rid in set(resident_ids) if rid not in self._residents and rid not in self._card_reads]
        if not missing:
            return None
        read = asyncio.get_running_loop().create_task(self._read_cards(missing), name="resident-cards")
        for rid in missing:
            self._card_reads[rid] = read
        read.add_done_callback(functools.partial(self._card_read_done, missing))
        return read

    def _card_read_done(self, resident_ids: list[str], read: asyncio.Task[dict[str, ResidentRecord]]) -> None:
        for rid in resident_ids:
            self._card_reads.pop(rid, None)
        if not read.cancelled() and (error := read.exception()) is not None:
            log.warning("resident cards not read ahead; read when shown", extra={"error": repr(error)[:200]})

    async def _read_cards(self, ids: list[str]) -> dict[str, ResidentRecord]:
        async with connection(self.pool) as conn:
            cursor = await conn.execute(
                "SELECT id, name, address, phone, birth_date, org_node, profile, usual_wake, usual_bed,"
                " night_exit_watch FROM residents WHERE id = ANY(%s)",
                (ids,),
            )
            rows = await cursor.fetchall()
        read = {}
        for row in rows:
            resident = ResidentRecord(**row)
            self._residents[resident.id] = read[resident.id] = resident
        return read

    # -- the resident archive --

    async def create_resident(self, data: dict[str, Any], area: Area, actor: User) -> Row:
        """A resident in the caller's area; ``data`` as :class:`registry.models.ResidentCreate` dumps it."""
        await self._placed(data["org_node"], area)
        resident_id = new_id("res")
        id_number = data.get("id_number")
        async with connection(self.pool) as conn, conn.transaction():
            if data.get("home_id"):
                await self._home_in(conn, data["home_id"], area)
            columns = ["id", "external_id", "id_number_enc", "id_number_masked", "id_number_digest"]
            values: list[Any] = [
                resident_id,
                data.get("external_id"),
                self.cipher.encrypt(id_number),
                mask_id_number(id_number),
                self.cipher.digest(id_number),
            ]
            for name in _RESIDENT_SETTABLE:
                if name in data:
                    columns.append(name)
                    values.append(column_value(name, data[name]))
            placeholders = ", ".join(["%s"] * len(columns))
            try:
                cursor = await conn.execute(
                    f"INSERT INTO residents ({', '.join(columns)}) VALUES ({placeholders}) RETURNING {REMEMBERED}",
                    values,
                )
            except psycopg.errors.UniqueViolation as error:
                raise conflict_from(error) from None
            row = await only_row(cursor)
            await write_audit(conn, actor, "create", "resident", resident_id, row["org_path"])
        self._remember_resident(resident_id, row)
        return await self.get_resident(resident_id, area, actor, audit=False)

    async def _home_in(self, conn: AsyncConnection[DictRow], home_id: str, area: Area) -> Row:
        condition, params = area.where("org_path", None)
        cursor = await conn.execute(f"SELECT id, org_path FROM homes WHERE id = %s AND {condition}", (home_id, *params))
        return await found(cursor, f"no home {home_id!r} in your area")

    async def get_resident(self, resident_id: str, area: Area, actor: User, audit: bool = True) -> Row:
        """The whole archive entry (ID number masked), its home and devices; the read is audited."""
        condition, params = area.where("r.org_path", "r.id")
        async with connection(self.pool) as conn:
            cursor = await conn.execute(
                f"SELECT {RESIDENT_FULL} FROM residents r WHERE r.id = %s AND {condition}", (resident_id, *params)
            )
            row = await found(cursor, f"no resident {resident_id!r} in your area")
            row["home"] = None
            if row["home_id"]:
                home = await conn.execute(f"SELECT {HOME_COLUMNS} FROM homes h WHERE h.id = %s", (row["home_id"],))
                row["home"] = await home.fetchone()
            devices = await conn.execute(
                f"SELECT {DEVICE_COLUMNS} FROM devices d LEFT JOIN residents r ON r.id = d.resident_id"
                " WHERE d.resident_id = %s AND d.status = ANY(%s) ORDER BY d.id",
                (resident_id, list(LIVE_STATUSES)),
            )
            row["devices"] = await devices.fetchall()
            if audit:
                await write_audit(conn, actor, "read", "resident", resident_id, row["org_path"])
        return row

    async def list_residents(
        self,
        area: Area,
        actor: User,
        limit: int,
        offset: int,
        q: str | None = None,
        org_node: str | None = None,
        care_level: str | None = None,
        living_alone: bool | None = None,
    ) -> tuple[list[Row], int]:
        condition, params = area.where("r.org_path", "r.id")
        sql = f"SELECT {RESIDENT_SUMMARY}, count(*) OVER () AS total FROM residents r WHERE {condition}"
        if org_node:
            path = await self.org_path(org_node)
            sql += " AND r.org_path LIKE %s"
            params.append(like_prefix_or_nothing(path))
        if care_level:
            sql += " AND r.care_level = %s"
            params.append(care_level)
        if living_alone is not None:
            sql += " AND r.living_alone = %s"
            params.append(living_alone)
        if q:
            sql += " AND (r.name ILIKE %s OR r.external_id = %s OR r.phone = %s OR r.id_number_digest = %s)"
            params += [like_contains(q), q, q, self.cipher.digest(q)]
        sql += " ORDER BY r.org_path, r.id LIMIT %s OFFSET %s"
        rows, total = await self._page(sql, [*params, limit, offset])
        async with connection(self.pool) as conn:
            await write_audit(
                conn, actor, "list", "resident", "", area.org_path if area.resident_id is None else ROOT,
                {"returned": [row["id"] for row in rows][:200], "total": total},
            )  # fmt: skip
        return rows, total

    async def update_resident(self, resident_id: str, changes: dict[str, Any], area: Area, actor: User) -> Row:
        condition, params = area.where("org_path", "id")
        async with connection(self.pool) as conn, conn.transaction():
            cursor = await conn.execute(
                f"SELECT id, org_path FROM residents WHERE id = %s AND {condition} FOR UPDATE",
                (resident_id, *params),
            )
            await found(cursor, f"no resident {resident_id!r} in your area")
            if "org_node" in changes:
                if changes["org_node"] is None:
                    raise Invalid("org_node cannot be removed")
                await self._placed(changes["org_node"], area)
            if changes.get("home_id"):
                await self._home_in(conn, changes["home_id"], area)
            sets, values = assignments(changes, _RESIDENT_SETTABLE, _RESIDENT_NOT_NULL)
            if "id_number" in changes:
                id_number = changes["id_number"]
                sets += ["id_number_enc = %s", "id_number_masked = %s", "id_number_digest = %s"]
                values += [self.cipher.encrypt(id_number), mask_id_number(id_number), self.cipher.digest(id_number)]
            for list_field in ("languages", "conditions", "medications", "emergency_contacts"):
                if list_field in changes and changes[list_field] is None:
                    raise Invalid(f"{list_field} cannot be null (send [] to clear)")
            if sets:
                cursor = await conn.execute(
                    f"UPDATE residents SET {', '.join(sets)}, updated_at = now() WHERE id = %s RETURNING {REMEMBERED}",
                    (*values, resident_id),
                )
                row = await only_row(cursor)
                path = row["org_path"]
                await write_audit(conn, actor, "update", "resident", resident_id, path, {"fields": sorted(changes)})
                self._remember_resident(resident_id, row)
        return await self.get_resident(resident_id, area, actor, audit=False)

    # -- homes --

    async def create_home(self, data: dict[str, Any], area: Area, actor: User) -> Row:
        await self._placed(data["org_node"], area)
        home_id = new_id("home")
        async with connection(self.pool) as conn, conn.transaction():
            try:
                cursor = await conn.execute(
                    "INSERT INTO homes (id, external_id, org_node, address, key_holders, key_safe_enc, notes)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING org_path",
                    (
                        home_id,
                        data.get("external_id"),
                        data["org_node"],
                        data.get("address", ""),
                        Jsonb(data.get("key_holders", [])),
                        self.cipher.encrypt(data.get("key_safe_code")),
                        data.get("notes", ""),
                    ),
                )
            except psycopg.errors.UniqueViolation as error:
                raise conflict_from(error) from None
            path = (await only_row(cursor))["org_path"]
            await write_audit(conn, actor, "create", "home", home_id, path)
        return await self.get_home(home_id, area)

    async def get_home(self, home_id: str, area: Area) -> Row:
        condition, params = self._home_area(area)
        async with connection(self.pool) as conn:
            cursor = await conn.execute(
                f"SELECT {HOME_COLUMNS} FROM homes h WHERE h.id = %s AND {condition}", (home_id, *params)
            )
            return await found(cursor, f"no home {home_id!r} in your area")

    @staticmethod
    def _home_area(area: Area) -> tuple[str, list[object]]:
        if area.resident_id is not None:
            return "h.id = (SELECT home_id FROM residents WHERE id = %s)", [area.resident_id]
        return area.where("h.org_path", None)

    async def list_homes(
        self, area: Area, limit: int, offset: int, org_node: str | None = None
    ) -> tuple[list[Row], int]:
        condition, params = self._home_area(area)
        sql = f"SELECT {HOME_COLUMNS}, count(*) OVER () AS total FROM homes h WHERE {condition}"
        if org_node:
            sql += " AND h.org_path LIKE %s"
            params.append(like_prefix_or_nothing(await self.org_path(org_node)))
        sql += " ORDER BY h.org_path, h.id LIMIT %s OFFSET %s"
        return await self._page(sql, [*params, limit, offset])

    async def update_home(self, home_id: str, changes: dict[str, Any], area: Area, actor: User) -> Row:
        condition, params = area.where("org_path", None)
        async with connection(self.pool) as conn, conn.transaction():
            cursor = await conn.execute(
                f"SELECT id FROM homes WHERE id = %s AND {condition} FOR UPDATE", (home_id, *params)
            )
            await found(cursor, f"no home {home_id!r} in your area")
            if "org_node" in changes:
                if changes["org_node"] is None:
                    raise Invalid("org_node cannot be removed")
                await self._placed(changes["org_node"], area)
            sets, values = assignments(changes, _HOME_SETTABLE, _HOME_SETTABLE)
            if "key_safe_code" in changes:
                sets.append("key_safe_enc = %s")
                values.append(self.cipher.encrypt(changes["key_safe_code"]))
            if sets:
                cursor = await conn.execute(
                    f"UPDATE homes SET {', '.join(sets)}, updated_at = now() WHERE id = %s RETURNING org_path",
                    (*values, home_id),
                )
                path = (await only_row(cursor))["org_path"]
                await write_audit(conn, actor, "update", "home", home_id, path, {"fields": sorted(changes)})
        return await self.get_home(home_id, area)

    async def reveal_key_safe(self, home_id: str, area: Area, actor: User) -> str | None:
        """The key-safe code in clear, for a responder on the way; always audited."""
        condition, params = self._home_area(area)
        async with connection(self.pool) as conn:
            cursor = await conn.execute(
                f"SELECT h.key_safe_enc, h.org_path FROM homes h WHERE h.id = %s AND {condition}", (home_id, *params)
            )
            row = await found(cursor, f"no home {home_id!r} in your area")
            await write_audit(conn, actor, "reveal", "home", home_id, row["org_path"], {"field": "key_safe_code"})
        return self.cipher.decrypt(row["key_safe_enc"])
