"""Per-device MQTT credentials and topic ACL, proven on a real Mosquitto started from the generated files."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiomqtt
import pytest

from eldercare.db import migrate, open_pool
from registry.area import Area
from registry.broker_config import mosquitto_conf, write_files
from registry.crypto import FieldCipher
from registry.mqtt_auth import hash_password, verify_password
from registry.store import Registry
from registry.users import User
from tests.harness import free_port
from tests.services import TestServices

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
PREFIX = "eldercare/v1"
ADMIN = User("root-admin", "admin")
pytestmark = pytest.mark.skipif(not os.path.exists(MOSQUITTO), reason="mosquitto binary not installed")


def test_hash_is_mosquittos_pbkdf2_form() -> None:
    digest = hash_password("secret")
    assert digest.startswith("$7$101$")
    assert verify_password("secret", digest)
    assert not verify_password("secreT", digest)
    # a line written by `mosquitto_passwd -b` for user dev1, password "secret"
    stored = (
        "$7$101$hobCqojvNenOAEkH$"
        "C5TAPWfS6UsDzYQq8pCpRMGfrms4qHY+Z+9NJ8QIeah1ADRuSQ2St6f7RBGQ7+g+2GUu+ievLrqy9viL/CooXA=="
    )
    assert verify_password("secret", stored)


@contextlib.contextmanager
def mosquitto(conf: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


async def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(100):
        if process.poll() is not None:
            raise AssertionError(f"mosquitto exited: {process.stdout.read().decode() if process.stdout else ''}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError("mosquitto did not start listening")


@contextlib.asynccontextmanager
async def client(port: int, user: str | None, password: str | None, ident: str) -> AsyncIterator[aiomqtt.Client]:
    async with aiomqtt.Client("127.0.0.1", port, identifier=ident, username=user, password=password) as mqtt:
        yield mqtt


async def _collect(mqtt: aiomqtt.Client, seconds: float) -> list[tuple[str, bytes]]:
    got: list[tuple[str, bytes]] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            async for message in mqtt.messages:
                got.append((message.topic.value, bytes(message.payload)))  # type: ignore[arg-type]
    return got


async def test_devices_speak_only_for_themselves_on_a_real_mosquitto(services: TestServices, tmp_path: Path) -> None:
    pool = await open_pool(await services.create_database(), min_size=1, max_size=2)
    try:
        await migrate(pool, "registry")
        registry = Registry(pool, FieldCipher.generate())
        await registry.load()
        await registry.add_org_node("410100", "郑州市", "city")
        _, secret_a = await registry.register_device(
            {"id": "btn-a", "type": "sos_button", "org_node": "410100"}, Area(), ADMIN
        )
        _, secret_b = await registry.register_device(
            {"id": "btn-b", "type": "sos_button", "org_node": "410100"}, Area(), ADMIN
        )
        _, secret_old = await registry.register_device(
            {"id": "btn-old", "type": "sos_button", "org_node": "410100"}, Area(), ADMIN
        )
        await registry.replace_device("btn-old", "btn-new", None, Area(), ADMIN)  # the old one loses its login
        entries = await registry.broker_users()
    finally:
        await pool.close()
    assert secret_a and secret_b and secret_old
    assert [name for name, _ in entries] == ["btn-a", "btn-b", "btn-new"]

    files = write_files(tmp_path / "broker", entries, ("eldercare-gateway", "gateway-secret-1"), topic_prefix=PREFIX)
    assert "btn-a:$7$101$" in files.password_file.read_text()
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(mosquitto_conf(port, files) + "user root\n")  # the test runs as root; keep it reading 0600 files
    with mosquitto(conf, port) as process:
        await _wait_listening(port, process)

        # unknown client, anonymous client, wrong password, a replaced device: refused at connect
        for user, password in (
            ("intruder", "whatever-1"),
            (None, None),
            ("btn-a", "wrong-password"),
            ("btn-old", secret_old),
        ):
            with pytest.raises(aiomqtt.MqttError):
                async with client(port, user, password, f"bad-{user}"):
                    pass

        async with (
            client(port, "eldercare-gateway", "gateway-secret-1", "gw") as gateway,
            client(port, "btn-a", secret_a, "btn-a") as device_a,
            client(port, "btn-b", secret_b, "btn-b") as device_b,
        ):
            await gateway.subscribe(f"{PREFIX}/#", qos=1)
            await device_a.subscribe(f"{PREFIX}/btn-b/cmd", qos=1)  # someone else's downlink: not delivered
            await device_a.subscribe(f"{PREFIX}/btn-a/cmd", qos=1)
            await device_a.publish(f"{PREFIX}/btn-a/alarm", b"a-own", qos=1)
            await device_a.publish(f"{PREFIX}/btn-b/alarm", b"a-as-b", qos=1)  # speaking for another device
            await device_a.publish("zigbee2mqtt/sos_1", b"a-as-zigbee", qos=1)
            await device_b.publish(f"{PREFIX}/btn-b/status", b"b-own", qos=1)
            heard = await _collect(gateway, 1.0)
            await gateway.publish(f"{PREFIX}/btn-a/cmd", b"cmd-a", qos=1)
            await gateway.publish(f"{PREFIX}/btn-b/cmd", b"cmd-b", qos=1)
            heard_by_a = await _collect(device_a, 1.0)

    payloads = {payload for _, payload in heard}
    assert b"a-own" in payloads and b"b-own" in payloads
    assert b"a-as-b" not in payloads and b"a-as-zigbee" not in payloads
    assert [payload for _, payload in heard_by_a] == [b"cmd-a"]
