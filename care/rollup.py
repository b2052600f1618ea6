"""The dashboard's rollup: the monthly figures per resident and per org path, and each resident's visit
and assessment state today, kept equal to what the raw rows give.

Computing a city's indicators from the raw rows (a year of visits, every resident placed by their
residence history) takes seconds; the dashboard reads these tables instead:

* ``care_rollup_residents`` — per built month and resident: where they lived at the month's end, and
  what counted (registered, age band, device, bed, categories, visit due and made, care calls, home
  care bed contracts and whether each met its plan), with exactly the rules of :mod:`care.indicators`,
  :mod:`care.visits` and :mod:`care.beds`;
* ``care_rollup_areas`` — those facts summed per month and org path (a city has a few hundred rows);
* ``care_resident_state`` — today's plan per resident (interval, accepted modes, last visit, next
  due) and whether an ability assessment is needed and until when the last one holds;
* ``care_state_days`` — that state counted per org path and local day (visits falling due, assessments
  ending), so a city's counts of today read a few thousand rows (:mod:`care.dashboard`).

**Kept current.** Triggers on every table the figures read (care's own, the registry's residents and
devices, the visit rules) put the resident in ``care_rollup_dirty`` in the writer's transaction.
:meth:`Rollup.catch_up` — run before every dashboard read and by the scheduler every
:data:`TICK` — drains that queue under an advisory lock and recomputes only those residents, in
every built month and in the state; at a new day it also takes the residents whose memberships or
beds began or ended in between (the state is by date). A month is built in full the first time it is
asked for, and once more when it closes (its facts were taken "as of now" while it ran). So a reader
never sees a figure that the raw rows would not give at that moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from care.categories import AGE_BANDS, ASSESSED_CATEGORIES
from care.context import CareContext, Row
from care.periods import Month, local_date, month_bounds
from registry.like import like_prefix

TICK = timedelta(seconds=60)
"""How often the scheduler catches the rollup up (readers catch up too, so this only keeps it short)."""
FULL_REBUILD_AT = 20_000
"""Dirty residents beyond which rebuilding everything is cheaper than one by one."""
_LOCK = 0x63617265_726F6C6C  # "carerol": one refresher at a time, across processes


def rule_lookup(path: str, category: str) -> str:
    """SQL: ``CROSS JOIN LATERAL`` the visit rule for ``category`` at ``path`` (the longest org path
    that is a prefix of ``path``), as ``rule`` (``interval_days``, ``modes``)."""
    return f"""
    CROSS JOIN LATERAL (
        SELECT vr.interval_days, vr.modes FROM care_visit_rules vr
        WHERE vr.category = {category} AND starts_with({path}, vr.org_path)
        ORDER BY length(vr.org_path) DESC LIMIT 1
    ) rule"""


def _picked(column: str, everyone: bool) -> str:
    return "true" if everyone else f"{column} = ANY(%(ids)s)"


def _band_sql(age: str) -> str:
    cases = " ".join(
        f"WHEN {age} >= {low}" + (f" AND {age} <= {high}" if high is not None else "") + f" THEN '{band}'"
        for band, low, high in AGE_BANDS
    )
    return f"CASE {cases} END"


def _facts_sql(everyone: bool) -> str:
    """Facts of one month for the residents picked (all, or ``%(ids)s``); see the module doc."""

    def picked(column: str) -> str:
        return _picked(column, everyone)

    age = "date_part('year', age(%(last_day)s::date, p.birth_date))::int"
    return f"""
        INSERT INTO care_rollup_residents (month, resident_id, org_path, registered, age_band, equipped, bedded,
                                           categories, due, visited, calls, calls_reached, beds, beds_compliant)
        WITH late AS MATERIALIZED (
            SELECT DISTINCT ON (cr.resident_id) cr.resident_id, cr.org_path FROM care_residence cr
            WHERE cr.since < %(as_of)s AND {picked("cr.resident_id")} ORDER BY cr.resident_id, cr.since DESC
        ), early AS MATERIALIZED (
            SELECT DISTINCT ON (cr.resident_id) cr.resident_id, cr.org_path FROM care_residence cr
            WHERE {picked("cr.resident_id")} ORDER BY cr.resident_id, cr.since
        ), placed AS MATERIALIZED (
            SELECT r.id, r.birth_date, r.created_at < %(as_of)s AS registered,
                   coalesce(late.org_path, early.org_path) AS org_path
            FROM residents r JOIN early ON early.resident_id = r.id LEFT JOIN late ON late.resident_id = r.id
            WHERE {picked("r.id")}
        ), members AS MATERIALIZED (
            SELECT c.resident_id, c.category FROM care_categories c
            WHERE c.valid_from <= %(last_day)s AND (c.valid_to IS NULL OR c.valid_to >= %(first_day)s)
              AND {picked("c.resident_id")}
            GROUP BY c.resident_id, c.category
        ), ruled AS MATERIALIZED (
            SELECT m.resident_id, array_agg(DISTINCT m.category ORDER BY m.category) AS categories,
                   array_remove(array_agg(DISTINCT mode), NULL) AS modes, bool_or(rule.modes IS NOT NULL) AS due
            FROM members m JOIN placed p ON p.id = m.resident_id
            LEFT JOIN LATERAL (
                SELECT vr.modes FROM care_visit_rules vr
                WHERE vr.category = m.category AND starts_with(p.org_path, vr.org_path)
                ORDER BY length(vr.org_path) DESC LIMIT 1
            ) rule ON true
            LEFT JOIN LATERAL unnest(rule.modes) AS mode ON true
            GROUP BY m.resident_id
        ), seen AS MATERIALIZED (
            SELECT v.resident_id, array_agg(DISTINCT v.mode) AS modes FROM care_visits v
            WHERE v.at >= %(start)s AND v.at < %(end)s AND {picked("v.resident_id")} GROUP BY v.resident_id
        ), equipped AS MATERIALIZED (
            SELECT DISTINCT d.resident_id FROM devices d
            WHERE d.resident_id IS NOT NULL AND {picked("d.resident_id")} AND d.created_at < %(as_of)s
              AND (d.status IN ('active', 'failed') OR d.updated_at >= %(as_of)s)
        ), bedded AS MATERIALIZED (
            SELECT DISTINCT b.resident_id FROM care_beds b
            WHERE b.start_date <= %(last_day)s AND (b.end_date IS NULL OR b.end_date >= %(first_day)s)
              AND {picked("b.resident_id")}
        ), called AS MATERIALIZED (
            SELECT k.resident_id, count(*) AS calls, count(*) FILTER (WHERE k.outcome = 'reached') AS reached
            FROM care_calls k
            WHERE k.finished_at >= %(start)s AND k.finished_at < %(end)s AND k.outcome <> 'abandoned'
              AND {picked("k.resident_id")}
            GROUP BY k.resident_id
        ), contracts AS MATERIALIZED (
            SELECT b.resident_id, count(*) AS beds, count(*) FILTER (WHERE
                coalesce(s.n, 0) >= ceil(b.services_per_month * cover.days / %(month_days)s::numeric)
                AND coalesce(v.n, 0) >= ceil(b.visits_per_month * cover.days / %(month_days)s::numeric)
                AND NOT EXISTS (SELECT 1 FROM unnest(b.kit) AS need (type) WHERE NOT EXISTS (
                    SELECT 1 FROM devices d WHERE d.resident_id = b.resident_id AND d.type = need.type
                      AND d.status IN ('active', 'failed')))) AS compliant
            FROM care_beds b
            CROSS JOIN LATERAL (SELECT least(%(last_day)s::date, coalesce(b.end_date, %(last_day)s::date))
                                       - greatest(%(first_day)s::date, b.start_date) + 1 AS days) cover
            LEFT JOIN LATERAL (SELECT count(*) AS n FROM care_bed_services s
                               WHERE s.bed_id = b.id AND s.at >= %(start)s AND s.at < %(end)s) s ON true
            LEFT JOIN LATERAL (SELECT count(*) AS n FROM care_visits v
                               WHERE v.resident_id = b.resident_id AND v.at >= %(start)s AND v.at < %(end)s) v ON true
            WHERE b.start_date <= %(last_day)s AND (b.end_date IS NULL OR b.end_date >= %(first_day)s)
              AND {picked("b.resident_id")}
            GROUP BY b.resident_id
        )
        SELECT %(month)s, p.id, p.org_path, p.registered, {_band_sql(age)}, equipped.resident_id IS NOT NULL,
               bedded.resident_id IS NOT NULL, coalesce(ruled.categories, '{{}}'), coalesce(ruled.due, false),
               coalesce(ruled.due AND seen.modes && ruled.modes, false), coalesce(called.calls, 0),
               coalesce(called.reached, 0), coalesce(contracts.beds, 0), coalesce(contracts.compliant, 0)
        FROM placed p
        LEFT JOIN ruled ON ruled.resident_id = p.id
        LEFT JOIN seen ON seen.resident_id = p.id
        LEFT JOIN equipped ON equipped.resident_id = p.id
        LEFT JOIN bedded ON bedded.resident_id = p.id
        LEFT JOIN called ON called.resident_id = p.id
        LEFT JOIN contracts ON contracts.resident_id = p.id
        WHERE p.registered OR ruled.resident_id IS NOT NULL OR called.resident_id IS NOT NULL
           OR contracts.resident_id IS NOT NULL
    """ + ("" if everyone else " RETURNING *")


_AREAS_SQL = """
    INSERT INTO care_rollup_areas (month, org_path, residents, with_devices, with_beds, visits_due, visited, calls,
                                   calls_reached, beds, beds_compliant, age_bands, categories)
    WITH f AS MATERIALIZED (
        SELECT * FROM care_rollup_residents WHERE month = %(month)s
    ), sums AS (
        SELECT org_path, count(*) FILTER (WHERE registered) AS residents,
               count(*) FILTER (WHERE registered AND equipped) AS with_devices,
               count(*) FILTER (WHERE registered AND bedded) AS with_beds,
               count(*) FILTER (WHERE due) AS visits_due, count(*) FILTER (WHERE due AND visited) AS visited,
               coalesce(sum(calls), 0) AS calls, coalesce(sum(calls_reached), 0) AS calls_reached,
               coalesce(sum(beds), 0) AS beds, coalesce(sum(beds_compliant), 0) AS beds_compliant
        FROM f GROUP BY org_path
    ), bands AS (
        SELECT org_path, jsonb_object_agg(age_band, n) AS counts FROM (
            SELECT org_path, age_band, count(*) AS n FROM f WHERE registered AND age_band IS NOT NULL
            GROUP BY org_path, age_band) b GROUP BY org_path
    ), cats AS (
        SELECT org_path, jsonb_object_agg(category, n) AS counts FROM (
            SELECT org_path, category, count(*) AS n FROM f, unnest(f.categories) AS category WHERE registered
            GROUP BY org_path, category) c GROUP BY org_path
    )
    SELECT %(month)s, s.org_path, s.residents, s.with_devices, s.with_beds, s.visits_due, s.visited, s.calls,
           s.calls_reached, s.beds, s.beds_compliant, coalesce(bands.counts, '{}'), coalesce(cats.counts, '{}')
    FROM sums s LEFT JOIN bands USING (org_path) LEFT JOIN cats USING (org_path)
"""


def _state_sql(everyone: bool) -> str:
    """Today's state for the residents picked (all, or ``%(ids)s``); see the module doc."""

    def picked(column: str) -> str:
        return _picked(column, everyone)

    return f"""
        INSERT INTO care_resident_state (resident_id, org_path, name, phone, categories, interval_days, modes, since,
                                         last_visit_at, next_due, needs_assessment, assessment_until)
        WITH active AS MATERIALIZED (
            SELECT c.resident_id, c.category, c.valid_from FROM care_categories c
            WHERE c.valid_from <= %(today)s AND (c.valid_to IS NULL OR c.valid_to >= %(today)s)
              AND {picked("c.resident_id")}
        ), beds AS MATERIALIZED (
            SELECT DISTINCT b.resident_id FROM care_beds b
            WHERE b.start_date <= %(today)s AND (b.end_date IS NULL OR b.end_date >= %(today)s)
              AND {picked("b.resident_id")}
        ), who AS MATERIALIZED (
            SELECT r.id, r.org_path, r.name, r.phone FROM residents r
            WHERE r.id IN (SELECT resident_id FROM active UNION SELECT resident_id FROM beds)
        ), plan AS MATERIALIZED (
            SELECT w.id, min(rule.interval_days) AS interval_days, min(a.valid_from) AS since,
                   array_agg(DISTINCT a.category ORDER BY a.category) AS categories
            FROM who w JOIN active a ON a.resident_id = w.id {rule_lookup("w.org_path", "a.category")}
            GROUP BY w.id
        ), plan_modes AS MATERIALIZED (
            SELECT w.id, array_agg(DISTINCT mode ORDER BY mode) AS modes
            FROM who w JOIN active a ON a.resident_id = w.id {rule_lookup("w.org_path", "a.category")},
                 unnest(rule.modes) AS mode
            GROUP BY w.id
        )
        SELECT w.id, w.org_path, w.name, w.phone, coalesce(plan.categories, '{{}}'), plan.interval_days,
               plan_modes.modes, plan.since, last.at,
               coalesce(last.at, (plan.since::timestamp - make_interval(mins => %(offset)s)) AT TIME ZONE 'UTC')
                   + make_interval(days => plan.interval_days),
               EXISTS (SELECT 1 FROM active a WHERE a.resident_id = w.id AND a.category = ANY(%(assessed)s))
                   OR EXISTS (SELECT 1 FROM beds WHERE beds.resident_id = w.id),
               (SELECT x.valid_until FROM care_assessments x WHERE x.resident_id = w.id
                ORDER BY x.assessed_on DESC, x.id DESC LIMIT 1)
        FROM who w LEFT JOIN plan ON plan.id = w.id LEFT JOIN plan_modes ON plan_modes.id = w.id
        LEFT JOIN LATERAL (
            SELECT v.at FROM care_visits v WHERE v.resident_id = w.id AND v.mode = ANY(plan_modes.modes)
            ORDER BY v.at DESC LIMIT 1
        ) last ON true
    """


_DAYS_SQL = """
    INSERT INTO care_state_days (org_path, day, due, due_calls, assessments_ending)
    SELECT org_path, day, sum(due), sum(due_calls), sum(ending) FROM (
        SELECT org_path, ((next_due AT TIME ZONE 'UTC') + make_interval(mins => %(offset)s))::date AS day, 1 AS due,
               ('phone' = ANY(modes))::int AS due_calls, 0 AS ending
        FROM care_resident_state WHERE next_due IS NOT NULL
        UNION ALL
        SELECT org_path, coalesce(assessment_until, '-infinity'::date), 0, 0, 1
        FROM care_resident_state WHERE needs_assessment
    ) counted GROUP BY org_path, day
"""


SUMMED = (
    "residents",
    "with_devices",
    "with_beds",
    "visits_due",
    "visited",
    "calls",
    "calls_reached",
    "beds",
    "beds_compliant",
)
"""The counts of ``care_rollup_areas``: each a sum over the facts of the residents placed there."""
_AREA_UPSERT = f"""
    INSERT INTO care_rollup_areas (month, org_path, {", ".join(SUMMED)}, age_bands, categories)
    VALUES (%s, %s, {", ".join(["%s"] * len(SUMMED))}, %s, %s)
    ON CONFLICT (month, org_path) DO UPDATE SET {", ".join(f"{key} = EXCLUDED.{key}" for key in SUMMED)},
        age_bands = EXCLUDED.age_bands, categories = EXCLUDED.categories
"""
_DAYS_UPSERT = """
    INSERT INTO care_state_days (org_path, day, due, due_calls, assessments_ending)
    SELECT path, coalesce(day, '-infinity'::date), due, calls, ending
    FROM unnest(%s::text[], %s::date[], %s::int[], %s::int[], %s::int[]) AS moved (path, day, due, calls, ending)
    ON CONFLICT (org_path, day) DO UPDATE SET due = care_state_days.due + EXCLUDED.due,
        due_calls = care_state_days.due_calls + EXCLUDED.due_calls,
        assessments_ending = care_state_days.assessments_ending + EXCLUDED.assessments_ending
"""


def _no_sums() -> Row:
    return {**dict.fromkeys(SUMMED, 0), "age_bands": {}, "categories": {}}


def _sums_of(fact: Row) -> Row:
    """What one resident's facts of a month add to their area's sums (as :data:`_AREAS_SQL` counts)."""
    registered = fact["registered"]
    return {
        "residents": int(registered), "with_devices": int(registered and fact["equipped"]),
        "with_beds": int(registered and fact["bedded"]), "visits_due": int(fact["due"]),
        "visited": int(fact["due"] and fact["visited"]), "calls": fact["calls"], "calls_reached": fact["calls_reached"],
        "beds": fact["beds"], "beds_compliant": fact["beds_compliant"],
        "age_bands": {fact["age_band"]: 1} if registered and fact["age_band"] else {},
        "categories": dict.fromkeys(fact["categories"], 1) if registered else {},
    }  # fmt: skip


def _add_sums(total: Row, change: Row, sign: int) -> None:
    """``total`` += ``sign`` × ``change``; a band or category that comes to nought is dropped (as a rebuild
    would not have it)."""
    for key in SUMMED:
        total[key] += sign * change[key]
    for group in ("age_bands", "categories"):
        merged = dict(total[group])
        for key, count in change[group].items():
            merged[key] = merged.get(key, 0) + sign * count
        total[group] = {key: count for key, count in merged.items() if count}


class Rollup:
    def __init__(self, ctx: CareContext) -> None:
        self.ctx = ctx
        self.refreshed = 0
        """Residents recomputed one by one since start (for the bench and the logs)."""
        self.rebuilt = 0
        """Full rebuilds (a month built or closed, the state built, a flood of changes)."""

    def _as_of(self, month: Month) -> datetime:
        return min(month_bounds(month, self.ctx.utc_offset_min)[1], self.ctx.clock())

    async def catch_up(self, month: Month | None = None) -> None:
        """Bring the rollup up to the raw rows now (and build ``month`` if it is not yet)."""
        today = local_date(self.ctx.clock(), self.ctx.utc_offset_min)
        if await self._current(today, month):
            return
        async with self.ctx.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            cursor = await conn.execute("SELECT state_day FROM care_rollup_meta FOR UPDATE")
            meta: Row = await cursor.fetchone()  # type: ignore[assignment]
            state_day: date | None = meta["state_day"]
            if state_day is not None and state_day != today:
                await self._mark_day_boundaries(conn, state_day, today)
            for closing in await self._closing(conn):
                await self._build_month(conn, closing)
            cursor = await conn.execute("DELETE FROM care_rollup_dirty RETURNING resident_id")
            drained: list[Row] = await cursor.fetchall()  # type: ignore[assignment]
            ids = sorted({row["resident_id"] for row in drained})
            if state_day is None or len(ids) > FULL_REBUILD_AT:
                await self._build_state(conn, today, None)
                for built in await self._built(conn):
                    await self._build_month(conn, built)
            elif ids:
                await self._build_state(conn, today, ids)
                for built in await self._built(conn):
                    await self._refresh_month(conn, built, ids)
                self.refreshed += len(ids)
            if month is not None and month not in await self._built(conn):
                await self._build_month(conn, month)
            await conn.execute("UPDATE care_rollup_meta SET state_day = %s", (today,))

    async def _current(self, today: date, month: Month | None) -> bool:
        """Nothing to do: no dirty resident, the state is of today, ``month`` built and not closing."""
        async with self.ctx.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT m.state_day, EXISTS (SELECT 1 FROM care_rollup_dirty) AS dirty,"
                " (SELECT as_of FROM care_rollup_months WHERE month = %(month)s) AS as_of,"
                " EXISTS (SELECT 1 FROM care_rollup_months x, LATERAL (SELECT ((x.month + interval '1 month')"
                "         ::timestamp - make_interval(mins => %(offset)s)) AT TIME ZONE 'UTC' AS ends) e"
                "         WHERE e.ends <= %(now)s AND x.as_of < e.ends) AS closing"
                " FROM care_rollup_meta m",
                {"month": month.first_day if month else None, "offset": self.ctx.utc_offset_min,
                 "now": self.ctx.clock()},
            )  # fmt: skip
            row: Row = await cursor.fetchone()  # type: ignore[assignment]
        if row["state_day"] != today or row["dirty"] or row["closing"]:
            return False
        return month is None or row["as_of"] is not None

    async def _built(self, conn: Any) -> list[Month]:
        cursor = await conn.execute("SELECT month FROM care_rollup_months ORDER BY month")
        return [Month(row["month"].year, row["month"].month) for row in await cursor.fetchall()]

    async def _closing(self, conn: Any) -> list[Month]:
        """Built months that have ended since they were built (their facts were as of then)."""
        this_month = Month.of(self.ctx.clock(), self.ctx.utc_offset_min)
        return [m for m in await self._built(conn) if m < this_month and await self._stale(conn, m)]

    async def _stale(self, conn: Any, month: Month) -> bool:
        cursor = await conn.execute("SELECT as_of FROM care_rollup_months WHERE month = %s", (month.first_day,))
        row = await cursor.fetchone()
        return row is None or row["as_of"] < self._as_of(month)

    def _values(self, month: Month, ids: Sequence[str] | None) -> dict[str, Any]:
        start, end = month_bounds(month, self.ctx.utc_offset_min)
        return {"month": month.first_day, "first_day": month.first_day, "last_day": month.last_day,
                "start": start, "end": end, "as_of": self._as_of(month), "month_days": month.last_day.day,
                "ids": list(ids or ())}  # fmt: skip

    async def _build_month(self, conn: Any, month: Month) -> None:
        values = self._values(month, None)
        await conn.execute("DELETE FROM care_rollup_residents WHERE month = %s", (month.first_day,))
        await conn.execute("DELETE FROM care_rollup_areas WHERE month = %s", (month.first_day,))
        await conn.execute(_facts_sql(everyone=True), values)
        await conn.execute(_AREAS_SQL, values)
        await conn.execute("ANALYZE care_rollup_residents, care_rollup_areas")  # the planner's view of a new month
        await conn.execute(
            "INSERT INTO care_rollup_months (month, as_of, built_at) VALUES (%s, %s, now())"
            " ON CONFLICT (month) DO UPDATE SET as_of = EXCLUDED.as_of, built_at = now()",
            (month.first_day, values["as_of"]),
        )
        self.rebuilt += 1

    async def _refresh_month(self, conn: Any, month: Month, ids: Sequence[str]) -> None:
        """Recompute ``ids``' facts of ``month`` and move their areas' sums by the difference."""
        values = self._values(month, ids)
        cursor = await conn.execute(
            "DELETE FROM care_rollup_residents WHERE month = %(month)s AND resident_id = ANY(%(ids)s) RETURNING *",
            values,
        )
        gone: list[Row] = await cursor.fetchall()
        came: list[Row] = await (await conn.execute(_facts_sql(everyone=False), values)).fetchall()
        moved: dict[str, Row] = {}
        for sign, rows in ((-1, gone), (1, came)):
            for row in rows:
                _add_sums(moved.setdefault(row["org_path"], _no_sums()), _sums_of(row), sign)
        cursor = await conn.execute(
            "SELECT * FROM care_rollup_areas WHERE month = %s AND org_path = ANY(%s)", (month.first_day, list(moved))
        )
        sums = {row["org_path"]: row for row in await cursor.fetchall()}
        kept, emptied = [], []
        for path, change in moved.items():
            total = sums.get(path) or _no_sums()
            _add_sums(total, change, 1)
            if any(total[key] for key in SUMMED) or total["age_bands"] or total["categories"]:
                kept.append((month.first_day, path, *(total[key] for key in SUMMED), Jsonb(total["age_bands"]),
                             Jsonb(total["categories"])))  # fmt: skip
            else:
                emptied.append(path)
        await conn.execute(
            "DELETE FROM care_rollup_areas WHERE month = %s AND org_path = ANY(%s)", (month.first_day, emptied)
        )
        if kept:
            async with conn.cursor() as upsert:
                await upsert.executemany(_AREA_UPSERT, kept)

    async def _build_state(self, conn: Any, today: date, ids: Sequence[str] | None) -> None:
        values: dict[str, Any] = {"today": today, "offset": self.ctx.utc_offset_min,
                                  "assessed": list(ASSESSED_CATEGORIES), "ids": list(ids or ())}  # fmt: skip
        if ids is None:
            await conn.execute("DELETE FROM care_resident_state")
            await conn.execute(_state_sql(everyone=True), values)
            await conn.execute("DELETE FROM care_state_days")
            await conn.execute(_DAYS_SQL, values)
            await conn.execute("ANALYZE care_resident_state, care_state_days")
            self.rebuilt += 1
            return
        cursor = await conn.execute(
            "DELETE FROM care_resident_state WHERE resident_id = ANY(%(ids)s) RETURNING *", values
        )
        gone: list[Row] = await cursor.fetchall()
        came: list[Row] = await (await conn.execute(_state_sql(everyone=False) + " RETURNING *", values)).fetchall()
        days: dict[tuple[str, date | None], list[int]] = {}
        for sign, rows in ((-1, gone), (1, came)):
            for row in rows:
                if row["next_due"] is not None:
                    counts = days.setdefault((row["org_path"], local_date(row["next_due"], self.ctx.utc_offset_min)),
                                             [0, 0, 0])  # fmt: skip
                    counts[0] += sign
                    counts[1] += sign * ("phone" in (row["modes"] or ()))
                if row["needs_assessment"]:
                    days.setdefault((row["org_path"], row["assessment_until"]), [0, 0, 0])[2] += sign
        moved = {key: counts for key, counts in days.items() if any(counts)}
        if not moved:
            return
        await conn.execute(_DAYS_UPSERT, (
            [path for path, _ in moved], [day for _, day in moved], *([c[n] for c in moved.values()] for n in range(3))
        ))  # fmt: skip
        await conn.execute(
            "DELETE FROM care_state_days WHERE org_path = ANY(%s) AND due = 0 AND due_calls = 0"
            " AND assessments_ending = 0",
            (sorted({path for path, _ in moved}),),
        )

    async def _mark_day_boundaries(self, conn: Any, before: date, today: date) -> None:
        """Residents whose memberships or beds began or ended between ``before`` and ``today``."""
        low, high = min(before, today), max(before, today)
        await conn.execute(
            "INSERT INTO care_rollup_dirty SELECT resident_id FROM care_categories"
            " WHERE (valid_from > %(low)s AND valid_from <= %(high)s) OR (valid_to >= %(low)s AND valid_to < %(high)s)"
            " UNION SELECT resident_id FROM care_beds"
            " WHERE (start_date > %(low)s AND start_date <= %(high)s) OR (end_date >= %(low)s AND end_date < %(high)s)",
            {"low": low, "high": high},
        )

    # -- reads --

    async def areas(self, path: str, month: Month) -> list[Row]:
        """The month's sums per org path under ``path`` (after catching up)."""
        await self.catch_up(month)
        async with self.ctx.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT * FROM care_rollup_areas WHERE month = %s AND org_path LIKE %s ORDER BY org_path",
                (month.first_day, like_prefix(path)),
            )
            return await cursor.fetchall()  # type: ignore[return-value]
