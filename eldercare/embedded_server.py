"""What the embedded broker and the embedded PostgreSQL share as child servers: waiting until a
started server is ready (or has died, or is late), stopping it, and the ``async with`` around both.
Launching a process, finding stale ones and signalling are :mod:`eldercare.processes`'."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

from eldercare.processes import EmbeddedError, log_tail, terminate

log = logging.getLogger("eldercare.embedded")


class EmbeddedServer:
    """A server run as a child process; a subclass starts it (``start``) and names how it stops."""

    what: ClassVar[str]
    """How logs and errors name it ("embedded broker")."""
    stop_signal: ClassVar[signal.Signals]
    stop_timeout_s: ClassVar[float]
    """How long :meth:`stop` waits after ``stop_signal`` before SIGKILL."""

    start_timeout_s: float
    _proc: asyncio.subprocess.Process | None = None

    @property
    def log_file(self) -> Path:
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def _wait_ready(self, started: float, ready: Callable[[int], Awaitable[bool]]) -> None:
        """Poll ``ready(pid)`` every 50 ms until it is true; if the process exits first, or
        ``start_timeout_s`` after ``started`` (monotonic s) passes (then it is stopped), raise
        :class:`EmbeddedError` with the end of its log."""
        deadline = started + self.start_timeout_s
        while True:
            proc = self._proc
            if proc is None:
                raise EmbeddedError(f"{self.what} was stopped while starting")
            if proc.returncode is not None:
                self._proc = None
                raise EmbeddedError(f"{self.what} exited with {proc.returncode}:\n{log_tail(self.log_file)}")
            if await ready(proc.pid):
                return
            if time.monotonic() > deadline:
                await self.stop()
                raise EmbeddedError(
                    f"{self.what} not ready after {self.start_timeout_s:.0f} s:\n{log_tail(self.log_file)}"
                )
            await asyncio.sleep(0.05)

    def _forget(self) -> None:
        """Drop what only holds while running (ports); called by :meth:`stop`."""

    async def stop(self) -> None:
        """Stop the server (``stop_signal``, then SIGKILL after ``stop_timeout_s``); its data stays on disk."""
        proc, self._proc = self._proc, None
        self._forget()
        if proc is None:
            return
        await terminate(proc, self.stop_signal, self.stop_timeout_s, self.what)
        log.info("%s: stopped", self.what)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> str:
        raise NotImplementedError
