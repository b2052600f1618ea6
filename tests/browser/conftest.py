"""Browser fixtures: Debian's Chromium driven by Playwright for Python (no downloaded browser).

When ``/usr/bin/chromium`` is missing and the tests run as root, the session installs Debian's
``chromium`` and ``chromium-driver`` first (Playwright cannot download its own browser here);
otherwise the browser tests are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("ELDERCARE_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]


def _has_cjk_font() -> bool:
    if shutil.which("fc-list") is None:
        return False
    listed = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    return bool(listed.stdout.strip())


def ensure_chromium() -> Path:
    """Debian's Chromium, and a CJK font so the Chinese screenshots are legible (installed when root)."""
    packages = [] if CHROMIUM.exists() else ["chromium", "chromium-driver"]
    if not _has_cjk_font():
        packages.append("fonts-wqy-microhei")
    if not packages:
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        if CHROMIUM.exists():
            return CHROMIUM  # no CJK font: Chinese renders as boxes in screenshots, the tests still hold
        pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium; not root, so not installing it)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            pytest.skip(f"could not install chromium: {' '.join(command)}: {done.stderr[-500:]}")
    if not CHROMIUM.exists():
        pytest.skip(f"chromium installed but {CHROMIUM} is still missing")
    return CHROMIUM


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    return ensure_chromium()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
async def browser(chromium_path: Path) -> AsyncIterator[Any]:
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), headless=True, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            await browser.close()
