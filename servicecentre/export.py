"""The order report as a table: CSV (UTF-8 with a BOM, so a spreadsheet reads the Chinese) and XLSX.

A text cell starting with a formula character gets a leading ``'`` (OWASP CSV injection), in both
formats: openpyxl would otherwise store ``=…`` as a formula.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook

from registry.csv_format import neutralise

COLUMNS = (
    ("orders", "工单 orders"),
    ("completed", "完成 completed"),
    ("cancelled", "取消 cancelled"),
    ("refused", "拒单 refused"),
    ("due", "应服务 due"),
    ("on_time", "准时 on time"),
    ("on_time_rate", "准时率 on-time rate"),
    ("ratings", "评价数 ratings"),
    ("rating", "满意度 rating"),
    ("subsidy_fen", "补贴(分) subsidy fen"),
    ("resident_fen", "自付(分) resident fen"),
)


def table(report: dict[str, Any]) -> list[list[Any]]:
    """Header, one row per group, and the total."""
    by = report["by"]
    rows: list[list[Any]] = [[by, *(label for _, label in COLUMNS)]]
    for group in report["groups"]:
        rows.append([group[by], *(group[name] for name, _ in COLUMNS)])
    total = report["total"]
    if total:
        rows.append(["total 合计", *(total[name] for name, _ in COLUMNS)])
    return [[neutralise(cell) if isinstance(cell, str) else cell for cell in row] for row in rows]


def to_csv(report: dict[str, Any]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in table(report):
        writer.writerow(["" if cell is None else cell for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(report: dict[str, Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"orders by {report['by']}"
    for row in table(report):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
