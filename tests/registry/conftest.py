"""A registry on a fresh database for each test that asks for one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from registry.crypto import FieldCipher
from registry.store import Registry
from tests.services import TestServices, migrated_pool


@pytest.fixture
async def city_registry(services: TestServices) -> AsyncIterator[Registry]:
    """A loaded registry (with a field cipher) whose org tree is one city, ``410100`` 郑州市."""
    async with migrated_pool(services, "registry", max_size=2) as pool:
        registry = Registry(pool, FieldCipher.generate())
        await registry.load()
        await registry.add_org_node("410100", "郑州市", "city")
        yield registry
