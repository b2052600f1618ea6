"""``eldercare bench stream``: the stream kernels' throughput on one core, beside their plain
NumPy/Python reference twins measured in the same run, and the one-off JIT cost.

JIT cost is measured in two fresh interpreters sharing an empty Numba cache directory: the first
compiles every kernel (``stream.core.warm_up``), the second loads them from the cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Any

from lab.report import emit, progress

_WARM = (
    "import json, time; t = time.perf_counter(); from stream.core import warm_up; warm_up(); "
    "print(json.dumps({'seconds': time.perf_counter() - t}))"
)


def _jit_start(cache_dir: str) -> float:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    out = subprocess.run([sys.executable, "-c", _WARM], env=env, capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def measure(seconds: float = 2.0) -> dict[str, Any]:
    from lab.falls.bench import measure_falls
    from lab.homes.bench import measure_home

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, stated not assumed
    progress("bench stream: fall kernel vs NumPy reference (64 wearables, 100 Hz, 1 s messages) …")
    falls = measure_falls(seconds=seconds)
    progress("bench stream: home kernels vs reference (50 homes, 14 days) …")
    home = measure_home(seconds=seconds)
    progress("bench stream: JIT cost, cold cache then warm cache (two fresh interpreters) …")
    with tempfile.TemporaryDirectory(prefix="eldercare-numba-") as cache_dir:
        cold = _jit_start(cache_dir)
        warm = _jit_start(cache_dir)
    return {
        "benchmark": "stream",
        "cores": 1,
        "falls": {
            "kernel_samples_per_s": round(falls["kernel_samples_per_s"]),
            "reference_samples_per_s": round(falls["reference_samples_per_s"]),
            "speedup": round(falls["speedup"], 1),
            "samples": falls["samples"],
            "target_samples_per_s": 100e6,
            "target_speedup": 20,
        },
        "home": {
            "kernel_events_per_s": round(home["kernel_events_per_s"]),
            "reference_events_per_s": round(home["reference_events_per_s"]),
            "speedup": round(home["ratio"], 1),
            "events": int(home["events"]),
        },
        "jit": {"first_start_compile_s": round(cold, 2), "second_start_cached_s": round(warm, 2)},
    }


def run(json_output: bool, seconds: float = 2.0) -> dict[str, Any]:
    figures = measure(seconds)
    f, h, j = figures["falls"], figures["home"], figures["jit"]
    rows = [
        ("fall kernel (samples/s, 1 core)", f"{f['kernel_samples_per_s']:,.0f}  (target ≥ 100,000,000)"),
        ("fall NumPy reference (samples/s)", f"{f['reference_samples_per_s']:,.0f}"),
        ("fall speedup (target ≥ 20×)", f"{f['speedup']}×"),
        ("home kernels (events/s, 1 core)", f"{h['kernel_events_per_s']:,.0f}"),
        ("home reference (events/s)", f"{h['reference_events_per_s']:,.0f}"),
        ("home speedup", f"{h['speedup']}×"),
        ("JIT: first start (compile)", f"{j['first_start_compile_s']} s"),
        ("JIT: second start (cache)", f"{j['second_start_cached_s']} s"),
    ]
    emit("eldercare bench stream", rows, figures, json_output)
    return figures
