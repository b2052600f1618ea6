"""One simulated device: its own MQTT client id, last will, and the v1 payloads it publishes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiomqtt

from devices.protocol import TOPIC_PREFIX

log = logging.getLogger("eldercare.sim")


class SimulatedDevice:
    """A device that publishes under ``eldercare/v1/<device_id>/…`` and hears its ``cmd`` topic."""

    def __init__(
        self,
        device_id: str,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        prefix: str = TOPIC_PREFIX,
    ) -> None:
        self.device_id = device_id
        self.topic = f"{prefix}/{device_id}"
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.seq = 0
        self.commands: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._client: aiomqtt.Client | None = None

    @contextlib.asynccontextmanager
    async def online(self, listen: bool = True) -> AsyncIterator[SimulatedDevice]:
        will = aiomqtt.Will(f"{self.topic}/status", json.dumps({"online": False}), qos=1, retain=True)
        async with aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            identifier=f"dev-{self.device_id}",
            will=will,
        ) as client:
            self._client = client
            await client.publish(f"{self.topic}/status", json.dumps({"online": True}), qos=1, retain=True)
            listener = None
            if listen:
                await client.subscribe(f"{self.topic}/cmd", qos=1)
                listener = asyncio.create_task(self._listen(client))
            try:
                yield self
            finally:
                if listener is not None:
                    listener.cancel()
                    with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                        await listener
                self._client = None

    async def _listen(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            try:
                command = json.loads(bytes(message.payload))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                continue
            log.info("device heard command", extra={"device_id": self.device_id, "command": command})
            self.commands.put_nowait(command)

    async def publish(self, stream: str, body: dict[str, Any] | bytes, qos: int = 0) -> None:
        if self._client is None:
            raise RuntimeError("device is not online")
        payload = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":"))
        await self._client.publish(f"{self.topic}/{stream}", payload, qos=qos)

    async def press(self, kind: str = "sos", press: str = "single") -> int:
        """One press of the call button (QoS 1); returns its ``seq``."""
        self.seq += 1
        await self.publish("alarm", {"ts": _now_ms(), "kind": kind, "seq": self.seq, "press": press}, qos=1)
        return self.seq

    async def report(self, stream: str, **values: Any) -> None:
        await self.publish(stream, {"ts": _now_ms(), **values}, qos=0)


def _now_ms() -> int:
    return int(time.time() * 1000)
