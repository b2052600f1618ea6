"""A partitioned deployment on loopback, for ``eldercare bench scaling``: real processes only.

- a private **Mosquitto** on a free port with the queue, payload and ``TCP_NODELAY`` settings of
  ``deploy/mosquitto.conf`` (anonymous, no persistence: a bench's broker), unless a broker URL is given;
- a **nats-server** with JetStream (the binary :func:`eldercare.embedded.find_nats_server` finds, one
  node, the log at R1), configured like ``deploy/cluster/nats.conf`` without the cluster block;
- ``eldercare ingest``, ``eldercare worker`` and ``eldercare api`` as child processes, started as
  ``tests/partitions/test_failover.py`` starts them, each with its own log file.

Every child gets a parent-death signal, so a killed bench leaves nothing running.
:func:`private_mosquitto` is that broker alone, for the one-process benches (``ingest``, and ``e2e`` and
``load`` through :func:`bench_broker`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil

from eldercare.embedded import Services, find_nats_server, free_port
from eldercare.processes import parent_death_signal
from gateway import BrokerAddress
from lab.harness import services_label

REPO = Path(__file__).resolve().parents[2]
BROKER_SETTINGS = frozenset(
    {
        "per_listener_settings",
        "max_queued_messages",
        "max_queued_bytes",
        "max_inflight_messages",
        "queue_qos0_messages",
        "message_size_limit",
        "set_tcp_nodelay",
    }
)
"""The lines of ``deploy/mosquitto.conf`` the bench's broker keeps (the rest is a site's: users, TLS, disk)."""


def broker_config(port: int, queued: int | None = None) -> str:
    """The bench broker's configuration: ``deploy/mosquitto.conf``'s queue, payload and TCP settings on
    ``port``; ``queued``: another ``max_queued_messages`` (a backlog bigger than a site rides out)."""
    site = (REPO / "deploy" / "mosquitto.conf").read_text().splitlines()
    kept = [line for line in site if line.split(" ", 1)[0] in BROKER_SETTINGS]
    if queued is not None:
        kept = [f"max_queued_messages {queued}" if line.startswith("max_queued_messages ") else line for line in kept]
    return "\n".join(
        [
            *kept,
            f"listener {port} 127.0.0.1",
            "allow_anonymous true",
            "persistence false",
            "log_dest stderr",  # into mosquitto.log (it runs as the user mosquitto: no file of its own here)
            "log_type error",
            "log_type warning",
            "",
        ]
    )


def mosquitto_binary() -> str:
    return shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def nats_config(port: int, directory: Path) -> str:
    return "\n".join(
        [
            "server_name: bench",
            f"listen: 127.0.0.1:{port}",
            f'jetstream {{ store_dir: "{directory / "js"}", max_memory_store: 256MB, max_file_store: 8GB }}',
            "max_payload: 8MB",
            f'log_file: "{directory / "nats.log"}"',
            "",
        ]
    )


@contextlib.asynccontextmanager
async def private_mosquitto(directory: Path, queued: int | None = None) -> AsyncIterator[BrokerAddress]:
    """Mosquitto on a free loopback port with the site's settings (:func:`broker_config`)."""
    port = free_port()
    conf = directory / "mosquitto.conf"
    conf.write_text(broker_config(port, queued))
    log = (directory / "mosquitto.log").open("wb")
    proc = subprocess.Popen(
        [mosquitto_binary(), "-c", str(conf)],
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=parent_death_signal(signal.SIGTERM),
    )
    try:
        await _listening(port, proc, "mosquitto")
        yield BrokerAddress("127.0.0.1", port)
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        if proc.poll() is None:
            proc.kill()
        log.close()


@contextlib.asynccontextmanager
async def bench_broker(services: Services, site: bool) -> AsyncIterator[tuple[str, str]]:
    """The MQTT URL a one-process bench runs on, and how its figures name the services: with ``site``
    (and Mosquitto installed) a private Mosquitto with ``deploy/mosquitto.conf``'s settings
    (``TCP_NODELAY`` among them), else the configured or embedded broker."""
    where = services_label(services)
    if not (site and shutil.which("mosquitto")):
        yield services.mqtt_url, where
        return
    with tempfile.TemporaryDirectory(prefix="eldercare-broker-") as scratch:
        async with private_mosquitto(Path(scratch)) as broker:
            database = where.split(", ", 1)[1]
            yield (
                f"mqtt://{broker.host}:{broker.port}",
                f"mqtt {mosquitto_version()} with deploy/mosquitto.conf's settings, {database}",
            )


def mosquitto_version() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run([mosquitto_binary(), "-h"], capture_output=True, text=True, timeout=5).stdout
        return out.splitlines()[0].strip() if out else "mosquitto"
    return "mosquitto"


async def _listening(port: int, proc: subprocess.Popen[bytes], what: str, timeout_s: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited at start (code {proc.returncode})")
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"{what} not listening on {port} after {timeout_s:g} s")
        await asyncio.sleep(0.1)


@dataclass
class Deployment:
    """The services and the platform's processes of one bench run, under ``directory``."""

    directory: Path
    database_url: str
    mqtt_url: str | None = None
    """None: start a private Mosquitto."""
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    nats_url: str = ""
    http_port: int = 0
    _outputs: list[IO[bytes]] = field(default_factory=list)

    def _popen(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        out = (self.directory / f"{name}.log").open("wb")
        self._outputs.append(out)
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=parent_death_signal(signal.SIGTERM),
        )
        self.procs[name] = proc
        return proc

    async def start_services(self, settings: dict[str, str]) -> None:
        """The broker (unless given) and nats-server; ``settings``: ``ELDERCARE_*`` for every process."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.mqtt_url is None:
            port = free_port()
            conf = self.directory / "mosquitto.conf"
            conf.write_text(broker_config(port))
            await _listening(port, self._popen("mosquitto", [mosquitto_binary(), "-c", str(conf)]), "mosquitto")
            self.mqtt_url = f"mqtt://127.0.0.1:{port}"
        port = free_port()
        conf = self.directory / "nats.conf"
        conf.write_text(nats_config(port, self.directory))
        await _listening(port, self._popen("nats-server", [str(find_nats_server()), "-c", str(conf)]), "nats-server")
        self.nats_url = f"nats://127.0.0.1:{port}"  # one node: JetStream answers once it listens
        self.http_port = free_port()
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
            "ELDERCARE_DATABASE_URL": self.database_url,
            "ELDERCARE_MQTT_URL": self.mqtt_url,
            "ELDERCARE_NATS_URL": self.nats_url,
            "ELDERCARE_NATS_REPLICAS": "1",
            "ELDERCARE_DATA_DIR": str(self.directory),
            "ELDERCARE_HTTP_PORT": str(self.http_port),
            **settings,
        }

    def spawn(self, name: str, command: str) -> psutil.Process:
        """``eldercare <command>`` as the process ``name`` (also its worker id)."""
        return self.spawn_python(name, ["-c", "from eldercare.cli import app; app()", command])

    def spawn_python(self, name: str, arguments: list[str]) -> psutil.Process:
        proc = self._popen(name, [sys.executable, *arguments], {**self.env, "ELDERCARE_WORKER_ID": name})
        return psutil.Process(proc.pid)

    def process(self, name: str) -> psutil.Process:
        return psutil.Process(self.procs[name].pid)

    def alive(self, name: str) -> bool:
        return name in self.procs and self.procs[name].poll() is None

    def stop(self, name: str, timeout_s: float = 20.0) -> None:
        """SIGTERM (a worker snapshots and hands over), SIGKILL after ``timeout_s``."""
        proc = self.procs.get(name)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def close(self) -> None:
        """Platform processes first, then nats-server and the broker."""
        for name in [n for n in self.procs if n not in {"nats-server", "mosquitto"}] + ["nats-server", "mosquitto"]:
            self.stop(name)
        for out in self._outputs:
            out.close()

    def keep_logs(self, to: Path) -> None:
        """The processes' logs, kept beside the figures (the run's directory is removed)."""
        to.mkdir(parents=True, exist_ok=True)
        for path in self.directory.glob("*.log"):
            shutil.copyfile(path, to / path.name)

    def tail(self, name: str, lines: int = 20) -> str:
        path = self.directory / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
