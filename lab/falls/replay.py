"""``eldercare replay falls DIR``: replay an IMU recording set through the live fall detector.

Each recording becomes one simulated wearable: its samples are cut into device-sized messages
(0.5–2 s, seeded), wrapped as :class:`devices.events.Event` objects and fed, many devices at a time,
through :meth:`stream.core.StreamCore.process` on a simulated clock, then ``advance``.

Output: one JSON line per recording ``{"file", "label", "subject", "falls": [{"t", "confidence"}]}``
(``t`` in seconds from the recording's start) and, when labels exist, a summary line with
sensitivity, specificity and false alarms per hour of activity, overall and per group.

Each recording is worn at a placement read from its ``source`` (:func:`placement_of_source`: a
wrist set on a wristband, a thigh or pocket set on a phone, anything else on a waist pendant), and
its device is registered with that type, so the detector scores it with that placement's model;
the summary gives the figures per placement.

Every recording is scored by a model that never saw its subject. A recording of someone the shipped
model was not trained on (``stream.falls.SHIPPED_SUBJECTS``: other people, other recording sets) is
scored by the shipped model, exactly as the live platform would. For the shipped model's own
subjects, with ``folds > 0``, the score weights are fitted per subject-wise fold on the other such
subjects of the same placement (candidates collected by a first pass with ``emit_all``; ``folds``
folds at the waist, one per subject, leave-one-subject-out, at the wrist and in the pocket, where
there are few people) and each recording is scored by the model of the fold that held its subject
out; ``folds = 0`` scores everything with the shipped
weights (in-sample for those subjects).

The fold models (and the shipped weights, ``--fit``) train on the recordings as recorded plus
``TRAIN_COPIES`` randomly softened copies (impact ×0.4–1, posture change ×0.5–1, some at 20 Hz or
as the ~87 Hz ±2 g phone): the stand-in for elderly fallers, whose falls are softer and end in
smaller posture changes than the young volunteers'.

``python -m lab.falls.replay DIR --augment`` also reports figures on augmented copies (random
rotations, 20 Hz, irregular ~87 Hz clipped to ±2 g, a lossy radio link, softened impacts and
posture changes at ×0.5/×0.6 and the milder ×0.7/×0.8).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt

from devices.events import Event, ImuBlock, Stream
from lab.falls.augment import AUGMENTATIONS, Signal, Transform, soften_random
from lab.falls.fit import fit_weights
from lab.falls.recordings import RecordingInfo, load_recording, read_index
from stream.core import StreamCore
from stream.detections import Detection, DetectionKind
from stream.falls import (
    PLACEMENTS,
    SHIPPED_SUBJECTS,
    SHIPPED_WEIGHTS,
    FallDetector,
    FallParams,
    for_placement,
    shipped_placements,
    subject_key,
)
from stream.kernels import falls as K

EPOCH_MS = 1_700_000_000_000
"""Simulated wall-clock start of every recording (epoch ms)."""
GROUP = 128
"""Recordings replayed at once (each as its own device and resident)."""

Model = FallParams | Mapping[str, FallParams]
"""One set of parameters for every placement, or parameters per placement (``FallDetector``'s)."""
FoldModel = tuple[str, list[str], tuple[float, ...]]
"""A fold: the placement, the subjects it holds out, the weights fitted without them."""

DEVICE_TYPE = {"waist": "pendant", "wrist": "wristband", "pocket": "phone"}
"""The registry type a replayed recording's device gets for its placement."""

PLACEMENT_FIT: dict[str, dict[str, Any]] = {
    "waist": {"l2": 0.01, "fall_weight": 0.5, "prior": None},
    "wrist": {"l2": 3.0, "fall_weight": 1.0, "prior": SHIPPED_WEIGHTS},
    "pocket": {"l2": 3.0, "fall_weight": 1.0, "prior": SHIPPED_WEIGHTS},
}
"""How each placement's weights are fitted (:func:`lab.falls.fit.fit_weights`): the waist model on
SisFall's 19 people alone; the wrist and pocket models, with a few people's recordings, as the
waist model plus what those recordings teach (penalty ``l2/2 · |w − w_waist|²``, ``l2`` and
``fall_weight`` chosen among 3/10/30/100 and 0.5/1/2 by the leave-one-subject-out figures; a fall
counts as much as an activity: six people's falls are too few to halve)."""


def placement_of_source(info: RecordingInfo) -> str:
    """The placement of a recording set's device, from its ``source``: ``wrist`` for a wrist set,
    ``pocket`` for a thigh / pocket / phone set, else ``waist``."""
    source = info.source.lower()
    if "wrist" in source:
        return "wrist"
    if any(word in source for word in ("thigh", "pocket", "phone")):
        return "pocket"
    return "waist"


def fit_placement(
    placement: str, features: npt.NDArray[np.float64], labels: npt.NDArray[np.bool_]
) -> tuple[float, ...]:
    """Weights of ``placement``'s model from candidate features (:data:`PLACEMENT_FIT`)."""
    return fit_weights(features, labels, **PLACEMENT_FIT[placement])


@dataclass(slots=True)
class RecordingResult:
    index: int
    info: RecordingInfo
    duration_s: float
    detections: list[Detection]


def _progress(err: TextIO | None, message: str) -> None:
    if err is not None:
        print(message, file=err, flush=True)


def replay_recordings(
    directory: Path,
    rows: Sequence[RecordingInfo],
    params: Model,
    indices: Sequence[int],
    *,
    transform: Transform | None = None,
    seed: int = 0,
    err: TextIO | None = None,
    label: str = "",
) -> list[RecordingResult]:
    """Replay ``rows[i]`` for ``i in indices`` through a ``StreamCore`` running one ``FallDetector``
    (``params`` for every placement, or per placement), each recording's device typed for its
    placement (:func:`placement_of_source`)."""
    results: list[RecordingResult] = []
    started = time.monotonic()
    force_s = params.force_s if isinstance(params, FallParams) else max(p.force_s for p in params.values())
    for g0 in range(0, len(indices), GROUP):
        group = list(indices[g0 : g0 + GROUP])
        detector = FallDetector(params) if isinstance(params, FallParams) else FallDetector(placements=params)
        core = StreamCore([detector])
        chunks: list[tuple[float, int, Event]] = []
        durations: dict[int, float] = {}
        for i in group:
            rec = load_recording(directory, rows[i])
            device_type = DEVICE_TYPE[placement_of_source(rows[i])]
            rng = np.random.default_rng([seed, i])
            t_s, acc = (rec.t_s, rec.acc) if transform is None else transform(rec.t_s, rec.acc, rng)
            durations[i] = float(t_s[-1] - t_s[0]) if t_s.shape[0] > 1 else 0.0
            t_ms = EPOCH_MS + t_s * 1000.0
            lo = 0
            while lo < t_ms.shape[0]:
                end_ms = t_ms[lo] + rng.uniform(500.0, 2000.0)
                hi = max(lo + 1, int(np.searchsorted(t_ms, end_ms, side="left")))
                block = ImuBlock(t_ms=t_ms[lo:hi], acc=acc[lo:hi])
                ts = int(t_ms[hi - 1])
                event = Event(
                    device_id=f"rec{i}",
                    resident_id=f"res{i}",
                    stream=Stream.IMU,
                    ts_ms=ts,
                    received_ms=ts,
                    device_type=device_type,
                    imu=block,
                )
                chunks.append((float(t_ms[hi - 1]), i, event))
                lo = hi
        chunks.sort(key=lambda c: (c[0], c[1]))
        found: dict[int, list[Detection]] = {i: [] for i in group}

        def collect(detections: list[Detection], found: dict[int, list[Detection]] = found) -> None:
            for d in detections:
                if d.kind is DetectionKind.FALL:
                    found[int(d.device_id[3:])].append(d)

        tick = EPOCH_MS + 1000
        pos = 0
        quiet_until = (chunks[-1][0] if chunks else EPOCH_MS) + force_s * 1000 + 2000
        while pos < len(chunks) or tick <= quiet_until:
            batch: dict[str, list[Event]] = {}
            while pos < len(chunks) and chunks[pos][0] <= tick:
                event = chunks[pos][2]
                batch.setdefault(event.resident_id, []).append(event)
                pos += 1
            if batch:
                collect(core.process(batch, tick))
            collect(core.advance(tick))
            tick += 1000
        for i in group:
            results.append(RecordingResult(i, rows[i], durations[i], found[i]))
        _progress(
            err,
            f"{label}replayed {g0 + len(group)}/{len(indices)} recordings ({time.monotonic() - started:.0f} s)",
        )
    return results


# -- scoring -------------------------------------------------------------------------------------
def trained_on(info: RecordingInfo) -> bool:
    """Whether the shipped model was trained on recordings of this recording's subject."""
    return subject_key(info.source, info.subject) in SHIPPED_SUBJECTS


def group_of(info: RecordingInfo) -> str:
    """``young_falls`` / ``elderly_adls``… for SisFall-style subjects (SA/SE), else ``<label>s``."""
    age = {"SA": "young_", "SE": "elderly_"}.get(info.subject[:2].upper(), "")
    return f"{age}{info.label}s"


def _figures(results: Sequence[RecordingResult]) -> dict[str, Any]:
    falls = [r for r in results if r.info.label == "fall"]
    adls = [r for r in results if r.info.label == "adl"]
    hours = sum(r.duration_s for r in adls) / 3600.0
    false_alarms = sum(len(r.detections) for r in adls)
    latencies = [d.detected_ms - d.ts_ms for r in results for d in r.detections]
    figures: dict[str, Any] = {"recordings": len(results)}
    if falls:
        figures["falls"] = len(falls)
        figures["sensitivity"] = round(sum(1 for r in falls if r.detections) / len(falls), 4)
    if adls:
        figures["adls"] = len(adls)
        figures["specificity"] = round(sum(1 for r in adls if not r.detections) / len(adls), 4)
        figures["false_alarms_per_hour"] = round(false_alarms / hours, 3) if hours > 0 else None
        figures["adl_hours"] = round(hours, 3)
    if latencies:
        figures["max_latency_s"] = round(max(latencies) / 1000.0, 2)
    return figures


def summarise(results: Sequence[RecordingResult], folds: int) -> dict[str, Any]:
    """The summary line: overall figures, per-group figures, the recordings missed / false alarms."""
    summary: dict[str, Any] = {"summary": True, **_figures(results), "folds": folds}
    summary["scored_by_shipped_model"] = sum(1 for r in results if folds <= 0 or not trained_on(r.info))
    groups: dict[str, list[RecordingResult]] = {}
    for r in results:
        groups.setdefault(group_of(r.info), []).append(r)
    by_group = {}
    for name, members in sorted(groups.items()):
        by_group[name] = {k: v for k, v in _figures(members).items() if k != "max_latency_s"}
    summary["by_group"] = by_group
    placements: dict[str, list[RecordingResult]] = {}
    for r in results:
        placements.setdefault(placement_of_source(r.info), []).append(r)
    summary["by_placement"] = {
        name: {k: v for k, v in _figures(members).items() if k != "max_latency_s"}
        for name, members in sorted(placements.items())
    }
    activities: dict[str, int] = {}
    for r in results:
        if r.info.label == "adl" and r.detections:
            key = f"{placement_of_source(r.info)}:{r.info.activity}"
            activities[key] = activities.get(key, 0) + 1
    summary["false_alarms_by_activity"] = dict(sorted(activities.items(), key=lambda kv: (-kv[1], kv[0])))
    summary["missed"] = sorted(r.info.file for r in results if r.info.label == "fall" and not r.detections)
    summary["false_alarms"] = sorted(r.info.file for r in results if r.info.label == "adl" and r.detections)
    return summary


# -- cross-validation ----------------------------------------------------------------------------
def subject_folds(rows: Sequence[RecordingInfo], folds: int, seed: int = 0) -> list[list[str]]:
    """Subjects split into ``folds`` groups (seeded shuffle, round robin)."""
    subjects = sorted({r.subject for r in rows})
    order = np.random.default_rng(seed).permutation(len(subjects))
    return [[subjects[j] for j in order[k::folds]] for k in range(folds)]


def training_set(
    results: Sequence[RecordingResult],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Candidate features and labels from an ``emit_all`` replay.

    Every candidate of an activity recording is a negative; in a fall recording the candidate that
    looks most like a fall by the untrained heuristic ``posture/90° − log post-std + log impact`` is
    the positive (the recordings carry no fall times) and the others are left out.
    """
    feats: list[npt.NDArray[np.float64]] = []
    labels: list[bool] = []
    for r in results:
        if not r.detections or r.info.label not in ("fall", "adl"):
            continue
        f = np.array([[d.details["features"][n] for n in K.FEATURE_NAMES] for d in r.detections])
        if r.info.label == "adl":
            feats.append(f)
            labels.extend([False] * len(f))
        else:
            h = f[:, K.F_POSTURE] / 90.0 - np.log(f[:, K.F_POST_STD] + 0.005) + np.log(f[:, K.F_IMPACT] + 0.01)
            feats.append(f[int(np.argmax(h))][None, :])
            labels.append(True)
    if not feats:
        return np.zeros((0, K.N_FEAT)), np.zeros(0, dtype=bool)
    return np.vstack(feats), np.array(labels, dtype=bool)


def _write_lines(results: Sequence[RecordingResult], out: TextIO) -> None:
    for r in sorted(results, key=lambda r: r.index):
        line = {
            "file": r.info.file,
            "label": r.info.label,
            "subject": r.info.subject,
            "falls": [
                {"t": round((d.ts_ms - EPOCH_MS) / 1000.0, 3), "confidence": round(d.confidence, 4)}
                for d in r.detections
            ],
        }
        out.write(json.dumps(line) + "\n")


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
) -> tuple[list[RecordingResult], list[tuple[float, ...]]]:
    """Replay a set (optionally transformed), with subject-wise CV when ``folds > 0``.

    Returns the per-recording results and the weights used (one per fold, or the shipped ones).
    With ``folds > 0`` only the shipped models' own subjects (:func:`trained_on`) are
    cross-validated; everyone else is scored by ``params`` for every placement, or by default by
    each placement's shipped model.
    The folds train on the other subjects' recordings as recorded (``train_transform``, default
    ``transform``) plus ``copies`` softened copies; ``models`` reuses folds fitted before.
    """
    directory = Path(directory)
    rows = read_index(directory)
    if limit > 0:
        rows = rows[:limit]
    base = params or FallParams()
    shipped: Model = params if params is not None else shipped_placements()
    everyone = list(range(len(rows)))
    labelled = all(r.label in ("fall", "adl") for r in rows)
    if folds <= 0 or not labelled:
        return replay_recordings(directory, rows, shipped, everyone, transform=transform, err=err, label=label), [
            base.weights
        ]
    seen = [i for i in everyone if trained_on(rows[i])]
    unseen = [i for i in everyone if not trained_on(rows[i])]
    results: list[RecordingResult] = []
    if unseen:
        _progress(err, f"{label}{len(unseen)} recordings of people the shipped model never saw: the shipped model")
        results = replay_recordings(directory, rows, shipped, unseen, transform=transform, err=err, label=label)
    if not seen:
        return sorted(results, key=lambda r: r.index), [base.weights]
    if models is None:
        models = own_subject_models(
            directory, rows, base, folds, transform=train_transform or transform, copies=copies, err=err, label=label
        )
    for k, (placement, held_out, w) in enumerate(models):
        test = [i for i in seen if rows[i].subject in held_out and placement_of_source(rows[i]) == placement]
        _progress(
            err, f"{label}fold {k + 1}/{len(models)} ({placement}): {len(test)} held-out recordings of {held_out}"
        )
        results.extend(
            replay_recordings(
                directory, rows, for_placement(base, placement, w), test, transform=transform, err=err, label=label
            )
        )
    return sorted(results, key=lambda r: r.index), [w for _, _, w in models]


def replay_falls(
    directory: Path, out: TextIO = sys.stdout, folds: int = 5, limit: int = 0, copies: int = TRAIN_COPIES
) -> dict[str, Any]:
    """The CLI entry point: JSON lines per recording, then the summary line (when labelled)."""
    results, _ = evaluate(Path(directory), folds=folds, limit=limit, copies=copies, err=sys.stderr)
    _write_lines(results, out)
    summary: dict[str, Any] = {}
    if results and all(r.info.label in ("fall", "adl") for r in results):
        summary = summarise(results, folds)
        out.write(json.dumps(summary) + "\n")
    out.flush()
    return summary


def augmented_report(
    directory: Path,
    *,
    folds: int = 5,
    limit: int = 0,
    names: Sequence[str] = tuple(AUGMENTATIONS),
    copies: int = TRAIN_COPIES,
    params: FallParams | None = None,
    err: TextIO | None = None,
) -> dict[str, dict[str, Any]]:
    """Summary figures per augmentation: with ``folds > 0`` the fold models are fitted once (other
    subjects as recorded plus ``copies`` softened copies) and score the held-out subjects' transformed
    recordings; with ``folds = 0`` the shipped model scores every transformed recording."""
    directory = Path(directory)
    base = params or FallParams()
    models = None
    if folds > 0:
        rows = read_index(directory)
        if limit > 0:
            rows = rows[:limit]
        models = own_subject_models(directory, rows, base, folds, copies=copies, err=err)
    report: dict[str, dict[str, Any]] = {}
    for name in names:
        results, _ = evaluate(
            directory,
            folds=folds,
            limit=limit,
            params=base,
            transform=AUGMENTATIONS[name],
            models=models,
            err=err,
            label=f"[{name}] ",
        )
        report[name] = summarise(results, folds)
    return report


def _identity(t_s: npt.NDArray[np.float64], acc: npt.NDArray[np.float32], rng: np.random.Generator) -> Signal:
    return t_s, acc


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--augment", nargs="*", default=None, help=f"any of {sorted(AUGMENTATIONS)} (none: all)")
    parser.add_argument("--fit", action="store_true", help="fit weights on the whole set and print them")
    parser.add_argument("--copies", type=int, default=TRAIN_COPIES, help="softened training copies per recording")
    args = parser.parse_args(argv)
    if args.fit:
        rows = read_index(args.directory)
        if args.limit > 0:
            rows = rows[: args.limit]
        for placement in PLACEMENTS:
            worn = [i for i, r in enumerate(rows) if placement_of_source(r) == placement]
            if not worn:
                continue
            cands = train_candidates(
                args.directory, rows, FallParams(), copies=args.copies, indices=worn, err=sys.stderr
            )
            x, y = training_set(cands)
            subjects = sorted({subject_key(rows[i].source, rows[i].subject) for i in worn})
            weights = [round(v, 3) for v in fit_placement(placement, x, y)]
            line = {"placement": placement, "weights": weights, "candidates": len(y), "subjects": subjects}
            print(json.dumps(line))
        return
    if args.augment is not None:
        names = args.augment or list(AUGMENTATIONS)
        for name, summary in augmented_report(
            args.directory, folds=args.folds, limit=args.limit, names=names, copies=args.copies, err=sys.stderr
        ).items():
            print(json.dumps({"augmentation": name, **summary}))
        return
    replay_falls(args.directory, out=sys.stdout, folds=args.folds, limit=args.limit, copies=args.copies)


if __name__ == "__main__":
    main()
