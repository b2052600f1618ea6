"""The registry's service interface: org tree, homes, residents, devices and their audit trail.

Device lookups for the gateway's hot path and residents' org paths (for stamping alerts) are served
from memory, loaded at :meth:`Registry.load` and kept in step with every change made through here.
Every query that returns residents, homes or devices takes the caller's :class:`~registry.area.Area`.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from devices.zigbee_models import registration_warning
from registry.area import ROOT, Area
from registry.audit import write_audit
from registry.crypto import FieldCipher, mask_id_number
from registry.errors import Conflict, Invalid, NotFound, OutOfScope
from registry.mqtt_auth import hash_password
from registry.users import User

log = logging.getLogger("eldercare.registry")

ORG_LEVELS = ("city", "district", "street", "community")
MAINS_TYPES = frozenset({"hub", "vitals", "appliance", "gas", "presence", "fall_radar"})
LIVE_STATUSES = ("active", "failed")  # devices the gateway accepts messages from

Row = dict[str, Any]
log = logging.getLogger("eldercare.registry")


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    id: str
    resident_id: str | None
    type: str
    model: str = ""
    location: str = ""
    power: str = "battery"
    z2m_name: str | None = None
    ieee: str | None = None

    @property
    def zigbee_keys(self) -> frozenset[str]:
        """The names a ``zigbee2mqtt/<name>`` topic finds this device by: friendly name and IEEE address."""
        return zigbee_keys(self.z2m_name, self.ieee)


def zigbee_keys(*names: str | None) -> frozenset[str]:
    """One case-insensitive namespace for Zigbee friendly names and IEEE addresses (as the database's)."""
    return frozenset(name.lower() for name in names if name)


@dataclass(frozen=True, slots=True)
class ResidentRecord:
    id: str
    name: str
    address: str = ""
    phone: str = ""
    birth_date: date | None = None
    org_node: str | None = None
    profile: dict[str, Any] = field(default_factory=dict)


RESIDENT_SUMMARY = (
    "r.id, r.external_id, r.name, r.id_number_masked, r.birth_date, r.sex, r.org_node, r.org_path,"
    " r.address, r.phone, r.living_alone, r.care_level"
)
RESIDENT_FULL = (
    RESIDENT_SUMMARY + ", r.home_id, r.languages, r.mobility, r.conditions, r.medications, r.emergency_contacts,"
    " r.consent_monitoring, r.consent_data_sharing, r.photo_url, r.created_at, r.updated_at"
)
HOME_COLUMNS = (
    "h.id, h.external_id, h.org_node, h.org_path, h.address, h.key_holders,"
    " h.key_safe_enc IS NOT NULL AS key_safe_set, h.notes, h.created_at, h.updated_at"
)
DEVICE_COLUMNS = (
    "d.id, d.type, d.model, d.location, d.power, d.z2m_name, d.ieee, d.resident_id, r.name AS resident_name,"
    " d.home_id, d.org_node, d.org_path, d.status, d.replaces, d.replaced_by,"
    " d.mqtt_password_hash IS NOT NULL AS has_credentials, d.created_at, d.updated_at"
)
_RESIDENT_SETTABLE = (
    "name", "birth_date", "sex", "org_node", "home_id", "address", "phone", "languages", "living_alone",
    "mobility", "conditions", "medications", "care_level", "emergency_contacts", "consent_monitoring",
    "consent_data_sharing", "photo_url",
)  # fmt: skip
_HOME_SETTABLE = ("org_node", "address", "key_holders", "notes")
_DEVICE_SETTABLE = ("resident_id", "org_node", "model", "location", "power", "z2m_name", "ieee", "status")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def new_device_password() -> str:
    return secrets.token_urlsafe(24)


JSONB_COLUMNS = frozenset({"emergency_contacts", "key_holders"})


def _value(column: str, value: Any) -> Any:
    """A column's value for psycopg: JSON columns wrapped, text[] lists passed as lists."""
    return Jsonb(value) if column in JSONB_COLUMNS else value


def _conflict(error: psycopg.errors.UniqueViolation) -> Conflict:
    constraint = getattr(error.diag, "constraint_name", None) or ""
    detail = getattr(error.diag, "message_detail", None) or str(error)
    if constraint in ("zigbee_keys_pkey", "devices_z2m_name_key", "devices_ieee_key"):
        taken = detail.partition("=(")[2].rpartition(")")[0] or "the Zigbee name or IEEE address"
        return Conflict(
            f"Zigbee name or IEEE address {taken!r} is already held by another device"
            " (friendly names and IEEE addresses share one namespace, without case)"
        )
    return Conflict(f"already exists ({constraint}): {detail}")


class Registry:
    """The registry's service interface. Device lookups are served from memory (hot path)."""

    def __init__(self, pool: AsyncConnectionPool, cipher: FieldCipher | None = None) -> None:
        self.pool = pool
        self._cipher = cipher
        self._devices: dict[str, DeviceRecord] = {}
        self._by_zigbee: dict[str, DeviceRecord] = {}  # lower-case friendly name or IEEE address → device
        self._by_resident: dict[str | None, dict[str, DeviceRecord]] = {}
        self._residents: dict[str, ResidentRecord] = {}
        self._org_paths: dict[str, str] = {}
        self._resident_paths: dict[str, str] = {}
        self._shared_paths: dict[str, str] = {ROOT: ROOT}  # one string per path, shared by residents

    @property
    def cipher(self) -> FieldCipher:
        """The protected-field cipher (``ELDERCARE_FIELD_KEY`` or ``<data_dir>/field.key``)."""
        if self._cipher is None:
            self._cipher = FieldCipher.from_environment()
        return self._cipher

    @cipher.setter
    def cipher(self, cipher: FieldCipher) -> None:
        self._cipher = cipher

    # -- memory: loaded once, kept in step --

    async def load(self) -> None:
        """Org paths, every resident's org path and the live devices, into memory."""
        async with self.pool.connection() as conn:
            nodes = await (await conn.execute("SELECT code, path FROM org_nodes")).fetchall()
            residents = await (await conn.execute("SELECT id, org_path FROM residents")).fetchall()
            devices = await (
                await conn.execute(
                    "SELECT id, resident_id, type, model, location, power, z2m_name, ieee FROM devices"
                    " WHERE status = ANY(%s)",
                    (list(LIVE_STATUSES),),
                )
            ).fetchall()
            keys = await (await conn.execute("SELECT key, device_id FROM zigbee_keys")).fetchall()
        self._org_paths = {row["code"]: row["path"] for row in nodes}  # type: ignore[call-overload]
        shared = self._shared_paths = {path: path for path in self._org_paths.values()}
        shared[ROOT] = ROOT
        self._resident_paths = {
            row["id"]: shared.setdefault(row["org_path"], row["org_path"])  # type: ignore[call-overload]
            for row in residents
        }
        self._residents = {}
        self._devices = {}
        self._by_zigbee = {}
        self._by_resident = {}
        held: dict[str, set[str]] = {}
        for row in keys:
            held.setdefault(row["device_id"], set()).add(row["key"])  # type: ignore[call-overload]
        for row in devices:
            device = DeviceRecord(**row)  # type: ignore[arg-type]
            lost = device.zigbee_keys - held.get(device.id, set())
            if lost:
                log.error(
                    "device's Zigbee name or address is held by another device; not resolved by it",
                    extra={"device_id": device.id, "keys": sorted(lost)},
                )
            self._index(device, device.zigbee_keys - lost)

    def _index(self, device: DeviceRecord, keys: frozenset[str] | None = None) -> None:
        """Remember ``device`` under its id and its Zigbee keys (the database has made them its own)."""
        self._unindex(device.id)
        self._devices[device.id] = device
        self._by_resident.setdefault(device.resident_id, {})[device.id] = device
        for key in device.zigbee_keys if keys is None else keys:
            holder = self._by_zigbee.get(key)
            if holder is None or holder.id == device.id:  # a key lost at the upgrade stays with its holder
                self._by_zigbee[key] = device

    def _unindex(self, device_id: str) -> None:
        """Forget a device and exactly the Zigbee keys that resolve to it, never another device's."""
        old = self._devices.pop(device_id, None)
        if old is None:
            return
        self._by_resident.get(old.resident_id, {}).pop(device_id, None)
        for key in old.zigbee_keys:
            holder = self._by_zigbee.get(key)
            if holder is not None and holder.id == device_id:
                del self._by_zigbee[key]

    def _sync_device(self, row: Row) -> None:
        if row["status"] in LIVE_STATUSES:
            self._index(
                DeviceRecord(
                    row["id"], row["resident_id"], row["type"], row["model"], row["location"], row["power"],
                    row["z2m_name"], row["ieee"],
                )
            )  # fmt: skip
        else:
            self._unindex(row["id"])

    def _remember_resident(self, resident_id: str, org_path: str) -> None:
        self._resident_paths[resident_id] = self._shared_paths.setdefault(org_path, org_path)
        self._residents.pop(resident_id, None)

    def device(self, device_id: str) -> DeviceRecord | None:
        return self._devices.get(device_id)

    def zigbee_device(self, name_or_ieee: str) -> DeviceRecord | None:
        """The device a ``zigbee2mqtt/<name>`` topic speaks for, by friendly name or IEEE address, any case."""
        return self._by_zigbee.get(name_or_ieee.lower())

    def devices(self) -> list[DeviceRecord]:
        return list(self._devices.values())

    def resident_devices(self, resident_id: str) -> list[DeviceRecord]:
        """A resident's live devices, from memory (as many steps as they have devices, not the registry's)."""
        return list(self._by_resident.get(resident_id, {}).values())

    def resident_org_path(self, resident_id: str) -> str | None:
        """The org path of a resident (``/`` when they have no node), from memory; None if unknown."""
        return self._resident_paths.get(resident_id)

    # -- org tree --

    async def add_org_node(self, code: str, name: str, level: str, parent: str | None = None) -> None:
        """Create an org node (idempotent by code); its level must be one below its parent's."""
        if level not in ORG_LEVELS:
            raise Invalid(f"level must be one of {ORG_LEVELS}")
        async with self.pool.connection() as conn:
            await self._insert_org_node(conn, code, name, level, parent)

    async def _insert_org_node(
        self, conn: AsyncConnection[Any], code: str, name: str, level: str, parent: str | None
    ) -> str:
        parent_path = ROOT
        if parent is not None:
            cursor = await conn.execute("SELECT path, level FROM org_nodes WHERE code = %s", (parent,))
            row = await cursor.fetchone()
            if row is None:
                raise Invalid(f"parent org node {parent!r} does not exist")
            parent_level = ORG_LEVELS.index(row["level"])  # type: ignore[call-overload]
            if ORG_LEVELS.index(level) != parent_level + 1:
                raise Invalid(f"a {level} cannot be placed under a {row['level']}")  # type: ignore[call-overload]
            parent_path = row["path"]  # type: ignore[call-overload]
        elif level != "city":
            raise Invalid(f"a {level} needs a parent")
        path = f"{parent_path}{code}/"
        await conn.execute(
            "INSERT INTO org_nodes (code, name, level, parent, path) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (code) DO NOTHING",
            (code, name, level, parent, path),
        )
        stored = await (await conn.execute("SELECT path FROM org_nodes WHERE code = %s", (code,))).fetchone()
        self._org_paths[code] = stored["path"]  # type: ignore[index,call-overload]
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
        async with self.pool.connection() as conn, conn.transaction():
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
        async with self.pool.connection() as conn:
            cursor = await conn.execute("SELECT path FROM org_nodes WHERE code = %s", (code,))
            row = await cursor.fetchone()
        if row is None:
            return None
        self._org_paths[code] = row["path"]  # type: ignore[call-overload]
        return self._org_paths[code]

    async def org_paths(self, codes: Iterable[str]) -> dict[str, str]:
        """Paths of many org nodes (unknown codes are left out)."""
        wanted = set(codes)
        missing = [code for code in wanted if code not in self._org_paths]
        if missing:
            async with self.pool.connection() as conn:
                cursor = await conn.execute("SELECT code, path FROM org_nodes WHERE code = ANY(%s)", (missing,))
                for row in await cursor.fetchall():
                    self._org_paths[row["code"]] = row["path"]  # type: ignore[call-overload]
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
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT code, name, level, parent, path FROM org_nodes WHERE code = %s AND {condition}",
                (code, *params),
            )
            row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"no org node {code!r} in your area")
        return row  # type: ignore[return-value]

    async def _page(self, sql: str, params: Sequence[object]) -> tuple[list[Row], int]:
        async with self.pool.connection() as conn:
            rows: list[Row] = await (await conn.execute(sql, params)).fetchall()  # type: ignore[arg-type,assignment]
        total = int(rows[0]["total"]) if rows else 0
        for row in rows:
            row.pop("total", None)
        return rows, total

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

    # -- residents (compatibility helpers used by the demo and tests) --

    async def add_resident(self, resident: ResidentRecord) -> None:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "INSERT INTO residents (id, name, address, phone, birth_date, org_node, profile)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address,"
                " phone = EXCLUDED.phone, birth_date = EXCLUDED.birth_date,"
                " org_node = EXCLUDED.org_node, profile = EXCLUDED.profile RETURNING org_path",
                (
                    resident.id,
                    resident.name,
                    resident.address,
                    resident.phone,
                    resident.birth_date,
                    resident.org_node,
                    Jsonb(resident.profile),
                ),
            )
            row = await cursor.fetchone()
        self._remember_resident(resident.id, row["org_path"])  # type: ignore[index,call-overload]
        self._residents[resident.id] = resident

    async def add_device(self, device: DeviceRecord) -> None:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "INSERT INTO devices (id, resident_id, type, model, location, power, z2m_name, ieee)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET resident_id = EXCLUDED.resident_id, type = EXCLUDED.type,"
                " model = EXCLUDED.model, location = EXCLUDED.location, power = EXCLUDED.power,"
                " z2m_name = EXCLUDED.z2m_name, ieee = EXCLUDED.ieee, updated_at = now()"
                " RETURNING id, resident_id, type, model, location, power, z2m_name, ieee, status",
                (
                    device.id,
                    device.resident_id,
                    device.type,
                    device.model,
                    device.location,
                    device.power,
                    device.z2m_name,
                    device.ieee,
                ),
            )
            row = await cursor.fetchone()
        self._sync_device(row)  # type: ignore[arg-type]

    async def resident(self, resident_id: str) -> ResidentRecord | None:
        found = await self.residents([resident_id])
        return found.get(resident_id)

    async def residents(self, ids: list[str]) -> dict[str, ResidentRecord]:
        """Resident cards by id, from memory where already read (the console asks on every alert)."""
        found = {rid: self._residents[rid] for rid in ids if rid in self._residents}
        missing = [rid for rid in ids if rid not in found]
        if not missing:
            return found
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT id, name, address, phone, birth_date, org_node, profile FROM residents WHERE id = ANY(%s)",
                (missing,),
            )
            rows = await cursor.fetchall()
        for row in rows:
            resident = ResidentRecord(**row)  # type: ignore[arg-type]
            self._residents[resident.id] = found[resident.id] = resident
        return found

    async def devices_with_residents(self) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT d.id, d.type, d.model, d.location, d.power, d.z2m_name, d.ieee,"
                " d.resident_id, r.name AS resident_name, r.address AS resident_address"
                " FROM devices d LEFT JOIN residents r ON r.id = d.resident_id ORDER BY d.id"
            )
            return list(await cursor.fetchall())  # type: ignore[arg-type]

    # -- the resident archive --

    async def create_resident(self, data: dict[str, Any], area: Area, actor: User) -> Row:
        """A resident in the caller's area; ``data`` as :class:`registry.models.ResidentCreate` dumps it."""
        await self._placed(data["org_node"], area)
        resident_id = new_id("res")
        id_number = data.get("id_number")
        async with self.pool.connection() as conn, conn.transaction():
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
                    values.append(_value(name, data[name]))
            placeholders = ", ".join(["%s"] * len(columns))
            try:
                cursor = await conn.execute(
                    f"INSERT INTO residents ({', '.join(columns)}) VALUES ({placeholders}) RETURNING org_path",
                    values,
                )
            except psycopg.errors.UniqueViolation as error:
                raise _conflict(error) from None
            path = (await cursor.fetchone())["org_path"]  # type: ignore[index,call-overload]
            await write_audit(conn, actor, "create", "resident", resident_id, path)
        self._remember_resident(resident_id, path)
        return await self.get_resident(resident_id, area, actor, audit=False)

    async def _home_in(self, conn: AsyncConnection[Any], home_id: str, area: Area) -> Row:
        condition, params = area.where("org_path", None)
        cursor = await conn.execute(f"SELECT id, org_path FROM homes WHERE id = %s AND {condition}", (home_id, *params))
        row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"no home {home_id!r} in your area")
        return row  # type: ignore[return-value]

    async def get_resident(self, resident_id: str, area: Area, actor: User, audit: bool = True) -> Row:
        """The whole archive entry (ID number masked), its home and devices; the read is audited."""
        condition, params = area.where("r.org_path", "r.id")
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {RESIDENT_FULL} FROM residents r WHERE r.id = %s AND {condition}", (resident_id, *params)
            )
            row: Row | None = await cursor.fetchone()  # type: ignore[assignment]
            if row is None:
                raise NotFound(f"no resident {resident_id!r} in your area")
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
            params += [f"%{escape_like(q)}%", q, q, self.cipher.digest(q)]
        sql += " ORDER BY r.org_path, r.id LIMIT %s OFFSET %s"
        rows, total = await self._page(sql, [*params, limit, offset])
        async with self.pool.connection() as conn:
            await write_audit(
                conn, actor, "list", "resident", "", area.org_path if area.resident_id is None else ROOT,
                {"returned": [row["id"] for row in rows][:200], "total": total},
            )  # fmt: skip
        return rows, total

    async def update_resident(self, resident_id: str, changes: dict[str, Any], area: Area, actor: User) -> Row:
        condition, params = area.where("org_path", "id")
        async with self.pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                f"SELECT id, org_path FROM residents WHERE id = %s AND {condition} FOR UPDATE",
                (resident_id, *params),
            )
            if await cursor.fetchone() is None:
                raise NotFound(f"no resident {resident_id!r} in your area")
            if "org_node" in changes:
                if changes["org_node"] is None:
                    raise Invalid("org_node cannot be removed")
                await self._placed(changes["org_node"], area)
            if changes.get("home_id"):
                await self._home_in(conn, changes["home_id"], area)
            sets: list[str] = []
            values: list[Any] = []
            for name in _RESIDENT_SETTABLE:
                if name in changes:
                    if name in ("name", "sex", "mobility", "care_level", "living_alone") and changes[name] is None:
                        raise Invalid(f"{name} cannot be null")
                    sets.append(f"{name} = %s")
                    values.append(_value(name, changes[name]))
            if "id_number" in changes:
                id_number = changes["id_number"]
                sets += ["id_number_enc = %s", "id_number_masked = %s", "id_number_digest = %s"]
                values += [self.cipher.encrypt(id_number), mask_id_number(id_number), self.cipher.digest(id_number)]
            for list_field in ("languages", "conditions", "medications", "emergency_contacts"):
                if list_field in changes and changes[list_field] is None:
                    raise Invalid(f"{list_field} cannot be null (send [] to clear)")
            if sets:
                cursor = await conn.execute(
                    f"UPDATE residents SET {', '.join(sets)}, updated_at = now() WHERE id = %s RETURNING org_path",
                    (*values, resident_id),
                )
                path = (await cursor.fetchone())["org_path"]  # type: ignore[index,call-overload]
                await write_audit(conn, actor, "update", "resident", resident_id, path, {"fields": sorted(changes)})
                self._remember_resident(resident_id, path)
        return await self.get_resident(resident_id, area, actor, audit=False)

    # -- homes --

    async def create_home(self, data: dict[str, Any], area: Area, actor: User) -> Row:
        await self._placed(data["org_node"], area)
        home_id = new_id("home")
        async with self.pool.connection() as conn, conn.transaction():
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
                raise _conflict(error) from None
            path = (await cursor.fetchone())["org_path"]  # type: ignore[index,call-overload]
            await write_audit(conn, actor, "create", "home", home_id, path)
        return await self.get_home(home_id, area)

    async def get_home(self, home_id: str, area: Area) -> Row:
        condition, params = self._home_area(area)
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {HOME_COLUMNS} FROM homes h WHERE h.id = %s AND {condition}", (home_id, *params)
            )
            row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"no home {home_id!r} in your area")
        return row  # type: ignore[return-value]

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
        async with self.pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                f"SELECT id FROM homes WHERE id = %s AND {condition} FOR UPDATE", (home_id, *params)
            )
            if await cursor.fetchone() is None:
                raise NotFound(f"no home {home_id!r} in your area")
            if "org_node" in changes:
                if changes["org_node"] is None:
                    raise Invalid("org_node cannot be removed")
                await self._placed(changes["org_node"], area)
            sets, values = [], []
            for name in _HOME_SETTABLE:
                if name in changes:
                    if changes[name] is None:
                        raise Invalid(f"{name} cannot be null")
                    sets.append(f"{name} = %s")
                    values.append(_value(name, changes[name]))
            if "key_safe_code" in changes:
                sets.append("key_safe_enc = %s")
                values.append(self.cipher.encrypt(changes["key_safe_code"]))
            if sets:
                cursor = await conn.execute(
                    f"UPDATE homes SET {', '.join(sets)}, updated_at = now() WHERE id = %s RETURNING org_path",
                    (*values, home_id),
                )
                path = (await cursor.fetchone())["org_path"]  # type: ignore[index,call-overload]
                await write_audit(conn, actor, "update", "home", home_id, path, {"fields": sorted(changes)})
        return await self.get_home(home_id, area)

    async def reveal_key_safe(self, home_id: str, area: Area, actor: User) -> str | None:
        """The key-safe code in clear, for a responder on the way; always audited."""
        condition, params = self._home_area(area)
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT h.key_safe_enc, h.org_path FROM homes h WHERE h.id = %s AND {condition}", (home_id, *params)
            )
            row = await cursor.fetchone()
            if row is None:
                raise NotFound(f"no home {home_id!r} in your area")
            await write_audit(conn, actor, "reveal", "home", home_id, row["org_path"], {"field": "key_safe_code"})  # type: ignore[call-overload]
        return self.cipher.decrypt(row["key_safe_enc"])  # type: ignore[call-overload]

    # -- devices --

    async def list_devices(
        self,
        area: Area,
        limit: int,
        offset: int,
        type: str | None = None,
        status: str | None = None,
        resident_id: str | None = None,
        unbound: bool | None = None,
    ) -> tuple[list[Row], int]:
        condition, params = area.where("d.org_path", "d.resident_id")
        sql = (
            f"SELECT {DEVICE_COLUMNS}, count(*) OVER () AS total FROM devices d"
            f" LEFT JOIN residents r ON r.id = d.resident_id WHERE {condition}"
        )
        for column, value in (("d.type", type), ("d.status", status), ("d.resident_id", resident_id)):
            if value is not None:
                sql += f" AND {column} = %s"
                params.append(value)
        if unbound is not None:
            sql += " AND d.resident_id IS NULL" if unbound else " AND d.resident_id IS NOT NULL"
        sql += " ORDER BY d.org_path, d.id LIMIT %s OFFSET %s"
        return await self._page(sql, [*params, limit, offset])

    async def get_device(self, device_id: str, area: Area) -> Row:
        async with self.pool.connection() as conn:
            return await self._device_in(conn, device_id, area)

    async def _device_in(self, conn: AsyncConnection[Any], device_id: str, area: Area, lock: bool = False) -> Row:
        condition, params = area.where("d.org_path", "d.resident_id")
        cursor = await conn.execute(
            f"SELECT {DEVICE_COLUMNS} FROM devices d LEFT JOIN residents r ON r.id = d.resident_id"
            f" WHERE d.id = %s AND {condition}" + (" FOR UPDATE OF d" if lock else ""),
            (device_id, *params),
        )
        row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"no device {device_id!r} in your area")
        return row  # type: ignore[return-value]

    async def _resident_in(self, conn: AsyncConnection[Any], resident_id: str, area: Area) -> Row:
        condition, params = area.where("org_path", "id")
        cursor = await conn.execute(
            f"SELECT id, org_node, org_path FROM residents WHERE id = %s AND {condition}", (resident_id, *params)
        )
        row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"no resident {resident_id!r} in your area")
        return row  # type: ignore[return-value]

    async def register_device(
        self, data: dict[str, Any], area: Area, actor: User, issue_credentials: bool = True
    ) -> tuple[Row, str | None]:
        """A new device, bound to a resident or placed at an org node; returns it and its MQTT password."""
        password = new_device_password() if issue_credentials else None
        async with self.pool.connection() as conn, conn.transaction():
            if data.get("resident_id"):
                await self._resident_in(conn, data["resident_id"], area)
            else:
                await self._placed(data.get("org_node"), area)
            power = data.get("power") or ("mains" if data["type"] in MAINS_TYPES else "battery")
            try:
                await conn.execute(
                    "INSERT INTO devices (id, resident_id, org_node, type, model, location, power, z2m_name, ieee,"
                    " mqtt_password_hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        data["id"],
                        data.get("resident_id"),
                        data.get("org_node"),
                        data["type"],
                        data.get("model", ""),
                        data.get("location", ""),
                        power,
                        data.get("z2m_name"),
                        data.get("ieee"),
                        hash_password(password) if password else None,
                    ),
                )
            except psycopg.errors.UniqueViolation as error:
                raise _conflict(error) from None
            row = await self._device_in(conn, data["id"], Area())
            details: Row = {"resident_id": row["resident_id"]}
            warning = registration_warning(data["type"], data.get("model", "")) if _is_zigbee(data) else None
            if warning:  # registered all the same: it is decoded by its device type
                details["warning"] = warning
                log.warning("Zigbee device registered", extra={"device": data["id"], "warning": warning})
            await self._history(conn, data["id"], actor, "registered", details)
            if password:
                await self._history(conn, data["id"], actor, "credentials_issued")
            await write_audit(conn, actor, "create", "device", data["id"], row["org_path"])
        self._sync_device(row)
        return row, password

    async def _history(
        self, conn: AsyncConnection[Any], device_id: str, actor: User | None, action: str, details: Row | None = None
    ) -> None:
        await conn.execute(
            "INSERT INTO device_history (device_id, actor, action, details) VALUES (%s, %s, %s, %s)",
            (device_id, actor.username if actor else "system", action, Jsonb(details or {})),
        )

    async def update_device(self, device_id: str, changes: dict[str, Any], area: Area, actor: User) -> Row:
        async with self.pool.connection() as conn, conn.transaction():
            old = await self._device_in(conn, device_id, area, lock=True)
            if old["status"] in ("replaced", "retired") and changes.get("status") != old["status"]:
                raise Conflict(f"device {device_id!r} is {old['status']}")
            if changes.get("resident_id"):
                await self._resident_in(conn, changes["resident_id"], area)
            if "org_node" in changes:
                await self._placed(changes["org_node"], area)
            sets, values = [], []
            for name in _DEVICE_SETTABLE:
                if name in changes:
                    if name in ("model", "location", "power", "status") and changes[name] is None:
                        raise Invalid(f"{name} cannot be null")
                    sets.append(f"{name} = %s")
                    values.append(changes[name])
            if not sets:
                return old
            try:
                await conn.execute(
                    f"UPDATE devices SET {', '.join(sets)}, updated_at = now() WHERE id = %s", (*values, device_id)
                )
            except psycopg.errors.UniqueViolation as error:
                raise _conflict(error) from None
            row = await self._device_in(conn, device_id, Area())
            if not area.covers(row["org_path"], row["resident_id"]):
                raise OutOfScope("the change would move the device outside your area")
            if "resident_id" in changes and changes["resident_id"] != old["resident_id"]:
                action = "bound" if changes["resident_id"] else "unbound"
                await self._history(
                    conn, device_id, actor, action, {"from": old["resident_id"], "to": row["resident_id"]}
                )
            if "status" in changes and changes["status"] != old["status"]:
                await self._history(conn, device_id, actor, changes["status"], {"from": old["status"]})
            other = sorted(set(changes) - {"resident_id", "status"})
            if other:
                await self._history(conn, device_id, actor, "updated", {"fields": other})
            await write_audit(conn, actor, "update", "device", device_id, row["org_path"], {"fields": sorted(changes)})
        self._sync_device(row)
        return row

    async def replace_device(
        self, device_id: str, new_id: str, model: str | None, area: Area, actor: User, issue_credentials: bool = True
    ) -> tuple[Row, str | None]:
        """Swap a failed device for a new one in the same place; the old one keeps its history."""
        password = new_device_password() if issue_credentials else None
        async with self.pool.connection() as conn, conn.transaction():
            old = await self._device_in(conn, device_id, area, lock=True)
            if old["status"] in ("replaced", "retired"):
                raise Conflict(f"device {device_id!r} is already {old['status']}")
            await conn.execute(
                "UPDATE devices SET status = 'replaced', z2m_name = NULL, ieee = NULL, mqtt_password_hash = NULL,"
                " updated_at = now() WHERE id = %s",
                (device_id,),
            )
            try:
                await conn.execute(
                    "INSERT INTO devices (id, resident_id, org_node, type, model, location, power, z2m_name,"
                    " replaces, mqtt_password_hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        new_id, old["resident_id"], old["org_node"], old["type"],
                        model if model is not None else old["model"],
                        old["location"], old["power"], old["z2m_name"], device_id,
                        hash_password(password) if password else None,
                    ),
                )  # fmt: skip
            except psycopg.errors.UniqueViolation as error:
                raise _conflict(error) from None
            await conn.execute("UPDATE devices SET replaced_by = %s WHERE id = %s", (new_id, device_id))
            await self._history(conn, device_id, actor, "replaced", {"by": new_id, "ieee": old["ieee"]})
            await self._history(conn, new_id, actor, "registered", {"replaces": device_id})
            if password:
                await self._history(conn, new_id, actor, "credentials_issued")
            new = await self._device_in(conn, new_id, Area())
            old_now = await self._device_in(conn, device_id, Area())
            await write_audit(conn, actor, "replace", "device", device_id, new["org_path"], {"by": new_id})
        self._sync_device(old_now)
        self._sync_device(new)
        return new, password

    async def issue_credentials(self, device_id: str, area: Area, actor: User) -> str:
        """A new MQTT password for a device (the old one stops working at the next broker reload)."""
        password = new_device_password()
        async with self.pool.connection() as conn, conn.transaction():
            row = await self._device_in(conn, device_id, area, lock=True)
            if row["status"] in ("replaced", "retired"):
                raise Conflict(f"device {device_id!r} is {row['status']}")
            await conn.execute(
                "UPDATE devices SET mqtt_password_hash = %s, updated_at = now() WHERE id = %s",
                (hash_password(password), device_id),
            )
            await self._history(conn, device_id, actor, "credentials_issued")
            await write_audit(conn, actor, "credentials", "device", device_id, row["org_path"])
        return password

    async def device_history(self, device_id: str, area: Area) -> list[Row]:
        async with self.pool.connection() as conn:
            await self._device_in(conn, device_id, area)
            cursor = await conn.execute(
                "SELECT id, device_id, at, actor, action, details FROM device_history WHERE device_id = %s ORDER BY id",
                (device_id,),
            )
            return await cursor.fetchall()  # type: ignore[return-value]

    async def broker_users(self) -> list[tuple[str, str]]:
        """(device id, Mosquitto password hash) of every live device that has credentials."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT id, mqtt_password_hash FROM devices WHERE status = ANY(%s)"
                " AND mqtt_password_hash IS NOT NULL ORDER BY id",
                (list(LIVE_STATUSES),),
            )
            return [(row["id"], row["mqtt_password_hash"]) for row in await cursor.fetchall()]  # type: ignore[call-overload]


def _is_zigbee(data: Row) -> bool:
    return bool(data.get("z2m_name") or data.get("ieee"))


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_prefix_or_nothing(path: str | None) -> str:
    """The LIKE pattern for an org filter; an unknown node matches nothing."""
    return escape_like(path) + "%" if path else "\x01"
