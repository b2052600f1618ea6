"""Bulk import of homes, residents and devices from CSV, and export back to CSV.

Each row is validated with the same models as the API; a row that cannot be taken is reported with
its line number and reasons, the others go in. Imports are idempotent by external id (devices: by
device id): a row whose id is already in the registry is skipped and counted, never imported twice.
Accepted rows go through a temporary table filled by ``COPY`` and one ``INSERT … ON CONFLICT DO
NOTHING``, in one transaction, with an audit entry per created object.

CSV conventions: UTF-8 (a BOM is tolerated), a header row; lists are ``;``-separated (``languages``,
``conditions``, ``medications``); ``emergency_contacts`` are ``name|relation|phone|channel,channel``
separated by ``;`` in order of whom to call first; ``key_holders`` are ``name|phone|relation``.
Exported cells that a spreadsheet would run as a formula (starting with ``= + - @``, tab or CR) get
a leading ``'``; an import removes that quote again.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field, ValidationError

from registry.area import Area
from registry.crypto import mask_id_number
from registry.errors import Invalid
from registry.models import DeviceCreate, HomeCreate, ResidentCreate
from registry.mqtt_auth import hash_password
from registry.store import LIVE_STATUSES, MAINS_TYPES, Registry, new_device_password, new_id, zigbee_keys
from registry.users import User

MAX_ROWS = 200_000
RESIDENT_COLUMNS = (
    "external_id", "name", "id_number", "birth_date", "sex", "org_node", "home_external_id", "address", "phone",
    "languages", "living_alone", "mobility", "conditions", "medications", "care_level", "emergency_contacts",
    "consent_monitoring", "consent_data_sharing", "photo_url",
)  # fmt: skip
HOME_COLUMNS = ("external_id", "org_node", "address", "key_holders", "key_safe_code", "notes")
DEVICE_COLUMNS = ("id", "type", "model", "resident_external_id", "org_node", "location", "power", "z2m_name", "ieee")
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
    headers = [name.strip() for name in reader.fieldnames or []]
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
        yield reader.line_num, {key: _unescape((value or "").strip()) for key, value in raw.items()}


# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """A cell a spreadsheet shows as text: a leading formula character gets a ``'`` in front."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _unescape(text: str) -> str:
    """The inverse of :func:`neutralise`, so an exported file imports back unchanged."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(";") if item.strip()]


def _contacts(value: str) -> list[dict[str, Any]]:
    contacts = []
    for item in _list(value):
        parts = [part.strip() for part in item.split("|")]
        contact: dict[str, Any] = {"name": parts[0]}
        if len(parts) > 1:
            contact["relation"] = parts[1]
        if len(parts) > 2:
            contact["phone"] = parts[2]
        if len(parts) > 3 and parts[3]:
            contact["channels"] = [channel.strip() for channel in parts[3].split(",") if channel.strip()]
        contacts.append(contact)
    return contacts


def _holders(value: str) -> list[dict[str, str]]:
    holders = []
    for item in _list(value):
        parts = [part.strip() for part in item.split("|")] + ["", ""]
        holders.append({"name": parts[0], "phone": parts[1], "relation": parts[2]})
    return holders


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


async def _existing(registry: Registry, table: str, column: str, values: list[str]) -> set[str]:
    if not values:
        return set()
    async with registry.pool.connection() as conn:
        cursor = await conn.execute(f"SELECT {column} AS v FROM {table} WHERE {column} = ANY(%s)", (values,))
        return {row["v"] for row in await cursor.fetchall()}  # type: ignore[call-overload]


def _parse_residents(text: str, batch: _Batch) -> list[tuple[int, ResidentCreate, str | None]]:
    """Validate every row (CPU work: run in a worker thread so the event loop keeps serving alarms)."""
    parsed: list[tuple[int, ResidentCreate, str | None]] = []
    first_seen: dict[str, int] = {}
    lists = {"languages": _list, "conditions": _list, "medications": _list, "emergency_contacts": _contacts}
    for line, raw in _rows(text, "residents"):
        batch.rows += 1
        if "__extra__" in raw:
            batch.reject(line, None, "row has more fields than the header")
            continue
        external_id = raw.get("external_id") or None
        data = _clean(raw, RESIDENT_COLUMNS, lists)
        home_ref = data.pop("home_external_id", None)
        problems = [] if external_id else ["external_id: required for an import (it makes the import repeatable)"]
        try:
            model = ResidentCreate.model_validate(data)
        except ValidationError as error:
            batch.reject(line, external_id, *problems, *_errors(error))
            continue
        if problems:
            batch.reject(line, external_id, *problems)
            continue
        if external_id in first_seen:
            batch.reject(line, external_id, f"external_id: repeats row {first_seen[external_id]} of this file")
            continue
        first_seen[external_id] = line  # type: ignore[index]
        parsed.append((line, model, home_ref))
    return parsed


async def import_residents(registry: Registry, text: str, area: Area, actor: User) -> ImportReport:
    batch = _Batch("residents")
    parsed = await asyncio.to_thread(_parse_residents, text, batch)
    nodes = await _check_nodes(registry, area, {model.org_node for _, model, _ in parsed})
    home_refs = sorted({ref for _, _, ref in parsed if ref})
    homes: dict[str, tuple[str, str]] = {}
    if home_refs:
        async with registry.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT external_id, id, org_path FROM homes WHERE external_id = ANY(%s)", (home_refs,)
            )
            homes = {row["external_id"]: (row["id"], row["org_path"]) for row in await cursor.fetchall()}  # type: ignore[call-overload]
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
                    model.consent_monitoring, model.consent_data_sharing, model.photo_url,
                )
            )  # fmt: skip
        return records

    records = await asyncio.to_thread(build)
    columns = (
        "id, external_id, name, id_number_enc, id_number_masked, id_number_digest, birth_date, sex, org_node, home_id,"
        " address, phone, languages, living_alone, mobility, conditions, medications, care_level,"
        " emergency_contacts, consent_monitoring, consent_data_sharing, photo_url"
    )
    created = await _bulk_insert(
        registry, actor, "residents", "resident", columns, "external_id", records, "id, org_path", "via import"
    )
    for row in created:
        registry._remember_resident(row["id"], row["org_path"])
    return batch.report(len(created), len(records) - len(created))


async def import_homes(registry: Registry, text: str, area: Area, actor: User) -> ImportReport:
    batch = _Batch("homes")
    parsed: list[tuple[int, HomeCreate]] = []
    first_seen: dict[str, int] = {}
    for line, raw in _rows(text, "homes"):
        batch.rows += 1
        if "__extra__" in raw:
            batch.reject(line, None, "row has more fields than the header")
            continue
        external_id = raw.get("external_id") or None
        try:
            model = HomeCreate.model_validate(_clean(raw, HOME_COLUMNS, {"key_holders": _holders}))
        except ValidationError as error:
            batch.reject(line, external_id, *_errors(error))
            continue
        if not external_id:
            batch.reject(line, None, "external_id: required for an import")
            continue
        if external_id in first_seen:
            batch.reject(line, external_id, f"external_id: repeats row {first_seen[external_id]} of this file")
            continue
        first_seen[external_id] = line
        parsed.append((line, model))
    nodes = await _check_nodes(registry, area, {model.org_node for _, model in parsed})
    records = []
    for line, model in parsed:
        if nodes[model.org_node]:
            batch.reject(line, model.external_id, nodes[model.org_node])  # type: ignore[arg-type]
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
    seen: dict[str, int] = {}
    for line, raw in _rows(text, "devices"):
        batch.rows += 1
        if "__extra__" in raw:
            batch.reject(line, None, "row has more fields than the header")
            continue
        device_id = raw.get("id") or None
        data = _clean(raw, DEVICE_COLUMNS, {})
        resident_ref = data.pop("resident_external_id", None)
        try:
            model = DeviceCreate.model_validate({**data, "issue_credentials": issue_credentials})
        except ValidationError as error:
            batch.reject(line, device_id, *_errors(error))
            continue
        clash = [f"{name}: repeats row {seen[key]} of this file" for name, key in _device_keys(model) if key in seen]
        if clash:
            batch.reject(line, device_id, *clash)
            continue
        for _, key in _device_keys(model):
            seen[key] = line
        parsed.append((line, model, resident_ref))
    refs = sorted({ref for _, _, ref in parsed if ref})
    residents: dict[str, tuple[str, str]] = {}
    if refs:
        async with registry.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT external_id, id, org_path FROM residents WHERE external_id = ANY(%s)", (refs,)
            )
            residents = {row["external_id"]: (row["id"], row["org_path"]) for row in await cursor.fetchall()}  # type: ignore[call-overload]
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
            batch.reject(line, model.id, *problems)  # type: ignore[arg-type]
            continue
        password_hash = None
        if issue_credentials and model.id not in existing_ids:
            secrets_by_id[model.id] = new_device_password()
            password_hash = hash_password(secrets_by_id[model.id])
        power = (
            model.power if "power" in model.model_fields_set else ("mains" if model.type in MAINS_TYPES else "battery")
        )
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
    async with registry.pool.connection() as conn, conn.transaction():
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
        created: list[dict[str, Any]] = await cursor.fetchall()  # type: ignore[assignment]
        if table == "devices" and created:
            await conn.execute(
                "INSERT INTO device_history (device_id, actor, action, details)"
                " SELECT unnest(%s::text[]), %s, 'registered', %s",
                ([row["id"] for row in created], actor.username, Jsonb({"note": note})),
            )
    return created


# -- export --

EXPORTS = {
    "residents": (
        "SELECT r.external_id, r.id, r.name, r.id_number_masked, r.birth_date, r.sex, r.org_node,"
        " h.external_id AS home_external_id, r.address, r.phone, array_to_string(r.languages, ';') AS languages,"
        " r.living_alone, r.mobility, array_to_string(r.conditions, ';') AS conditions,"
        " array_to_string(r.medications, ';') AS medications, r.care_level, r.emergency_contacts,"
        " r.consent_monitoring, r.consent_data_sharing, r.photo_url"
        " FROM residents r LEFT JOIN homes h ON h.id = r.home_id WHERE {where} ORDER BY r.org_path, r.id",
        ("r.org_path", "r.id"),
    ),
    "homes": (
        "SELECT h.external_id, h.id, h.org_node, h.address, h.key_holders, h.notes FROM homes h"
        " WHERE {where} ORDER BY h.org_path, h.id",
        ("h.org_path", None),
    ),
    "devices": (
        "SELECT d.id, d.type, d.model, r.external_id AS resident_external_id, d.org_node, d.location, d.power,"
        " d.z2m_name, d.ieee, d.status FROM devices d LEFT JOIN residents r ON r.id = d.resident_id"
        " WHERE {where} ORDER BY d.org_path, d.id",
        ("d.org_path", "d.resident_id"),
    ),
}


def _cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name == "emergency_contacts":
        return ";".join(
            f"{c.get('name', '')}|{c.get('relation', '')}|{c.get('phone', '')}|{','.join(c.get('channels', []))}"
            for c in value
        )
    if name == "key_holders":
        return ";".join(f"{h.get('name', '')}|{h.get('phone', '')}|{h.get('relation', '')}" for h in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def export_csv(registry: Registry, kind: str, area: Area, actor: User) -> str:
    """The rows of ``kind`` in ``area`` as CSV (protected fields masked or left out); audited."""
    from registry.audit import write_audit

    sql, (path_column, resident_column) = EXPORTS[kind]
    condition, params = area.where(path_column, resident_column)
    async with registry.pool.connection() as conn:
        cursor = await conn.execute(sql.format(where=condition), params)
        rows = await cursor.fetchall()
        names = [column.name for column in cursor.description or []]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(names)
        for row in rows:
            writer.writerow([neutralise(_cell(name, row[name])) for name in names])  # type: ignore[call-overload]
        await write_audit(conn, actor, "export", kind.rstrip("s"), "", area.org_path, {"rows": len(rows)})
    return out.getvalue()
