"""Pressure pads that hold "occupied" after the resident left them: the PAD_STUCK device notice.

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

from stream.detections import Detection, DetectionKind
from stream.kernels import home as k

LATE_PAD_COLUMNS = (("bed", k.S_BED_LATE, k.S_BED_TOLD), ("seat", k.S_SEAT_LATE, k.S_SEAT_TOLD))
"""Per pad: the kernel's faded count of its late letting go, and whether PAD_STUCK has told it."""


def stuck_pads(
    si: np.ndarray,
    n_residents: int,
    resident_of: Callable[[int], str | None],
    devices: Mapping[tuple[str, str], str],
    need: float,
    now_ms: int,
) -> list[Detection]:
    """PAD_STUCK for each pad of the first ``n_residents`` rows of the kernel state ``si`` whose count
    reached ``need`` (0: off) and that has not been told; ``devices``: (resident, ``bed`` / ``seat``) →
    the pad's device id, as last seen. Marks the pads told, and the mended ones untold."""
    if need <= 0:
        return []
    found: list[Detection] = []
    for pad, late_col, told_col in LATE_PAD_COLUMNS:
        late = si[:n_residents, late_col] / k.EXPO_SCALE
        si[np.flatnonzero(late < need / 2), told_col] = 0  # mended: told again if it recurs
        for r in np.flatnonzero((late >= need) & (si[:n_residents, told_col] == 0)).tolist():
            si[r, told_col] = 1
            resident = resident_of(r) or ""
            times = float(round(late[r], 1))
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
