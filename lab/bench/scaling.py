"""``eldercare bench scaling --sweep N,N,…``: the one-process load benchmark at increasing homes →
table, plot, largest N. (Without ``--sweep`` the command runs the partitioned deployment:
:mod:`lab.bench.partitioned`.)

Writes ``scaling.csv``, ``scaling.md`` and ``scaling.png`` (throughput and alarm p99 against homes;
drawn with a tiny NumPy PNG writer, no plotting library) and reports the largest N whose alarm p99
stayed under 1 s with no alarm lost.
"""

from __future__ import annotations

import csv
import itertools
import json
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from firmware_sim.fleet import HomeMix

from eldercare.settings import Settings
from lab.bench.load import run_load
from lab.report import emit, progress

P99_LIMIT_MS = 1000.0
COLUMNS = (
    "homes",
    "devices",
    "connections",
    "offered_msg_per_s",
    "processed_msg_per_s",
    "dropped_total",
    "alarm_presses",
    "alarm_on_console",
    "alarm_p50_ms",
    "alarm_p99_ms",
    "alarm_max_ms",
    "platform_cpu_pct",
    "platform_rss_mb",
    "simulator_cpu_pct",
    "broker_cpu_pct",
    "bare_broker_msg_per_s",
    "load_avg_1m",
)


def row_of(figures: dict[str, Any]) -> dict[str, Any]:
    a, p = figures["alarm"], figures["processes"]
    return {
        "homes": figures["homes"],
        "devices": figures["devices"],
        "connections": figures["connections"],
        "offered_msg_per_s": figures["offered_msg_per_s"],
        "processed_msg_per_s": figures["processed_msg_per_s"],
        "dropped_total": figures["dropped_total"],
        "alarm_presses": a["presses"],
        "alarm_on_console": a["on_console"],
        "alarm_p50_ms": a["p50_ms"],
        "alarm_p99_ms": a["p99_ms"],
        "alarm_max_ms": a["max_ms"],
        "platform_cpu_pct": p["platform"]["cpu_pct"],
        "platform_rss_mb": p["platform"]["rss_mb"],
        "simulator_cpu_pct": p["simulator"]["cpu_pct"],
        "broker_cpu_pct": p["broker"]["cpu_pct"],
        "bare_broker_msg_per_s": figures["bare_broker"].get("msg_per_s"),
        "load_avg_1m": figures["load_avg_1m"],
    }


def largest_holding(rows: Sequence[dict[str, Any]], limit_ms: float = P99_LIMIT_MS) -> int | None:
    """The largest N with alarm p99 under ``limit_ms`` and every alarm on the console."""
    ok = [
        r["homes"]
        for r in rows
        if r["alarm_p99_ms"] is not None
        and r["alarm_p99_ms"] < limit_ms
        and r["alarm_on_console"] == r["alarm_presses"]
    ]
    return max(ok) if ok else None


# -- a tiny PNG plot -------------------------------------------------------------------------------

_FONT = {  # 3×5 glyphs, rows top to bottom, 3 bits each
    "0": "7 5 5 5 7", "1": "2 6 2 2 7", "2": "7 1 7 4 7", "3": "7 1 3 1 7", "4": "5 5 7 1 1",
    "5": "7 4 7 1 7", "6": "7 4 7 5 7", "7": "7 1 2 2 2", "8": "7 5 7 5 7", "9": "7 5 7 1 7",
    ".": "0 0 0 0 2", "k": "4 5 6 5 5", "/": "1 1 2 4 4", "s": "0 3 6 1 6", "m": "0 7 7 5 5",
    "p": "0 7 5 7 4", "N": "5 7 7 7 5", "h": "4 4 7 5 5", "o": "0 7 5 5 7", "e": "7 5 7 4 7",
    "g": "7 5 7 1 7", " ": "0 0 0 0 0", "-": "0 0 7 0 0", "<": "1 2 4 2 1", "x": "0 5 2 5 0",
}  # fmt: skip


def _text(img: np.ndarray, x: int, y: int, text: str, color: Sequence[int], scale: int = 2) -> None:
    for ch in text:
        rows = [int(v) for v in _FONT.get(ch, _FONT[" "]).split()]
        for r, bits in enumerate(rows):
            for c in range(3):
                if bits >> (2 - c) & 1:
                    y0, x0 = y + r * scale, x + c * scale
                    img[y0 : y0 + scale, x0 : x0 + scale] = color
        x += 4 * scale


def _line(img: np.ndarray, x0: float, y0: float, x1: float, y1: float, color: Sequence[int], width: int = 2) -> None:
    n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
    for t in np.linspace(0.0, 1.0, n):
        x, y = round(x0 + (x1 - x0) * t), round(y0 + (y1 - y0) * t)
        img[max(0, y - width // 2) : y + width // 2 + 1, max(0, x - width // 2) : x + width // 2 + 1] = color


def _png(path: Path, img: np.ndarray) -> None:
    height, width, _ = img.shape
    raw = b"".join(b"\x00" + img[row].astype(np.uint8).tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    )


def plot(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Two panels against homes (log x): processed msg/s (blue; offered grey) and alarm p99 ms (red,
    log y; the 1 s limit dashed)."""
    width, height, margin = 900, 700, 70
    img = np.full((height, width, 3), 255, dtype=np.uint8)
    homes = np.array([r["homes"] for r in rows], dtype=float)
    xs = np.log10(homes)
    x_lo, x_hi = xs.min() - 0.1, xs.max() + 0.1

    def sx(v: float) -> float:
        return margin + (v - x_lo) / max(1e-9, x_hi - x_lo) * (width - 2 * margin)

    panels = [(40, 320), (380, 660)]
    black, grey, blue, red = (0, 0, 0), (170, 170, 170), (30, 90, 200), (210, 40, 40)
    # panel 1: throughput
    top, bottom = panels[0]
    ymax = max([r["offered_msg_per_s"] for r in rows] + [r["processed_msg_per_s"] for r in rows] + [1.0]) * 1.1
    sy = lambda v: bottom - v / ymax * (bottom - top)  # noqa: E731
    _text(img, margin, top - 28, "msg/s", black)
    for frac in (0.0, 0.5, 1.0):
        _line(img, margin, sy(ymax * frac), width - margin, sy(ymax * frac), (225, 225, 225), 1)
        _text(img, 4, int(sy(ymax * frac)) - 5, f"{ymax * frac / 1000:.1f}k", black)
    for key, color in (("offered_msg_per_s", grey), ("processed_msg_per_s", blue)):
        pts = [(sx(x), sy(r[key])) for x, r in zip(xs, rows, strict=True)]
        for a, b in itertools.pairwise(pts):
            _line(img, *a, *b, color, 3)
        for x, y in pts:
            img[int(y) - 4 : int(y) + 5, int(x) - 4 : int(x) + 5] = color
    # panel 2: p99 (log)
    top, bottom = panels[1]
    p99 = [max(1.0, r["alarm_p99_ms"] or 1e5) for r in rows]
    lo, hi = 0.0, max(4.0, np.log10(max(p99)) + 0.2)
    sy2 = lambda v: bottom - (np.log10(v) - lo) / (hi - lo) * (bottom - top)  # noqa: E731
    _text(img, margin, top - 28, "p99 ms", black)
    for decade in range(int(lo), int(hi) + 1):
        _line(img, margin, sy2(10.0**decade), width - margin, sy2(10.0**decade), (225, 225, 225), 1)
        _text(img, 4, int(sy2(10.0**decade)) - 5, str(10**decade), black)
    for x0 in range(margin, width - margin, 16):
        _line(img, float(x0), sy2(P99_LIMIT_MS), float(x0 + 8), sy2(P99_LIMIT_MS), red, 1)
    pts = [(sx(x), sy2(v)) for x, v in zip(xs, p99, strict=True)]
    for a, b in itertools.pairwise(pts):
        _line(img, *a, *b, red, 3)
    for x, y in pts:
        img[int(y) - 4 : int(y) + 5, int(x) - 4 : int(x) + 5] = red
    # x axis labels (homes)
    for x, n in zip(xs, homes, strict=True):
        label = f"{n / 1000:g}k" if n >= 1000 else f"{n:g}"
        _text(img, int(sx(x)) - 8, height - 30, label, black)
    _text(img, width // 2 - 30, height - 14, "homes", black, 2)
    _line(img, margin, panels[0][1], width - margin, panels[0][1], black, 1)
    _line(img, margin, panels[1][1], width - margin, panels[1][1], black, 1)
    _png(path, img)


def write_outputs(rows: Sequence[dict[str, Any]], out: Path, best: int | None) -> dict[str, str]:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "scaling.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
        *("| " + " | ".join(str(r[c]) for c in COLUMNS) + " |" for r in rows),
        "",
        f"Largest N with alarm p99 < {P99_LIMIT_MS:g} ms and no alarm lost: **{best}**",
    ]
    (out / "scaling.md").write_text("\n".join(lines) + "\n")
    plot(rows, out / "scaling.png")
    return {name: str(out / name) for name in ("scaling.csv", "scaling.md", "scaling.png")}


def run(
    settings: Settings,
    counts: Sequence[int],
    duration_s: float,
    out: Path,
    json_output: bool,
    *,
    mix: HomeMix | None = None,
) -> dict[str, Any]:
    """The load bench at each home count in ``counts``, in one throwaway database for every point:
    the homes of a smaller N are the first of a larger."""
    import asyncio

    from lab.harness import bench_services, throwaway_database

    async def points() -> dict[str, Any]:
        async with (
            bench_services(settings, "eldercare-scaling-") as services,
            throwaway_database(services.database_url) as database_url,
        ):
            fixed = settings.model_copy(update={"mqtt_url": services.mqtt_url, "database_url": services.database_url})
            rows: list[dict[str, Any]] = []
            runs: list[dict[str, Any]] = []
            bare = None
            pressed = 0
            for index, n in enumerate(sorted(counts)):
                progress(f"bench scaling: {n} homes, {duration_s:g} s …")
                figures = await run_load(
                    fixed,
                    n,
                    duration_s,
                    mix=mix,
                    bare_messages=100_000 if index == 0 else 0,
                    warmup_s=10.0,
                    database_url=database_url,
                    press_from=pressed,  # a home pressed at an earlier point would coalesce into its open alert
                )
                pressed += figures["alarm"]["presses"]
                runs.append(figures)
                rows.append(row_of(figures))
                if index == 0:
                    bare = figures["bare_broker"].get("msg_per_s")
                rows[-1]["bare_broker_msg_per_s"] = bare
                progress(f"  → {json.dumps(rows[-1])}")
            best = largest_holding(rows)
            files = write_outputs(rows, out, best)
            figures = {"benchmark": "scaling", "rows": rows, "largest_n_p99_under_1s": best, "files": files}
            table: list[tuple[str, Any]] = [(f"{r['homes']} homes", _summary(r)) for r in rows]
            table.append(("largest N, p99 < 1 s", best))
            table.append(("written", ", ".join(files.values())))
            emit("eldercare bench scaling", table, figures, json_output)
            return figures

    return asyncio.run(points())


def _summary(r: dict[str, Any]) -> str:
    return (
        f"offered {r['offered_msg_per_s']} / processed {r['processed_msg_per_s']} msg/s, "
        f"p99 {r['alarm_p99_ms']} ms ({r['alarm_on_console']}/{r['alarm_presses']}), "
        f"platform CPU {r['platform_cpu_pct']} %"
    )
