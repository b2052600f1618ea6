"""The device register: registration, binding, replacement, MQTT credentials and each device's history."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from devices.catalogue import device_type
from devices.zigbee_models import registration_warning
from registry.area import Area
from registry.audit import write_audit
from registry.errors import Conflict, OutOfScope
from registry.mqtt_auth import hash_password
from registry.org_tree import OrgTree
from registry.records import (
    DEVICE_COLUMNS,
    LIVE_STATUSES,
    DeviceRecord,
    assignments,
    conflict_from,
    new_device_password,
)
from registry.rows import Row, connection, found, only_row
from registry.users import User

log = logging.getLogger("eldercare.registry")

_DEVICE_SETTABLE = ("resident_id", "org_node", "model", "location", "power", "z2m_name", "ieee", "status")


class DeviceRegister(OrgTree):
    """Devices in the caller's area; every change keeps the in-memory index (the gateway's) in step."""

    async def add_device(self, device: DeviceRecord) -> None:
        async with connection(self.pool) as conn:
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
            row = await only_row(cursor)
        self._sync_device(row)

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
        async with connection(self.pool) as conn:
            return await self._device_in(conn, device_id, area)

    async def _device_in(self, conn: AsyncConnection[DictRow], device_id: str, area: Area, lock: bool = False) -> Row:
        condition, params = area.where("d.org_path", "d.resident_id")
        cursor = await conn.execute(
            f"SELECT {DEVICE_COLUMNS} FROM devices d LEFT JOIN residents r ON r.id = d.resident_id"
            f" WHERE d.id = %s AND {condition}" + (" FOR UPDATE OF d" if lock else ""),
            (device_id, *params),
        )
        return await found(cursor, f"no device {device_id!r} in your area")

    async def _resident_in(self, conn: AsyncConnection[DictRow], resident_id: str, area: Area) -> Row:
        condition, params = area.where("org_path", "id")
        cursor = await conn.execute(
            f"SELECT id, org_node, org_path FROM residents WHERE id = %s AND {condition}", (resident_id, *params)
        )
        return await found(cursor, f"no resident {resident_id!r} in your area")

    async def register_device(
        self, data: dict[str, Any], area: Area, actor: User, issue_credentials: bool = True
    ) -> tuple[Row, str | None]:
        """A new device, bound to a resident or placed at an org node; returns it and its MQTT password."""
        password = new_device_password() if issue_credentials else None
        async with connection(self.pool) as conn, conn.transaction():
            if data.get("resident_id"):
                await self._resident_in(conn, data["resident_id"], area)
            else:
                await self._placed(data.get("org_node"), area)
            power = data.get("power") or device_type(data["type"]).power
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
                raise conflict_from(error) from None
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
        self,
        conn: AsyncConnection[DictRow],
        device_id: str,
        actor: User | None,
        action: str,
        details: Row | None = None,
    ) -> None:
        await conn.execute(
            "INSERT INTO device_history (device_id, actor, action, details) VALUES (%s, %s, %s, %s)",
            (device_id, actor.username if actor else "system", action, Jsonb(details or {})),
        )

    async def update_device(self, device_id: str, changes: dict[str, Any], area: Area, actor: User) -> Row:
        async with connection(self.pool) as conn, conn.transaction():
            old = await self._device_in(conn, device_id, area, lock=True)
            if old["status"] in ("replaced", "retired") and changes.get("status") != old["status"]:
                raise Conflict(f"device {device_id!r} is {old['status']}")
            if changes.get("resident_id"):
                await self._resident_in(conn, changes["resident_id"], area)
            if "org_node" in changes:
                await self._placed(changes["org_node"], area)
            sets, values = assignments(changes, _DEVICE_SETTABLE, ("model", "location", "power", "status"))
            if not sets:
                return old
            try:
                await conn.execute(
                    f"UPDATE devices SET {', '.join(sets)}, updated_at = now() WHERE id = %s", (*values, device_id)
                )
            except psycopg.errors.UniqueViolation as error:
                raise conflict_from(error) from None
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
        async with connection(self.pool) as conn, conn.transaction():
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
                raise conflict_from(error) from None
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
        async with connection(self.pool) as conn, conn.transaction():
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
        async with connection(self.pool) as conn:
            await self._device_in(conn, device_id, area)
            cursor = await conn.execute(
                "SELECT id, device_id, at, actor, action, details FROM device_history WHERE device_id = %s ORDER BY id",
                (device_id,),
            )
            return await cursor.fetchall()

    async def broker_users(self) -> list[tuple[str, str]]:
        """(device id, Mosquitto password hash) of every live device that has credentials."""
        async with connection(self.pool) as conn:
            cursor = await conn.execute(
                "SELECT id, mqtt_password_hash FROM devices WHERE status = ANY(%s)"
                " AND mqtt_password_hash IS NOT NULL ORDER BY id",
                (list(LIVE_STATUSES),),
            )
            return [(row["id"], row["mqtt_password_hash"]) for row in await cursor.fetchall()]


def _is_zigbee(data: Row) -> bool:
    return bool(data.get("z2m_name") or data.get("ieee"))
