"""Visit plans and visits: who must be visited how often, what a visit found, who is overdue, the rate.

**The plan.** A resident in a category with a visit rule must be visited at least every
``interval_days`` (the shortest interval of their categories), in one of the rule's modes. A rule is
set per category and area; the rule at the longest org path that is a prefix of the resident's path
applies (``/`` holds the network-wide defaults from :mod:`care.categories`).

**The monthly visit rate** (月探访率) of an area for month M (local calendar month, see
:mod:`care.periods`) is ``visited ÷ due``:

* *due*: residents with a category membership valid on at least one day of M that has a visit rule;
* *visited*: of those, the ones with at least one visit in M in a mode their rule accepts;
* *where*: a resident counts once, in the area where they lived at the end of M (for the running
  month: now), from ``care_residence``; a visit made before a move still counts for them. So a
  resident who moves from community A to B in the middle of M, visited in A before the move, counts
  as due and visited in B and not at all in A; the district total is unchanged by the move.
  A resident registered after M counts where they were first registered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from care.categories import BY_CODE, CATEGORIES, VISIT_MODES
from care.context import (
    CareContext,
    Row,
    Signals,
    audit_path,
    child_code,
    no_signals,
    resident_in,
    resident_rows,
    row_in,
    share,
)
from care.periods import Month, local_date, month_bounds
from care.rollup import Rollup, rule_lookup
from registry.area import Area, like_prefix
from registry.audit import Actor, write_audit
from registry.errors import Invalid, OutOfScope

VISIT_COLUMNS = (
    "v.id, v.resident_id, v.at, v.mode, v.visitor, v.org_path, v.findings, v.concern, v.alert_id,"
    " v.recorded_by, v.recorded_at"
)
SIGNAL_WEIGHT = {"no_activity_today": 2, "device_offline": 1}
"""How far a signal moves a resident up the overdue list (no sign of life today first)."""


def ever_lived_under(column: str) -> str:
    """SQL: the resident in ``column`` ever lived under ``%(prefix)s`` (the only residents a report of
    that area can place there). A semi-join, so the planner estimates it from the table's statistics."""
    return (
        f"EXISTS (SELECT 1 FROM care_residence ever WHERE ever.resident_id = {column}"
        " AND ever.org_path LIKE %(prefix)s)"
    )


PLACEMENT = f"""
    late AS MATERIALIZED (
        SELECT DISTINCT ON (cr.resident_id) cr.resident_id, cr.org_path FROM care_residence cr
        WHERE cr.since < %(as_of)s AND {ever_lived_under("cr.resident_id")} ORDER BY cr.resident_id, cr.since DESC
    ), early AS MATERIALIZED (
        SELECT DISTINCT ON (cr.resident_id) cr.resident_id, cr.org_path FROM care_residence cr
        WHERE {ever_lived_under("cr.resident_id")} ORDER BY cr.resident_id, cr.since
    )"""
"""For residents who ever lived under ``%(prefix)s``: where they lived at ``%(as_of)s`` (``late``), else
where they were first registered (``early``). Every resident has a ``care_residence`` row (care's
trigger on ``residents``, and the backfill)."""


async def by_urgency(rows: list[Row], signals: Signals, now: datetime) -> list[Row]:
    """``rows`` (each with ``resident_id`` and ``next_due``) with their ``signals`` and ``overdue_days``:
    the platform's signals first (:data:`SIGNAL_WEIGHT`), then the longest overdue."""
    found = await signals([row["resident_id"] for row in rows]) if rows else {}
    for row in rows:
        row["signals"] = sorted(found.get(row["resident_id"], ()))
        row["overdue_days"] = round((now - row["next_due"]).total_seconds() / 86400, 1)
    weight = {row["resident_id"]: -sum(SIGNAL_WEIGHT.get(s, 1) for s in row["signals"]) for row in rows}
    return sorted(rows, key=lambda row: (weight[row["resident_id"]], row["next_due"], row["resident_id"]))


async def most_urgent(
    conn: Any, source: str, where: str, params: list[Any], columns: str, signals: Signals, now: datetime, limit: int
) -> list[Row]:
    """The first ``limit`` rows of ``source`` (the rollup's state aliased ``s``, and joins) where ``where``
    holds, in :func:`by_urgency`'s order but ranked in the database: a district has thousands due, a
    list shows hundreds, and only those are read."""
    cursor = await conn.execute(
        f"SELECT coalesce(array_agg(s.resident_id), '{{}}') AS ids FROM {source} WHERE {where}", params
    )
    candidates: list[str] = (await cursor.fetchone())["ids"]
    found = await signals(candidates) if candidates else {}
    weights = {rid: sum(SIGNAL_WEIGHT.get(name, 1) for name in names) for rid, names in found.items() if names}
    cursor = await conn.execute(
        f"SELECT {columns} FROM {source} LEFT JOIN unnest(%s::text[], %s::int[]) AS w (resident_id, weight)"
        f" ON w.resident_id = s.resident_id WHERE {where}"
        ' ORDER BY coalesce(w.weight, 0) DESC, s.next_due, s.resident_id COLLATE "C" LIMIT %s',
        [list(weights), list(weights.values()), *params, limit],
    )
    rows: list[Row] = await cursor.fetchall()
    for row in rows:
        row["signals"] = sorted(found.get(row["resident_id"], ()))
        row["overdue_days"] = round((now - row["next_due"]).total_seconds() / 86400, 1)
    return rows


class Visits:
    def __init__(self, ctx: CareContext, rollup: Rollup, signals: Signals = no_signals) -> None:
        self.ctx = ctx
        self.rollup = rollup
        self.signals = signals

    async def install_default_rules(self) -> None:
        """The network-wide rules from :data:`care.categories.CATEGORIES`, unless already set."""
        async with self.ctx.pool.connection() as conn:
            for entry in CATEGORIES:
                if entry.visit_interval_days is not None:
                    await conn.execute(
                        "INSERT INTO care_visit_rules (org_path, category, interval_days, updated_by)"
                        " VALUES ('/', %s, %s, 'default') ON CONFLICT DO NOTHING",
                        (entry.code, entry.visit_interval_days),
                    )

    # -- rules and assignments --

    async def set_rule(
        self, org_path: str, category: str, interval_days: int, modes: Sequence[str], area: Area, actor: Actor
    ) -> Row:
        """Set how often ``category`` is visited at and below ``org_path`` (inside the caller's area)."""
        if category not in BY_CODE:
            raise Invalid(f"unknown category {category!r}; known: {', '.join(BY_CODE)}")
        if not modes or any(mode not in VISIT_MODES for mode in modes):
            raise Invalid(f"modes must be a non-empty subset of {', '.join(VISIT_MODES)}")
        if area.resident_id is not None or not org_path.startswith(area.org_path):
            raise OutOfScope("the rule's area lies outside yours")
        async with self.ctx.pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "INSERT INTO care_visit_rules (org_path, category, interval_days, modes, updated_by, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, now()) ON CONFLICT (org_path, category) DO UPDATE SET"
                " interval_days = EXCLUDED.interval_days, modes = EXCLUDED.modes,"
                " updated_by = EXCLUDED.updated_by, updated_at = now() RETURNING *",
                (org_path, category, interval_days, list(dict.fromkeys(modes)), actor.username),
            )
            row: Row = await cursor.fetchone()  # type: ignore[assignment]
            await write_audit(conn, actor, "update", "care_visit_rule", category, org_path,
                              {"interval_days": interval_days, "modes": list(modes)})  # fmt: skip
        return row

    async def rules(self, area: Area) -> list[Row]:
        """Rules that apply in ``area``: those set above it (defaults) and inside it."""
        if area.resident_id is not None:
            return []
        async with self.ctx.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT * FROM care_visit_rules WHERE starts_with(%s, org_path) OR starts_with(org_path, %s)"
                " ORDER BY org_path, category",
                (area.org_path, area.org_path),
            )
            return await cursor.fetchall()  # type: ignore[return-value]

    async def assign(self, resident_id: str, visitor: str, area: Area, actor: Actor) -> Row:
        """Name who visits ``resident_id`` (replacing whoever did)."""
        async with self.ctx.pool.connection() as conn, conn.transaction():
            resident = await resident_in(conn, resident_id, area)
            cursor = await conn.execute(
                "INSERT INTO care_assignments (resident_id, visitor, assigned_by) VALUES (%s, %s, %s)"
                " ON CONFLICT (resident_id) DO UPDATE SET visitor = EXCLUDED.visitor,"
                " assigned_by = EXCLUDED.assigned_by, assigned_at = now() RETURNING *",
                (resident_id, visitor, actor.username),
            )
            row: Row = await cursor.fetchone()  # type: ignore[assignment]
            await write_audit(conn, actor, "update", "care_assignment", resident_id, resident["org_path"],
                              {"visitor": visitor})  # fmt: skip
        return row

    # -- visits --

    async def record(self, resident_id: str, data: Mapping[str, Any], area: Area, actor: Actor) -> Row:
        """Store a visit (``at``, ``mode``, ``visitor``, ``findings``, ``concern``); audited."""
        at: datetime = data["at"]
        if at.tzinfo is None:
            raise Invalid("the visit time needs a time zone offset")
        if at > self.ctx.clock() + timedelta(minutes=5):
            raise Invalid("a visit cannot be recorded in the future")
        if data["mode"] not in VISIT_MODES:
            raise Invalid(f"mode must be one of {', '.join(VISIT_MODES)}")
        async with self.ctx.pool.connection() as conn, conn.transaction():
            resident = await resident_in(conn, resident_id, area)
            cursor = await conn.execute(
                "INSERT INTO care_visits AS v"
                " (resident_id, at, mode, visitor, org_path, findings, concern, recorded_by)"
                f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING {VISIT_COLUMNS}",
                (resident_id, at, data["mode"], data.get("visitor") or actor.username, resident["org_path"],
                 _json(data.get("findings") or {}), bool(data.get("concern")), actor.username),
            )  # fmt: skip
            row: Row = await cursor.fetchone()  # type: ignore[assignment]
            await write_audit(conn, actor, "create", "care_visit", str(row["id"]), resident["org_path"],
                              {"resident_id": resident_id, "mode": data["mode"],
                               "concern": row["concern"]})  # fmt: skip
        return row

    async def link_alert(self, visit_id: int, alert_id: Any) -> None:
        async with self.ctx.pool.connection() as conn:
            await conn.execute("UPDATE care_visits SET alert_id = %s WHERE id = %s", (alert_id, visit_id))

    async def of_resident(self, resident_id: str, area: Area, actor: Actor, limit: int = 100) -> list[Row]:
        sql = f"SELECT {VISIT_COLUMNS} FROM care_visits v WHERE v.resident_id = %s ORDER BY v.at DESC LIMIT %s"
        return await resident_rows(self.ctx, resident_id, area, actor, "care_visit", sql, limit)

    async def get(self, visit_id: int, area: Area, actor: Actor) -> Row:
        missing = f"no visit {visit_id} in your area"
        async with self.ctx.pool.connection() as conn:
            row = await row_in(conn, "care_visits v", VISIT_COLUMNS, visit_id, area, missing)
            await write_audit(conn, actor, "read", "care_visit", str(visit_id), row["org_path"])
        return row

    # -- who is due --

    async def overdue(self, area: Area, actor: Actor, within_days: int = 0, limit: int = 500) -> list[Row]:
        """Residents of ``area`` whose next visit is due within ``within_days`` (0: already overdue).

        Ordered by the platform's signals (no activity today, a device offline) and then by how long
        overdue. A resident never visited is due from the start of their earliest active membership.
        Read from the rollup's state (:mod:`care.rollup`); :meth:`overdue_from_rows` is the same list
        from the raw rows.
        """
        await self.rollup.catch_up()
        condition, params = area.where("s.org_path", "s.resident_id")
        columns = """s.resident_id, s.name, s.org_path, s.interval_days, s.since, s.categories, s.modes,
                     a.visitor AS assigned_visitor, s.last_visit_at, s.next_due"""
        source = "care_resident_state s LEFT JOIN care_assignments a ON a.resident_id = s.resident_id"
        now = self.ctx.clock()
        horizon = now + timedelta(days=within_days)
        async with self.ctx.pool.connection() as conn:
            found = await most_urgent(conn, source, f"{condition} AND s.next_due <= %s", [*params, horizon], columns,
                                      self.signals, now, limit)  # fmt: skip
            await write_audit(conn, actor, "list", "care_overdue", "", audit_path(area),
                              {"returned": [row["resident_id"] for row in found][:200]})  # fmt: skip
        return found

    async def overdue_from_rows(self, area: Area, actor: Actor, within_days: int = 0, limit: int = 500) -> list[Row]:
        """:meth:`overdue` computed from the memberships, rules and visits themselves."""
        now = self.ctx.clock()
        today = local_date(now, self.ctx.utc_offset_min)
        condition, params = area.where("r.org_path", "r.id")
        sql = f"""
            WITH plan AS (
                SELECT r.id AS resident_id, r.name, r.org_path, min(rule.interval_days) AS interval_days,
                       min(c.valid_from) AS since, array_agg(DISTINCT c.category) AS categories,
                       array(SELECT DISTINCT m FROM unnest(string_to_array(string_agg(
                           array_to_string(rule.modes, ','), ','), ',')) AS m ORDER BY m) AS modes
                FROM residents r JOIN care_categories c ON c.resident_id = r.id
                {rule_lookup("r.org_path", "c.category")}
                WHERE {condition} AND c.valid_from <= %s AND (c.valid_to IS NULL OR c.valid_to >= %s)
                GROUP BY r.id, r.name, r.org_path
            )
            SELECT p.*, a.visitor AS assigned_visitor, last.at AS last_visit_at,
                   coalesce(last.at, (p.since::timestamp - make_interval(mins => %s)) AT TIME ZONE 'UTC')
                       + make_interval(days => p.interval_days) AS next_due
            FROM plan p
            LEFT JOIN care_assignments a ON a.resident_id = p.resident_id
            LEFT JOIN LATERAL (
                SELECT v.at FROM care_visits v WHERE v.resident_id = p.resident_id AND v.mode = ANY(p.modes)
                ORDER BY v.at DESC LIMIT 1
            ) last ON true
            WHERE coalesce(last.at, (p.since::timestamp - make_interval(mins => %s)) AT TIME ZONE 'UTC')
                       + make_interval(days => p.interval_days) <= %s
        """
        async with self.ctx.pool.connection() as conn:
            offset = self.ctx.utc_offset_min
            cursor = await conn.execute(sql, [*params, today, today, offset, offset, now + timedelta(days=within_days)])  # type: ignore[arg-type]
            rows: list[Row] = await cursor.fetchall()  # type: ignore[assignment]
        return await self._ranked(rows, area, actor, limit)

    async def _ranked(self, rows: list[Row], area: Area, actor: Actor, limit: int) -> list[Row]:
        rows = (await by_urgency(rows, self.signals, self.ctx.clock()))[:limit]
        async with self.ctx.pool.connection() as conn:
            await write_audit(conn, actor, "list", "care_overdue", "", audit_path(area),
                              {"returned": [row["resident_id"] for row in rows][:200]})  # fmt: skip
        return rows

    # -- the monthly rate --

    async def monthly_rate(self, org_path: str, month: Month, by: str = "child") -> dict[str, Any]:
        """The visit rate of ``month`` under ``org_path``: in total and per child area (see module doc).

        ``by="resident"`` adds the per-resident rows (who was due, where, visited or not).
        """
        start, end = month_bounds(month, self.ctx.utc_offset_min)
        as_of = min(end, self.ctx.clock())
        sql = f"""
            WITH members AS MATERIALIZED (
                SELECT DISTINCT c.resident_id, c.category FROM care_categories c
                WHERE c.valid_from <= %(last_day)s AND (c.valid_to IS NULL OR c.valid_to >= %(first_day)s)
                  AND {ever_lived_under("c.resident_id")}
            ), {PLACEMENT},
            placed AS MATERIALIZED (
                SELECT m.resident_id, m.category, coalesce(late.org_path, early.org_path) AS org_path
                FROM members m LEFT JOIN late ON late.resident_id = m.resident_id
                LEFT JOIN early ON early.resident_id = m.resident_id
            ), rules AS MATERIALIZED (
                SELECT k.org_path, k.category, rule.interval_days, rule.modes
                FROM (SELECT DISTINCT org_path, category FROM placed WHERE org_path LIKE %(prefix)s) k
                {rule_lookup("k.org_path", "k.category")}
            ), seen AS MATERIALIZED (
                SELECT v.resident_id, array_agg(DISTINCT v.mode) AS modes FROM care_visits v
                WHERE v.at >= %(start)s AND v.at < %(end)s GROUP BY v.resident_id
            )
            SELECT p.resident_id, p.org_path, min(rules.interval_days) AS interval_days,
                   coalesce(bool_or(seen.modes && rules.modes), false) AS visited
            FROM placed p JOIN rules ON rules.org_path = p.org_path AND rules.category = p.category
            LEFT JOIN seen ON seen.resident_id = p.resident_id
            GROUP BY p.resident_id, p.org_path ORDER BY p.org_path, p.resident_id
        """
        values: dict[str, Any] = {"first_day": month.first_day, "last_day": month.last_day, "as_of": as_of,
                                  "start": start, "end": end, "prefix": like_prefix(org_path)}  # fmt: skip
        async with self.ctx.pool.connection() as conn:
            rows: list[Row] = await (await conn.execute(sql, values)).fetchall()  # type: ignore[arg-type,assignment]
        areas: dict[str, dict[str, int]] = {}
        for row in rows:
            child = child_code(org_path, row["org_path"])
            tally = areas.setdefault(child, {"due": 0, "visited": 0})
            tally["due"] += 1
            tally["visited"] += int(row["visited"])
        due = len(rows)
        visited = sum(int(row["visited"]) for row in rows)
        result: dict[str, Any] = {
            "month": str(month),
            "org_path": org_path,
            "due": due,
            "visited": visited,
            "rate": share(visited, due),
            "areas": [{"code": code, **tally, "rate": share(tally["visited"], tally["due"])}
                      for code, tally in sorted(areas.items())],
        }  # fmt: skip
        if by == "resident":
            result["residents"] = rows
        return result


def _json(value: Any) -> Jsonb:
    return Jsonb(value)
