"""The registry's shared state: the pool, the field cipher, and what is served from memory.

Device lookups for the gateway's hot path, residents' org paths (for stamping alerts) and residents'
usual wake-up and bed times (for the home detector's first days) and night-exit watches are loaded at
:meth:`RegistryIndex.load` and kept in step by every change the registry's parts make.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from psycopg_pool import AsyncConnectionPool

from registry.area import ROOT
from registry.crypto import FieldCipher
from registry.models import minutes_of_day
from registry.records import LIVE_STATUSES, DeviceRecord, ResidentRecord
from registry.rows import Row, connection, page

log = logging.getLogger("eldercare.registry")

Routine = tuple[int | None, int | None]
"""A resident's usual (wake-up, bed) time, minutes after local midnight; None: not recorded."""

Watch = tuple[int, int]
"""A resident's night-exit watch: from and until (exclusive), minutes after local midnight."""

REMEMBERED = "org_path, usual_wake, usual_bed, night_exit_watch"
"""The columns of a resident the index keeps (``RETURNING`` them on every write: :meth:`_remember_resident`)."""


class RegistryIndex:
    """The pool, the cipher and the in-memory index every part of the registry shares."""

    def __init__(self, pool: AsyncConnectionPool, cipher: FieldCipher | None = None) -> None:
        self.pool = pool
        self._cipher = cipher
        self._devices: dict[str, DeviceRecord] = {}
        self._by_zigbee: dict[str, DeviceRecord] = {}  # lower-case friendly name or IEEE address → device
        self._by_resident: dict[str | None, dict[str, DeviceRecord]] = {}
        self._residents: dict[str, ResidentRecord] = {}
        self._card_reads: dict[str, asyncio.Task[dict[str, ResidentRecord]]] = {}
        """Residents whose cards are being read ahead (see ``ResidentArchive.warm_cards``)."""
        self._org_paths: dict[str, str] = {}
        self._resident_paths: dict[str, str] = {}
        self._shared_paths: dict[str, str] = {ROOT: ROOT}  # one string per path, shared by residents
        self._routines: dict[str, Routine] = {}
        """Usual (wake, bed) minutes of the residents who have at least one recorded."""
        self._watches: dict[str, Watch] = {}
        """Night-exit watches of the residents who have one."""
        self.generation = 0
        """Counts changes to the live devices held (a load, a device indexed or forgotten), so a reader
        that mirrors them (the stream core's device supervision) re-reads only after one."""

    @property
    def cipher(self) -> FieldCipher:
        """The protected-field cipher the composition root gave (``eldercare/serve.py``: the site's key)."""
        if self._cipher is None:
            raise RuntimeError("this registry was built without a FieldCipher; protected fields need one")
        return self._cipher

    @cipher.setter
    def cipher(self, cipher: FieldCipher) -> None:
        self._cipher = cipher

    @property
    def residents_with_devices(self) -> int:
        """Residents with a live device: those who can appear in the event stream."""
        return sum(1 for resident_id in self._by_resident if resident_id)

    async def load(self) -> None:
        """Org paths, every resident's org path and usual times, and the live devices, into memory."""
        async with connection(self.pool) as conn:
            nodes = await (await conn.execute("SELECT code, path FROM org_nodes")).fetchall()
            residents = await (await conn.execute(f"SELECT id, {REMEMBERED} FROM residents")).fetchall()
            devices = await (
                await conn.execute(
                    "SELECT id, resident_id, type, model, location, power, z2m_name, ieee FROM devices"
                    " WHERE status = ANY(%s)",
                    (list(LIVE_STATUSES),),
                )
            ).fetchall()
            keys = await (await conn.execute("SELECT key, device_id FROM zigbee_keys")).fetchall()
        self._org_paths = {row["code"]: row["path"] for row in nodes}
        shared = self._shared_paths = {path: path for path in self._org_paths.values()}
        shared[ROOT] = ROOT
        self._resident_paths = {row["id"]: shared.setdefault(row["org_path"], row["org_path"]) for row in residents}
        self._routines = {}
        self._watches = {}
        for row in residents:
            self._remember_routine(row["id"], row["usual_wake"], row["usual_bed"])
            self._remember_watch(row["id"], row["night_exit_watch"])
        self._residents = {}
        self._devices = {}
        self._by_zigbee = {}
        self._by_resident = {}
        held: dict[str, set[str]] = {}
        for row in keys:
            held.setdefault(row["device_id"], set()).add(row["key"])
        for row in devices:
            device = DeviceRecord(**row)
            lost = device.zigbee_keys - held.get(device.id, set())
            if lost:
                log.error(
                    "device's Zigbee name or address is held by another device; not resolved by it",
                    extra={"device_id": device.id, "keys": sorted(lost)},
                )
            self._index(device, device.zigbee_keys - lost)
        self.generation += 1

    def _index(self, device: DeviceRecord, keys: frozenset[str] | None = None) -> None:
        """Remember ``device`` under its id and its Zigbee keys (the database has made them its own)."""
        self._unindex(device.id)
        self.generation += 1
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
        self.generation += 1
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

    def _remember_resident(self, resident_id: str, row: Row) -> None:
        """A resident created, changed or imported (``row``: the :data:`REMEMBERED` columns written): their
        org path, usual times (``HH:MM`` or None) and night-exit watch (``HH:MM-HH:MM`` or None)."""
        org_path = row["org_path"]
        self._resident_paths[resident_id] = self._shared_paths.setdefault(org_path, org_path)
        self._remember_routine(resident_id, row["usual_wake"], row["usual_bed"])
        self._remember_watch(resident_id, row["night_exit_watch"])
        self._residents.pop(resident_id, None)

    def _remember_routine(self, resident_id: str, usual_wake: str | None, usual_bed: str | None) -> None:
        if usual_wake is None and usual_bed is None:
            self._routines.pop(resident_id, None)
            return
        self._routines[resident_id] = (
            None if usual_wake is None else minutes_of_day(usual_wake),
            None if usual_bed is None else minutes_of_day(usual_bed),
        )

    def _remember_watch(self, resident_id: str, watch: str | None) -> None:
        if watch is None:
            self._watches.pop(resident_id, None)
            return
        start, end = watch.split("-")
        self._watches[resident_id] = (minutes_of_day(start), minutes_of_day(end))

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

    def routine_of(self, resident_id: str) -> Routine | None:
        """The resident's usual wake-up and bed time as the archive records them, minutes after local
        midnight (``"07:30"`` → 450; ``None`` for one not recorded), from memory; None when neither is
        recorded or the resident is unknown. The home detector's ``routine_of`` (``stream.home``)."""
        return self._routines.get(resident_id)

    def night_watch_of(self, resident_id: str) -> Watch | None:
        """The resident's night-exit watch as the archive records it (``"22:00-06:00"`` → ``(1320, 360)``),
        from memory; None when there is none or the resident is unknown. The night-exit detector's
        ``night_watch_of`` (``stream.exits``)."""
        return self._watches.get(resident_id)

    async def _page(self, sql: str, params: Sequence[object]) -> tuple[list[Row], int]:
        return await page(self.pool, sql, params)
