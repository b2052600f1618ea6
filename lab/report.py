"""Printing benchmark figures: a readable table on stderr-free stdout, and the JSON object last."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np


def percentiles_ms(samples_s: Sequence[float]) -> dict[str, float | None]:
    if not samples_s:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}
    values = np.asarray(samples_s, dtype=np.float64) * 1000.0
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 3),
        "p99_ms": round(float(np.percentile(values, 99)), 3),
        "max_ms": round(float(values.max()), 3),
        "mean_ms": round(float(values.mean()), 3),
    }


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def emit(title: str, rows: Sequence[tuple[str, Any]], figures: dict[str, Any], json_output: bool) -> None:
    width = max(len(name) for name, _ in rows)
    print(title)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    if json_output:
        print(json.dumps(figures, separators=(",", ":"), default=str))


def print_figures(figures: dict[str, Any], json_output: bool) -> None:
    """``figures`` as one JSON object on one line (``--json``), else one ``name: value`` line each."""
    if json_output:
        print(json.dumps(figures))
        return
    for name, value in figures.items():
        print(f"{name}: {value}")
