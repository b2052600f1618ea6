"""Residents, devices and the org tree: the tables and an in-memory device index for the gateway."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

ORG_LEVELS = ("city", "district", "street", "community")
MAINS_TYPES = frozenset({"hub", "vitals", "appliance", "gas"})


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


@dataclass(frozen=True, slots=True)
class ResidentRecord:
    id: str
    name: str
    address: str = ""
    phone: str = ""
    birth_date: date | None = None
    org_node: str | None = None
    profile: dict[str, Any] = field(default_factory=dict)


class Registry:
    """The registry's service interface. Device lookups are served from memory (hot path)."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self._devices: dict[str, DeviceRecord] = {}
        self._by_zigbee: dict[str, DeviceRecord] = {}
        self._residents: dict[str, ResidentRecord] = {}
        self._org_paths: dict[str, str] = {}

    async def load(self) -> None:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT id, resident_id, type, model, location, power, z2m_name, ieee FROM devices"
            )
            rows = await cursor.fetchall()
        self._devices = {}
        self._by_zigbee = {}
        for row in rows:
            self._index(DeviceRecord(**row))  # type: ignore[arg-type]

    def _index(self, device: DeviceRecord) -> None:
        self._devices[device.id] = device
        for key in (device.z2m_name, device.ieee):
            if key:
                self._by_zigbee[key] = device

    def device(self, device_id: str) -> DeviceRecord | None:
        return self._devices.get(device_id)

    def zigbee_device(self, name_or_ieee: str) -> DeviceRecord | None:
        return self._by_zigbee.get(name_or_ieee)

    def devices(self) -> list[DeviceRecord]:
        return list(self._devices.values())

    async def add_org_node(self, code: str, name: str, level: str, parent: str | None = None) -> None:
        if level not in ORG_LEVELS:
            raise ValueError(f"level must be one of {ORG_LEVELS}")
        async with self.pool.connection() as conn:
            parent_path = "/"
            if parent is not None:
                cursor = await conn.execute("SELECT path FROM org_nodes WHERE code = %s", (parent,))
                row = await cursor.fetchone()
                if row is None:
                    raise ValueError(f"parent org node {parent!r} does not exist")
                parent_path = row["path"]  # type: ignore[call-overload]
            await conn.execute(
                "INSERT INTO org_nodes (code, name, level, parent, path) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (code) DO NOTHING",
                (code, name, level, parent, f"{parent_path}{code}/"),
            )

    async def org_path(self, code: str) -> str | None:
        """``/city/district/street/community/`` codes of an org node (cached; nodes do not move)."""
        if code in self._org_paths:
            return self._org_paths[code]
        async with self.pool.connection() as conn:
            cursor = await conn.execute("SELECT path FROM org_nodes WHERE code = %s", (code,))
            row = await cursor.fetchone()
        if row is None:
            return None
        self._org_paths[code] = row["path"]  # type: ignore[call-overload]
        return self._org_paths[code]

    def resident_org_path(self, resident_id: str) -> str | None:
        """The org path of a resident already known to this process (for stamping alerts), else None."""
        resident = self._residents.get(resident_id)
        if resident is None or resident.org_node is None:
            return None
        return self._org_paths.get(resident.org_node)

    async def add_resident(self, resident: ResidentRecord) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO residents (id, name, address, phone, birth_date, org_node, profile)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address,"
                " phone = EXCLUDED.phone, birth_date = EXCLUDED.birth_date,"
                " org_node = EXCLUDED.org_node, profile = EXCLUDED.profile",
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
        self._residents[resident.id] = resident

    async def add_device(self, device: DeviceRecord) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO devices (id, resident_id, type, model, location, power, z2m_name, ieee)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET resident_id = EXCLUDED.resident_id, type = EXCLUDED.type,"
                " model = EXCLUDED.model, location = EXCLUDED.location, power = EXCLUDED.power,"
                " z2m_name = EXCLUDED.z2m_name, ieee = EXCLUDED.ieee",
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
        self._index(device)

    async def resident(self, resident_id: str) -> ResidentRecord | None:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT id, name, address, phone, birth_date, org_node, profile FROM residents WHERE id = %s",
                (resident_id,),
            )
            row = await cursor.fetchone()
        return ResidentRecord(**row) if row else None  # type: ignore[arg-type]

    async def residents(self, ids: list[str]) -> dict[str, ResidentRecord]:
        """Residents by id, from memory where already read (the console asks on every alert)."""
        found = {rid: self._residents[rid] for rid in ids if rid in self._residents}
        missing = [rid for rid in ids if rid not in found]
        if not missing:
            return found
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT id, name, address, phone, birth_date, org_node, profile FROM residents"
                " WHERE id = ANY(%s)",
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
