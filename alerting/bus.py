"""In-process publish/subscribe of alert events (the console's live feed).

A subscriber that falls more than ``maxsize`` events behind is cut off (its iterator ends with
:class:`Lagged`) rather than slowing alerting down; the console then reconnects and resyncs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from alerting.model import AlertEvent


class Lagged(Exception):
    """The subscriber fell too far behind and missed events: resync from the alert list."""


class AlertBus:
    def __init__(self, maxsize: int = 1000) -> None:
        self._maxsize = maxsize
        self._queues: set[asyncio.Queue[AlertEvent | None]] = set()

    @property
    def subscribers(self) -> int:
        return len(self._queues)

    def publish(self, event: AlertEvent) -> None:
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self._queues.discard(queue)
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait(None)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[AlertEvent]]:
        """``async with bus.subscribe() as events: async for event in events: …``"""
        queue: asyncio.Queue[AlertEvent | None] = asyncio.Queue(self._maxsize)
        self._queues.add(queue)

        async def iterate() -> AsyncIterator[AlertEvent]:
            while True:
                event = await queue.get()
                if event is None:
                    raise Lagged("alert feed subscriber fell behind")
                yield event

        try:
            yield iterate()
        finally:
            self._queues.discard(queue)
