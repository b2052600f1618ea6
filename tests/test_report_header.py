"""The test run's header says when the shared recordings (``../shared/data``) are missing, so a run
whose data-driven tests all skipped does not pass quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import shared_data_line
from tests.harness import REPO


def test_the_header_says_when_shared_data_is_missing(tmp_path: Path) -> None:
    env = {**os.environ, "ELDERCARE_SHARED_DATA": str(tmp_path / "nowhere")}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "tests/test_report_header.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    header = run.stdout
    assert "eldercare shared data: MISSING falls/index.csv, homes" in header, header
    assert "SKIPPED" in header and str(tmp_path / "nowhere") in header


def test_the_header_names_the_shared_data_when_present(tmp_path: Path) -> None:
    (tmp_path / "falls").mkdir()
    (tmp_path / "falls" / "index.csv").write_text("file,label\n")
    (tmp_path / "homes").mkdir()
    os.environ["ELDERCARE_SHARED_DATA"], old = str(tmp_path), os.environ.get("ELDERCARE_SHARED_DATA")
    try:
        assert shared_data_line() == f"eldercare shared data: {tmp_path}"
    finally:
        if old is None:
            del os.environ["ELDERCARE_SHARED_DATA"]
        else:
            os.environ["ELDERCARE_SHARED_DATA"] = old
