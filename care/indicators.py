"""Indicators with their denominators, per child area of an area and per month (local calendar).

Every share is ``numerator ÷ denominator`` with both given, so a regulator can check the arithmetic:

* **population** — imported statistics (``care_population``) for the month's year: everyone by age
  band (``60-69``, ``70-79``, ``80+``; category ``all``), and per category (one ``all``-ages row or rows
  by band, not both). An area's population is the sum of the rows of the nodes inside it: import at one
  level (usually the community) to avoid counting twice.
* **residents** — people in the platform's archive at the end of the month (registered before it
  ended), placed where they lived then (``care_residence``, as the visit rate); by age band from the
  birth date, on the month's last day. **enrolment** = residents ÷ population (all, and per band).
* **category members** — residents with a membership valid on some day of the month ÷ the category's
  population.
* **device coverage** — residents with a device installed at the month's end (registered before the
  end; still active or failed, or taken out of service only after the end) ÷ residents.
* **home care beds** — residents with a contract covering part of the month; ÷ residents and ÷ the
  ``disabled`` category's population (the beds' target group).
* **visit rate** — :meth:`care.visits.Visits.monthly_rate` (visited ÷ due).
* **home care bed compliance** — contracts covering part of the month and those that met their plan
  (:mod:`care.beds`), counted where the resident lived at the month's end.
* **care calls** — check-in calls finished in the month (:mod:`care.calls`) and how many reached the
  resident, counted where the resident lived at the month's end (as the visit rate).
* **alert answer times** — alerting's SLA report for the month (alerts that rang, share answered
  within 60 s, median and p90 answer time), through the ``answer_times`` hook.
* **service orders** — the service centre's order report for the month (orders scheduled in it,
  completed, due, on time and the on-time rate, ratings and the mean rating, subsidy spent), per
  child area through the ``service_orders`` hook; an order counts where it was placed (its org path).

The counts are read from the rollup (:mod:`care.rollup`), so a city's month is a few hundred rows;
:meth:`Indicators.monthly_from_rows` computes the same report from the raw rows (the definition the
tests hold the rollup to).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from care.beds import Beds
from care.categories import AGE_BANDS
from care.context import CareContext, child_code, path_condition, share
from care.periods import Month, month_bounds
from care.rollup import SUMMED, Rollup
from care.visits import PLACEMENT, Visits, ever_lived_under
from registry.area import Area, like_prefix
from registry.audit import Actor, write_audit
from registry.errors import Invalid, OutOfScope

AnswerTimes = Callable[[datetime, datetime, str], Awaitable[dict[str, Any]]]
"""[start, end), area path → alerting's SLA report (``{"areas": [...], "total": {...}}``)."""

ServiceOrders = Callable[[datetime, datetime, str], Awaitable[dict[str, Any]]]
"""[start, end), area path → the service centre's order report by child area
(``{"groups": [{"area": code or None, ...}], "total": {...}}``, :meth:`servicecentre.reports.Reports.orders`)."""


async def no_answer_times(start: datetime, end: datetime, path: str) -> dict[str, Any]:
    return {"areas": [], "total": {}}


async def no_service_orders(start: datetime, end: datetime, path: str) -> dict[str, Any]:
    return {"groups": [], "total": {}}


def _child_sql(column: str) -> str:
    return f"split_part(substr({column}, length(%(path)s) + 1), '/', 1)"


class Indicators:
    def __init__(
        self,
        ctx: CareContext,
        visits: Visits,
        beds: Beds,
        rollup: Rollup,
        answer_times: AnswerTimes = no_answer_times,
        service_orders: ServiceOrders = no_service_orders,
    ) -> None:
        self.ctx = ctx
        self.visits = visits
        self.beds = beds
        self.rollup = rollup
        self.answer_times = answer_times
        self.service_orders = service_orders

    async def import_population(self, rows: list[dict[str, Any]], area: Area, actor: Actor) -> int:
        """Replace the population rows given (org_node, year, age_band, category, people); all or none."""
        bands = {band for band, _, _ in AGE_BANDS}
        async with self.ctx.pool.connection() as conn, conn.transaction():
            for number, row in enumerate(rows, start=1):
                allowed = bands if row["category"] == "all" else bands | {"all"}
                if row["age_band"] not in allowed:
                    raise Invalid(
                        f"row {number}: age_band must be one of {', '.join(sorted(allowed))}"
                        + (" (the whole population is imported by age band)" if row["category"] == "all" else "")
                    )
                cursor = await conn.execute("SELECT path FROM org_nodes WHERE code = %s", (row["org_node"],))
                node = await cursor.fetchone()
                if node is None or area.resident_id is not None or not node["path"].startswith(area.org_path):  # type: ignore[call-overload]
                    raise OutOfScope(f"row {number}: org node {row['org_node']!r} is not in your area")
                await conn.execute(
                    "INSERT INTO care_population (org_node, year, age_band, category, people)"
                    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (org_node, year, age_band, category)"
                    " DO UPDATE SET people = EXCLUDED.people",
                    (row["org_node"], row["year"], row["age_band"], row["category"], row["people"]),
                )
            await write_audit(conn, actor, "import", "care_population", "", area.org_path, {"rows": len(rows)})
        return len(rows)

    async def monthly(self, path: str, month: Month, actor: Actor) -> dict[str, Any]:
        """Indicators per child area of ``path`` for ``month``, and for ``path`` as a whole; read from the
        rollup (:mod:`care.rollup`), equal to :meth:`monthly_from_rows`."""
        tallies: dict[str, dict[str, Any]] = {}
        for row in await self.rollup.areas(path, month):
            if not (row["residents"] or row["visits_due"] or row["calls"] or row["beds"]):
                continue  # only residents not yet registered, with nothing due: the raw rows show no area
            tally = tallies.setdefault(child_code(path, row["org_path"]), _tally())
            for key in COUNTS:
                tally[key] += row[key]
            for group in ("age_bands", "categories"):
                for key, count in row[group].items():
                    tally[group][key] = tally[group].get(key, 0) + count
        return await self._report(path, month, actor, tallies)

    async def visit_rate(self, path: str, month: Month) -> dict[str, Any]:
        """:meth:`care.visits.Visits.monthly_rate` (in total and per child area), from the rollup."""
        areas: dict[str, dict[str, int]] = {}
        for row in await self.rollup.areas(path, month):
            if row["visits_due"]:
                tally = areas.setdefault(child_code(path, row["org_path"]), {"due": 0, "visited": 0})
                tally["due"] += row["visits_due"]
                tally["visited"] += row["visited"]
        due, visited = sum(t["due"] for t in areas.values()), sum(t["visited"] for t in areas.values())
        return {"month": str(month), "org_path": path, "due": due, "visited": visited, "rate": share(visited, due),
                "areas": [{"code": code, **tally, "rate": share(tally["visited"], tally["due"])}
                          for code, tally in sorted(areas.items())]}  # fmt: skip

    async def monthly_from_rows(self, path: str, month: Month, actor: Actor) -> dict[str, Any]:
        """:meth:`monthly` computed from the archive, memberships, visits, calls and devices themselves."""
        start, end = month_bounds(month, self.ctx.utc_offset_min)
        as_of = min(end, self.ctx.clock())
        where, _ = path_condition("p.org_path", path)
        values: dict[str, Any] = {"path": path, "prefix": like_prefix(path), "as_of": as_of, "start": start,
                                  "end": end, "first_day": month.first_day, "last_day": month.last_day}  # fmt: skip
        where = where.replace("%s", "%(prefix)s")
        band_sql = ", ".join(
            f"count(*) FILTER (WHERE age >= {low}"
            + (f" AND age <= {high})" if high is not None else ")")
            + f' AS "{band}"'
            for band, low, high in AGE_BANDS
        )
        residents_sql = f"""
            WITH {PLACEMENT},
            p AS (
                SELECT r.id, r.birth_date, coalesce(late.org_path, early.org_path) AS org_path
                FROM residents r LEFT JOIN late ON late.resident_id = r.id LEFT JOIN early ON early.resident_id = r.id
                WHERE r.created_at < %(as_of)s AND {ever_lived_under("r.id")}
            ), placed AS (
                SELECT p.*, date_part('year', age(%(last_day)s::date, p.birth_date))::int AS age FROM p WHERE {where}
            ), equipped AS MATERIALIZED (
                SELECT DISTINCT d.resident_id FROM devices d WHERE d.resident_id IS NOT NULL
                AND d.created_at < %(as_of)s AND (d.status IN ('active', 'failed') OR d.updated_at >= %(as_of)s)
            ), bedded AS MATERIALIZED (
                SELECT DISTINCT b.resident_id FROM care_beds b
                WHERE b.start_date <= %(last_day)s AND (b.end_date IS NULL OR b.end_date >= %(first_day)s)
            )
            SELECT {_child_sql("placed.org_path")} AS child, count(*) AS residents, {band_sql},
                count(equipped.resident_id) AS with_devices, count(bedded.resident_id) AS with_beds,
                array_agg(placed.id) AS ids
            FROM placed LEFT JOIN equipped ON equipped.resident_id = placed.id
            LEFT JOIN bedded ON bedded.resident_id = placed.id
            GROUP BY 1
        """
        calls_sql = f"""
            SELECT k.resident_id, count(*) AS calls, count(*) FILTER (WHERE k.outcome = 'reached') AS reached
            FROM care_calls k WHERE k.finished_at >= %(start)s AND k.finished_at < %(end)s
            AND k.outcome <> 'abandoned' AND {ever_lived_under("k.resident_id")} GROUP BY k.resident_id
        """
        placement_sql = f"""
            WITH {PLACEMENT}
            SELECT e.resident_id, {_child_sql("coalesce(late.org_path, e.org_path)")} AS child FROM early e
            LEFT JOIN late ON late.resident_id = e.resident_id
            WHERE coalesce(late.org_path, e.org_path) LIKE %(prefix)s
        """
        async with self.ctx.pool.connection() as conn:
            residents = await (await conn.execute(residents_sql, values)).fetchall()  # type: ignore[arg-type]
            calls = await (await conn.execute(calls_sql, values)).fetchall()  # type: ignore[arg-type]
            placed = await (await conn.execute(placement_sql, values)).fetchall()  # type: ignore[arg-type]
            ids = [rid for row in residents for rid in row["ids"]]  # type: ignore[call-overload]
            child_of = {rid: row["child"] for row in residents for rid in row["ids"]}  # type: ignore[call-overload]
            members = await (await conn.execute(
                "SELECT resident_id, array_agg(DISTINCT category) AS categories FROM care_categories"
                " WHERE resident_id = ANY(%s) AND valid_from <= %s AND (valid_to IS NULL OR valid_to >= %s)"
                " GROUP BY resident_id", (ids, month.last_day, month.first_day))).fetchall()  # fmt: skip
        tallies: dict[str, dict[str, Any]] = {}
        for row in residents:
            tally = tallies.setdefault(row["child"], _tally())  # type: ignore[call-overload]
            for key in ("residents", "with_devices", "with_beds"):
                tally[key] += int(row[key])  # type: ignore[call-overload]
            tally["age_bands"] = {band: int(row[band]) for band, _, _ in AGE_BANDS if row[band]}  # type: ignore[call-overload]
        for row in members:
            counted = tallies[child_of[row["resident_id"]]]["categories"]  # type: ignore[call-overload]
            for category in row["categories"]:  # type: ignore[call-overload]
                counted[category] = counted.get(category, 0) + 1
        where_now = {row["resident_id"]: row["child"] for row in placed}  # type: ignore[call-overload]
        for row in calls:
            if row["resident_id"] in where_now:  # type: ignore[call-overload]
                tally = tallies.setdefault(where_now[row["resident_id"]], _tally())  # type: ignore[call-overload]
                tally["calls"] += int(row["calls"])  # type: ignore[call-overload]
                tally["calls_reached"] += int(row["reached"])  # type: ignore[call-overload]
        for contract in await self.beds.judged(Area(), month):
            if contract["resident_id"] in where_now:
                tally = tallies.setdefault(where_now[contract["resident_id"]], _tally())
                tally["beds"] += 1
                tally["beds_compliant"] += int(contract["compliant"])
        for row in (await self.visits.monthly_rate(path, month))["areas"]:
            tally = tallies.setdefault(row["code"], _tally())
            tally["visits_due"], tally["visited"] = row["due"], row["visited"]
        return await self._report(path, month, actor, tallies)

    async def _report(
        self, path: str, month: Month, actor: Actor, tallies: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        """The counts per child area with their denominators (the population), names, answer times."""
        start, end = month_bounds(month, self.ctx.utc_offset_min)
        where, _ = path_condition("n.path", path)
        population_sql = f"""
            SELECT {_child_sql("n.path")} AS child, pop.age_band, pop.category, sum(pop.people) AS people
            FROM care_population pop JOIN org_nodes n ON n.code = pop.org_node
            WHERE pop.year = %(year)s AND {where.replace("%s", "%(prefix)s")}
            GROUP BY 1, 2, 3
        """
        values = {"path": path, "prefix": like_prefix(path), "year": month.year}
        async with self.ctx.pool.connection() as conn:
            population = await (await conn.execute(population_sql, values)).fetchall()  # type: ignore[arg-type]
            named = await (await conn.execute("SELECT code, name FROM org_nodes WHERE path LIKE %s",
                                              (like_prefix(path),))).fetchall()  # fmt: skip
        names = {row["code"]: row["name"] for row in named}  # type: ignore[call-overload]
        answers = await self.answer_times(start, end, path)
        orders = await self.service_orders(start, end, path)
        areas: dict[str, dict[str, Any]] = {}

        def area(code: str) -> dict[str, Any]:
            return areas.setdefault(code, _blank(code, names.get(code, "")))

        for code, tally in tallies.items():
            entry = area(code)
            for key in COUNTS:
                entry[key] += tally[key]
            for band, count in tally["age_bands"].items():
                entry["age_bands"][band]["residents"] += count
            for category, count in tally["categories"].items():
                entry["categories"].setdefault(category, _cell())["residents"] += count
        for row in population:
            entry = area(row["child"])  # type: ignore[call-overload]
            people = int(row["people"])  # type: ignore[call-overload]
            if row["category"] == "all":  # type: ignore[call-overload]
                entry["population"] += people
                entry["age_bands"][row["age_band"]]["population"] += people  # type: ignore[call-overload]
            else:
                entry["categories"].setdefault(row["category"], _cell())["population"] += people  # type: ignore[call-overload]
        for row in answers.get("areas", []):
            code = row.get("area", "")
            area("" if code == "(unassigned)" else code)["alerts"] = _answer_figures(row)
        for row in orders.get("groups", []):
            area(row.get("area") or "")["orders"] = _order_figures(row)
        total = _blank("", names.get(path.rstrip("/").rsplit("/", 1)[-1], ""))
        for entry in areas.values():
            _add(total, entry)
        total["alerts"] = _answer_figures(answers.get("total", {}))
        total["orders"] = _order_figures(orders.get("total", {}))
        result = {"month": str(month), "org_path": path, "areas": [_finish(areas[k]) for k in sorted(areas)],
                  "total": _finish(total)}  # fmt: skip
        async with self.ctx.pool.connection() as conn:
            await write_audit(conn, actor, "report", "care_indicators", str(month), path)
        return result


COUNTS = SUMMED
"""The counts an area's indicators add up (the rest are denominators and shares)."""


def _tally() -> dict[str, Any]:
    return {**dict.fromkeys(COUNTS, 0), "age_bands": {}, "categories": {}}


def _cell() -> dict[str, Any]:
    return {"residents": 0, "population": 0}


def _blank(code: str, name: str) -> dict[str, Any]:
    return {
        "code": code, "name": name, "population": 0, **dict.fromkeys(COUNTS, 0),
        "age_bands": {band: _cell() for band, _, _ in AGE_BANDS},
        "categories": {}, "alerts": _answer_figures({}), "orders": _order_figures({}),
    }  # fmt: skip


def _add(total: dict[str, Any], entry: dict[str, Any]) -> None:
    for key in ("population", *COUNTS):
        total[key] += entry[key]
    for band, cell in entry["age_bands"].items():
        for key in ("residents", "population"):
            total["age_bands"][band][key] += cell[key]
    for category, cell in entry["categories"].items():
        target = total["categories"].setdefault(category, _cell())
        for key in ("residents", "population"):
            target[key] += cell[key]


def _finish(entry: dict[str, Any]) -> dict[str, Any]:
    entry["enrolment"] = share(entry["residents"], entry["population"])
    entry["device_coverage"] = share(entry["with_devices"], entry["residents"])
    entry["bed_share"] = share(entry["with_beds"], entry["residents"])
    disabled = entry["categories"].get("disabled", {}).get("population", 0)
    entry["bed_coverage_of_disabled"] = share(entry["with_beds"], disabled)
    entry["visit_rate"] = share(entry["visited"], entry["visits_due"])
    for cell in [*entry["age_bands"].values(), *entry["categories"].values()]:
        cell["rate"] = share(cell["residents"], cell["population"])
    return entry


def _answer_figures(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row.get(key) for key in ("alerts", "answered", "within_60s", "answer_p50_s", "answer_p90_s")}


ORDER_FIGURES = ("orders", "completed", "due", "on_time", "on_time_rate", "ratings", "rating", "subsidy_fen")


def _order_figures(row: dict[str, Any]) -> dict[str, Any]:
    """The order report's figures of an area (zeros where no order was scheduled, no rate or rating)."""
    counts = {key: int(row.get(key) or 0) for key in ORDER_FIGURES if key not in ("on_time_rate", "rating")}
    return {**counts, "on_time_rate": row.get("on_time_rate"), "rating": row.get("rating")}


CSV_COLUMNS = (
    "month", "code", "name", "population", "residents", "enrolment", "with_devices", "device_coverage",
    "with_beds", "bed_share", "bed_coverage_of_disabled", "visits_due", "visited", "visit_rate",
    "alerts", "within_60s", "answer_p50_s", "answer_p90_s", "calls", "calls_reached", "beds", "beds_compliant",
    "orders", "orders_completed", "orders_on_time_rate", "orders_rating", "orders_subsidy_fen",
)  # fmt: skip
ORDER_COLUMNS = {"orders": "orders", "orders_completed": "completed", "orders_on_time_rate": "on_time_rate",
                 "orders_rating": "rating", "orders_subsidy_fen": "subsidy_fen"}  # fmt: skip


def flat_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per area (the total last, code ``*``), with age bands and categories as columns."""
    out = []
    for entry in [*report["areas"], {**report["total"], "code": "*"}]:
        row = {key: entry.get(key) for key in CSV_COLUMNS if key not in ("month", "alerts", "within_60s",
                                                                         "answer_p50_s", "answer_p90_s")}  # fmt: skip
        row["month"] = report["month"]
        row.update({key: entry["alerts"].get(key) for key in ("alerts", "within_60s", "answer_p50_s", "answer_p90_s")})
        row.update({column: entry["orders"].get(key) for column, key in ORDER_COLUMNS.items()})
        for band, cell in entry["age_bands"].items():
            row[f"age_{band}_residents"], row[f"age_{band}_population"] = cell["residents"], cell["population"]
        for category, cell in sorted(entry["categories"].items()):
            row[f"cat_{category}_residents"], row[f"cat_{category}_population"] = cell["residents"], cell["population"]
        out.append(row)
    return out


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    columns = list(CSV_COLUMNS)
    for row in rows:
        columns += [key for key in row if key not in columns]
    return columns


def to_csv(report: dict[str, Any]) -> str:
    rows = flat_rows(report)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_columns(rows), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def to_xlsx(report: dict[str, Any]) -> bytes:
    from openpyxl import Workbook

    rows = flat_rows(report)
    columns = _columns(rows)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"indicators {report['month']}"
    sheet.append(columns)
    for row in rows:
        sheet.append([row.get(column) for column in columns])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
