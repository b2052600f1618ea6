"""``eldercare replay falls DIR``: replay an IMU recording set through the live fall detector.

Each recording becomes one simulated wearable played through the live detector
(:mod:`lab.falls.playback`), scored by a model that never saw its subject (:mod:`lab.falls.crossval`).

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
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from lab.falls.augment import AUGMENTATIONS
from lab.falls.crossval import (
    TRAIN_COPIES,
    evaluate,
    fit_placement,
    own_subject_models,
    train_candidates,
    trained_on,
    training_set,
)
from lab.falls.playback import EPOCH_MS, RecordingResult, placement_of_source, replay_recordings
from lab.falls.recordings import RecordingInfo, load_recording, read_index, with_placements
from stream.falls import PLACEMENTS, FallParams, subject_key

__all__ = [
    "AUGMENTATIONS",
    "TRAIN_COPIES",
    "augmented_report",
    "evaluate",
    "fit_placement",
    "main",
    "placement_of_source",
    "replay_falls",
    "replay_recordings",
    "summarise",
    "train_candidates",
    "training_set",
]


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
    read = {r.info.source: {"placement": r.info.placement, "basis": r.info.placement_basis} for r in results}
    summary["placements_not_named"] = {source: v for source, v in sorted(read.items()) if v["basis"]}
    activities: dict[str, int] = {}
    for r in results:
        if r.info.label == "adl" and r.detections:
            key = f"{placement_of_source(r.info)}:{r.info.activity}"
            activities[key] = activities.get(key, 0) + 1
    summary["false_alarms_by_activity"] = dict(sorted(activities.items(), key=lambda kv: (-kv[1], kv[0])))
    summary["missed"] = sorted(r.info.file for r in results if r.info.label == "fall" and not r.detections)
    summary["false_alarms"] = sorted(r.info.file for r in results if r.info.label == "adl" and r.detections)
    return summary


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


def replay_falls(
    directory: Path, out: TextIO = sys.stdout, folds: int = 5, limit: int = 0, copies: int = TRAIN_COPIES
) -> dict[str, Any]:
    """The CLI entry point: JSON lines per recording, then the summary line (when labelled)."""
    results, _ = evaluate(Path(directory), folds=folds, limit=limit, copies=copies, err=sys.stderr)
    _write_lines(results, out)
    summary: dict[str, Any] = {}
    recordings = [load_recording(Path(directory), r.info) for r in results]  # (cached)
    problems = {r.info.file: rec.problem for r, rec in zip(results, recordings, strict=True) if rec.problem}
    unreadable_rows = sum(rec.unreadable_rows for rec in recordings)
    for file, problem in problems.items():
        print(f"cannot read {file}: {problem}", file=sys.stderr, flush=True)
    if results and all(r.info.label in ("fall", "adl") for r in results):
        summary = summarise(results, folds)
        summary["unreadable_rows"] = unreadable_rows
        summary["unreadable_recordings"] = problems
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
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Summary figures per augmentation: with ``folds > 0`` the fold models are fitted once (other
    subjects as recorded plus ``copies`` softened copies) and score the held-out subjects' transformed
    recordings; with ``folds = 0`` the shipped model scores every transformed recording. ``seed``
    seeds the copies (rotations, resampling, losses): report figures on seeds other than those
    looked at while choosing a change."""
    directory = Path(directory)
    base = params or FallParams()
    models = None
    if folds > 0:
        rows = with_placements(directory, read_index(directory))
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
            seed=seed,
        )
        report[name] = summarise(results, folds)
    return report


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--augment", nargs="*", default=None, help=f"any of {sorted(AUGMENTATIONS)} (none: all)")
    parser.add_argument("--fit", action="store_true", help="fit weights on the whole set and print them")
    parser.add_argument("--copies", type=int, default=TRAIN_COPIES, help="softened training copies per recording")
    parser.add_argument("--seed", type=int, default=0, help="seed of the augmented copies (--augment)")
    args = parser.parse_args(argv)
    if args.fit:
        rows = with_placements(args.directory, read_index(args.directory))
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
            args.directory,
            folds=args.folds,
            limit=args.limit,
            names=names,
            copies=args.copies,
            err=sys.stderr,
            seed=args.seed,
        ).items():
            print(json.dumps({"augmentation": name, **summary}))
        return
    replay_falls(args.directory, out=sys.stdout, folds=args.folds, limit=args.limit, copies=args.copies)


if __name__ == "__main__":
    main()
