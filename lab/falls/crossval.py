"""Every recording scored by a model that never saw its subject.

A recording of someone the shipped model was not trained on (``stream.falls.SHIPPED_SUBJECTS``) is
scored by the shipped model, exactly as the live platform would. For the shipped model's own
subjects, the score weights are fitted per subject-wise fold on the other such subjects of the same
placement (candidates collected by a first pass with ``emit_all``; ``folds`` folds at the waist,
leave-one-subject-out at the wrist and in the pocket, where there are few people), and each
recording is scored by the model of the fold that held its subject out (:func:`evaluate`).

The fold models (and the shipped weights, ``--fit``) train on the recordings as recorded plus
``TRAIN_COPIES`` randomly softened copies: the stand-in for elderly fallers, whose falls are softer
and end in smaller posture changes than the young volunteers'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt

from lab.falls.augment import Transform, soften_random
from lab.falls.fit import fit_weights
from lab.falls.playback import Model, RecordingResult, placement_of_source, progress, replay_recordings
from lab.falls.recordings import RecordingInfo, read_index, with_placements
from stream.falls import (
    PLACEMENTS,
    SHIPPED_SUBJECTS,
    SHIPPED_WEIGHTS,
    FallParams,
    for_placement,
    shipped_placements,
    subject_key,
)
from stream.kernels import falls as K

FoldModel = tuple[str, list[str], tuple[float, ...]]
"""A fold: the placement, the subjects it holds out, the weights fitted without them."""

PLACEMENT_FIT: dict[str, dict[str, Any]] = {
    "waist": {"l2": 0.01, "fall_weight": 0.5, "prior": None, "term_l2": {"pre_dynamic": None}},
    "wrist": {"l2": 3.0, "fall_weight": 1.0, "prior": SHIPPED_WEIGHTS, "term_l2": {"pre_dynamic": 0.1}},
    "pocket": {"l2": 3.0, "fall_weight": 1.0, "prior": SHIPPED_WEIGHTS, "term_l2": {"pre_dynamic": None}},
}
"""How each placement's weights are fitted (:func:`lab.falls.fit.fit_weights`): the waist model on
SisFall's 19 people alone; the wrist and pocket models, with a few people's recordings, as the
waist model plus what those recordings teach (penalty ``l2/2 · |w − w_waist|²``, ``l2`` and
``fall_weight`` chosen among 3/10/30/100 and 0.5/1/2 by the leave-one-subject-out figures; a fall
counts as much as an activity: six people's falls are too few to halve). The pre dynamics term
(:data:`lab.falls.fit.PHI_NAMES`' last) is the wrist's alone, with its own light penalty (0.1; the
waist model has no such term, so its prior is 0 and 3 would keep it there): the time a wrist spends
swung, clapped or bounced before an impact is what tells clapping, hopping and jogging from a fall.
The waist and the pocket models hold it at 0 (left out of their fit)."""


def fit_placement(
    placement: str, features: npt.NDArray[np.float64], labels: npt.NDArray[np.bool_]
) -> tuple[float, ...]:
    """Weights of ``placement``'s model from candidate features (:data:`PLACEMENT_FIT`)."""
    return fit_weights(features, labels, **PLACEMENT_FIT[placement])


def trained_on(info: RecordingInfo) -> bool:
    """Whether the shipped model was trained on recordings of this recording's subject."""
    return subject_key(info.source, info.subject) in SHIPPED_SUBJECTS


def subject_folds(rows: Sequence[RecordingInfo], folds: int, seed: int = 0) -> list[list[str]]:
    """Subjects split into ``folds`` groups (seeded shuffle, round robin)."""
    subjects = sorted({r.subject for r in rows})
    order = np.random.default_rng(seed).permutation(len(subjects))
    return [[subjects[j] for j in order[k::folds]] for k in range(folds)]


FALL_POSITIVE: dict[str, str] = {"waist": "settled", "wrist": "settled", "pocket": "hardest"}
"""Which candidate of a fall recording :func:`training_set` labels the fall, per placement (the
recordings carry no fall times): ``settled``, the one that looks most like a fall by the untrained
heuristic ``posture/90° − log post-std + log impact`` (turned, still after, hit hard);
``hardest``, the hardest hit (largest peak ``|a|``; the first of equal ones).

A fall often raises a second candidate 0.5–2 s after its impact: the body or the phone settling.
The heuristic may pick that rebound (its stillness after is larger), whose pre-impact window holds
the fall itself, so the fit learns that motion and turning just before an impact look like a fall,
which is what a phone taken out of a pocket for a call does. In a trouser pocket the landing of the
body is the hardest hit, and picking it as the fall (56 of the pocket's 234 training fall recordings,
as recorded and softened, change candidate; the rebound is then left out, not made a negative: it
is part of the same fall, which the live detector reports once) improved every held-out figure of
the pocket (UMAFall U01–U08 leave-one-subject-out, sensitivity / specificity; augmented copies the
mean of seeds 1–3): as recorded 97.4 / 99.0 → 97.4 / 99.5 %, 20 Hz 96.2 / 98.4 → 96.2 / 99.5,
~87 Hz ±2 g 96.2 / 98.3 → 96.2 / 99.7, rotated 97.4 / 99.0 → 97.4 / 99.5, lossy 97.4 / 97.7 → 97.4 /
98.8, softened 89.7 / 97.4 → 92.3 / 97.9, softened mildly 96.2 / 97.4 → 97.4 / 98.4, clipped to
±2 g 95.7 / 98.8 → 96.6 / 99.7 (the call's false alarms: 2 → 1 as recorded).

A wrist's hardest hit is often the hand or the arm bracing, after which the arm moves on (where the
two differ, 93 of the wrist's 234, the settled candidate follows the hardest hit in all but one,
post std medians 0.039 against 0.087 g; in the pocket 0.008 against 0.031 g): labelled
so (or the largest impact spread, or the candidates from the hardest hit to the most settled one
sharing the weight, or the first one after which the band keeps its final orientation) the wrist
raised 4–6 more false alarms in 192 activities as recorded (specificity 97.4 → 94.3–95.3 %) and as
much on its augmented copies (refitted with ``l2`` 10 or 30, a fall weight of 0.5 or a lighter
pre dynamics penalty alike), so the wrist keeps ``settled``; so does the waist (SisFall, 5 folds by subject:
99.44 / 99.11 % with ``settled``, 99.67 / 98.81 % with ``hardest``, 99.67 / 99.19 % with the
largest impact spread: too close to change the model every other placement is regularised
towards). Sharing the weight over the pocket's candidates in the second after its hardest hit
found one more fall as recorded (98.7 %) but kept the false alarms of the call (99.0 %).

The turn of the mean acceleration between −3..−2 s and −2..−1 s before the impact (calls turn the
phone, falls hardly: medians 34° and 2°), fitted as a further term with either labels, took a
positive weight in the pocket and at the wrist (turning before an impact looked fall-like, less so
with the hardest hit: 0.8 against 1.8 per 90°, 2.5 at the wrist). In the pocket it bettered no
figure, nor did vetoing a turn above 30–90° (the call left is not turned); at the wrist it found a
fall more as recorded (97.4 %) and on some copies, one fewer on the mildly softened ones, and no
specificity moved by more than one activity: a wrist term learnt from labels that may hold the fall
before the impact, not used."""


def fall_candidate(placement: str, features: npt.NDArray[np.float64]) -> int:
    """Index of the row of ``features`` (a fall recording's candidates, in time order) that
    :func:`training_set` labels the fall, by the rule of :data:`FALL_POSITIVE`."""
    if FALL_POSITIVE[placement] == "hardest":
        return int(np.argmax(features[:, K.F_PEAK]))
    f = features
    h = f[:, K.F_POSTURE] / 90.0 - np.log(f[:, K.F_POST_STD] + 0.005) + np.log(f[:, K.F_IMPACT] + 0.01)
    return int(np.argmax(h))


def training_set(
    results: Sequence[RecordingResult],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Candidate features and labels from an ``emit_all`` replay.

    Every candidate of an activity recording is a negative; in a fall recording one candidate is
    the positive (the recordings carry no fall times): the one :func:`fall_candidate` picks for
    the recording's placement (:data:`FALL_POSITIVE`: the hardest hit in a pocket, elsewhere the one
    that looks most like a fall by the untrained heuristic ``posture/90° − log post-std + log
    impact``), and the others are left out (a fall's rebounds are the same fall, not activities).
    """
    feats: list[npt.NDArray[np.float64]] = []
    labels: list[bool] = []
    for r in results:
        if not r.detections or r.info.label not in ("fall", "adl"):
            continue
        dets = sorted(r.detections, key=lambda d: d.ts_ms)
        f = np.array([[d.details["features"][n] for n in K.FEATURE_NAMES] for d in dets])
        if r.info.label == "adl":
            feats.append(f)
            labels.extend([False] * len(f))
        else:
            feats.append(f[fall_candidate(placement_of_source(r.info), f)][None, :])
            labels.append(True)
    if not feats:
        return np.zeros((0, K.N_FEAT)), np.zeros(0, dtype=bool)
    return np.vstack(feats), np.array(labels, dtype=bool)


TRAIN_COPIES = 2
"""Softened copies (:func:`soften_random`) of every training recording added to the fold models."""


def train_candidates(
    directory: Path,
    rows: Sequence[RecordingInfo],
    base: FallParams,
    *,
    transform: Transform | None = None,
    copies: int = TRAIN_COPIES,
    indices: Sequence[int] | None = None,
    err: TextIO | None = None,
    label: str = "",
) -> list[RecordingResult]:
    """Every candidate (``emit_all``) of every recording (or of ``rows[i]`` for ``i in indices``), as
    recorded (or ``transform``-ed) and in ``copies`` randomly softened copies (seeds 101, 202, …),
    for :func:`training_set`; each placement's features as its model sees them (its posture
    reference, :func:`stream.falls.for_placement`)."""
    everyone = list(range(len(rows))) if indices is None else list(indices)
    emit = {where: for_placement(replace(base, emit_all=True), where) for where in PLACEMENTS}
    out = replay_recordings(directory, rows, emit, everyone, transform=transform, err=err, label=f"{label}candidates: ")
    for c in range(copies):
        out += replay_recordings(
            directory,
            rows,
            emit,
            everyone,
            transform=soften_random,
            seed=101 * (c + 1),
            err=err,
            label=f"{label}softened copy {c + 1}/{copies}: ",
        )
    return out


def fold_models(
    rows: Sequence[RecordingInfo],
    candidates: Sequence[RecordingResult],
    folds: int,
    indexed: Sequence[RecordingInfo] | None = None,
    placement: str = "waist",
) -> list[FoldModel]:
    """Subject-wise folds of ``rows``' subjects: the held-out subjects and the weights of
    ``placement``'s model (:func:`fit_placement`) fitted on everyone else (``candidates`` index
    ``indexed``, default ``rows``)."""
    by_index = rows if indexed is None else indexed
    models: list[FoldModel] = []
    for held_out in subject_folds(rows, folds):
        x, y = training_set([c for c in candidates if by_index[c.index].subject not in held_out])
        models.append((placement, held_out, fit_placement(placement, x, y)))
    return models


def own_subject_models(
    directory: Path,
    rows: Sequence[RecordingInfo],
    base: FallParams,
    folds: int,
    *,
    transform: Transform | None = None,
    copies: int = TRAIN_COPIES,
    err: TextIO | None = None,
    label: str = "",
) -> list[FoldModel]:
    """Subject-wise fold models over the shipped models' own subjects in ``rows``
    (:func:`trained_on`), per placement: at the waist ``folds`` folds (at most one per subject),
    elsewhere one per subject (leave-one-subject-out); each fitted on the other such subjects'
    candidates of that placement (:func:`train_candidates`). Empty when ``rows`` holds none."""
    models: list[FoldModel] = []
    for placement in PLACEMENTS:
        seen = [i for i, r in enumerate(rows) if trained_on(r) and placement_of_source(r) == placement]
        if not seen:
            continue
        seen_rows = [rows[i] for i in seen]
        subjects = len({r.subject for r in seen_rows})
        k = min(folds, subjects) if placement == "waist" else subjects
        candidates = train_candidates(
            directory, rows, base, transform=transform, copies=copies, indices=seen, err=err, label=label
        )
        models += fold_models(seen_rows, candidates, k, rows, placement)
    return models


def evaluate(
    directory: Path,
    *,
    folds: int = 5,
    limit: int = 0,
    params: FallParams | None = None,
    transform: Transform | None = None,
    train_transform: Transform | None = None,
    copies: int = TRAIN_COPIES,
    models: Sequence[FoldModel] | None = None,
    err: TextIO | None = None,
    label: str = "",
    seed: int = 0,
) -> tuple[list[RecordingResult], list[tuple[float, ...]]]:
    """Replay a set (optionally transformed), with subject-wise CV when ``folds > 0``.

    Returns the per-recording results and the weights used (one per fold, or the shipped ones).
    With ``folds > 0`` only the shipped models' own subjects (:func:`trained_on`) are
    cross-validated; everyone else is scored by ``params`` for every placement, or by default by
    each placement's shipped model.
    The folds train on the other subjects' recordings as recorded (``train_transform``, default
    ``transform``) plus ``copies`` softened copies; ``models`` reuses folds fitted before. ``seed``
    seeds ``transform`` (each recording's generator is ``default_rng([seed, index])``).
    """
    directory = Path(directory)
    rows = with_placements(directory, read_index(directory))
    if limit > 0:
        rows = rows[:limit]
    base = params or FallParams()
    shipped: Model = params if params is not None else shipped_placements()
    everyone = list(range(len(rows)))
    labelled = all(r.label in ("fall", "adl") for r in rows)
    if folds <= 0 or not labelled:
        return replay_recordings(
            directory, rows, shipped, everyone, transform=transform, seed=seed, err=err, label=label
        ), [base.weights]
    seen = [i for i in everyone if trained_on(rows[i])]
    unseen = [i for i in everyone if not trained_on(rows[i])]
    results: list[RecordingResult] = []
    if unseen:
        progress(err, f"{label}{len(unseen)} recordings of people the shipped model never saw: the shipped model")
        results = replay_recordings(
            directory, rows, shipped, unseen, transform=transform, seed=seed, err=err, label=label
        )
    if not seen:
        return sorted(results, key=lambda r: r.index), [base.weights]
    if models is None:
        models = own_subject_models(
            directory, rows, base, folds, transform=train_transform or transform, copies=copies, err=err, label=label
        )
    for k, (placement, held_out, w) in enumerate(models):
        test = [i for i in seen if rows[i].subject in held_out and placement_of_source(rows[i]) == placement]
        progress(err, f"{label}fold {k + 1}/{len(models)} ({placement}): {len(test)} held-out recordings of {held_out}")
        results.extend(
            replay_recordings(
                directory,
                rows,
                for_placement(base, placement, w),
                test,
                transform=transform,
                seed=seed,
                err=err,
                label=label,
            )
        )
    return sorted(results, key=lambda r: r.index), [w for _, _, w in models]
