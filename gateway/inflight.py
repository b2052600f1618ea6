"""Batches of one lane handled side by side: the next alarm rings while the last one is being stored.

An alarm batch spends most of its time waiting for its commit (a synchronous one: 1.5–2.5 ms here).
Handled one after the other, a press arriving meanwhile waited for that commit before it was even
decoded. A lane with ``Lane.batches_in_flight`` above one starts the next batch while earlier ones
wait, up to that many at once (:class:`InFlight`); each batch is still acknowledged only once its
own alarms are stored. A batch whose session ends first goes on until its alarms are stored, only
unacknowledged: the broker's copy is then a duplicate. Cancelled instead, it could lose what it had
consumed already (a smoke episode opened, a Zigbee2MQTT state cached), and its copy would raise nothing.

One resident's batches keep their order (:class:`ResidentTurns`): a batch holding a resident waits
for the batch in flight before it that holds the same resident, so the stream core sees each
resident's events in order and a second press finds the first one's alert stored (a repeat, never
a second alert). Batches are decoded, and take their turns, in the order they arrived.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable
from typing import Any


class ResidentTurns:
    """Which batch in flight each resident's next batch must wait for."""

    def __init__(self) -> None:
        self._last: dict[str, asyncio.Future[None]] = {}

    def take(self, residents: Iterable[str]) -> tuple[asyncio.Future[None], set[asyncio.Future[None]]]:
        """A turn for a batch holding ``residents``: its own future (pass it to :meth:`done`) and the
        earlier batches' it must wait for first."""
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        before: set[asyncio.Future[None]] = set()
        for resident in residents:
            earlier = self._last.get(resident)
            if earlier is not None and not earlier.done():
                before.add(earlier)
            self._last[resident] = mine
        return mine, before

    def done(self, residents: Iterable[str], mine: asyncio.Future[None]) -> None:
        """The batch has been handled (or has given up): its residents' next batches may go."""
        for resident in residents:
            if self._last.get(resident) is mine:
                del self._last[resident]
        if not mine.done():
            mine.set_result(None)

    def __len__(self) -> int:
        return len(self._last)


class InFlight:
    """At most ``limit`` batch handlers running at once. A handler's error ends the lane at the next
    :meth:`start` (as it would have, handled inline); ``on_idle`` is called whenever the last one ends.
    Handlers outlive the session that started them (their own work is not the broker's); :meth:`stop`
    lets them finish, for a grace period, when the gateway shuts down."""

    def __init__(self, limit: int, on_idle: Callable[[], None] = lambda: None) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_idle = on_idle
        self.error: BaseException | None = None

    async def start(self, handler: Coroutine[Any, Any, None]) -> None:
        """Start ``handler`` once a slot is free (raising the error an earlier handler ended with)."""
        if self.error is not None:
            handler.close()
            error, self.error = self.error, None  # raised once: the lane restarts and starts afresh
            raise error
        await self._slots.acquire()
        task = asyncio.get_running_loop().create_task(handler, name="gateway-batch")
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if not task.cancelled() and (error := task.exception()) is not None and self.error is None:
            self.error = error
        if not self._tasks:
            self._on_idle()

    @property
    def busy(self) -> int:
        return len(self._tasks)

    async def stop(self, grace_s: float = 0.0) -> None:
        """Give the handlers still running ``grace_s`` to finish, then cancel the rest and wait for them
        (their messages, unacknowledged, come again)."""
        tasks = list(self._tasks)
        if tasks and grace_s > 0:
            await asyncio.wait(tasks, timeout=grace_s)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
