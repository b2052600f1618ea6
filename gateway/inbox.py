"""The gateway's inbox: what a session has received, oldest first, read in batches.

Two writers fill it: :mod:`gateway.frames` puts every PUBLISH it splits off the socket in one call per
read (the usual path), and aiomqtt puts the messages paho delivered itself (sessions over TLS or
websockets, MQTT 5, QoS 2) one at a time through :meth:`Inbox.put_nowait`, being given the inbox as
its queue. The gateway takes whatever has arrived in one go, and waits, for a message or for the
connection to drop, only when nothing has: no task and no ``asyncio.wait`` per message.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from typing import NamedTuple

import aiomqtt


class Received(NamedTuple):
    """One PUBLISH as the gateway needs it."""

    topic: str
    payload: bytes
    qos: int
    mid: int
    """The packet id the broker gave it (0 at QoS 0): what its PUBACK names."""
    retain: bool


class Inbox:
    def __init__(self) -> None:
        self._items: deque[Received] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._below: tuple[int, Callable[[], None]] | None = None

    def extend(self, received: Iterable[Received]) -> None:
        """Messages that have arrived, in the order they came."""
        self._items.extend(received)
        waiter = self._waiter
        if waiter is not None and self._items and not waiter.done():
            waiter.set_result(None)

    def put_nowait(self, message: aiomqtt.Message) -> None:
        """aiomqtt's path: a message paho delivered itself."""
        payload = message.payload
        body = bytes(payload) if isinstance(payload, bytes | bytearray) else b""
        self.extend((Received(message.topic.value, body, message.qos, message.mid, message.retain),))

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def when_below(self, count: int, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` once, as soon as fewer than ``count`` messages wait (None: never mind)."""
        self._below = None if callback is None else (count, callback)

    def take(self, limit: int) -> list[Received]:
        """Up to ``limit`` messages that have arrived, oldest first, without waiting."""
        items = self._items
        if len(items) <= limit:
            taken = list(items)
            items.clear()
        else:
            taken = [items.popleft() for _ in range(limit)]
        self._check_below()
        return taken

    def _check_below(self) -> None:
        if self._below is not None and len(self._items) < self._below[0]:
            callback = self._below[1]
            self._below = None
            callback()

    async def next(self, client: aiomqtt.Client) -> Received:
        """The next message, waiting for it; :class:`aiomqtt.MqttError` when the connection drops first."""
        while not self._items:
            # aiomqtt's own iterator waits on the same future (aiomqtt has no public "disconnected" yet).
            disconnected = client._disconnected
            if disconnected.done():
                raise aiomqtt.MqttError("disconnected") from disconnected.exception()
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await asyncio.wait((waiter, disconnected), return_when=asyncio.FIRST_COMPLETED)
            finally:
                self._waiter = None
                waiter.cancel()
        message = self._items.popleft()
        self._check_below()
        return message
