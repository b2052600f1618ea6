"""The lab's measure of PAD_STUCK: sticky synthetic pads reported, the others not."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

from lab.homes.eval import evaluate
from lab.homes.logs import load_homes, log_of_rows, write_log_set
from lab.homes.replay import replay_homes
from lab.homes.stuck_pads import first_report_days, measure, sticky
from lab.homes.synthetic import synthetic_set
from stream.home import HomeConfig

H = 3_600_000


def test_a_pad_repeating_occupied_marks_a_sticky_home() -> None:
    rows = [
        (0, "chair", "seat", "living", 1),
        (H, "pir", "motion", "kitchen", 1),
        (2 * H, "chair", "seat", "living", 0),
    ]
    assert not sticky(log_of_rows(rows))
    assert sticky(log_of_rows([*rows[:1], (30 * 60_000, "chair", "seat", "living", 1), *rows[1:]]))


def test_sticky_pads_are_reported_and_the_others_are_not() -> None:
    """Seed 0's twelve homes over two weeks: its home with sticky pads is reported within the first
    week, the other homes with pads never; with ``pad_late_n`` 0 nothing is."""
    logs = synthetic_set(12, 14, 0)
    result = measure(logs)
    assert result["sticky"] >= 1 and result["sticky_reported"] == result["sticky"]
    assert result["reported_not_sticky"] == 0 and 0 < result["mean_days_to_report"] < 7
    home = next(log for log in logs if sticky(log))
    assert first_report_days(home, dataclasses.replace(HomeConfig(), pad_late_n=0.0)) is None


def test_the_replay_counts_a_stuck_pad_as_a_device_notice_not_an_alert(tmp_path: Path) -> None:
    """A home with sticky pads replayed through the live path: its PAD_STUCK notices (one per pad) are
    device notices, apart from the alerts about the resident, which match the kernels' own count."""
    home = next(log for log in synthetic_set(12, 14, 0) if sticky(log))
    write_log_set(tmp_path, [home])
    summary = replay_homes(tmp_path, out=io.StringIO(), err=io.StringIO())
    pads = {kind for kind in home.kind if kind in ("bed", "seat")}  # a sticky home's pads all are
    assert summary["device_notices_by_kind"] == {"pad_stuck": len(pads)}
    assert "pad_stuck" not in summary["alerts_by_kind"]
    assert summary["alerts"] == evaluate(load_homes(tmp_path), HomeConfig())["alerts"]
