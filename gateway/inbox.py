"""The gateway's inbox: the queue aiomqtt puts each received message in, read in batches.

aiomqtt's ``client.messages`` iterator starts a task and an ``asyncio.wait`` for every message it
hands out. The gateway gives aiomqtt this queue instead (its ``queue_type``) and takes whatever has
arrived in one go; it waits, for a message or for the connection to drop, only when nothing has.
"""

from __future__ import annotations

import asyncio

import aiomqtt


class Inbox(asyncio.Queue[aiomqtt.Message]):
    def take(self, limit: int) -> list[aiomqtt.Message]:
        """Up to ``limit`` messages that have arrived, oldest first, without waiting."""
        return [self.get_nowait() for _ in range(min(limit, self.qsize()))]

    async def next(self, client: aiomqtt.Client) -> aiomqtt.Message:
        """The next message, waiting for it; :class:`aiomqtt.MqttError` when the connection drops first."""
        if not self.empty():
            return self.get_nowait()
        # aiomqtt's own iterator waits on the same future (aiomqtt has no public "disconnected" yet).
        disconnected = client._disconnected
        if disconnected.done():
            raise aiomqtt.MqttError("disconnected") from disconnected.exception()
        getter = asyncio.ensure_future(self.get())
        try:
            await asyncio.wait((getter, disconnected), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            getter.cancel()
            raise
        if getter.done():
            return getter.result()
        getter.cancel()
        raise aiomqtt.MqttError("disconnected while waiting for messages") from disconnected.exception()
