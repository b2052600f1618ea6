"""In-process publish/subscribe of events (the console's live feed).

:class:`AlertBus` carries alert events; the service centre keeps an :class:`EventBus` of its order
events, and the console subscribes to both through one queue (``bus.subscribe(other_bus)``), so the
two feeds arrive in the order they were published and lag together.

A subscriber that falls more than ``maxsize`` events behind is cut off (its iterator ends with
:class:`Lagged`) rather than slowing alerting down; the console then reconnects and resyncs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Generic, TypeVar

from alerting.model import AlertEvent

E = TypeVar("E")
F = TypeVar("F")
T = TypeVar("T", covariant=True)


class Lagged(Exception):
    """The subscriber fell too far behind and missed events: resync from the alert list."""


_END = object()


class Subscription(Generic[T]):
    """The events of an open subscription, in order, until :meth:`end` (e.g. a done callback of
    whatever else ends the feed: waiting on it beside each event would cost a task per event)."""

    def __init__(self, queue: asyncio.Queue[Any]) -> None:
        self._queue = queue
        self._ended = False

    def __aiter__(self) -> Subscription[T]:
        return self

    async def __anext__(self) -> T:
        if self._ended:
            raise StopAsyncIteration
        event = await self._queue.get()
        if event is _END:  # end() empties the queue first: nothing before it is left
            raise StopAsyncIteration
        if event is None:
            raise Lagged("feed subscriber fell behind")
        return event  # type: ignore[no-any-return]

    def end(self) -> None:
        """Stop the iteration now: events not yet taken are dropped."""
        if self._ended:
            return
        self._ended = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(_END)  # wakes an iteration waiting for the next event


class EventBus(Generic[E]):
    def __init__(self, maxsize: int = 1000) -> None:
        self._maxsize = maxsize
        self._queues: set[asyncio.Queue[Any]] = set()

    @property
    def subscribers(self) -> int:
        return len(self._queues)

    def publish(self, event: E) -> None:
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self._queues.discard(queue)
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait(None)

    @contextlib.asynccontextmanager
    async def subscribe(self, *also: EventBus[F]) -> AsyncIterator[Subscription[E | F]]:
        """``async with bus.subscribe() as events: async for event in events: …``; with ``also``, the
        events of those buses come through the same queue."""
        queue: asyncio.Queue[Any] = asyncio.Queue(self._maxsize)
        buses: tuple[EventBus[Any], ...] = (self, *also)
        for bus in buses:
            bus._queues.add(queue)
        try:
            yield Subscription(queue)
        finally:
            for bus in buses:
                bus._queues.discard(queue)


class AlertBus(EventBus[AlertEvent]):
    """The alert events (raised, acknowledged, escalated …) the console streams."""
