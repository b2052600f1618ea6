"""Per-device MQTT credentials and topic ACL, proven on a real Mosquitto started from the generated files."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiomqtt
import pytest

from devices.events import Event
from gateway import BrokerAddress, Gateway, GatewayConfig
from registry.area import Area
from registry.broker_config import mosquitto_conf, write_files
from registry.mqtt_auth import hash_password, verify_password
from registry.store import DeviceRecord, Registry
from registry.users import User
from tests.harness import free_port

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


async def test_devices_speak_only_for_themselves_on_a_real_mosquitto(city_registry: Registry, tmp_path: Path) -> None:
    registry = city_registry
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


class _Directory:
    """The gateway's view of the registry: one bound SOS button."""

    def device(self, device_id: str) -> DeviceRecord | None:
        return DeviceRecord(device_id, "res-a", "sos_button") if device_id == "btn-a" else None

    def zigbee_device(self, name_or_ieee: str) -> DeviceRecord | None:
        return None


async def test_a_device_cannot_take_over_the_gateways_sessions_on_a_real_mosquitto(tmp_path: Path) -> None:
    """A device with valid credentials connecting under the gateway's client ids must not knock the
    gateway off (Mosquitto closes the older of two connections with one client id), and every press
    made during the attempts reaches the gateway's sink."""
    secrets_by_device = {"btn-a": "secret-a-0123456789", "btn-x": "secret-x-0123456789"}
    entries = [(name, hash_password(secret)) for name, secret in secrets_by_device.items()]
    files = write_files(tmp_path / "broker", entries, ("eldercare-gateway", "gateway-secret-1"), topic_prefix=PREFIX)
    assert "eldercare-gateway-telemetry:$7$" in files.password_file.read_text()
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(mosquitto_conf(port, files) + "user root\n")
    assert "use_username_as_clientid true" in conf.read_text()

    stored: list[int] = []

    async def sink(batch: dict[str, list[Event]]) -> None:
        stored.extend(event.seq or 0 for events in batch.values() for event in events)

    gateway = Gateway(_Directory(), GatewayConfig(topic_prefix=PREFIX, client_id="eldercare-gateway"))
    address = BrokerAddress("127.0.0.1", port, "eldercare-gateway", "gateway-secret-1")
    drops = 0

    async def watch() -> None:
        nonlocal drops
        was_up = True
        while True:
            up = all(gateway.lanes_connected.get(lane, False) for lane in ("alarms", "telemetry"))
            drops += was_up and not up
            was_up = up
            await asyncio.sleep(0.005)

    presses = 12
    with mosquitto(conf, port) as process:
        await _wait_listening(port, process)
        running = asyncio.create_task(gateway.run(address, sink))
        try:
            async with asyncio.timeout(10):
                while not all(gateway.lanes_connected.get(lane) for lane in ("alarms", "telemetry")):
                    await asyncio.sleep(0.02)
            watcher = asyncio.create_task(watch())
            known_ids = ["eldercare-gateway", "eldercare-gateway-telemetry", "btn-a"]
            async with client(port, "btn-a", secrets_by_device["btn-a"], "btn-a") as button:
                for seq in range(1, presses + 1):
                    # the intruder logs in with its own valid credentials under someone else's client id
                    async with client(port, "btn-x", secrets_by_device["btn-x"], known_ids[seq % 3]) as intruder:
                        await button.publish(f"{PREFIX}/btn-a/alarm", json.dumps({"kind": "sos", "seq": seq}), qos=1)
                        await intruder.publish(f"{PREFIX}/btn-x/status", b'{"online":true}', qos=1)
                        await asyncio.sleep(0.05)
            async with asyncio.timeout(10):
                while len(set(stored)) < presses:
                    await asyncio.sleep(0.02)
            watcher.cancel()
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
    assert sorted(set(stored)) == list(range(1, presses + 1))
    assert drops == 0, f"the gateway's sessions were knocked off {drops} times"
