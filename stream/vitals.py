"""Vital signs: per-resident limits with persistence, and slow trends against the own baseline.

Readings come on the ``vitals`` stream as any subset of ``hr`` (bpm), ``spo2`` (%), ``sbp``/``dbp``
(mmHg) and ``temp`` (°C). The math is in :mod:`stream.kernels.vitals`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from devices.events import Event, Stream
from stream.detections import Detection, DetectionKind
from stream.kernels import vitals as k
from stream.slots import SlotMap

UNITS = {"hr": "bpm", "spo2": "%", "sbp": "mmHg", "dbp": "mmHg", "temp": "°C"}


@dataclass(frozen=True, slots=True)
class SignalRule:
    """Limits and rules of one signal (its units: bpm, %, mmHg, °C; durations in seconds).

    ``lo``/``hi``: clinical limits (alert outside, once ``sustain_s`` and ``min_readings`` are met;
    readings more than ``max_gap_s`` apart start a new run). ``valid_lo``/``valid_hi``: readings
    outside are artefacts. Trend: fast (``fast_tau_s``) minus slow (``slow_tau_s``) EWMA rising by
    ``trend_delta`` once the baseline is ``min_base_s`` old (``trend_delta`` 0 disables).
    """

    lo: float
    hi: float
    sustain_s: float = 60.0
    min_readings: int = 2
    max_gap_s: float = 600.0
    valid_lo: float = 0.0
    valid_hi: float = 1e9
    trend_delta: float = 0.0
    fast_tau_s: float = 6 * 3600.0
    slow_tau_s: float = 7 * 86400.0
    min_base_s: float = 2 * 86400.0

    def __post_init__(self) -> None:
        if not self.lo < self.hi or self.valid_lo >= self.valid_hi:
            raise ValueError("need lo < hi and valid_lo < valid_hi")
        if self.sustain_s < 0 or self.min_readings < 1 or self.max_gap_s <= 0:
            raise ValueError("sustain_s >= 0, min_readings >= 1, max_gap_s > 0")
        if self.fast_tau_s <= 0 or self.slow_tau_s <= self.fast_tau_s:
            raise ValueError("need 0 < fast_tau_s < slow_tau_s")


def _default_rules() -> dict[str, SignalRule]:
    return {
        "hr": SignalRule(40.0, 130.0, valid_lo=20.0, valid_hi=250.0, trend_delta=10.0),
        "spo2": SignalRule(90.0, 101.0, valid_lo=50.0, valid_hi=100.0),
        "sbp": SignalRule(90.0, 180.0, sustain_s=0.0, valid_lo=40.0, valid_hi=300.0, max_gap_s=1800.0),
        "dbp": SignalRule(40.0, 110.0, sustain_s=0.0, valid_lo=20.0, valid_hi=200.0, max_gap_s=1800.0),
        "temp": SignalRule(
            35.0, 38.0, sustain_s=300.0, valid_lo=30.0, valid_hi=45.0, max_gap_s=3600.0, trend_delta=0.8
        ),
    }


@dataclass(frozen=True, slots=True)
class VitalsConfig:
    """One :class:`SignalRule` per signal; the defaults follow common clinical alarm limits (SpO2
    below 90 % for 60 s, heart rate below 40 or above 130 bpm for 60 s, blood pressure outside
    90–180 / 40–110 mmHg on two consecutive readings, temperature outside 35–38 °C for 5 min;
    trends: resting heart rate +10 bpm, temperature +0.8 °C over the 7-day baseline)."""

    rules: Mapping[str, SignalRule] = field(default_factory=_default_rules)

    def __post_init__(self) -> None:
        missing = set(k.SIGNALS) - set(self.rules)
        if missing:
            raise ValueError(f"rules missing for {sorted(missing)}")

    def params(self) -> npt.NDArray[np.float64]:
        p = np.zeros((k.N_SIGNALS, k.N_Q), dtype=np.float64)
        for s, name in enumerate(k.SIGNALS):
            rule = self.rules[name]
            p[s, k.Q_SUSTAIN_S] = rule.sustain_s
            p[s, k.Q_MIN_READINGS] = rule.min_readings
            p[s, k.Q_MAX_GAP_S] = rule.max_gap_s
            p[s, k.Q_VALID_LO] = rule.valid_lo
            p[s, k.Q_VALID_HI] = rule.valid_hi
            p[s, k.Q_TREND_DELTA] = rule.trend_delta
            p[s, k.Q_FAST_TAU_S] = rule.fast_tau_s
            p[s, k.Q_SLOW_TAU_S] = rule.slow_tau_s
            p[s, k.Q_MIN_BASE_S] = rule.min_base_s
        return p

    def limits(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        lo = np.array([self.rules[s].lo for s in k.SIGNALS], dtype=np.float64)
        hi = np.array([self.rules[s].hi for s in k.SIGNALS], dtype=np.float64)
        return lo, hi


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


class VitalsDetector:
    """VITALS detections: a limit crossed persistently, or a sustained rise over the own baseline."""

    name = "vitals"

    def __init__(self, config: VitalsConfig | None = None) -> None:
        self.config = config or VitalsConfig()
        self.params = self.config.params()
        self.lo, self.hi = self.config.limits()
        self.residents = SlotMap(64)
        self.vi, self.vf = k.new_state(self.residents.capacity, self.lo, self.hi)

    def _ensure(self) -> None:
        cap = self.residents.capacity
        old = self.vi.shape[0]
        if old < cap:
            vi, vf = k.new_state(cap, self.lo, self.hi)
            vi[:old] = self.vi
            vf[:old] = self.vf
            self.vi, self.vf = vi, vf

    def set_limits(self, resident_id: str, signal: str, lo: float, hi: float) -> None:
        """Personal limits of one resident (units of the signal, see ``UNITS``)."""
        if signal not in k.SIGNALS or not lo < hi:
            raise ValueError(f"unknown signal {signal!r} or lo >= hi")
        slot, _ = self.residents.slot(resident_id)
        self._ensure()
        s = k.SIGNALS.index(signal)
        self.vf[slot, s, k.F_LO] = lo
        self.vf[slot, s, k.F_HI] = hi

    def process(self, events: Sequence[Event], now_ms: int) -> list[Detection]:
        readings = [
            (e, s, value)
            for e in events
            if e.stream is Stream.VITALS
            for s, name in enumerate(k.SIGNALS)
            if name in e.values and (value := _number(e.values[name])) is not None
        ]
        if not readings:
            return []
        res = self.residents.slots(e.resident_id for e, _, _ in readings)
        self._ensure()
        n_in = len(readings)
        ts = np.fromiter((e.ts_ms for e, _, _ in readings), dtype=np.int64, count=n_in)
        sig = np.fromiter((s for _, s, _ in readings), dtype=np.int64, count=n_in)
        values = np.fromiter((v for _, _, v in readings), dtype=np.float64, count=n_in)
        out_i = np.zeros((2 * n_in, 3), dtype=np.int64)
        out_f = np.zeros((2 * n_in, 3), dtype=np.float64)
        n = k.vitals_process(self.vi, self.vf, res, ts, sig, values, self.params, out_i, out_f)
        out: list[Detection] = []
        for (i, rule, start), (v, threshold, extent) in zip(out_i[:n].tolist(), out_f[:n].tolist(), strict=True):
            event, s, _ = readings[i]
            signal = k.SIGNALS[s]
            unit = UNITS[signal]
            if rule == k.R_TREND:
                label = "trend"
                details = {
                    "signal": signal,
                    "rule": "trend",
                    "recent": round(v, 2),
                    "baseline": round(threshold, 2),
                    "rise": round(extent, 2),
                    "threshold": self.config.rules[signal].trend_delta,
                    "unit": unit,
                    "reason": f"{signal} risen over the resident's own baseline",
                }
            else:
                label = "low" if rule == k.R_LOW else "high"
                details = {
                    "signal": signal,
                    "rule": label,
                    "value": v,
                    "threshold": threshold,
                    "unit": unit,
                    "sustained_s": extent,
                    "reason": f"{signal} {'below' if label == 'low' else 'above'} the limit, sustained",
                }
            out.append(
                Detection(
                    event.resident_id,
                    event.device_id,
                    DetectionKind.VITALS,
                    int(start),
                    now_ms,
                    f"vitals:{event.resident_id}:{signal}:{label}:{int(start)}",
                    details=details,
                )
            )
        return out

    def advance(self, now_ms: int) -> list[Detection]:
        return []

    def snapshot(self) -> dict[str, np.ndarray]:
        n = len(self.residents._id_of)
        return {"residents": self.residents.to_array(), "vi": self.vi[:n].copy(), "vf": self.vf[:n].copy()}

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        residents = SlotMap.from_snapshot(state, "residents")
        if residents is None:
            return
        self.residents = residents
        n = len(residents._id_of)
        self.vi, self.vf = k.new_state(residents.capacity, self.lo, self.hi)
        self.vi[:n] = np.asarray(state["vi"], dtype=np.int64)
        self.vf[:n] = np.asarray(state["vf"], dtype=np.float64)
