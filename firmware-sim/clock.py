"""Simulated time and one scheduler for every simulated device of a process.

:class:`SimClock` runs ``speed`` times faster than the wall clock from a chosen start and can jump
ahead; pass ``clock.time`` to the platform (``Platform(clock=…)``) and both sides live in the same
simulated time. :class:`Scheduler` keeps one heap of due callbacks for thousands of devices (no task
per device); a jump wakes it and everything that became due runs in time order.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Callable

log = logging.getLogger("eldercare.sim")


class SimClock:
    """Epoch seconds in simulated time: ``start + (monotonic − t0) · speed + jumps``."""

    def __init__(self, start: float | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._sim0 = time.time() if start is None else float(start)
        self._real0 = time.monotonic()
        self.speed = float(speed)
        self._listeners: list[Callable[[], None]] = []

    def time(self) -> float:
        return self._sim0 + (time.monotonic() - self._real0) * self.speed

    def ms(self) -> int:
        return int(self.time() * 1000)

    def real_s(self, sim_s: float) -> float:
        """Wall-clock seconds that ``sim_s`` simulated seconds take."""
        return sim_s / self.speed

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._sim0, self._real0, self.speed = self.time(), time.monotonic(), float(speed)
        self._notify()

    def advance(self, seconds: float) -> None:
        """Jump ahead (never back): timers and schedules catch up at once."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._sim0 += seconds
        self._notify()

    def on_change(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def _notify(self) -> None:
        for callback in self._listeners:
            callback()


class Scheduler:
    """A heap of ``(due simulated epoch s, callback)``; callbacks are plain functions, run in order."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self.ran = 0
        self.failed = 0
        self.max_lag_s = 0.0
        clock.on_change(self._wake.set)

    def at(self, due: float, callback: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (due, next(self._order), callback))
        if self._heap[0][2] is callback:
            self._wake.set()

    def after(self, delay_s: float, callback: Callable[[], None]) -> None:
        self.at(self.clock.time() + max(0.0, delay_s), callback)

    def __len__(self) -> int:
        return len(self._heap)

    def run_next(self) -> bool:
        """Jump the clock to the next due callback and run it, without an event loop: a fleet's
        traffic generated as fast as the callbacks run (give the clock a tiny ``speed`` so only these
        jumps move it). False when nothing is scheduled."""
        if not self._heap:
            return False
        due, _, callback = heapq.heappop(self._heap)
        ahead = due - self.clock.time()
        if ahead > 0:
            self.clock.advance(ahead)
        callback()
        self.ran += 1
        return True

    async def run(self) -> None:
        """Run due callbacks forever (cancel to stop); a failing callback is logged, not fatal."""
        heap = self._heap
        while True:
            now = self.clock.time()
            ran = 0
            while heap and heap[0][0] <= now:
                due, _, callback = heapq.heappop(heap)
                try:
                    callback()
                except Exception:
                    self.failed += 1
                    log.exception("simulated device callback failed")
                ran += 1
                if ran % 2000 == 0:  # keep the loop responsive during a burst
                    self.max_lag_s = max(self.max_lag_s, self.clock.real_s(now - due))
                    await asyncio.sleep(0)
                    now = self.clock.time()
            self.ran += ran
            self._wake.clear()
            delay = self.clock.real_s(heap[0][0] - self.clock.time()) if heap else 3600.0
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), min(delay, 3600.0))
            else:
                await asyncio.sleep(0)
