"""Augmented copies of IMU recordings: other rates, phones, lossy links, softer falls.

Each transform takes ``(t_s, acc_g, rng)`` and returns a new ``(t_s, acc_g)``; all but the softening
rotate the device at random (a detector must not assume any orientation). ``python -m
lab.falls.replay DIR --augment`` scores them (:data:`AUGMENTATIONS`); :func:`soften_random` makes the
fold models' training copies.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

Signal = tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]]
Transform = Callable[[npt.NDArray[np.float64], npt.NDArray[np.float32], np.random.Generator], Signal]


def random_rotation(rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """A uniformly random 3-D rotation matrix (QR of a Gaussian matrix, sign-fixed)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def rotate(t_s: npt.NDArray[np.float64], acc: npt.NDArray[np.float32], rng: np.random.Generator) -> Signal:
    return t_s, (acc.astype(np.float64) @ random_rotation(rng).T).astype(np.float32)


def _box_resample(
    t_s: npt.NDArray[np.float64], acc: npt.NDArray[np.float32], new_t: npt.NDArray[np.float64], width_s: float
) -> npt.NDArray[np.float32]:
    """Mean of the samples in ``[τ − width, τ)`` for each new time ``τ`` (a sensor's low-pass)."""
    csum = np.vstack([np.zeros((1, 3)), np.cumsum(acc.astype(np.float64), axis=0)])
    hi = np.searchsorted(t_s, new_t, side="right")
    lo = np.minimum(np.searchsorted(t_s, new_t - width_s, side="right"), hi - 1)
    lo = np.maximum(lo, 0)
    n = np.maximum(hi - lo, 1)[:, None]
    return ((csum[hi] - csum[lo]) / n).astype(np.float32)


def to_20hz(t_s: npt.NDArray[np.float64], acc: npt.NDArray[np.float32], rng: np.random.Generator) -> Signal:
    """A 20 Hz sensor with a 50 ms box low-pass, randomly rotated."""
    new_t = np.arange(t_s[0] + 0.05, t_s[-1], 0.05)
    return rotate(new_t, _box_resample(t_s, acc, new_t, 0.05), rng)


def to_phone_87hz(t_s: npt.NDArray[np.float64], acc: npt.NDArray[np.float32], rng: np.random.Generator) -> Signal:
    """Irregular ~87 Hz (intervals 11.5 ms ± 40 %), axes saturating at ±2 g, randomly rotated."""
    steps = rng.uniform(0.6, 1.4, size=int((t_s[-1] - t_s[0]) * 87) + 10) / 87.0
    new_t = t_s[0] + 0.012 + np.cumsum(steps)
    new_t = new_t[new_t < t_s[-1]]
    t2, a2 = rotate(new_t, _box_resample(t_s, acc, new_t, 0.0115), rng)
    return t2, np.clip(a2, -2.0, 2.0)


def lossy(t_s: npt.NDArray[np.float64], acc: npt.NDArray[np.float32], rng: np.random.Generator) -> Signal:
    """A radio link that loses data: about one gap per 4 s of 0.1–1.5 s (a lost message), never the
    impact itself (a detector cannot see an impact it never received), randomly rotated."""
    keep = np.ones(t_s.shape[0], dtype=bool)
    peak_t = t_s[int(np.argmax(np.linalg.norm(acc, axis=1)))]
    start = t_s[0] + rng.exponential(4.0)
    while start < t_s[-1]:
        end = start + rng.uniform(0.1, 1.5)
        if not start - 0.3 <= peak_t <= end + 0.3:
            keep &= (t_s < start) | (t_s >= end)
        start = end + rng.exponential(4.0)
    return rotate(t_s[keep], acc[keep], rng)


def clip_2g(t_s: npt.NDArray[np.float64], acc: npt.NDArray[np.float32], rng: np.random.Generator) -> Signal:
    t2, a2 = rotate(t_s, acc, rng)
    return t2, np.clip(a2, -2.0, 2.0)


def soften(
    t_s: npt.NDArray[np.float64],
    acc: npt.NDArray[np.float32],
    rng: np.random.Generator,
    impact: float = 0.5,
    posture: float = 0.6,
) -> Signal:
    """Softer falls: dynamics (acc − 0.5 s moving mean) scaled by ``impact``; after the largest
    ``|a|`` sample, the orientation is turned back so the posture change shrinks to ``posture``
    times its size (ramped in over 1 s); randomly rotated."""
    a = acc.astype(np.float64)
    rate = max(1.0, (len(t_s) - 1) / max(t_s[-1] - t_s[0], 1e-9))
    w = max(1, round(0.5 * rate))
    kernel = np.ones(w) / w
    low = np.column_stack(
        [np.convolve(np.pad(a[:, c], (w // 2, w - 1 - w // 2), mode="edge"), kernel, "valid") for c in range(3)]
    )
    a = low + impact * (a - low)
    peak = int(np.argmax(np.linalg.norm(acc, axis=1)))
    before = a[max(0, peak - int(3 * rate)) : max(1, peak - int(1 * rate))].mean(axis=0)
    after = a[min(len(a) - 1, peak + int(2 * rate)) :].mean(axis=0)
    axis = np.cross(after, before)
    norm = np.linalg.norm(axis)
    if norm > 1e-9:
        axis /= norm
        theta = np.arccos(np.clip(before @ after / (np.linalg.norm(before) * np.linalg.norm(after)), -1, 1))
        ramp = np.clip((t_s - t_s[peak]) / 1.0, 0.0, 1.0) * (1.0 - posture) * theta
        cos, sin = np.cos(ramp)[:, None], np.sin(ramp)[:, None]
        kx = np.cross(axis[None, :], a)
        a = a * cos + kx * sin + axis[None, :] * (a @ axis)[:, None] * (1 - cos)
    return rotate(t_s, a.astype(np.float32), rng)


def soften_mild(t_s: npt.NDArray[np.float64], acc: npt.NDArray[np.float32], rng: np.random.Generator) -> Signal:
    """:func:`soften` with impact ×0.7 and posture change ×0.8."""
    return soften(t_s, acc, rng, impact=0.7, posture=0.8)


def soften_random(t_s: npt.NDArray[np.float64], acc: npt.NDArray[np.float32], rng: np.random.Generator) -> Signal:
    """Training copies: :func:`soften` with impact ×U(0.4, 1) and posture change ×U(0.5, 1), then
    as recorded, at 20 Hz or as the irregular ~87 Hz ±2 g phone (one in three each)."""
    t_s, acc = soften(t_s, acc, rng, impact=rng.uniform(0.4, 1.0), posture=rng.uniform(0.5, 1.0))
    kind = rng.integers(3)
    if kind == 1:
        return to_20hz(t_s, acc, rng)
    if kind == 2:
        return to_phone_87hz(t_s, acc, rng)
    return t_s, acc


AUGMENTATIONS: dict[str, Transform] = {
    "rotated": rotate,
    "20hz": to_20hz,
    "phone_87hz_2g": to_phone_87hz,
    "clipped_2g": clip_2g,
    "lossy": lossy,
    "softened": soften,
    "softened_mild": soften_mild,
}
