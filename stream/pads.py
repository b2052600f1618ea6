"""Pressure pads that hold "occupied" after the resident left them: which are stale now (named in an
inactivity alert's details), and the PAD_STUCK device notice.

The home kernel (:func:`stream.kernels.home._stale_released`) counts, per resident and pad, its letting
go an hour or more after the resident was seen elsewhere, faded by ``decay`` per day. A pad whose count
reaches ``pad_late_n`` (:class:`stream.home_config.HomeConfig`) is sticky, set too sensitive or has
something left on it: until it is seen to, the resident's return to it does not show. It is reported
once, naming the device, for whoever maintains the home's sensors, and again only after its count has
fallen below half (mended) and risen again. The "told" flags live in the kernel's state, so a restored
snapshot does not tell it twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt

from stream.detections import Detection, DetectionKind
from stream.kernels import home as k

PAD_COLUMNS = (("bed", k.S_BED, k.S_BED_LATE, k.S_BED_TOLD), ("seat", k.S_SEAT, k.S_SEAT_LATE, k.S_SEAT_TOLD))
"""Per pad: the kernel's state of it (``PAD_FREE`` / ``PAD_ON`` / ``PAD_STALE``), its faded count of
letting go late, and whether PAD_STUCK has told it."""


def stale_pads(si: np.ndarray, r: int) -> list[str]:
    """The pads (``bed``, ``seat``) of kernel row ``r`` that say "occupied" though the resident was seen
    elsewhere since (stale)."""
    return [pad for pad, state_col, _, _ in PAD_COLUMNS if si[r, state_col] == k.PAD_STALE]


def stuck_pads(
    si: np.ndarray,
    rows: npt.NDArray[np.int64],
    resident_of: Callable[[int], str | None],
    devices: Mapping[tuple[str, str], str],
    need: float,
    now_ms: int,
) -> list[Detection]:
    """PAD_STUCK for each pad of kernel rows ``rows`` (those whose pads reported: only a pad letting go
    raises its count) whose count reached ``need`` (0: off) and that has not been told; ``devices``:
    (resident, ``bed`` / ``seat``) → the pad's device id, as last seen. Marks the pads told, and the
    mended ones untold."""
    if need <= 0 or rows.size == 0:
        return []
    found: list[Detection] = []
    for pad, _, late_col, told_col in PAD_COLUMNS:
        late = si[rows, late_col] / k.EXPO_SCALE
        si[rows[late < need / 2], told_col] = 0  # mended: told again if it recurs
        for r in rows[(late >= need) & (si[rows, told_col] == 0)].tolist():
            si[r, told_col] = 1
            resident = resident_of(r) or ""
            times = float(round(si[r, late_col] / k.EXPO_SCALE, 1))
            details = {
                "pad": pad,
                "late_releases": times,
                "reason": (
                    f"the {pad} pad let go an hour or more after the resident was seen elsewhere, about {times:g} "
                    "times lately (faded): it holds 'occupied' after they leave it (sticky, too sensitive, "
                    "or something left on it); until it is seen to, a return to it does not show"
                ),
            }
            key = f"{DetectionKind.PAD_STUCK.value}:{resident}:{pad}:{now_ms}"
            device = devices.get((resident, pad), "")
            found.append(Detection(resident, device, DetectionKind.PAD_STUCK, now_ms, now_ms, key, details=details))
    return found
