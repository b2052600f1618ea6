"""What an administrator's care dashboard shows for their area: the month's indicators per child area
(:mod:`care.indicators`, from the rollup) and, beside them, today's work per child area from the
rollup's state (:mod:`care.rollup`):

* **overdue** — visits past due now (the overdue list's count);
* **due this week** — visits falling due within :data:`SOON`;
* **calls due** — of the overdue, those whose plan takes a phone call (the care-call queue before
  claims and retries);
* **assessments due** — residents who need a valid ability assessment (失能 or 重残, or a home care
  bed today) and have none, or whose last one ends within :data:`ASSESSMENT_NOTICE`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta, timezone
from typing import Any

from care.context import CareContext, Row, child_code
from care.indicators import Indicators
from care.periods import Month, local_date
from care.rollup import Rollup
from registry.area import like_prefix
from registry.audit import Actor

SOON = timedelta(days=7)
ASSESSMENT_NOTICE = timedelta(days=30)
TODAY_COUNTS = ("overdue", "due_soon", "calls_due", "assessments_due")


class Dashboard:
    def __init__(self, ctx: CareContext, rollup: Rollup, indicators: Indicators) -> None:
        self.ctx = ctx
        self.rollup = rollup
        self.indicators = indicators

    async def summary(self, path: str, month: Month, actor: Actor, top: str = "/") -> dict[str, Any]:
        """The indicators of ``month`` and today's counts, per child area of ``path`` and in total, with
        the ``trail`` of org nodes from ``top`` (the caller's own area) down to ``path``."""
        await self.rollup.catch_up(month)  # once, then the three reads side by side
        report, today, trail = await asyncio.gather(
            self.indicators.monthly(path, month, actor), self.today(path), self.trail(top, path)
        )
        return {**report, "today": today, "trail": trail}

    async def trail(self, top: str, path: str) -> list[Row]:
        """The org nodes from ``top`` down to ``path`` (both included), each ``code``, ``name``, ``level``."""
        codes = [code for code in path.strip("/").split("/") if code]
        paths = ["/" + "/".join(codes[: n + 1]) + "/" for n in range(len(codes))]
        async with self.ctx.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT code, name, level, path FROM org_nodes WHERE path = ANY(%s) AND starts_with(path, %s)"
                " ORDER BY length(path)",
                ([p for p in paths if p.startswith(top)], top),
            )
            return [{k: row[k] for k in ("code", "name", "level")} for row in await cursor.fetchall()]  # type: ignore[call-overload]

    async def today(self, path: str) -> dict[str, Any]:
        """:data:`TODAY_COUNTS` per child area of ``path`` (``areas``) and for ``path`` (``total``).

        Whole days come from ``care_state_days``; only the residents falling due today and seven days
        from now are compared with the clock itself (a few hundred in a city).
        """
        await self.rollup.catch_up()
        now = self.ctx.clock()
        today = local_date(now, self.ctx.utc_offset_min)
        day_start = datetime.combine(today, time(), timezone(timedelta(minutes=self.ctx.utc_offset_min)))
        values = {"prefix": like_prefix(path), "now": now, "soon": now + SOON, "today": today,
                  "week": today + SOON, "notice": today + ASSESSMENT_NOTICE, "today_start": day_start,
                  "tomorrow_start": day_start + timedelta(days=1), "week_start": day_start + SOON}  # fmt: skip
        days_sql = """
            SELECT org_path, coalesce(sum(due) FILTER (WHERE day < %(today)s), 0) AS overdue,
                   coalesce(sum(due_calls) FILTER (WHERE day < %(today)s), 0) AS calls_due,
                   coalesce(sum(due) FILTER (WHERE day > %(today)s AND day < %(week)s), 0) AS due_soon,
                   coalesce(sum(assessments_ending) FILTER (WHERE day < %(notice)s), 0) AS assessments_due
            FROM care_state_days WHERE org_path LIKE %(prefix)s GROUP BY org_path
        """
        edges_sql = """
            SELECT org_path, count(*) FILTER (WHERE next_due <= %(now)s) AS overdue,
                   count(*) FILTER (WHERE next_due <= %(now)s AND 'phone' = ANY(modes)) AS calls_due,
                   count(*) FILTER (WHERE next_due > %(now)s AND next_due <= %(soon)s) AS due_soon,
                   0 AS assessments_due
            FROM care_resident_state WHERE org_path LIKE %(prefix)s
              AND ((next_due >= %(today_start)s AND next_due < %(tomorrow_start)s)
                   OR (next_due >= %(week_start)s AND next_due <= %(soon)s))
            GROUP BY org_path
        """
        areas: dict[str, dict[str, Any]] = {}
        async with self.ctx.pool.connection() as conn:
            for sql in (days_sql, edges_sql):
                rows: list[Row] = await (await conn.execute(sql, values)).fetchall()  # type: ignore[assignment]
                for row in rows:
                    area = areas.setdefault(child_code(path, row["org_path"]), dict.fromkeys(TODAY_COUNTS, 0))
                    for key in TODAY_COUNTS:
                        area[key] += int(row[key])
        shown = {code: counts for code, counts in areas.items() if any(counts.values())}
        total = {key: sum(area[key] for area in shown.values()) for key in TODAY_COUNTS}
        return {"as_of": now, "areas": [{"code": code, **shown[code]} for code in sorted(shown)], "total": total}
