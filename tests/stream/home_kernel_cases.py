"""What the home-kernel tests share: times, a fast-learning configuration, the kernels' state for a
few residents, and event arrays built from rows."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from lab.homes.bench import Synthetic
from lab.homes.logs import HomeLog
from lab.homes.reference import ReferenceHome
from stream.home import HomeConfig
from stream.kernels import home as k

DAY = 86_400_000
H = 3_600_000
M = 60_000
# learning switched on early, so short seeded runs exercise the learned limits too
FAST = HomeConfig(
    learn_days=1.0, min_count=2.0, active_floor_s=600.0, rest_floor_s=1800.0, seat_floor_s=600.0, wake_min_samples=2
)


@dataclass
class Kernels:
    """The kernels' state arrays for ``n`` monitored residents, fed through :meth:`process`."""

    si: np.ndarray
    hist: np.ndarray
    wake: np.ndarray
    params: np.ndarray
    mon: np.ndarray

    @classmethod
    def new(cls, config: HomeConfig, n: int = 1) -> Kernels:
        return cls(
            k.new_state(n, 0),
            k.new_hist(n, config.hist_bins),
            k.new_rings(n, config.wake_buffer),
            config.params(),
            np.ones(n, dtype=np.uint8),
        )

    def process(self, data: Synthetic) -> tuple[int, np.ndarray, np.ndarray]:
        """``home_process`` over ``data``: (detections, their int columns, their float columns)."""
        out_i = np.zeros((k.OUT_ROWS_PER_EVENT * len(data) + 2, 5), dtype=np.int64)
        out_f = np.zeros((k.OUT_ROWS_PER_EVENT * len(data) + 2, 2), dtype=np.float64)
        n = k.home_process(
            self.si,
            self.hist,
            self.wake,
            data.res,
            data.ts,
            data.code,
            data.value,
            data.room,
            data.pir,
            self.mon,
            self.params,
            out_i,
            out_f,
        )
        return n, out_i, out_f

    def advance(self, now_ms: int) -> tuple[int, np.ndarray]:
        """``home_advance`` to ``now_ms``: (detections, their int columns)."""
        out_i = np.zeros((2 * len(self.mon) + 2, 5), dtype=np.int64)
        out_f = np.zeros((2 * len(self.mon) + 2, 2), dtype=np.float64)
        return k.home_advance(self.si, len(self.mon), now_ms, self.mon, self.params, out_i, out_f), out_i


def reference_after(config: HomeConfig, data: Synthetic) -> ReferenceHome:
    """The reference twin of one monitored home after ``data``."""
    ref = ReferenceHome(config, 1)
    ref.process(data.res, data.ts, data.code, data.value, data.room, data.pir, np.ones(1, dtype=np.uint8))
    return ref


def take(data: Synthetic, index: slice | np.ndarray) -> Synthetic:
    """The events ``index`` selects (a slice, a mask or an order), as contiguous kernel input."""
    return Synthetic(*(np.ascontiguousarray(getattr(data, f.name)[index]) for f in dataclasses.fields(data)))


def events(rows: list[tuple[int, int, int, int]]) -> Synthetic:
    """``(t, code, value, room)`` rows of resident 0 as kernel input (motion sensors)."""
    rows = sorted(rows)
    col = [np.array([r[i] for r in rows], dtype=np.int64) for i in range(4)]
    return Synthetic(
        np.zeros(len(rows), dtype=np.int64), col[0], col[1], col[2], col[3], np.ones(len(rows), dtype=np.int64)
    )


def pir_rows(rows: list[tuple[int, int, int, int, int]]) -> Synthetic:
    """``(t, code, value, room, pir)`` rows of resident 0, in the order given, as kernel input."""
    arr = np.array(rows, dtype=np.int64)
    return Synthetic(np.zeros(len(rows), dtype=np.int64), *(np.ascontiguousarray(arr[:, i]) for i in range(5)))


def kernel_input(log: HomeLog) -> Synthetic:
    """A home event log as the kernels see it (one resident, UTC)."""
    from stream.home import HomeActivityDetector

    a = HomeActivityDetector(HomeConfig(), utc_offset_min=0).arrays(log.events())
    return Synthetic(np.zeros_like(a.res), a.ts, a.code, a.value, a.room, a.pir)


def synthetic_log(seed: int, days: int) -> Synthetic:
    """One home of :mod:`lab.homes.synthetic` as the kernels see it."""
    from lab.homes.synthetic import synthetic_home

    return kernel_input(synthetic_home("x", days, seed)[0])
