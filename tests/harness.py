"""A platform started for one test: its own database, topic prefix, client id and HTTP port."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import uvicorn

from api import create_app
from api.security import TokenIssuer
from eldercare.db import open_pool
from eldercare.runtime import Platform, PlatformConfig
from eldercare.serve import api_config, http_config
from eldercare.settings import Settings
from gateway import BrokerAddress, GatewayConfig
from registry.store import DeviceRecord, ResidentRecord
from tests.services import TestServices

REPO = Path(__file__).resolve().parents[1]
ADMIN = ("admin", "admin-password-1")


def shared_data() -> Path:
    return Path(os.environ.get("ELDERCARE_SHARED_DATA", REPO.parent / "shared" / "data"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Namespace:
    """Topic prefix and gateway identity unique to one test (kept across a restart)."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    @property
    def prefix(self) -> str:
        return f"t{self.tag}/eldercare/v1"

    @property
    def z2m_base(self) -> str:
        return f"t{self.tag}/zigbee2mqtt"

    @property
    def client_id(self) -> str:
        return f"gw-{self.tag}"


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
    pool = await open_pool(database_url)
    config = PlatformConfig(
        gateway=GatewayConfig(
            topic_prefix=namespace.prefix,
            zigbee2mqtt_base=namespace.z2m_base,
            client_id=namespace.client_id,
            batch_linger_ms=1.0,
        ),
        stream_tick_s=0.5,
    )
    platform = Platform(pool, BrokerAddress(services.mqtt_host, services.mqtt_port), config)
    try:
        await platform.prepare()
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
        await platform.start()
        issuer = TokenIssuer(f"test-secret-{namespace.tag}-{uuid.uuid4().hex}", 600)
        settings = settings or Settings()
        app = create_app(platform, issuer, api_config(settings))
        port = free_port()
        server = uvicorn.Server(http_config(app, settings, "127.0.0.1", port))
        serving = asyncio.create_task(server.serve())
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            response = await client.post("/api/v1/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]})
            response.raise_for_status()
            token = response.json()["access_token"]
        try:
            yield Harness(platform, namespace, services, f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", token)
        finally:
            server.should_exit = True
            await serving
    finally:
        await platform.stop()
        await pool.close()


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
