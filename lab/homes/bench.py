"""Home-activity kernel benchmark: :func:`measure_home` reports the kernels' throughput and their
plain-Python reference twin's (:mod:`lab.homes.reference`) on one core in the same run, over seeded
synthetic homes (:func:`synthetic_homes`); :func:`run_kernel` and :func:`run_reference` are the two
runs the tests compare.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from lab.homes.reference import ReferenceHome, Row
from stream.home import HomeConfig
from stream.kernels import home as k

__all__ = ["ReferenceHome", "Row", "Synthetic", "measure_home", "run_kernel", "run_reference", "synthetic_homes"]


@dataclass(frozen=True, slots=True)
class Synthetic:
    """Flat home-event arrays (kernel input), sorted by time."""

    res: npt.NDArray[np.int64]
    ts: npt.NDArray[np.int64]
    code: npt.NDArray[np.int64]
    value: npt.NDArray[np.int64]
    room: npt.NDArray[np.int64]
    pir: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.res.shape[0])


def synthetic_homes(
    n_residents: int, days: int, seed: int, events_per_day: int = 120, start_ms: int = 1_700_006_400_000
) -> Synthetic:
    """Seeded daily routines: wake ~07:30, bed ~22:30 (bed pad), daytime events in bursts with pauses,
    the odd outing (entrance door), bathroom motion; ``start_ms`` is a UTC midnight."""
    rng = np.random.default_rng(seed)
    parts: list[npt.NDArray[np.int64]] = []
    for r in range(n_residents):
        for d in range(days):
            day0 = start_ms + d * 86_400_000
            wake = day0 + int((7.5 + rng.normal(0, 0.5)) * 3_600_000)
            sleep = day0 + int((22.5 + rng.normal(0, 0.5)) * 3_600_000)
            n = max(2, int(rng.poisson(events_per_day)))
            bursts = np.sort(rng.uniform(wake, sleep, size=max(1, n // 8)))
            times = np.sort(
                (np.repeat(bursts, 8)[:n] + rng.exponential(60_000, size=min(n, bursts.size * 8))).astype(np.int64)
            )
            code = rng.choice(
                [k.EV_ACTIVITY, k.EV_ACTIVITY, k.EV_ACTIVITY, k.EV_SEAT, k.EV_DOOR],
                size=times.size,
                p=[0.5, 0.2, 0.2, 0.07, 0.03],
            )
            value = rng.integers(0, 2, size=times.size)
            room = rng.choice([k.ROOM_OTHER, k.ROOM_BATH, k.ROOM_BED], size=times.size, p=[0.7, 0.2, 0.1])
            pir = rng.integers(0, 2, size=times.size)
            rows = np.stack([np.full(times.size, r), times, code, value, room, pir], axis=1)
            bed = np.array([[r, wake, k.EV_BED, 0, k.ROOM_BED, 0], [r, sleep, k.EV_BED, 1, k.ROOM_BED, 0]])
            parts.append(np.concatenate([rows, bed]).astype(np.int64))
    allrows = np.concatenate(parts)
    allrows = allrows[np.argsort(allrows[:, 1], kind="stable")]
    cols = [np.ascontiguousarray(allrows[:, i]) for i in range(6)]
    return Synthetic(*cols)


@dataclass(frozen=True, slots=True)
class _Run:
    """One run of the home detector over ``data``, up to ``end_ms``."""

    config: HomeConfig
    data: Synthetic
    n_residents: int
    monitored: npt.NDArray[np.uint8]
    routines: dict[int, tuple[int, int]]
    end_ms: int


def _kernel_rows(run: _Run) -> list[Row]:
    config, data, n_residents, monitored = run.config, run.data, run.n_residents, run.monitored
    si = k.new_state(n_residents, 0)
    for r, (wake_min, bed_min) in run.routines.items():
        si[r, k.S_ENROLL_WAKE], si[r, k.S_ENROLL_BED] = wake_min, bed_min
    hist = k.new_hist(n_residents, config.hist_bins)
    wake = k.new_rings(n_residents, config.wake_buffer)
    params = config.params()
    out_i = np.zeros((k.OUT_ROWS_PER_EVENT * len(data) + 2 * n_residents, 5), dtype=np.int64)
    out_f = np.zeros_like(out_i, dtype=np.float64)[:, :2]
    n = k.home_process(
        si, hist, wake, data.res, data.ts, data.code, data.value, data.room, data.pir, monitored, params, out_i, out_f
    )
    m = k.home_advance(si, n_residents, run.end_ms, monitored, params, out_i[n:], out_f[n:])
    return [
        (a, b, c, d, e, f, int(g))
        for (a, b, c, d, e), (f, g) in zip(out_i[: n + m].tolist(), out_f[: n + m].tolist(), strict=True)
    ]


def _reference_rows(run: _Run) -> list[Row]:
    ref = ReferenceHome(run.config, run.n_residents)
    for r, (wake_min, bed_min) in run.routines.items():
        ref.residents[r].enroll_wake, ref.residents[r].enroll_bed = wake_min, bed_min
    data = run.data
    out = ref.process(data.res, data.ts, data.code, data.value, data.room, data.pir, run.monitored)
    return out + ref.advance(run.end_ms, run.monitored)


class HomeRun(Protocol):
    """:func:`run_kernel` and :func:`run_reference`: same arguments, rows to compare."""

    def __call__(
        self,
        config: HomeConfig,
        data: Synthetic,
        n_residents: int,
        monitored: npt.NDArray[np.uint8] | None = None,
        routines: dict[int, tuple[int, int]] | None = None,
    ) -> list[Row]: ...


def _runner(engine: Callable[[_Run], list[Row]]) -> HomeRun:
    def run(
        config: HomeConfig,
        data: Synthetic,
        n_residents: int,
        monitored: npt.NDArray[np.uint8] | None = None,
        routines: dict[int, tuple[int, int]] | None = None,
    ) -> list[Row]:
        mon = np.ones(n_residents, dtype=np.uint8) if monitored is None else monitored
        end_ms = int(data.ts[-1]) + 86_400_000 if len(data) else 0
        return engine(_Run(config, data, n_residents, mon, routines or {}, end_ms))

    return run


run_kernel = _runner(_kernel_rows)
"""``run_kernel(config, data, n_residents, monitored=None, routines=None)``: the kernels over ``data``
in one batch, then ``home_advance`` one day after the last event; ``routines``: slot → (usual wake-up,
bed time) from the archive, minutes after local midnight; every resident monitored by default."""
run_reference = _runner(_reference_rows)
"""The same run through :class:`~lab.homes.reference.ReferenceHome`."""


def _rate(fn: Callable[[], object], n_events: int, seconds: float) -> float:
    runs = 0
    started = time.perf_counter()
    while True:
        fn()
        runs += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return runs * n_events / elapsed


def measure_home(seconds: float = 2.0, n_residents: int = 50, days: int = 14, seed: int = 7) -> dict[str, float]:
    """Events per second of the home kernels (one core, after compilation) and of the reference twin.

    Each side spends about ``seconds / 2`` on repeated full runs (fresh state each run) over the same
    seeded synthetic homes; ``ratio`` = kernel / reference. ``jit_s``: first call (compile or cache load).
    """
    config = HomeConfig()
    data = synthetic_homes(n_residents, days, seed)
    started = time.perf_counter()
    run_kernel(config, data, n_residents)
    jit_s = time.perf_counter() - started
    kernel = _rate(lambda: run_kernel(config, data, n_residents), len(data), seconds / 2)
    reference = _rate(lambda: run_reference(config, data, n_residents), len(data), seconds / 2)
    return {
        "events": float(len(data)),
        "kernel_events_per_s": kernel,
        "reference_events_per_s": reference,
        "ratio": kernel / reference,
        "jit_s": jit_s,
    }


if __name__ == "__main__":  # pragma: no cover
    print(measure_home())
