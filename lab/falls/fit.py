"""Fitting the fall detector's score: the NumPy twin of the kernel's ``φ`` and a logistic regression.

Lab code: the live detector (:mod:`stream.falls`) only reads the fitted ``SHIPPED_WEIGHTS``;
``python -m lab.falls.replay --fit DIR`` refits them with :func:`fit_weights`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from stream.kernels import falls as K

_BASE = ("log_impact", "posture_90", "log_post_std", "log_descent", "log_peak", "log_pre_std")
PHI_NAMES = (
    "log_impact",
    "posture_90",
    "log_post_std",
    "log_pre_std",
    "log_post_activity",
    "free_fall",
    "log_descent",
    "log_impact_over_pre",
    "log_peak",
    *(f"{a}*{b}" for k, a in enumerate(_BASE) for b in _BASE[k:]),
    "pre_dynamic",
)

FALL_WEIGHT = 0.5
"""Weight of a fall candidate against an activity candidate in :func:`fit_weights`: training sees
each fall recording three times (as recorded and two softened copies), so a fall counts half."""


def phi_features(features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``φ`` of the kernel's score for rows of raw features (NumPy twin of ``kernels.falls.phi``)."""
    f = np.atleast_2d(np.asarray(features, dtype=np.float64))
    log_imp = np.log(f[:, K.F_IMPACT] + 0.01)
    posture = f[:, K.F_POSTURE] / 90.0
    log_post = np.log(f[:, K.F_POST_STD] + 0.005)
    log_pre = np.log(f[:, K.F_PRE_STD] + 0.01)
    log_desc = np.log(f[:, K.F_DESCENT] + 0.1)
    log_peak = np.log(f[:, K.F_PEAK] + 0.01)
    base = (log_imp, posture, log_post, log_desc, log_peak, log_pre)
    return np.column_stack(
        [
            log_imp,
            posture,
            log_post,
            log_pre,
            np.log(f[:, K.F_POST_ACT] + 0.01),
            f[:, K.F_FREEFALL],
            log_desc,
            log_imp - np.log(f[:, K.F_PRE_STD] + 0.05),
            log_peak,
            *(base[a] * base[b] for a in range(K.N_BASE) for b in range(a, K.N_BASE)),
            f[:, K.F_PRE_DYN],
        ]
    )


def fit_weights(
    features: npt.NDArray[np.float64],
    labels: npt.NDArray[np.bool_],
    l2: float = 0.01,
    fall_weight: float = FALL_WEIGHT,
    prior: Sequence[float] | None = None,
    term_l2: Mapping[str, float | None] | None = None,
) -> tuple[float, ...]:
    """L2-regularised logistic regression (Newton / IRLS with step halving) of ``labels`` on
    ``φ(features)``.

    Returns bias then weights, the ``FallParams.weights`` layout. Every activity candidate counts
    once and every fall ``fall_weight``: activity candidates outnumber falls, which keeps false
    alarms rare. The penalty is ``l2/2 · |w − prior|²`` over the weights (the bias gets
    ``l2 · 1e-4``): with ``prior`` unset it shrinks towards 0; with the shipped waist model as
    ``prior`` a placement model (:data:`stream.falls.PLACEMENTS`) learns only how a wrist or a
    pocket differs from the waist, which is what a few people's recordings can teach. ``l2 = 0.01``
    (no prior) is light: some 25 000 candidates fit 31 weights (the pre dynamics held at 0), and
    the quadratic terms need room to bend the boundary towards soft falls (subject-wise CV on
    softened copies: ×0.5 impact, ×0.6 posture sensitivity 93.7 % at ``l2 = 1``, 96.9 % at ``0.01``, same specificity).

    ``term_l2`` overrides the penalty of the named terms (:data:`PHI_NAMES`): a number is that
    term's own ``l2``; ``None`` holds the term at its prior (0 without one) and leaves it out of
    the fit (a model that does not use it).
    """
    x = np.column_stack([np.ones(len(features)), phi_features(features)])
    y = np.asarray(labels, dtype=np.float64)
    sw = np.where(y > 0, fall_weight, 1.0)
    centre = np.zeros(x.shape[1]) if prior is None else np.asarray(prior, dtype=np.float64)
    if centre.shape != (x.shape[1],):
        raise ValueError(f"prior needs {x.shape[1]} values, got {centre.shape}")
    reg = l2 * np.r_[1e-4 if prior is not None else 0.0, np.ones(x.shape[1] - 1)]
    free = np.ones(x.shape[1], dtype=bool)
    for name, value in (term_l2 or {}).items():
        q = 1 + PHI_NAMES.index(name)
        if value is None:
            free[q] = False
        else:
            reg[q] = value
    offset = x[:, ~free] @ centre[~free]
    x, centre_f, reg = x[:, free], centre[free], reg[free]

    def loss(w: npt.NDArray[np.float64]) -> float:
        z = x @ w + offset
        nll = np.sum(sw * (np.logaddexp(0.0, z) - y * z))
        return float(nll + 0.5 * np.sum(reg * (w - centre_f) ** 2))

    w = centre_f.copy()
    current = loss(w)
    for _ in range(200):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w + offset, -50, 50)))
        grad = x.T @ (sw * (p - y)) + reg * (w - centre_f)
        hess = (x * (sw * p * (1 - p))[:, None]).T @ x + np.diag(reg) + 1e-9 * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-6 and loss(w - scale * step) > current:
            scale *= 0.5
        w = w - scale * step
        current = loss(w)
        if np.max(np.abs(scale * step)) < 1e-8:
            break
    full = centre.copy()
    full[free] = w
    return tuple(float(v) for v in full)
