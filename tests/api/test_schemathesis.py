"""Schemathesis against the OpenAPI spec of a running platform: no operation answers 5xx.

Bounded: a few generated examples per operation, as a whole-network administrator (so requests
reach the handlers, not only the scope check). The platform serves in the test's event loop while
schemathesis runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from registry.area import Area
from registry.crypto import FieldCipher
from registry.users import User
from tests.harness import running_platform
from tests.services import TestServices

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES_PER_OPERATION = 5
BUDGET_S = 35.0
# Capability-URL pages and metrics are not JSON APIs of ours; readiness may be 503 by design.
SKIP = {"/readyz"}


def _fuzz(base_url: str, token: str) -> tuple[list[str], int]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    failures: list[str] = []
    calls = [0]
    deadline = time.monotonic() + BUDGET_S
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}"}
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.path not in SKIP and time.monotonic() < deadline:
                _examples(operation, base_url, session, headers, failures, calls)
    finally:
        session.close()  # keep-alive connections would hold up the server's shutdown
    return failures, calls[0]


def _examples(
    operation: Any,
    base_url: str,
    session: requests.Session,
    headers: dict[str, str],
    failures: list[str],
    calls: list[int],
) -> None:
    """Up to ``EXAMPLES_PER_OPERATION`` generated requests to one operation; 5xx answers are collected."""

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy())
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=10)
        calls[0] += 1
        if response.status_code >= 500:
            failures.append(
                f"{operation.method.upper()} {operation.path} → {response.status_code}: "
                f"{case.as_curl_command()} :: {response.text[:200]}"
            )

    run()


async def test_no_operation_answers_5xx(services: TestServices) -> None:
    begun = time.monotonic()
    async with running_platform(services, residents=1) as harness:
        registry = harness.platform.registry
        registry.cipher = FieldCipher.generate()
        root = User("admin", "admin")
        await registry.add_org_node("410100", "郑州市", "city")
        await registry.add_org_node("410105", "金水区", "district", "410100")
        await registry.add_org_node("410105001", "经八路街道", "street", "410105")
        await registry.add_org_node("410105001001", "黄河社区", "community", "410105001")
        await registry.create_resident({"name": "王秀英", "org_node": "410105001001"}, Area(), root)
        started = time.monotonic()
        print(f"platform up in {started - begun:.1f} s")
        failures, calls = await asyncio.to_thread(_fuzz, harness.http_url, harness.token)
        print(f"schemathesis: {calls} calls in {time.monotonic() - started:.1f} s")
    print(f"platform down after {time.monotonic() - begun:.1f} s")
    assert calls > 50
    assert not failures, "\n".join(failures)
