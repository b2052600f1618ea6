"""CPU and memory of the processes a bench runs: the platform, the simulator, the broker, PostgreSQL."""

from __future__ import annotations

import contextlib
import time

import psutil


class CpuMeter:
    """CPU (% of one core) and resident memory of named processes between ``start()`` and ``stop()``."""

    def __init__(self, processes: dict[str, list[psutil.Process]]) -> None:
        self.processes = processes
        self._t0 = 0.0
        self._cpu0: dict[str, float] = {}

    @staticmethod
    def _cpu(procs: list[psutil.Process]) -> float:
        total = 0.0
        for p in procs:
            with contextlib.suppress(psutil.Error):
                times = p.cpu_times()
                total += times.user + times.system
        return total

    @staticmethod
    def _rss(procs: list[psutil.Process]) -> int:
        total = 0
        for p in procs:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total

    def start(self) -> None:
        self._t0 = time.perf_counter()
        self._cpu0 = {name: self._cpu(procs) for name, procs in self.processes.items()}

    def stop(self) -> dict[str, dict[str, float]]:
        wall = max(1e-9, time.perf_counter() - self._t0)
        return {
            name: {
                "cpu_pct": round(100.0 * (self._cpu(procs) - self._cpu0.get(name, 0.0)) / wall, 1),
                "rss_mb": round(self._rss(procs) / 2**20, 1),
                "processes": len(procs),
            }
            for name, procs in self.processes.items()
        }


def broker_processes(port: int) -> list[psutil.Process]:
    """The broker listening on ``port`` (not every broker on the machine)."""
    found = []
    for p in psutil.process_iter(["name"]):
        if p.info["name"] not in {"mosquitto", "nats-server"}:
            continue
        with contextlib.suppress(psutil.Error):
            listening = p.net_connections("tcp")
            if any(c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN for c in listening):
                found.append(p)
    return found


def postgres_processes() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["name"]) if p.info["name"] in {"postgres", "postgresql"}]
