"""Home care beds (家庭养老床位): a care contract for a resident at home, its device kit and service plan,
and the monthly compliance view.

**Compliance of month M** (local calendar month) for a contract covering ``d`` of M's ``D`` days:

* services due = ⌈``services_per_month`` × d / D⌉, delivered = services recorded in M;
* visits due = ⌈``visits_per_month`` × d / D⌉, made = care visits to the resident in M (any mode);
* kit: each required device type must be installed (an active or failed device of that type bound to
  the resident in the registry) and online (installed, not ``failed``, and no open device-offline
  alert for it — the platform's :data:`OfflineDevices` hook);
* alerts: the resident's alerts raised in M (the :data:`AlertCounts` hook);
* compliant when services and visits reach what is due and the whole kit is installed.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from care.context import CareContext, Row, audit_path, resident_in, row_in
from care.periods import Month, month_bounds
from registry.area import Area
from registry.audit import Actor, write_audit
from registry.errors import Invalid, NotFound

OfflineDevices = Callable[[Sequence[str]], Awaitable[set[str]]]
"""Device ids → those the platform currently holds offline."""
AlertCounts = Callable[[Sequence[str], datetime, datetime], Awaitable[Mapping[str, int]]]
"""Resident ids, [start, end) → alerts raised per resident."""
INSTALLED = ("active", "failed")
COLUMNS = (
    "b.id, b.resident_id, b.provider, b.level, b.start_date, b.end_date, b.kit, b.visits_per_month,"
    " b.services_per_month, b.created_by, b.created_at"
)


async def nothing_offline(device_ids: Sequence[str]) -> set[str]:
    return set()


async def no_alerts(resident_ids: Sequence[str], start: datetime, end: datetime) -> Mapping[str, int]:
    return {}


class Beds:
    def __init__(
        self, ctx: CareContext, offline: OfflineDevices = nothing_offline, alert_counts: AlertCounts = no_alerts
    ) -> None:
        self.ctx = ctx
        self.offline = offline
        self.alert_counts = alert_counts

    async def create(self, resident_id: str, data: Mapping[str, Any], area: Area, actor: Actor) -> Row:
        if data.get("end_date") is not None and data["end_date"] < data["start_date"]:
            raise Invalid("end_date is before start_date")
        bed_id = f"bed-{uuid.uuid4().hex[:16]}"
        async with self.ctx.pool.connection() as conn, conn.transaction():
            resident = await resident_in(conn, resident_id, area)
            cursor = await conn.execute(
                "INSERT INTO care_beds AS b (id, resident_id, provider, level, start_date, end_date, kit,"
                " visits_per_month, services_per_month, created_by)"
                f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {COLUMNS}",
                (bed_id, resident_id, data["provider"], data["level"], data["start_date"], data.get("end_date"),
                 sorted(set(data.get("kit") or ())), data.get("visits_per_month", 0),
                 data.get("services_per_month", 0), actor.username),
            )  # fmt: skip
            row: Row = await cursor.fetchone()  # type: ignore[assignment]
            await write_audit(conn, actor, "create", "care_bed", bed_id, resident["org_path"],
                              {"resident_id": resident_id, "provider": data["provider"]})  # fmt: skip
        return row

    async def _bed_in(self, conn: Any, bed_id: str, area: Area) -> Row:
        return await row_in(conn, "care_beds b", f"{COLUMNS}, r.org_path", bed_id, area,
                            f"no home care bed {bed_id!r} in your area")  # fmt: skip

    async def get(self, bed_id: str, area: Area, actor: Actor) -> Row:
        async with self.ctx.pool.connection() as conn:
            row = await self._bed_in(conn, bed_id, area)
            await write_audit(conn, actor, "read", "care_bed", bed_id, row["org_path"])
        return row

    async def record_service(self, bed_id: str, data: Mapping[str, Any], area: Area, actor: Actor) -> Row:
        """A service delivered under the contract (what, when, by which provider)."""
        if data["at"].tzinfo is None:
            raise Invalid("the service time needs a time zone offset")
        if data["at"] > self.ctx.clock() + timedelta(minutes=5):
            raise Invalid("a service cannot be recorded in the future")
        async with self.ctx.pool.connection() as conn, conn.transaction():
            bed = await self._bed_in(conn, bed_id, area)
            cursor = await conn.execute(
                "INSERT INTO care_bed_services (bed_id, at, service, provider, note, recorded_by)"
                " VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
                (bed_id, data["at"], data["service"], data.get("provider") or bed["provider"], data.get("note", ""),
                 actor.username),
            )  # fmt: skip
            row: Row = await cursor.fetchone()  # type: ignore[assignment]
            await write_audit(conn, actor, "create", "care_bed_service", str(row["id"]), bed["org_path"],
                              {"bed_id": bed_id, "service": data["service"]})  # fmt: skip
        return row

    async def compliance(self, area: Area, actor: Actor, month: Month, bed_id: str | None = None) -> list[Row]:
        """Every contract of ``area`` covering part of ``month``, with what was due and done (module doc)."""
        rows = await self.judged(area, month, bed_id)
        async with self.ctx.pool.connection() as conn:
            await write_audit(conn, actor, "list", "care_bed_compliance", bed_id or "", audit_path(area),
                              {"month": str(month), "returned": [row["id"] for row in rows][:200]})  # fmt: skip
        return rows

    async def judged(self, area: Area, month: Month, bed_id: str | None = None) -> list[Row]:
        """:meth:`compliance` without the audit entry (the indicators' reference count reads it)."""
        start, end = month_bounds(month, self.ctx.utc_offset_min)
        condition, params = area.where("r.org_path", "r.id")
        sql = f"""
            SELECT {COLUMNS}, r.name AS resident_name, r.org_path,
                (SELECT count(*) FROM care_bed_services s WHERE s.bed_id = b.id AND s.at >= %s AND s.at < %s)
                    AS services_delivered,
                (SELECT count(*) FROM care_visits v WHERE v.resident_id = b.resident_id AND v.at >= %s AND v.at < %s)
                    AS visits_made,
                (SELECT coalesce(json_agg(json_build_object('id', d.id, 'type', d.type, 'status', d.status)
                                          ORDER BY d.id), '[]')
                   FROM devices d WHERE d.resident_id = b.resident_id AND d.status = ANY(%s)) AS devices
            FROM care_beds b JOIN residents r ON r.id = b.resident_id
            WHERE {condition} AND b.start_date <= %s AND (b.end_date IS NULL OR b.end_date >= %s)
        """
        values: list[Any] = [start, end, start, end, list(INSTALLED), *params, month.last_day, month.first_day]
        if bed_id is not None:
            sql += " AND b.id = %s"
            values.append(bed_id)
        sql += " ORDER BY r.org_path, b.id"
        async with self.ctx.pool.connection() as conn:
            rows: list[Row] = await (await conn.execute(sql, values)).fetchall()  # type: ignore[arg-type,assignment]
        if bed_id is not None and not rows:
            raise NotFound(f"no home care bed {bed_id!r} in your area covering {month}")
        offline = await self.offline([d["id"] for row in rows for d in row["devices"]]) if rows else set()
        counts = await self.alert_counts([row["resident_id"] for row in rows], start, end) if rows else {}
        for row in rows:
            _judge(row, month, offline, counts.get(row["resident_id"], 0))
        return rows


def covered_days(month: Month, start: date, end: date | None) -> int:
    first = max(month.first_day, start)
    last = min(month.last_day, end) if end is not None else month.last_day
    return max(0, (last - first).days + 1)


def _judge(row: Row, month: Month, offline: set[str], alerts: int) -> None:
    days, month_days = covered_days(month, row["start_date"], row["end_date"]), month.last_day.day
    row["covered_days"] = days
    # ⌈plan × d / D⌉ in integers: 7 × (20 / 28) in floats is 5.000000000000001, and its ceiling 6
    row["services_due"] = -(-row["services_per_month"] * days // month_days)
    row["visits_due"] = -(-row["visits_per_month"] * days // month_days)
    kit = []
    for device_type in row["kit"]:
        found = [d for d in row["devices"] if d["type"] == device_type]
        online = [d for d in found if d["status"] == "active" and d["id"] not in offline]
        kit.append({"type": device_type, "installed": bool(found), "online": bool(online),
                    "devices": [d["id"] for d in found]})  # fmt: skip
    row["kit_status"] = kit
    row["kit_installed"] = all(k["installed"] for k in kit)
    row["kit_online"] = all(k["online"] for k in kit)
    row["alerts"] = alerts
    row["compliant"] = (
        row["services_delivered"] >= row["services_due"] and row["visits_made"] >= row["visits_due"]
        and row["kit_installed"]
    )  # fmt: skip
    del row["devices"]
