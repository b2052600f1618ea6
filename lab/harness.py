"""Start the platform for a test or a bench: its broker and database, the platform in this process
with its API, or ``eldercare up`` as a child process.

The one place the tests (``tests/harness.py``, ``tests/sim/harness.py``, ``tests/services.py``), the
benches (``lab/bench/``) and the fault scenarios (``lab/faults.py``) start what they measure::

    async with bench_services(settings) as services:              # configured, else embedded ones
        async with throwaway_database(services.database_url) as database_url:
            namespace = Namespace(label="bench")                   # own topics and client id per run
            config = platform_config(namespace, batch_linger_ms=0)
            async with platform_on(database_url, BrokerAddress.parse(services.mqtt_url), config) as platform:
                async with serve_api(platform) as api:             # uvicorn on a free loopback port
                    token = await api.token_for("bench")

    up = PlatformProcess(up_env(mqtt_url, database_url, data_dir, namespace))  # ``eldercare up``
    await up.start()                                               # returns once /readyz answers 200

Production never imports this module (``eldercare up`` is :mod:`eldercare.serve`); it uses the same
pieces (:func:`eldercare.embedded.resolve_services`, :func:`eldercare.serve.http_config`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import uvicorn
from psycopg import sql
from psycopg.conninfo import make_conninfo

from api import create_app
from api.security import TokenIssuer
from devices.protocol import TOPIC_PREFIX
from eldercare.db import open_pool
from eldercare.embedded import Services, free_port, resolve_services
from eldercare.runtime import Platform, PlatformConfig
from eldercare.serve import api_config, http_config
from eldercare.settings import Settings
from gateway import BrokerAddress, GatewayConfig

REPO = Path(__file__).resolve().parents[1]

__all__ = [
    "REPO",
    "ApiServer",
    "Namespace",
    "PlatformProcess",
    "bench_services",
    "create_database",
    "drop_database",
    "free_port",
    "fresh_database",
    "platform_config",
    "platform_on",
    "serve_api",
    "services_label",
    "throwaway_database",
    "up_env",
    "with_database",
]


# ------------------------------------------------------------------------------------------ databases


def with_database(url: str, dbname: str) -> str:
    """``url`` (a postgresql:// URL or a key=value conninfo) pointing at database ``dbname``."""
    if "://" in url:
        parts = urlsplit(url)
        return urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", parts.query, parts.fragment))
    return make_conninfo(url, dbname=dbname)


async def create_database(admin_url: str, name: str) -> str:
    """Create database ``name`` on ``admin_url``'s server; its URL."""
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as conn:
        await conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(admin_url, name)


async def drop_database(admin_url: str, name: str) -> None:
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as conn:
        await conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


async def fresh_database(admin_url: str, prefix: str = "eldercare_bench_") -> tuple[str, str | None]:
    """A new database beside ``admin_url``'s and its name, or ``(admin_url, None)`` where the server
    does not let us create one (the bench then runs in the configured database itself)."""
    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    try:
        return await create_database(admin_url, name), name
    except psycopg.Error:
        return admin_url, None


@contextlib.asynccontextmanager
async def throwaway_database(
    admin_url: str, prefix: str = "eldercare_bench_", *, fallback: bool = True
) -> AsyncIterator[str]:
    """A database created beside ``admin_url``'s and dropped afterwards. ``fallback``: where the server
    refuses ``CREATE DATABASE``, ``admin_url`` itself (kept); otherwise the refusal is raised."""
    if fallback:
        url, name = await fresh_database(admin_url, prefix)
    else:
        name = f"{prefix}{uuid.uuid4().hex[:8]}"
        url = await create_database(admin_url, name)
    try:
        yield url
    finally:
        if name is not None:
            await drop_database(admin_url, name)


# ------------------------------------------------------------------------------------------- services


@contextlib.asynccontextmanager
async def bench_services(settings: Settings, scratch_prefix: str = "eldercare-bench-") -> AsyncIterator[Services]:
    """The configured broker and database, the embedded ones for whatever is unset, with their state
    in a temporary directory removed afterwards (never the site's data directory)."""
    with tempfile.TemporaryDirectory(prefix=scratch_prefix) as scratch:
        async with resolve_services(settings.model_copy(update={"data_dir": Path(scratch)})) as services:
            yield services


def services_label(services: Services) -> str:
    """What a bench ran against, for its figures: ``mqtt …, postgresql …``."""
    return (
        f"mqtt {'embedded nats-server' if services.embedded_mqtt else services.mqtt_url}, "
        f"postgresql {'embedded' if services.embedded_database else 'configured'}"
    )


# ---------------------------------------------------------------------------- the platform in-process


@dataclass
class Namespace:
    """Topic prefix, Zigbee2MQTT base and gateway client id of one test or run, so runs sharing a
    broker never hear each other (kept across a restart of the platform)."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    label: str = "t"

    @property
    def prefix(self) -> str:
        return f"{self.label}{self.tag}/{TOPIC_PREFIX}"

    @property
    def z2m_base(self) -> str:
        return f"{self.label}{self.tag}/zigbee2mqtt"

    @property
    def client_id(self) -> str:
        return f"gw-{self.tag}"


def platform_config(namespace: Namespace, *, batch_linger_ms: float | None = None, **config: Any) -> PlatformConfig:
    """The platform's configuration on ``namespace``'s topics; ``config``: other PlatformConfig fields."""
    gateway = GatewayConfig(
        topic_prefix=namespace.prefix, zigbee2mqtt_base=namespace.z2m_base, client_id=namespace.client_id
    )
    if batch_linger_ms is not None:
        gateway = replace(gateway, batch_linger_ms=batch_linger_ms)
    return PlatformConfig(gateway=gateway, **config)


@contextlib.asynccontextmanager
async def platform_on(
    database_url: str,
    address: BrokerAddress,
    config: PlatformConfig,
    *,
    seed: Callable[[Platform], Awaitable[None]] | None = None,
    pool_min: int = 2,
    pool_max: int = 8,
    pool_timeout_s: float | None = None,
    **platform: Any,
) -> AsyncIterator[Platform]:
    """The platform (gateway, stream, alerting, service centre, care) running in this process.

    Its pool is opened here; the schema is migrated, ``seed(platform)`` fills the registry before the
    gateway subscribes, and at exit the platform stops before the pool closes. ``platform``: more
    :class:`Platform` arguments (``clock``, ``stream``, ``cipher``). ``pool_timeout_s``: how long a
    query waits for a connection (a short one lets an outage show instead of hanging).
    """
    pool = await open_pool(database_url, min_size=pool_min, max_size=pool_max)
    if pool_timeout_s is not None:
        pool.timeout = pool_timeout_s
    running = Platform(pool, address, config, **platform)
    try:
        await running.prepare()
        if seed is not None:
            await seed(running)
        await running.start()
        yield running
    finally:
        await running.stop()
        await pool.close()


@dataclass
class ApiServer:
    """The API and console of an in-process platform, served on a loopback port."""

    platform: Platform
    issuer: TokenIssuer
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def console_url(self, token: str) -> str:
        return f"{self.ws_url}/api/v1/ws/console?token={token}"

    async def login(self, username: str, password: str) -> str:
        """A bearer token from the login endpoint, as a browser gets one."""
        async with httpx.AsyncClient(base_url=self.url) as client:
            response = await client.post("/api/v1/auth/token", data={"username": username, "password": password})
            response.raise_for_status()
            return str(response.json()["access_token"])

    async def token_for(self, username: str) -> str:
        """A bearer token signed directly for an existing user (no login round trip)."""
        user = await self.platform.users.get(username)
        if user is None:
            raise LookupError(f"no active user {username!r}")
        return self.issuer.issue(user)


@contextlib.asynccontextmanager
async def serve_api(
    platform: Platform, settings: Settings | None = None, *, token_ttl_s: int = 600
) -> AsyncIterator[ApiServer]:
    """The API of ``platform`` on a free loopback port (as ``eldercare up`` configures it), with a
    signing key of its own; returns once the server listens and stops it at exit."""
    settings = settings or Settings()
    issuer = TokenIssuer(secrets.token_urlsafe(48), token_ttl_s)
    port = free_port()
    server = uvicorn.Server(
        http_config(create_app(platform, issuer, api_config(settings)), settings, "127.0.0.1", port)
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                serving.result()  # the server gave up: say why
            await asyncio.sleep(0.02)
        yield ApiServer(platform, issuer, port)
    finally:
        server.should_exit = True
        await serving


# ------------------------------------------------------------------------- ``eldercare up`` as a child


def up_env(
    mqtt_url: str,
    database_url: str,
    data_dir: Path | str,
    namespace: Namespace,
    *,
    http_port: int | None = None,
    admin: tuple[str, str] = ("admin", "harness-admin-password"),
    **settings: str,
) -> dict[str, str]:
    """The environment of an ``eldercare up`` on ``namespace``'s topics; ``settings``: more
    ``ELDERCARE_*`` variables by their settings name (``snapshot_every_s="0.3"``)."""
    return {
        **os.environ,
        "ELDERCARE_MQTT_URL": mqtt_url,
        "ELDERCARE_DATABASE_URL": database_url,
        "ELDERCARE_DATA_DIR": str(data_dir),
        "ELDERCARE_HTTP_PORT": str(http_port or free_port()),
        "ELDERCARE_TOPIC_PREFIX": namespace.prefix,
        "ELDERCARE_ZIGBEE2MQTT_BASE": namespace.z2m_base,
        "ELDERCARE_GATEWAY_CLIENT_ID": namespace.client_id,
        "ELDERCARE_ADMIN": f"{admin[0]}:{admin[1]}",
        **{f"ELDERCARE_{name.upper()}": value for name, value in settings.items()},
    }


class PlatformProcess:
    """``eldercare up`` as a child process (a real process to kill), with ``env`` from :func:`up_env`.

    :meth:`start` returns once ``/readyz`` answers 200 and can be called again after :meth:`kill`.
    ``output``: where its stdout and stderr go (default: nowhere).
    """

    COMMAND = (sys.executable, "-c", "from eldercare.cli import app; app()", "up")

    def __init__(self, env: Mapping[str, str], output: IO[bytes] | None = None) -> None:
        self.env = dict(env)
        self.port = int(self.env["ELDERCARE_HTTP_PORT"])
        self.output = output
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> subprocess.Popen[bytes]:
        """Start the process without waiting for it."""
        sink = self.output if self.output is not None else subprocess.DEVNULL
        self.process = subprocess.Popen(self.COMMAND, env=self.env, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT)
        return self.process

    async def start(self, timeout_s: float = 60.0) -> None:
        process = self.spawn()
        async with httpx.AsyncClient() as http:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.url}/readyz")).status_code == 200:
                        return
                if process.poll() is not None:
                    raise RuntimeError(f"eldercare up exited with {process.returncode}")
                await asyncio.sleep(0.1)
        process.kill()
        raise RuntimeError(f"eldercare up did not become ready within {timeout_s:g} s")

    async def kill(self) -> None:
        """SIGKILL: no clean stop, nothing saved on the way out."""
        await self.stop(signal.SIGKILL)

    async def stop(self, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 20.0) -> None:
        """Send ``sig`` and wait; killed when it has not exited within ``timeout_s``."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            await asyncio.to_thread(process.wait, timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)
