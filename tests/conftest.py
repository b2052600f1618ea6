"""Shared fixtures: the real broker and database (or the embedded ones) for the whole session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.harness import shared_data
from tests.services import TestServices, describe, start_test_services, stop_test_services

SHARED_SETS = ("falls/index.csv", "homes")
"""What the data-driven tests read from ``../shared/data`` (``ELDERCARE_SHARED_DATA``)."""


def shared_data_line() -> str:
    """Whether the shared recordings are there; when not, the tests that need them skip, and say so here."""
    root = shared_data()
    missing = [name for name in SHARED_SETS if not (root / name).exists()]
    if missing:
        return (
            f"eldercare shared data: MISSING {', '.join(missing)} in {root}: the tests that need it are SKIPPED"
            " (set ELDERCARE_SHARED_DATA to the shared/data folder)"
        )
    return f"eldercare shared data: {root}"


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"eldercare test services: {describe()}", shared_data_line()]


@pytest.fixture(scope="session")
async def services() -> AsyncIterator[TestServices]:
    running = await start_test_services()
    print(f"\n[eldercare] tests use {running.describe()}")
    try:
        yield running
    finally:
        await stop_test_services(running)
