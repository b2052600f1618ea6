"""Export of homes, residents and devices to CSV, in the caller's area, audited; the files read back
unchanged through :mod:`registry.imports` (conventions: :mod:`registry.csv_format`)."""

from __future__ import annotations

import csv
import io

from registry.area import Area
from registry.audit import write_audit
from registry.csv_format import neutralise, write_cell
from registry.rows import connection
from registry.store import Registry
from registry.users import User

EXPORTS = {
    "residents": (
        "SELECT r.external_id, r.id, r.name, r.id_number_masked, r.birth_date, r.sex, r.org_node,"
        " h.external_id AS home_external_id, r.address, r.phone, array_to_string(r.languages, ';') AS languages,"
        " r.living_alone, r.mobility, array_to_string(r.conditions, ';') AS conditions,"
        " array_to_string(r.medications, ';') AS medications, r.care_level, r.emergency_contacts,"
        " r.consent_monitoring, r.consent_data_sharing, r.photo_url, r.usual_wake, r.usual_bed,"
        " r.night_exit_watch"
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


async def export_csv(registry: Registry, kind: str, area: Area, actor: User) -> str:
    """The rows of ``kind`` in ``area`` as CSV (protected fields masked or left out); audited."""
    sql, (path_column, resident_column) = EXPORTS[kind]
    condition, params = area.where(path_column, resident_column)
    async with connection(registry.pool) as conn:
        cursor = await conn.execute(sql.format(where=condition), params)
        rows = await cursor.fetchall()
        names = [column.name for column in cursor.description or []]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(names)
        for row in rows:
            writer.writerow([neutralise(write_cell(name, row[name])) for name in names])
        await write_audit(conn, actor, "export", kind.rstrip("s"), "", area.org_path, {"rows": len(rows)})
    return out.getvalue()
