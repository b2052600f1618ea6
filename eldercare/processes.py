"""Child processes for the embedded services: free ports, a parent-death signal, stale servers
stopped before a new start, and termination with a deadline. Shared by the embedded broker and
PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("eldercare.embedded")

LOOPBACK = "127.0.0.1"
_PR_SET_PDEATHSIG = 1


class EmbeddedError(RuntimeError):
    """An embedded service failed to start or stop; the message carries the tail of its log."""


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """True when nothing listens on ``host:port`` (checked by binding it, as the server will)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port the kernel considers free right now on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def choose_port(wanted: int, what: str) -> int:
    if wanted and port_is_free(wanted):
        return wanted
    port = free_port()
    if wanted:
        log.warning("%s: port %d is taken, using free port %d instead", what, wanted, port)
    return port


def parent_death_signal(sig: signal.Signals) -> Callable[[], None] | None:
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


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def pid_alive(pid: int) -> bool:
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


async def stop_stale(pid_file: Path, name: str, marker: Path, sig: signal.Signals, what: str) -> None:
    """Stop a server left running on this data directory by a process that died without stopping it.

    A server whose parent is still alive (another ``eldercare`` using the same data directory) is not
    touched: that is an error.
    """
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    if pid == os.getpid() or not pid_alive(pid) or not _is_our_server(pid, name, marker):
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
    while pid_alive(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.2)


async def terminate(proc: asyncio.subprocess.Process, sig: signal.Signals, timeout: float, what: str) -> None:
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
