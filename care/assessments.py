"""Ability assessments stored: the answers as given, the scores and level the instrument derives from
them, who assessed, and until when the result holds. The latest valid one is a resident's level."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from care.context import CareContext, Row, audit_path, resident_in, resident_rows, row_in
from care.instruments import INSTRUMENTS, Instrument, ScoringError
from care.periods import local_date
from registry.area import Area
from registry.audit import Actor, write_audit
from registry.errors import Invalid

COLUMNS = (
    "a.id, a.resident_id, a.instrument, a.assessed_on, a.valid_until, a.assessor, a.answers, a.domain_scores,"
    " a.total, a.level, a.org_path, a.recorded_by, a.recorded_at"
)


class Assessments:
    def __init__(self, ctx: CareContext, instruments: Mapping[str, Instrument] | None = None) -> None:
        self.ctx = ctx
        self.instruments = dict(instruments or INSTRUMENTS)

    def instrument(self, code: str) -> Instrument:
        try:
            return self.instruments[code]
        except KeyError:
            raise Invalid(f"unknown instrument {code!r}; known: {', '.join(self.instruments)}") from None

    async def record(self, resident_id: str, data: Mapping[str, Any], area: Area, actor: Actor) -> Row:
        """Score and store an assessment (``instrument``, ``answers``, ``modifiers``, ``assessor``,
        ``assessed_on``, optional ``valid_until``)."""
        instrument = self.instrument(data["instrument"])
        try:
            scored = instrument.score(data["answers"], data.get("modifiers"))
        except ScoringError as error:
            raise Invalid(str(error)) from None
        assessed_on: date = data["assessed_on"]
        if assessed_on > local_date(self.ctx.clock(), self.ctx.utc_offset_min):
            raise Invalid("an assessment cannot be dated in the future")
        valid_until: date = data.get("valid_until") or assessed_on + timedelta(days=instrument.validity_days)
        if valid_until < assessed_on:
            raise Invalid("valid_until is before the assessment")
        answers = {"items": dict(data["answers"]), "modifiers": dict(data.get("modifiers") or {}),
                   "base_level": scored.base_level, "reasons": scored.reasons}  # fmt: skip
        async with self.ctx.pool.connection() as conn, conn.transaction():
            resident = await resident_in(conn, resident_id, area)
            cursor = await conn.execute(
                "INSERT INTO care_assessments AS a (resident_id, instrument, assessed_on, valid_until, assessor,"
                " answers, domain_scores, total, level, org_path, recorded_by)"
                f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {COLUMNS}",
                (resident_id, instrument.code, assessed_on, valid_until, data["assessor"], Jsonb(answers),
                 Jsonb(scored.domain_scores), scored.total, scored.level, resident["org_path"], actor.username),
            )  # fmt: skip
            row: Row = await cursor.fetchone()  # type: ignore[assignment]
            await write_audit(conn, actor, "create", "care_assessment", str(row["id"]), resident["org_path"],
                              {"resident_id": resident_id, "level": scored.level, "total": scored.total})  # fmt: skip
        return _public(row)

    async def of_resident(self, resident_id: str, area: Area, actor: Actor) -> list[Row]:
        sql = f"SELECT {COLUMNS} FROM care_assessments a WHERE a.resident_id = %s"
        sql += " ORDER BY a.assessed_on DESC, a.id DESC"
        return [_public(row) for row in await resident_rows(self.ctx, resident_id, area, actor, "care_assessment", sql)]

    async def get(self, assessment_id: int, area: Area, actor: Actor) -> Row:
        missing = f"no assessment {assessment_id} in your area"
        async with self.ctx.pool.connection() as conn:
            row = await row_in(conn, "care_assessments a", COLUMNS, assessment_id, area, missing)
            await write_audit(conn, actor, "read", "care_assessment", str(assessment_id), row["org_path"])
        return _public(row)

    async def levels(self, area: Area, actor: Actor, on: date) -> dict[str, int]:
        """How many residents of ``area`` are at each level on ``on`` (their latest valid assessment)."""
        condition, params = area.where("r.org_path", "r.id")
        sql = (
            "SELECT level, count(*) AS residents FROM ("
            " SELECT DISTINCT ON (a.resident_id) a.level FROM care_assessments a"
            " JOIN residents r ON r.id = a.resident_id"
            f" WHERE {condition} AND a.assessed_on <= %s AND a.valid_until >= %s"
            " ORDER BY a.resident_id, a.assessed_on DESC, a.id DESC) latest GROUP BY level"
        )
        async with self.ctx.pool.connection() as conn:
            rows = await (await conn.execute(sql, [*params, on, on])).fetchall()  # type: ignore[arg-type]
            await write_audit(conn, actor, "list", "care_assessment", "", audit_path(area), {"on": on.isoformat()})
        return {row["level"]: int(row["residents"]) for row in rows}  # type: ignore[call-overload]


def _public(row: Row) -> Row:
    row["total"] = int(row["total"])
    return row
