"""``eldercare replay falls DIR``: replay an IMU recording set through the live fall detector.

Each recording becomes one simulated wearable: its samples are cut into device-sized messages
(0.5–2 s, seeded), wrapped as :class:`devices.events.Event` objects and fed, many devices at a time,
through :meth:`stream.core.StreamCore.process` on a simulated clock, then ``advance``.

Output: one JSON line per recording ``{"file", "label", "subject", "falls": [{"t", "confidence"}]}``
(``t`` in seconds from the recording's start) and, when labels exist, a summary line with
sensitivity, specificity and false alarms per hour of activity, overall and per group.

Every recording is scored by a model that never saw its subject. A recording of someone the shipped
model was not trained on (``stream.falls.SHIPPED_SUBJECTS``: other people, other recording sets) is
scored by the shipped model, exactly as the live platform would. For the shipped model's own
subjects, with ``folds > 0``, the score weights are fitted per subject-wise fold on the other such
subjects (candidates collected by a first pass with ``emit_all``) and each recording is scored by
the model of the fold that held its subject out; ``folds = 0`` scores everything with the shipped
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt

from devices.events import Event, ImuBlock, Stream
from lab.falls.fit import fit_weights
from lab.falls.recordings import RecordingInfo, load_recording, read_index
from stream.core import StreamCore
from stream.detections import Detection, DetectionKind
from stream.falls import SHIPPED_SUBJECTS, FallDetector, FallParams, subject_key
from stream.kernels import falls as K

EPOCH_MS = 1_700_000_000_000
"""Simulated wall-clock start of every recording (epoch ms)."""
GROUP = 128
"""Recordings replayed at once (each as its own device and resident)."""

Signal = tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]]
Transform = Callable[[npt.NDArray[np.float64], npt.NDArray[np.float32], np.random.Generator], Signal]


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
    params: FallParams,
    indices: Sequence[int],
    *,
    transform: Transform | None = None,
    seed: int = 0,
    err: TextIO | None = None,
    label: str = "",
) -> list[RecordingResult]:
    """Replay ``rows[i]`` for ``i in indices`` through a ``StreamCore`` running one ``FallDetector``."""
    results: list[RecordingResult] = []
    started = time.monotonic()
    for g0 in range(0, len(indices), GROUP):
        group = list(indices[g0 : g0 + GROUP])
        core = StreamCore([FallDetector(params)])
        chunks: list[tuple[float, int, Event]] = []
        durations: dict[int, float] = {}
        for i in group:
            rec = load_recording(directory, rows[i])
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
        quiet_until = (chunks[-1][0] if chunks else EPOCH_MS) + params.force_s * 1000 + 2000
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
    for :func:`training_set`."""
    everyone = list(range(len(rows))) if indices is None else list(indices)
    emit = replace(base, emit_all=True)
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
) -> list[tuple[list[str], tuple[float, ...]]]:
    """Subject-wise folds of ``rows``' subjects: the held-out subjects and the weights fitted on
    everyone else (``candidates`` index ``indexed``, default ``rows``)."""
    by_index = rows if indexed is None else indexed
    models = []
    for held_out in subject_folds(rows, folds):
        x, y = training_set([c for c in candidates if by_index[c.index].subject not in held_out])
        models.append((held_out, fit_weights(x, y)))
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
) -> list[tuple[list[str], tuple[float, ...]]]:
    """Subject-wise fold models over the shipped model's own subjects in ``rows``
    (:func:`trained_on`; at most one fold per subject), each fitted on the other such subjects'
    candidates (:func:`train_candidates`); empty when ``rows`` holds none of them."""
    seen = [i for i, r in enumerate(rows) if trained_on(r)]
    if not seen:
        return []
    seen_rows = [rows[i] for i in seen]
    folds = min(folds, len({r.subject for r in seen_rows}))
    candidates = train_candidates(
        directory, rows, base, transform=transform, copies=copies, indices=seen, err=err, label=label
    )
    return fold_models(seen_rows, candidates, folds, rows)


def evaluate(
    directory: Path,
    *,
    folds: int = 5,
    limit: int = 0,
    params: FallParams | None = None,
    transform: Transform | None = None,
    train_transform: Transform | None = None,
    copies: int = TRAIN_COPIES,
    models: Sequence[tuple[list[str], tuple[float, ...]]] | None = None,
    err: TextIO | None = None,
    label: str = "",
) -> tuple[list[RecordingResult], list[tuple[float, ...]]]:
    """Replay a set (optionally transformed), with subject-wise CV when ``folds > 0``.

    Returns the per-recording results and the weights used (one per fold, or the shipped ones).
    With ``folds > 0`` only the shipped model's own subjects (:func:`trained_on`) are
    cross-validated; everyone else is scored by ``params``' weights (default: the shipped ones).
    The folds train on the other subjects' recordings as recorded (``train_transform``, default
    ``transform``) plus ``copies`` softened copies; ``models`` reuses folds fitted before.
    """
    directory = Path(directory)
    rows = read_index(directory)
    if limit > 0:
        rows = rows[:limit]
    base = params or FallParams()
    everyone = list(range(len(rows)))
    labelled = all(r.label in ("fall", "adl") for r in rows)
    if folds <= 0 or not labelled:
        return replay_recordings(directory, rows, base, everyone, transform=transform, err=err, label=label), [
            base.weights
        ]
    seen = [i for i in everyone if trained_on(rows[i])]
    unseen = [i for i in everyone if not trained_on(rows[i])]
    results: list[RecordingResult] = []
    if unseen:
        _progress(err, f"{label}{len(unseen)} recordings of people the shipped model never saw: the shipped model")
        results = replay_recordings(directory, rows, base, unseen, transform=transform, err=err, label=label)
    if not seen:
        return sorted(results, key=lambda r: r.index), [base.weights]
    if models is None:
        models = own_subject_models(
            directory, rows, base, folds, transform=train_transform or transform, copies=copies, err=err, label=label
        )
    for k, (held_out, w) in enumerate(models):
        test = [i for i in seen if rows[i].subject in held_out]
        _progress(err, f"{label}fold {k + 1}/{len(models)}: {len(test)} held-out recordings of {held_out}")
        results.extend(
            replay_recordings(directory, rows, base.with_weights(w), test, transform=transform, err=err, label=label)
        )
    return sorted(results, key=lambda r: r.index), [w for _, w in models]


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


# -- augmentation --------------------------------------------------------------------------------
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
        cands = train_candidates(args.directory, rows, FallParams(), copies=args.copies, err=sys.stderr)
        x, y = training_set(cands)
        subjects = sorted({subject_key(r.source, r.subject) for r in rows})
        weights = [round(v, 3) for v in fit_weights(x, y)]
        print(json.dumps({"weights": weights, "candidates": len(y), "subjects": subjects}))
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
