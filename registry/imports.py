"""Bulk import of homes, residents and devices from CSV (the conventions: :mod:`registry.csv_format`;
the export back to CSV: :mod:`registry.exports`).

Each row is validated with the same models as the API; a row that cannot be taken is reported with
its line number and reasons, the others go in. Imports are idempotent by external id (devices: by
device id): a row whose id is already in the registry is skipped and counted, never imported twice.
Accepted rows go through a temporary table filled by ``COPY`` and one ``INSERT … ON CONFLICT DO
NOTHING``, in one transaction, with an audit entry per created object.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field, ValidationError

from devices.catalogue import device_type
from registry.area import Area
from registry.crypto import mask_id_number
from registry.csv_format import read_contacts, read_holders, read_list, unescape
from registry.errors import Invalid
from registry.index import REMEMBERED
from registry.models import DeviceCreate, HomeCreate, ResidentCreate
from registry.mqtt_auth import hash_password
from registry.records import LIVE_STATUSES, new_device_password, new_id, zigbee_keys
from registry.rows import connection
from registry.store import Registry
from registry.users import User

MAX_ROWS = 200_000
RESIDENT_COLUMNS = (
    "external_id", "name", "id_number", "birth_date", "sex", "org_node", "home_external_id", "address", "phone",
    "languages", "living_alone", "mobility", "conditions", "medications", "care_level", "emergency_contacts",
    "consent_monitoring", "consent_data_sharing", "photo_url", "usual_wake", "usual_bed",
    "night_exit_watch",
)  # fmt: skip
HOME_COLUMNS = ("external_id", "org_node", "address", "key_holders", "key_safe_code", "notes")
DEVICE_COLUMNS = ("id", "type", "model", "resident_external_id", "org_node", "location", "power", "z2m_name", "ieee")
_RESIDENT_LISTS = {
    "languages": read_list,
    "conditions": read_list,
    "medications": read_list,
    "emergency_contacts": read_contacts,
}
REQUIRED = {
    "residents": ("external_id", "name", "org_node"),
    "homes": ("external_id", "org_node"),
    "devices": ("id", "type"),
}


class RowProblem(BaseModel):
    row: int = Field(description="line number in the file (the header is line 1)")
    external_id: str | None
    errors: list[str]


class DeviceSecret(BaseModel):
    device_id: str
    mqtt_password: str


class ImportReport(BaseModel):
    kind: str
    rows: int
    created: int
    skipped_existing: int = Field(description="rows whose external id is already in the registry")
    rejected: list[RowProblem]
    seconds: float
    credentials: list[DeviceSecret] = Field(default_factory=list, description="new devices' MQTT passwords, once")


@dataclass
class _Batch:
    kind: str
    started: float = field(default_factory=time.perf_counter)
    rows: int = 0
    rejected: list[RowProblem] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)
    """The line each key (an external id, a device id or Zigbee key) was first seen on."""

    def read(self, text: str) -> Iterator[tuple[int, dict[str, str]]]:
        """The file's rows (line number, cells), each counted; one with more fields than the header is
        rejected here."""
        for line, raw in _rows(text, self.kind):
            self.rows += 1
            if "__extra__" in raw:
                self.reject(line, None, "row has more fields than the header")
                continue
            yield line, raw

    def repeats(self, line: int, keys: Iterable[tuple[str, str]]) -> list[str]:
        """Why the row is a repeat: each ``(column, key)`` an earlier row of the file had; when none,
        the keys are recorded as this row's."""
        keys = list(keys)
        clash = [f"{name}: repeats row {self.seen[key]} of this file" for name, key in keys if key in self.seen]
        if not clash:
            self.seen.update((key, line) for _, key in keys)
        return clash

    def reject(self, line: int, external_id: str | None, *errors: str) -> None:
        self.rejected.append(RowProblem(row=line, external_id=external_id or None, errors=list(errors)))

    def report(self, created: int, skipped: int, credentials: list[DeviceSecret] | None = None) -> ImportReport:
        self.rejected.sort(key=lambda problem: problem.row)
        return ImportReport(
            kind=self.kind,
            rows=self.rows,
            created=created,
            skipped_existing=skipped,
            rejected=self.rejected,
            seconds=round(time.perf_counter() - self.started, 3),
            credentials=credentials or [],
        )


def _rows(text: str, kind: str) -> Iterable[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        headers = [name.strip() for name in reader.fieldnames or []]
    except csv.Error as error:  # e.g. a header field over csv.field_size_limit() (128 KiB)
        raise Invalid(f"CSV line {reader.line_num + 1} cannot be read: {error}") from None
    missing = [name for name in REQUIRED[kind] if name not in headers]
    if missing:
        raise Invalid(f"CSV header lacks column(s): {', '.join(missing)}")
    reader.fieldnames = headers
    rows = enumerate(reader)
    while True:
        try:
            index, raw = next(rows)
        except StopIteration:
            return
        except csv.Error as error:  # e.g. a field over csv.field_size_limit() (128 KiB), a stray quote
            raise Invalid(f"CSV line {reader.line_num + 1} cannot be read: {error}") from None
        if index >= MAX_ROWS:
            raise Invalid(f"at most {MAX_ROWS} rows per import")
        if None in raw:
            yield reader.line_num, {"__extra__": "x"}
            continue
        yield reader.line_num, {key: unescape((value or "").strip()) for key, value in raw.items()}


def _errors(error: ValidationError) -> list[str]:
    return [f"{'.'.join(str(part) for part in item['loc']) or 'row'}: {item['msg']}" for item in error.errors()]


def _clean(raw: dict[str, str], columns: Iterable[str], lists: Mapping[str, Callable[[str], Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in columns:
        value = raw.get(name, "")
        if value == "":
            continue
        data[name] = lists[name](value) if name in lists else value
    return data


async def _check_nodes(registry: Registry, area: Area, codes: set[str]) -> dict[str, str | None]:
    """Each code's problem (None: fine)."""
    paths = await registry.org_paths(codes)
    verdict: dict[str, str | None] = {}
    for code in codes:
        path = paths.get(code)
        if path is None:
            verdict[code] = f"org_node: {code!r} does not exist"
        elif not area.covers(path):
            verdict[code] = f"org_node: {code!r} is outside your area"
        else:
            verdict[code] = None
    return verdict


async def _by_external_id(registry: Registry, table: str, refs: set[str]) -> dict[str, tuple[str, str]]:
    """``(id, org_path)`` of the rows of ``table`` (homes, residents) a file refers to by external id."""
    if not refs:
        return {}
    async with connection(registry.pool) as conn:
        cursor = await conn.execute(
            f"SELECT external_id, id, org_path FROM {table} WHERE external_id = ANY(%s)", (sorted(refs),)
        )
        return {row["external_id"]: (row["id"], row["org_path"]) for row in await cursor.fetchall()}


async def _existing(registry: Registry, table: str, column: str, values: list[str]) -> set[str]:
    if not values:
        return set()
    async with connection(registry.pool) as conn:
        cursor = await conn.execute(f"SELECT {column} AS v FROM {table} WHERE {column} = ANY(%s)", (values,))
        return {row["v"] for row in await cursor.fetchall()}


def _parse_residents(text: str, batch: _Batch) -> list[tuple[int, ResidentCreate, str | None]]:
    """Validate every row (CPU work: run in a worker thread so the event loop keeps serving alarms)."""
    parsed: list[tuple[int, ResidentCreate, str | None]] = []
    for line, raw in batch.read(text):
        external_id = raw.get("external_id") or None
        data = _clean(raw, RESIDENT_COLUMNS, _RESIDENT_LISTS)
        home_ref = data.pop("home_external_id", None)
        problems = [] if external_id else ["external_id: required for an import (it makes the import repeatable)"]
        try:
            model = ResidentCreate.model_validate(data)
        except ValidationError as error:
            batch.reject(line, external_id, *problems, *_errors(error))
            continue
        if problems or external_id is None:
            batch.reject(line, external_id, *problems)
            continue
        clash = batch.repeats(line, [("external_id", external_id)])
        if clash:
            batch.reject(line, external_id, *clash)
            continue
        parsed.append((line, model, home_ref))
    return parsed


async def import_residents(registry: Registry, text: str, area: Area, actor: User) -> ImportReport:
    batch = _Batch("residents")
    parsed = await asyncio.to_thread(_parse_residents, text, batch)
    nodes = await _check_nodes(registry, area, {model.org_node for _, model, _ in parsed})
    homes = await _by_external_id(registry, "homes", {ref for _, _, ref in parsed if ref})
    cipher = registry.cipher

    def build() -> list[tuple[Any, ...]]:
        records: list[tuple[Any, ...]] = []
        for line, model, home_ref in parsed:
            problem = nodes[model.org_node]
            home_id = None
            if problem is None and home_ref:
                home = homes.get(home_ref)
                if home is None or not area.covers(home[1]):
                    problem = f"home_external_id: no home {home_ref!r} in your area"
                else:
                    home_id = home[0]
            if problem:
                batch.reject(line, model.external_id, problem)
                continue
            records.append(
                (
                    new_id("res"), model.external_id, model.name, cipher.encrypt(model.id_number),
                    mask_id_number(model.id_number), cipher.digest(model.id_number), model.birth_date, model.sex,
                    model.org_node, home_id, model.address, model.phone, model.languages, model.living_alone,
                    model.mobility, model.conditions, model.medications, model.care_level,
                    Jsonb([contact.model_dump() for contact in model.emergency_contacts]),
                    model.consent_monitoring, model.consent_data_sharing, model.photo_url, model.usual_wake,
                    model.usual_bed, model.night_exit_watch,
                )
            )  # fmt: skip
        return records

    records = await asyncio.to_thread(build)
    columns = (
        "id, external_id, name, id_number_enc, id_number_masked, id_number_digest, birth_date, sex, org_node, home_id,"
        " address, phone, languages, living_alone, mobility, conditions, medications, care_level,"
        " emergency_contacts, consent_monitoring, consent_data_sharing, photo_url, usual_wake, usual_bed,"
        " night_exit_watch"
    )
    created = await _bulk_insert(
        registry, actor, "residents", "resident", columns, "external_id", records,
        f"id, {REMEMBERED}", "via import",
    )  # fmt: skip
    for row in created:
        registry._remember_resident(row["id"], row)
    return batch.report(len(created), len(records) - len(created))


async def import_homes(registry: Registry, text: str, area: Area, actor: User) -> ImportReport:
    batch = _Batch("homes")
    parsed: list[tuple[int, HomeCreate]] = []
    for line, raw in batch.read(text):
        external_id = raw.get("external_id") or None
        try:
            model = HomeCreate.model_validate(_clean(raw, HOME_COLUMNS, {"key_holders": read_holders}))
        except ValidationError as error:
            batch.reject(line, external_id, *_errors(error))
            continue
        if not external_id:
            batch.reject(line, None, "external_id: required for an import")
            continue
        clash = batch.repeats(line, [("external_id", external_id)])
        if clash:
            batch.reject(line, external_id, *clash)
            continue
        parsed.append((line, model))
    nodes = await _check_nodes(registry, area, {model.org_node for _, model in parsed})
    records = []
    for line, model in parsed:
        problem = nodes[model.org_node]
        if problem:
            batch.reject(line, model.external_id, problem)
            continue
        records.append(
            (
                new_id("home"), model.external_id, model.org_node, model.address,
                Jsonb([holder.model_dump() for holder in model.key_holders]),
                registry.cipher.encrypt(model.key_safe_code), model.notes,
            )
        )  # fmt: skip
    columns = "id, external_id, org_node, address, key_holders, key_safe_enc, notes"
    created = await _bulk_insert(registry, actor, "homes", "home", columns, "external_id", records, "id, org_path")
    return batch.report(len(created), len(records) - len(created))


async def import_devices(
    registry: Registry, text: str, area: Area, actor: User, issue_credentials: bool = False
) -> ImportReport:
    batch = _Batch("devices")
    parsed: list[tuple[int, DeviceCreate, str | None]] = []
    for line, raw in batch.read(text):
        device_id = raw.get("id") or None
        data = _clean(raw, DEVICE_COLUMNS, {})
        resident_ref = data.pop("resident_external_id", None)
        try:
            model = DeviceCreate.model_validate({**data, "issue_credentials": issue_credentials})
        except ValidationError as error:
            batch.reject(line, device_id, *_errors(error))
            continue
        clash = batch.repeats(line, _device_keys(model))
        if clash:
            batch.reject(line, device_id, *clash)
            continue
        parsed.append((line, model, resident_ref))
    residents = await _by_external_id(registry, "residents", {ref for _, _, ref in parsed if ref})
    nodes = await _check_nodes(registry, area, {model.org_node for _, model, _ in parsed if model.org_node})
    wanted_keys = sorted({key for _, m, _ in parsed for key in zigbee_keys(m.z2m_name, m.ieee)})
    taken_keys = await _existing(registry, "zigbee_keys", "key", wanted_keys)
    existing_ids = await _existing(registry, "devices", "id", [m.id for _, m, _ in parsed])
    records = []
    secrets_by_id: dict[str, str] = {}
    for line, model, ref in parsed:
        resident_id = None
        problems = []
        if ref:
            resident = residents.get(ref)
            if resident is None or not area.covers(resident[1]):
                problems.append(f"resident_external_id: no resident {ref!r} in your area")
            else:
                resident_id = resident[0]
        elif model.org_node:
            node_problem = nodes[model.org_node]
            if node_problem:
                problems.append(node_problem)
        elif not area.is_root:
            problems.append("resident_external_id or org_node is required")
        if model.id not in existing_ids:
            for name, value in (("z2m_name", model.z2m_name), ("ieee", model.ieee)):
                if value and value.lower() in taken_keys:
                    problems.append(f"{name}: {value!r} is held by another device (Zigbee names and addresses)")
        if problems:
            batch.reject(line, model.id, *problems)
            continue
        password_hash = None
        if issue_credentials and model.id not in existing_ids:
            secrets_by_id[model.id] = new_device_password()
            password_hash = hash_password(secrets_by_id[model.id])
        power = model.power or device_type(model.type).power
        records.append(
            (
                model.id, resident_id, None if resident_id else model.org_node, model.type, model.model,
                model.location, power, model.z2m_name, model.ieee, password_hash,
            )
        )  # fmt: skip
    columns = "id, resident_id, org_node, type, model, location, power, z2m_name, ieee, mqtt_password_hash"
    created = await _bulk_insert(
        registry, actor, "devices", "device", columns, "id", records,
        "id, resident_id, type, model, location, power, z2m_name, ieee, status, org_path", "via import",
    )  # fmt: skip
    for row in created:
        if row["status"] in LIVE_STATUSES:
            registry._sync_device(row)
    made = {row["id"] for row in created}
    credentials = [
        DeviceSecret(device_id=key, mqtt_password=value) for key, value in secrets_by_id.items() if key in made
    ]
    return batch.report(len(created), len(records) - len(created), credentials)


def _device_keys(model: DeviceCreate) -> list[tuple[str, str]]:
    keys = [("id", f"id:{model.id}")]
    if model.z2m_name:
        keys.append(("z2m_name", f"zigbee:{model.z2m_name.lower()}"))  # one namespace with IEEE addresses
    if model.ieee:
        keys.append(("ieee", f"zigbee:{model.ieee.lower()}"))
    return keys


async def _bulk_insert(
    registry: Registry,
    actor: User,
    table: str,
    object_type: str,
    columns: str,
    conflict: str,
    records: list[tuple[Any, ...]],
    returning: str,
    note: str = "via import",
) -> list[dict[str, Any]]:
    """COPY ``records`` into a temporary table, insert the new ones, audit each; returns the created rows."""
    if not records:
        return []
    async with connection(registry.pool) as conn, conn.transaction():
        await conn.execute(f"CREATE TEMP TABLE import_rows ON COMMIT DROP AS SELECT {columns} FROM {table} LIMIT 0")
        async with conn.cursor().copy(f"COPY import_rows ({columns}) FROM STDIN") as copy:
            for record in records:
                await copy.write_row(record)
        cursor = await conn.execute(
            f"WITH created AS (INSERT INTO {table} ({columns}) SELECT {columns} FROM import_rows"
            f" ON CONFLICT ({conflict}) DO NOTHING RETURNING {returning}),"
            " audited AS (INSERT INTO registry_audit (actor, actor_role, action, object_type, object_id, org_path,"
            " details) SELECT %s, %s, 'create', %s, id, org_path, %s FROM created)"
            " SELECT * FROM created",
            (actor.username, actor.role, object_type, Jsonb({"note": note})),
        )
        created: list[dict[str, Any]] = await cursor.fetchall()
        if table == "devices" and created:
            await conn.execute(
                "INSERT INTO device_history (device_id, actor, action, details)"
                " SELECT unnest(%s::text[]), %s, 'registered', %s",
                ([row["id"] for row in created], actor.username, Jsonb({"note": note})),
            )
    return created
