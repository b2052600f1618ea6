"""The means of a fault: a TCP proxy that cuts every connection (a network or database outage) and
a private broker that restarts with its state (Mosquitto when installed, else the embedded one)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from eldercare.embedded import EmbeddedBroker, free_port, mqtt_ping


class TcpProxy:
    """A loopback TCP proxy that can cut every connection and refuse new ones (a network fault)."""

    def __init__(self, upstream_host: str | None, upstream_port: int | None, upstream_unix: str | None = None) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.upstream_unix = upstream_unix
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def cut(self) -> None:
        """Close every connection and stop listening (clients see resets, then refusals)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._pipes):
            task.cancel()

    async def restore(self) -> None:
        await self.start()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.upstream_unix:
                up_reader, up_writer = await asyncio.open_unix_connection(self.upstream_unix)
            else:
                assert self.upstream_host is not None and self.upstream_port is not None
                up_reader, up_writer = await asyncio.open_connection(self.upstream_host, self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.transport.abort()
            self._writers.discard(writer)


def proxied_url(database_url: str, proxy_port: int) -> str:
    params = conninfo_to_dict(database_url)
    params.update(host="127.0.0.1", port=str(proxy_port))
    return make_conninfo(**params)  # type: ignore[arg-type]


def database_upstream(database_url: str) -> tuple[str | None, int | None, str | None]:
    params = conninfo_to_dict(database_url)
    host = str(params.get("host") or "/var/run/postgresql")
    port = int(params.get("port") or 5432)
    if host.startswith("/"):
        return None, None, f"{host}/.s.PGSQL.{port}"
    return host, port, None


class RestartableBroker:
    """A private broker on a free loopback port whose state survives restarts.

    Mosquitto (with persistence) when its binary is installed, else the embedded nats-server.
    """

    def __init__(self, directory: Path, max_queued_messages: int = 100_000, max_inflight_messages: int = 1000) -> None:
        self.directory = directory
        self.max_queued_messages = max_queued_messages
        self.max_inflight_messages = max_inflight_messages
        self.port = free_port()
        self.kind = "mosquitto" if shutil.which("mosquitto") else "embedded nats-server"
        self._process: subprocess.Popen[bytes] | None = None
        self._embedded: EmbeddedBroker | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    async def start(self) -> None:
        if self.kind == "mosquitto":
            config = self.directory / "mosquitto.conf"
            config.write_text(
                f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\nuser {mosquitto_user()}\n"
                f"persistence_location {self.directory}/\nautosave_interval 1\nautosave_on_changes true\n"
                f"max_queued_messages {self.max_queued_messages}\nmax_inflight_messages {self.max_inflight_messages}\n"
                "set_tcp_nodelay true\n"
            )
            binary = shutil.which("mosquitto") or "mosquitto"
            self._process = subprocess.Popen(
                [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        else:
            self._embedded = EmbeddedBroker(self.directory, port=self.port)
            await self._embedded.start()
        deadline = time.monotonic() + 15
        while not await mqtt_ping("127.0.0.1", self.port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.kind} did not start on port {self.port}")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGTERM)  # mosquitto saves its persistence file on TERM
            await asyncio.to_thread(self._process.wait, 10)
            self._process = None
        if self._embedded is not None:
            await self._embedded.stop()
            self._embedded = None

    async def restart(self, down_s: float) -> None:
        await self.stop()
        await asyncio.sleep(down_s)
        await self.start()


def mosquitto_user() -> str:
    """Mosquitto started as root drops to user ``mosquitto``, who cannot write our temp directory."""
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name
