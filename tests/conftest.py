"""Shared fixtures: the real broker and database (or the embedded ones) for the whole session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.services import TestServices, describe, start_test_services, stop_test_services


def pytest_report_header(config: pytest.Config) -> str:
    return f"eldercare test services: {describe()}"


@pytest.fixture(scope="session")
async def services() -> AsyncIterator[TestServices]:
    running = await start_test_services()
    print(f"\n[eldercare] tests use {running.describe()}")
    try:
        yield running
    finally:
        await stop_test_services(running)
