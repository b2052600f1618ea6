"""The embedded broker (nats-server's MQTT listener) and the embedded PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiomqtt
import psycopg
import pytest

from eldercare.embedded import EmbeddedBroker, EmbeddedPostgres, mqtt_ping, resolve_services
from eldercare.settings import Settings

HOST = "127.0.0.1"


def _tempdir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="eldercare-embedded-test-"))
    path.chmod(0o711)  # as root, the embedded PostgreSQL runs as another user and must reach it
    return path


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = _tempdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
async def broker() -> AsyncIterator[EmbeddedBroker]:
    path = _tempdir()
    async with EmbeddedBroker(path, port=0) as running:
        yield running
    shutil.rmtree(path, ignore_errors=True)


def _topic(name: str) -> str:
    return f"eldercare-test/{secrets.token_hex(4)}/{name}"


def _client_id(name: str) -> str:
    return f"test-{name}-{secrets.token_hex(4)}"


async def _receive(client: aiomqtt.Client, count: int, timeout: float = 5.0) -> list[aiomqtt.Message]:
    received: list[aiomqtt.Message] = []
    async with asyncio.timeout(timeout):
        async for message in client.messages:
            received.append(message)
            if len(received) >= count:
                break
    return received


# ------------------------------------------------------------------------------------------------ broker


async def test_broker_url_and_ping(broker: EmbeddedBroker) -> None:
    assert broker.port is not None
    assert broker.device_url == f"mqtt://{HOST}:{broker.port}"
    secret = broker.secret_file.read_text().strip()
    assert broker.url == f"mqtt://eldercare-gateway:{secret}@{HOST}:{broker.port}"
    assert broker.secret_file.stat().st_mode & 0o077 == 0 and broker.directory.stat().st_mode & 0o077 == 0
    assert await mqtt_ping(HOST, broker.port)
    assert (broker.directory / "nats.conf").read_text().count("server_name") == 1


async def test_qos1_publish_subscribe(broker: EmbeddedBroker) -> None:
    assert broker.port is not None
    topic = _topic("qos1")
    async with (
        aiomqtt.Client(HOST, broker.port, identifier=_client_id("sub")) as sub,
        aiomqtt.Client(HOST, broker.port, identifier=_client_id("pub")) as pub,
    ):
        await sub.subscribe(topic, qos=1)
        for i in range(20):
            await pub.publish(topic, f"m{i}", qos=1)
        received = await _receive(sub, 20)
    assert [m.payload for m in received] == [f"m{i}".encode() for i in range(20)]
    assert {m.qos for m in received} == {1}


async def test_persistent_session_receives_messages_sent_while_offline(broker: EmbeddedBroker) -> None:
    assert broker.port is not None
    topic, client_id = _topic("offline"), _client_id("persistent")
    async with aiomqtt.Client(HOST, broker.port, identifier=client_id, clean_session=False) as sub:
        await sub.subscribe(topic, qos=1)
    async with aiomqtt.Client(HOST, broker.port, identifier=_client_id("pub")) as pub:
        for i in range(3):
            await pub.publish(topic, f"while-offline-{i}", qos=1)
    async with aiomqtt.Client(HOST, broker.port, identifier=client_id, clean_session=False) as sub:
        received = await _receive(sub, 3)
    assert [m.payload for m in received] == [f"while-offline-{i}".encode() for i in range(3)]


async def test_retained_message(broker: EmbeddedBroker) -> None:
    assert broker.port is not None
    topic = _topic("retained")
    async with aiomqtt.Client(HOST, broker.port, identifier=_client_id("pub")) as pub:
        await pub.publish(topic, "state", qos=1, retain=True)
    async with aiomqtt.Client(HOST, broker.port, identifier=_client_id("sub")) as sub:
        await sub.subscribe(topic, qos=1)
        [message] = await _receive(sub, 1)
    assert message.payload == b"state"
    assert message.retain


def _connect_with_will(client_id: str, will_topic: str, will_message: bytes) -> bytes:
    """An MQTT 3.1.1 CONNECT with a QoS 1 last will."""

    def field(data: bytes) -> bytes:
        return len(data).to_bytes(2, "big") + data

    flags = 0x02 | 0x04 | 0x08  # clean session, will, will QoS 1
    body = field(b"MQTT") + bytes([4, flags, 0, 30])
    body += field(client_id.encode()) + field(will_topic.encode()) + field(will_message)
    assert len(body) < 128
    return bytes([0x10, len(body)]) + body


async def test_last_will_on_abrupt_disconnect(broker: EmbeddedBroker) -> None:
    assert broker.port is not None
    topic = _topic("will")
    async with aiomqtt.Client(HOST, broker.port, identifier=_client_id("watcher")) as watcher:
        await watcher.subscribe(topic, qos=1)
        reader, writer = await asyncio.open_connection(HOST, broker.port)
        writer.write(_connect_with_will(_client_id("dying"), topic, b"offline"))
        await writer.drain()
        assert (await reader.readexactly(4))[3] == 0  # CONNACK accepted
        writer.transport.abort()  # no DISCONNECT: the broker must publish the will
        [message] = await _receive(watcher, 1)
    assert message.payload == b"offline"


async def test_broker_falls_back_to_a_free_port_when_taken(data_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with EmbeddedBroker(data_dir, port=port) as broker:
            assert broker.port not in (None, port)
            assert broker.port is not None
            assert await mqtt_ping(HOST, broker.port)


async def test_broker_state_survives_restart(data_dir: Path) -> None:
    topic, client_id = _topic("restart"), _client_id("persistent")
    async with EmbeddedBroker(data_dir, port=0) as broker:
        assert broker.port is not None
        async with aiomqtt.Client(HOST, broker.port, identifier=client_id, clean_session=False) as sub:
            await sub.subscribe(topic, qos=1)
        async with aiomqtt.Client(HOST, broker.port, identifier=_client_id("pub")) as pub:
            await pub.publish(topic, "queued", qos=1)
            await pub.publish(f"{topic}/state", "kept", qos=1, retain=True)
    async with EmbeddedBroker(data_dir, port=0) as broker:
        assert broker.port is not None
        async with aiomqtt.Client(HOST, broker.port, identifier=client_id, clean_session=False) as sub:
            [queued] = await _receive(sub, 1)
            await sub.subscribe(f"{topic}/state", qos=1)
            [retained] = await _receive(sub, 1)
    assert queued.payload == b"queued"
    assert retained.payload == b"kept"


# ---------------------------------------------------------------------------------------------- postgres


async def test_postgres_start_query_stop_restart_keeps_data(data_dir: Path) -> None:
    async with EmbeddedPostgres(data_dir) as pg:
        url = pg.url()
        assert url.startswith("postgresql://postgres@/eldercare?host=")
        assert (data_dir / "postgres" / "data" / "PG_VERSION").exists()
        async with await psycopg.AsyncConnection.connect(url) as conn:
            cur = await conn.execute("SELECT current_database(), 6 * 7")
            assert await cur.fetchone() == ("eldercare", 42)
            await conn.execute("CREATE TABLE kept (id int PRIMARY KEY, note text)")
            await conn.execute("INSERT INTO kept VALUES (1, 'survives a restart')")
    assert pg.pid is None
    with pytest.raises(psycopg.OperationalError):
        await psycopg.AsyncConnection.connect(url, connect_timeout=2)

    async with EmbeddedPostgres(data_dir, port=0) as pg:
        assert pg.port is not None
        async with await psycopg.AsyncConnection.connect(pg.tcp_url()) as conn:
            cur = await conn.execute("SELECT note FROM kept WHERE id = 1")
            assert await cur.fetchone() == ("survives a restart",)


# ---------------------------------------------------------------------------------------------- services


async def test_resolve_services_passes_configured_urls_through(data_dir: Path) -> None:
    settings = Settings.model_validate(
        {"mqtt_url": "mqtt://broker.example:1883", "database_url": "postgresql://db.example/x", "data_dir": data_dir}
    )
    async with resolve_services(settings) as services:
        assert services.mqtt_url == "mqtt://broker.example:1883"
        assert services.database_url == "postgresql://db.example/x"
        assert not services.embedded_mqtt
        assert not services.embedded_database
    assert not any(data_dir.iterdir())  # nothing started, nothing written


async def test_resolve_services_starts_the_embedded_ones(data_dir: Path) -> None:
    settings = Settings.model_validate(
        {"mqtt_url": None, "database_url": None, "data_dir": data_dir, "embedded_mqtt_port": 0}
    )
    async with resolve_services(settings) as services:
        assert services.embedded_mqtt
        assert services.embedded_database
        assert services.broker is not None and services.broker.port is not None
        assert await mqtt_ping(HOST, services.broker.port)
        async with await psycopg.AsyncConnection.connect(services.database_url) as conn:
            cur = await conn.execute("SELECT current_database()")
            assert await cur.fetchone() == ("eldercare",)
    assert services.broker.pid is None
    assert services.postgres is not None and services.postgres.pid is None


# ------------------------------------------------------------------------------------- broker identity


async def _nats_port(broker: EmbeddedBroker) -> int:
    for line in broker.log_file.read_text().splitlines():
        if "Listening for client connections on" in line:
            return int(line.rsplit(":", 1)[1])
    raise AssertionError("nats-server did not log its client port")


async def test_a_device_cannot_take_over_the_platforms_session(broker: EmbeddedBroker) -> None:
    """nats-server replaces a session when another client connects with its client id; a device (anonymous
    here) that uses the gateway's configured client ids must not knock the platform's sessions off."""
    from gateway.mqtt import BrokerAddress, platform_client_id, session

    address = BrokerAddress.parse(broker.url)
    assert address.username == "eldercare-gateway" and address.password
    topic = "eldercare/v1/btn-id-1/alarm"
    async with contextlib.AsyncExitStack() as stack:
        platform = [
            await stack.enter_async_context(
                session(address.for_session(suffix), platform_client_id(f"eldercare-gateway{suffix}", address))
            )
            for suffix in ("", "-telemetry")
        ]
        await platform[0].subscribe("eldercare/v1/+/alarm", qos=1)
        for attempt in range(3):
            for known in ("eldercare-gateway", "eldercare-gateway-telemetry"):
                async with aiomqtt.Client(HOST, broker.port, identifier=known) as intruder:
                    await intruder.publish(topic, f"press-{attempt}-{known}", qos=1)
        heard = [bytes(m.payload) for m in await _receive(platform[0], 6)]  # type: ignore[arg-type]
        assert len(heard) == 6
        for client in platform:  # both sessions still connected: nothing replaced them
            await client.publish("eldercare/v1/btn-id-1/cmd", b"still here", qos=1, timeout=3)

    # a device cannot log in as the platform, nor read the streams the platform reads
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(HOST, broker.port, username="eldercare-gateway", password="guessed-1"):
            pass
    async with (
        aiomqtt.Client(HOST, broker.port, identifier=_client_id("snoop")) as snoop,
        aiomqtt.Client(HOST, broker.port, identifier=_client_id("dev")) as device,
    ):
        await snoop.subscribe("eldercare/v1/+/alarm", qos=1)
        await snoop.subscribe("eldercare/v1/btn-id-1/cmd", qos=1)
        await device.publish(topic, b"private", qos=1)
        await device.publish("eldercare/v1/btn-id-1/cmd", b"downlink", qos=1)
        got = [bytes(m.payload) for m in await _receive(snoop, 1)]  # type: ignore[arg-type]
        with contextlib.suppress(TimeoutError):
            got += [bytes(m.payload) for m in await _receive(snoop, 1, timeout=1.0)]  # type: ignore[arg-type]
    assert got == [b"downlink"]

    # the NATS port (where JetStream would show the sessions, client ids included) refuses everyone
    reader, writer = await asyncio.open_connection(HOST, await _nats_port(broker))
    try:
        assert (await reader.readline()).startswith(b"INFO")
        writer.write(b'CONNECT {"verbose":false}\r\nPING\r\n')
        await writer.drain()
        assert b"Authorization Violation" in await asyncio.wait_for(reader.readline(), 5)
    finally:
        writer.close()
