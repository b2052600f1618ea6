"""Fall detection by placement: the registry's device type picks the model, snapshots keep it, and
held-out people's wrist and pocket recordings (UMAFall) are scored by models that never saw them."""

from __future__ import annotations

import numpy as np
import pytest

from devices.events import Event, ImuBlock, Stream
from lab.falls.crossval import FALL_POSITIVE
from lab.falls.playback import RecordingResult
from lab.falls.recordings import RecordingInfo, read_index
from lab.falls.replay import (
    fit_placement,
    placement_of_source,
    replay_recordings,
    summarise,
    train_candidates,
    training_set,
)
from stream.core import StreamCore
from stream.detections import Detection, DetectionKind
from stream.falls import (
    FallDetector,
    FallParams,
    for_placement,
    placement_threshold,
    shipped_placements,
)
from stream.kernels import falls as K
from stream.placement import placement_in, placement_of
from tests.harness import shared_data
from tests.stream.fall_signals import chunks, feed, scenario

PLACED = shared_data() / "falls-placements"
needs_placed = pytest.mark.skipif(not (PLACED / "index.csv").exists(), reason=f"no recording set at {PLACED}")


def test_placement_from_type_and_location() -> None:
    assert placement_of("wristband") == "wrist" and placement_of("Watch") == "wrist"
    assert placement_of("phone") == "pocket" and placement_of("smartphone", "worn") == "pocket"
    assert placement_of("pendant") == "waist" and placement_of("") == "waist" and placement_of("pir") == "waist"
    assert placement_of("pendant", "wrist") == "wrist"  # an explicit location wins
    assert placement_of("wristband", " Pocket ") == "pocket"
    # locations and sources in words: a side, a garment, a set's name
    assert placement_of("sensor", "left wrist") == "wrist" and placement_of("pendant", "Trouser pocket") == "pocket"
    assert placement_of("phone", "belt clip") == "waist" and placement_of("phone", "bedroom") == "pocket"
    assert placement_in("UMAFall-thigh") == "pocket" and placement_in("RightWrist") == "wrist"
    assert placement_in("SisFall") is None and placement_in("armchair") is None and placement_in("") is None


def test_devices_are_scored_by_their_placement() -> None:
    """The same fall on a pendant, a wristband and a phone: each detection names the placement
    whose model scored it; a detector whose wrist model can never fire ignores only the wristband."""
    rng = np.random.default_rng(12)
    t, a, _ = scenario("fall", 50.0, rng)
    events = []
    for device, kind in (("p-1", "pendant"), ("w-1", "wristband"), ("f-1", "phone")):
        for e in chunks(device, t, a):
            events.append(
                Event(e.device_id, e.resident_id, e.stream, e.ts_ms, e.received_ms, device_type=kind, imu=e.imu)
            )
    events.sort(key=lambda e: e.ts_ms)
    found = feed(StreamCore([FallDetector()]), events)
    assert {d.device_id: d.details["placement"] for d in found} == {"p-1": "waist", "w-1": "wrist", "f-1": "pocket"}
    deaf = FallDetector(placements={"wrist": FallParams(threshold=1.0)})
    assert sorted(d.device_id for d in feed(StreamCore([deaf]), events)) == ["f-1", "p-1"]
    with pytest.raises(ValueError):
        FallDetector(placements={"ankle": FallParams()})


def test_shipped_placements_differ_where_they_should() -> None:
    shipped = shipped_placements()
    assert not shipped["waist"].upright_ref and shipped["wrist"].upright_ref and not shipped["pocket"].upright_ref
    assert shipped["wrist"].min_post_s == shipped["pocket"].min_post_s == 1.0 and shipped["waist"].min_post_s == 0.0
    assert shipped["wrist"].to_array()[K.P_MIN_POST] == 20 and shipped["waist"].to_array()[K.P_MIN_POST] == 0
    assert len({shipped[w].weights for w in shipped}) == 3
    assert shipped["waist"] == FallParams()  # the waist model is the one shipped before placements
    assert for_placement(FallParams(), "wrist", (0.0,) * (K.N_PHI + 1)).weights == (0.0,) * (K.N_PHI + 1)


def test_the_pocket_decides_at_a_lower_threshold_in_log_odds() -> None:
    """A ±2 g phone cannot report a fall's hardest hits: the pocket decides at 0.4 where the others
    decide at 0.5, and a detector threshold moved by an operator moves it alike (same log-odds
    shift); 0 and 1 (every candidate, none) stay."""
    shipped = shipped_placements()
    assert shipped["waist"].threshold == shipped["wrist"].threshold == 0.5
    assert shipped["pocket"].threshold == pytest.approx(0.4)
    assert shipped["pocket"].to_array()[K.P_THRESH] == pytest.approx(0.4)
    strict = shipped_placements(FallParams(threshold=0.9))
    assert strict["wrist"].threshold == 0.9 and 0.85 < strict["pocket"].threshold < 0.9
    odds = strict["pocket"].threshold / (1 - strict["pocket"].threshold)
    assert odds == pytest.approx(9.0 * 2 / 3, rel=1e-4)
    assert placement_threshold(0.0, "pocket") == 0.0 and placement_threshold(1.0, "pocket") == 1.0


def test_snapshot_keeps_placements_and_restores_older_snapshots() -> None:
    rng = np.random.default_rng(13)
    t, a, _ = scenario("walk", 50.0, rng)
    detector = FallDetector()
    block = ImuBlock(t, a)
    detector.process([Event("w", "r", Stream.IMU, int(t[-1]), int(t[-1]), device_type="wristband", imu=block)], 0)
    detector.process([Event("p", "r", Stream.IMU, int(t[-1]), int(t[-1]), device_type="pendant", imu=block)], 0)
    blob = detector.snapshot()
    again = FallDetector()
    again.restore(blob)
    assert again.snapshot()["placement"].tolist() == blob["placement"].tolist() == [1, 0]
    old = {k: v for k, v in blob.items() if k != "placement"}
    old["sc"] = blob["sc"][:, : K.N_STATE_V1]  # as saved before placements and the learned upright
    older = FallDetector()
    older.restore(old)
    state = older.snapshot()
    assert state["placement"].tolist() == [0, 0] and state["sc"].shape == (2, K.N_STATE)
    assert not state["sc"][:, K.S_UX :].any()
    bad = dict(blob, placement=np.array([0, 7]))
    with pytest.raises(ValueError):
        FallDetector().restore(bad)


def test_placement_of_a_recording_set() -> None:
    rows = {r.source: r for r in read_index(PLACED)} if (PLACED / "index.csv").exists() else {}
    for source, where in (("UMAFall-wrist", "wrist"), ("UMAFall-thigh", "pocket")):
        if source in rows:
            assert placement_of_source(rows[source]) == where
    from lab.falls.recordings import RecordingInfo

    assert placement_of_source(RecordingInfo("x", "adl", "S", "a", 200.0, 1.0, "SisFall")) == "waist"


def _candidate(ts_s: float, **features: float) -> Detection:
    values = dict.fromkeys(K.FEATURE_NAMES, 0.5) | features
    ts = int(ts_s * 1000)
    return Detection("r", "d", DetectionKind.FALL, ts, ts + 5000, "k", 0.5, {"features": values})


def test_training_set_labels_the_hardest_hit_in_a_pocket() -> None:
    """A fall's impact (4.8 s: the hardest hit) and its rebound 1.2 s later (stiller after, so the
    untrained heuristic prefers it): a pocket fall is labelled at the impact, a wrist or waist fall
    at the rebound; the other candidates are left out; every activity candidate is a negative."""
    impact = _candidate(4.8, impact_spread_g=1.5, peak_g=5.0, posture_change_deg=90.0, post_std_g=0.05)
    rebound = _candidate(6.0, impact_spread_g=0.6, peak_g=1.3, posture_change_deg=80.0, post_std_g=0.005)
    early = _candidate(1.0, impact_spread_g=0.3, peak_g=1.2, posture_change_deg=10.0, post_std_g=0.9)
    name = K.FEATURE_NAMES.index
    for source, placement in (("UMAFall-thigh", "pocket"), ("UMAFall-wrist", "wrist"), ("SisFall", "waist")):
        fall = RecordingResult(
            0, RecordingInfo("f", "fall", "U1", "fall", 20.0, 1.0, source), 20.0, [rebound, early, impact]
        )
        adl = RecordingResult(1, RecordingInfo("a", "adl", "U1", "call", 20.0, 1.0, source), 20.0, [impact, early])
        x, y = training_set([fall, adl])
        assert y.tolist() == [True, False, False] and x.shape == (3, K.N_FEAT)
        chosen = impact if FALL_POSITIVE[placement] == "hardest" else rebound
        assert x[0, name("peak_g")] == chosen.details["features"]["peak_g"]
    assert FALL_POSITIVE == {"waist": "settled", "wrist": "settled", "pocket": "hardest"}


@needs_placed
@pytest.mark.parametrize(
    ("source", "placement", "activities"),
    [
        ("UMAFall-wrist", "wrist", ("Aplausing", "HandsUp")),
        ("UMAFall-thigh", "pocket", ("MakingACall", "Sitting_GettingUpOnAChair")),
    ],
)
def test_held_out_person_wrist_and_pocket(source: str, placement: str, activities: tuple[str, ...]) -> None:
    """U05's wrist or pocket recordings, scored by the placement's model fitted without U05 (as the
    replay's leave-one-subject-out fold does): their claps, hands up, calls and sitting down raise
    no alarm (the waist model raised 3 on the wrist, 4 in the pocket), and their falls are found."""
    rows = read_index(PLACED)
    others = [i for i, r in enumerate(rows) if r.source == source and r.subject != "U05"]
    x, y = training_set(train_candidates(PLACED, rows, FallParams(), indices=others))
    model = for_placement(FallParams(), placement, fit_placement(placement, x, y))
    held_out = [i for i, r in enumerate(rows) if r.source == source and r.subject == "U05"]
    adls = [i for i in held_out if rows[i].activity in activities]
    falls = [i for i in held_out if rows[i].label == "fall"]
    summary = summarise(replay_recordings(PLACED, rows, model, adls + falls), folds=0)
    assert summary["specificity"] == 1.0, summary["false_alarms"]
    assert summary["sensitivity"] >= 17 / 18, summary["missed"]
