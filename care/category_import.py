"""Category memberships imported from CSV (民政台账, a survey), like the rest of the archive.

Columns: ``resident_external_id`` (the archive's id of the resident, as residents were imported) or
``resident_id``, then ``category`` (a code of :mod:`care.categories`), ``source``, ``valid_from``,
``valid_to`` (empty: open-ended) and ``note``. Each row is checked with the same model as the API; a
row that cannot be taken is reported with its line number and reasons, the others go in, all in one
transaction, each audited. A row whose resident already has that category from that day is skipped
and counted, so an import can be repeated safely.
"""

from __future__ import annotations

import csv
import io
import time

from pydantic import ValidationError

from care.context import CareContext, Row
from care.memberships import COLUMNS
from care.models import MembershipCreate
from registry.area import Area
from registry.audit import Actor, write_audit
from registry.errors import Invalid
from registry.imports import ImportReport, RowProblem

MAX_ROWS = 50_000
FIELDS = ("category", "source", "valid_from", "valid_to", "note")


def _parse(text: str) -> tuple[list[tuple[int, str, str, MembershipCreate]], list[RowProblem]]:
    """``(line, id column, id, membership)`` per readable row, and the rows refused with why."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    parsed: list[tuple[int, str, str, MembershipCreate]] = []
    problems: list[RowProblem] = []
    try:
        headers = [name.strip() for name in reader.fieldnames or []]
        key = next((name for name in ("resident_external_id", "resident_id") if name in headers), None)
        if key is None or "category" not in headers or "valid_from" not in headers:
            raise Invalid("the header needs resident_external_id (or resident_id), category and valid_from")
        reader.fieldnames = headers
        for index, raw in enumerate(reader):
            if index >= MAX_ROWS:
                raise Invalid(f"at most {MAX_ROWS} rows per import")
            line = reader.line_num
            resident = (raw.get(key) or "").strip()
            if None in raw:
                problems.append(RowProblem(row=line, external_id=resident or None, errors=["more cells than columns"]))
                continue
            fields = {name: value.strip() for name in FIELDS if (value := raw.get(name) or "").strip()}
            try:
                model = MembershipCreate.model_validate(fields)
            except ValidationError as error:
                reasons = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()]
                problems.append(RowProblem(row=line, external_id=resident or None, errors=reasons))
                continue
            if not resident or (model.valid_to is not None and model.valid_to < model.valid_from):
                reason = f"{key} is empty" if not resident else "valid_to is before valid_from"
                problems.append(RowProblem(row=line, external_id=resident or None, errors=[reason]))
                continue
            parsed.append((line, "external_id" if key == "resident_external_id" else "id", resident, model))
    except csv.Error as error:
        raise Invalid(f"CSV line {reader.line_num + 1} cannot be read: {error}") from None
    return parsed, problems


async def import_categories(ctx: CareContext, text: str, area: Area, actor: Actor) -> ImportReport:
    """Import memberships of residents in ``area`` (see the module doc)."""
    started = time.perf_counter()
    parsed, problems = _parse(text)
    rows = len(parsed) + len(problems)
    condition, params = area.where("org_path", "id")
    created = skipped = 0
    async with ctx.pool.connection() as conn, conn.transaction():
        cursor = await conn.execute(
            f"SELECT id, external_id, org_path FROM residents WHERE {condition}"
            " AND (id = ANY(%s) OR external_id = ANY(%s))",
            [*params, [r for _, k, r, _ in parsed if k == "id"], [r for _, k, r, _ in parsed if k == "external_id"]],
        )
        found: list[Row] = await cursor.fetchall()  # type: ignore[assignment]
        residents = {(k, row[k]): row for row in found for k in ("id", "external_id") if row[k]}
        cursor = await conn.execute(
            "SELECT resident_id, category, valid_from FROM care_categories WHERE resident_id = ANY(%s)",
            ([row["id"] for row in residents.values()],),
        )
        held: list[Row] = await cursor.fetchall()  # type: ignore[assignment]
        existing = {(row["resident_id"], row["category"], row["valid_from"]) for row in held}
        for line, key, reference, model in parsed:
            resident = residents.get((key, reference))
            if resident is None:
                problems.append(RowProblem(row=line, external_id=reference, errors=["no such resident in your area"]))
                continue
            entry = (resident["id"], model.category, model.valid_from)
            if entry in existing:
                skipped += 1
                continue
            existing.add(entry)
            cursor = await conn.execute(
                "INSERT INTO care_categories AS c (resident_id, category, source, valid_from, valid_to, note,"
                f" created_by) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {COLUMNS}",
                (
                    resident["id"],
                    model.category,
                    model.source,
                    model.valid_from,
                    model.valid_to,
                    model.note,
                    actor.username,
                ),
            )
            row: Row = await cursor.fetchone()  # type: ignore[assignment]
            await write_audit(conn, actor, "import", "care_category", str(row["id"]), resident["org_path"],
                              {"resident_id": resident["id"], "category": model.category, "line": line})  # fmt: skip
            created += 1
    problems.sort(key=lambda problem: problem.row)
    return ImportReport(kind="care_categories", rows=rows, created=created, skipped_existing=skipped,
                        rejected=problems, seconds=round(time.perf_counter() - started, 3))  # fmt: skip
