"""A heap of deadlines on an injected clock.

Deadlines are wall-clock datetimes (what alerting persists), so a restart rebuilds the heap from the
database and anything already due fires at the next :meth:`Scheduler.run_due`. The scheduler itself
neither sleeps nor reads the time in :meth:`run_due`: tests advance a fake clock and call it.
A failing callback is logged and the scheduler keeps going.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime

log = logging.getLogger("eldercare.alerting.scheduler")

Callback = Callable[[], Awaitable[None]]


@dataclass(order=True, slots=True)
class _Entry:
    due: datetime
    seq: int
    key: Hashable = field(compare=False)
    callback: Callback = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class Scheduler:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self._heap: list[_Entry] = []
        self._by_key: dict[Hashable, _Entry] = {}
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self.fired = 0
        self.failed = 0

    def __len__(self) -> int:
        return len(self._by_key)

    def schedule(self, due: datetime, key: Hashable, callback: Callback) -> None:
        """Run ``callback`` once ``clock() >= due``; scheduling a key again replaces it."""
        self.cancel(key)
        entry = _Entry(due, next(self._seq), key, callback)
        self._by_key[key] = entry
        heapq.heappush(self._heap, entry)
        if self._heap[0] is entry:
            self._wake.set()

    def cancel(self, key: Hashable) -> bool:
        entry = self._by_key.pop(key, None)
        if entry is None:
            return False
        entry.cancelled = True  # removed lazily when it reaches the top
        return True

    def next_due(self) -> datetime | None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].due if self._heap else None

    async def run_due(self) -> int:
        """Run every callback that is due now, earliest first; returns how many ran."""
        ran = 0
        while (due := self.next_due()) is not None and due <= self.clock():
            entry = heapq.heappop(self._heap)
            self._by_key.pop(entry.key, None)
            ran += 1
            try:
                await entry.callback()
                self.fired += 1
            except Exception:
                self.failed += 1
                log.exception("scheduled callback failed", extra={"key": str(entry.key)})
        return ran

    async def run_forever(self, max_wait_s: float = 1.0) -> None:
        """The live loop: run what is due, then wait for the next deadline (or a nearer new one).

        Waits at most ``max_wait_s`` at a time so a wall-clock jump is noticed soon.
        """
        while True:
            await self.run_due()
            due = self.next_due()
            wait = max_wait_s if due is None else min(max_wait_s, max(0.0, (due - self.clock()).total_seconds()))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
