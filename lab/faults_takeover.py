"""Fault scenario: a device tries to take over the gateway's MQTT sessions by their client ids.

A private broker with the platform's identity rule: Mosquitto started from the generated password,
ACL and configuration files (client ids bound to user names) when it is installed, else the embedded
nats-server (the platform's own credentials and client ids derived from them). The platform logs in
as its own users; every button logs in with its own credentials (anonymously on the embedded broker,
where devices have none). While the buttons press, an intruder device with valid credentials connects
again and again, clean session, under the client ids the gateway is known to use: its configured ids
and its user names. Counted as in :mod:`lab.presses` (every press stored, none paged twice),
with the intruder's sessions and how often the gateway's sessions were knocked off in the notes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiomqtt

from eldercare.embedded import EmbeddedBroker, free_port
from eldercare.runtime import Platform
from lab.outages import mosquitto_user
from lab.presses import FaultResult, Stage, staged, watched_platform
from registry.broker_config import mosquitto_conf, platform_users, write_files
from registry.mqtt_auth import hash_password
from registry.store import new_device_password

GATEWAY_USER = "eldercare-gateway"
Login = tuple[str | None, str | None]


@dataclass
class IdentityBroker:
    """Where the platform and the devices log in."""

    kind: str
    port: int
    platform_url: str
    logins: dict[str, Login] = field(default_factory=dict)  # device id → (user, password)


@contextlib.asynccontextmanager
async def identity_broker(directory: Path, stage: Stage, intruder: str, kind: str) -> AsyncIterator[IdentityBroker]:
    """A broker on a free loopback port with the identity rule the platform ships for ``kind``."""
    port = free_port()
    if kind == "embedded":
        async with EmbeddedBroker(directory, port=port, platform_user=GATEWAY_USER, topic_prefix=stage.prefix) as nats:
            anonymous: Login = (None, None)
            yield IdentityBroker(kind, port, nats.url, {device: anonymous for device in [*stage.devices, intruder]})
        return
    passwords = {device: new_device_password() for device in [*stage.devices, intruder]}
    gateway_password = secrets.token_urlsafe(24)
    files = write_files(
        directory / "files",
        [(device, hash_password(password)) for device, password in passwords.items()],
        (GATEWAY_USER, gateway_password),
        topic_prefix=stage.prefix,
    )
    config = directory / "mosquitto.conf"
    config.write_text(mosquitto_conf(port, files) + f"user {mosquitto_user()}\nmax_inflight_messages 1000\n")
    process = subprocess.Popen(
        [shutil.which("mosquitto") or "mosquitto", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await _listening(port, process)
        logins: dict[str, Login] = {device: (device, password) for device, password in passwords.items()}
        yield IdentityBroker(kind, port, f"mqtt://{GATEWAY_USER}:{gateway_password}@127.0.0.1:{port}", logins)
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 10)


async def _listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mosquitto exited with {process.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise RuntimeError(f"mosquitto did not listen on port {port}")


async def client_id_takeover(admin_db_url: str, presses: int, rate_hz: float, kind: str = "auto") -> FaultResult:
    """Presses while an intruder device keeps connecting under the gateway's client ids."""
    if kind == "auto":
        kind = "mosquitto" if shutil.which("mosquitto") else "embedded"
    async with staged(admin_db_url, presses, "id") as stage:
        intruder = f"{stage.tag}-intruder"
        with tempfile.TemporaryDirectory(prefix="eldercare-identity-") as directory:
            async with (
                identity_broker(Path(directory), stage, intruder, kind) as broker,
                watched_platform(stage, broker.platform_url) as platform,
            ):
                config = platform.gateway.config
                known_ids = [config.client_id, f"{config.client_id}-telemetry", *platform_users(GATEWAY_USER)]
                done = asyncio.Event()
                watcher = asyncio.create_task(_count_drops(platform, done))
                intruding = asyncio.create_task(_intrude(broker, broker.logins[intruder], known_ids, done))
                try:
                    await _press_each(broker, stage, rate_hz)
                    await asyncio.sleep(0.5)  # the intruder keeps going while the last presses are handled
                finally:
                    done.set()
                sessions = await intruding
                drops = await watcher
                notes = (
                    f"{sessions} intruder sessions under the gateway's client ids {known_ids}; "
                    f"gateway sessions knocked off {drops}"
                )
                return await stage.result(f"client-id takeover attempt ({broker.kind})", notes)


async def _press_each(broker: IdentityBroker, stage: Stage, rate_hz: float) -> None:
    """Each button logs in as itself and presses once (seq 1, QoS 1), retrying as firmware does."""
    for device in stage.devices:
        user, password = broker.logins[device]
        stage.log.sent_at.setdefault(device, time.monotonic())
        body = json.dumps({"ts": int(time.time() * 1000), "kind": "sos", "seq": 1})
        while True:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1", broker.port, identifier=device, username=user, password=password
                ) as client:
                    await client.publish(f"{stage.prefix}/{device}/alarm", body, qos=1, timeout=5)
                break
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)
        await asyncio.sleep(1.0 / rate_hz)


async def _intrude(broker: IdentityBroker, login: Login, known_ids: list[str], done: asyncio.Event) -> int:
    """Connect (clean session) under each of the gateway's known client ids in turn until ``done``."""
    sessions = 0
    while not done.is_set():
        for identifier in known_ids:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1",
                    broker.port,
                    identifier=identifier,
                    username=login[0],
                    password=login[1],
                    clean_session=True,
                ):
                    sessions += 1
                    await asyncio.sleep(0.05)
            except aiomqtt.MqttError:
                await asyncio.sleep(0.05)
    return sessions


async def _count_drops(platform: Platform, done: asyncio.Event) -> int:
    """How often one of the gateway's sessions went from connected to not connected."""
    drops = 0
    was = dict(platform.gateway.lanes_connected)
    while not done.is_set():
        now = dict(platform.gateway.lanes_connected)
        drops += sum(1 for lane, up in was.items() if up and not now.get(lane, False))
        was = now
        await asyncio.sleep(0.005)
    return drops
