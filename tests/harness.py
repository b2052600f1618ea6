"""A platform started for one test: its own database, topic prefix, client id and HTTP port.

The starting itself is :mod:`lab.harness` (shared with the benches); this module seeds the homes the
tests expect, logs the admin in, and keeps the helpers the tests call (publish, eventually).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt
import httpx

from eldercare.runtime import Platform
from eldercare.settings import Settings
from gateway import BrokerAddress
from lab.harness import REPO, Namespace, free_port, platform_config, platform_on, serve_api
from registry.crypto import FieldCipher
from registry.store import DeviceRecord, ResidentRecord
from tests.services import TestServices

__all__ = [
    "ADMIN",
    "REPO",
    "Harness",
    "Namespace",
    "eventually",
    "free_port",
    "mqtt_client",
    "publish",
    "running_platform",
    "seed_home",
    "shared_data",
]

ADMIN = ("admin", "admin-password-1")


def shared_data() -> Path:
    return Path(os.environ.get("ELDERCARE_SHARED_DATA", REPO.parent / "shared" / "data"))


@dataclass
class Harness:
    platform: Platform
    namespace: Namespace
    services: TestServices
    http_url: str
    ws_url: str
    token: str

    def topic(self, device_id: str, stream: str) -> str:
        return f"{self.namespace.prefix}/{device_id}/{stream}"

    def zigbee_topic(self, name: str) -> str:
        return f"{self.namespace.z2m_base}/{name}"

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.http_url, headers={"Authorization": f"Bearer {self.token}"})


async def seed_home(platform: Platform, resident_id: str = "res-1", devices: tuple[DeviceRecord, ...] = ()) -> None:
    await platform.registry.add_resident(
        ResidentRecord(resident_id, f"Resident {resident_id}", f"{resident_id} Main Street", "13900000000")
    )
    for device in devices:
        await platform.registry.add_device(device)


def seeded_homes(residents: int) -> Callable[[Platform], Awaitable[None]]:
    """The admin, and ``residents`` homes ``res-<n>`` with a button, a door and a Zigbee SOS button."""

    async def seed(platform: Platform) -> None:
        await platform.users.add(*ADMIN, role="admin")
        for n in range(1, residents + 1):
            await seed_home(
                platform,
                f"res-{n}",
                (
                    DeviceRecord(f"btn-{n}", f"res-{n}", "sos_button", location="living room"),
                    DeviceRecord(f"door-{n}", f"res-{n}", "door", location="hall"),
                    DeviceRecord(f"z2m-sos-{n}", f"res-{n}", "sos_button", model="TS0215A_sos", z2m_name=f"sos_{n}"),
                ),
            )

    return seed


@contextlib.asynccontextmanager
async def running_platform(
    services: TestServices,
    database_url: str | None = None,
    namespace: Namespace | None = None,
    *,
    residents: int = 3,
    settings: Settings | None = None,
) -> AsyncIterator[Harness]:
    """Start gateway, stream, alerting and the API on a real broker and database.

    Seeds ``residents`` residents ``res-1…`` each with a button ``btn-<n>``, a door ``door-<n>``
    and a Zigbee2MQTT SOS button ``z2m-sos-<n>`` (model TS0215A_sos, friendly name ``sos_<n>``).
    """
    namespace = namespace or Namespace()
    database_url = database_url or await services.create_database()
    config = platform_config(namespace, batch_linger_ms=1.0, stream_tick_s=0.5)
    address = BrokerAddress(services.mqtt_host, services.mqtt_port)
    async with (
        platform_on(
            database_url, address, config, seed=seeded_homes(residents), cipher=FieldCipher.generate()
        ) as platform,
        serve_api(platform, settings) as api,
    ):
        token = await api.login(*ADMIN)
        yield Harness(platform, namespace, services, api.url, api.ws_url, token)


@contextlib.asynccontextmanager
async def mqtt_client(services: TestServices, client_id: str | None = None) -> AsyncIterator[aiomqtt.Client]:
    async with aiomqtt.Client(
        services.mqtt_host, services.mqtt_port, identifier=client_id or f"test-{uuid.uuid4().hex[:8]}"
    ) as client:
        yield client


async def publish(client: aiomqtt.Client, topic: str, body: dict[str, Any] | bytes | str, qos: int = 1) -> None:
    payload = body if isinstance(body, bytes | str) else json.dumps(body)
    await client.publish(topic, payload, qos=qos)


async def eventually(check: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Await ``check()`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
