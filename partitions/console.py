"""The live console across processes: alert events fan out over core NATS to every API instance.

A worker that stores an alert publishes its :class:`~alerting.AlertEvent` on its own in-process
:class:`~alerting.AlertBus`; :class:`ConsoleFanOut` forwards each one to the core subject
``care.console`` (at most once, no storage: the console takes a snapshot of open alerts from the
database when it (re)connects, so a missed live event costs a refresh, never an alarm). Every API
instance runs :class:`ConsoleFanIn`, which puts what arrives on its own bus, where the websocket
console already listens. Each message carries its origin, so an instance that both raises and
serves never shows its own events twice.

An administrator's change to an account goes the same way (:class:`AccountFanOut`, ``care.accounts``):
every instance's open feeds of that account hold their messages and re-check it at once, instead of at
their next periodic re-check.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from nats.aio.client import Client as NATS

from alerting import Alert, AlertBus, AlertEvent, AlertEventType, AlertState, Lagged
from partitions.keys import ACCOUNTS_SUBJECT, CONSOLE_SUBJECT

log = logging.getLogger("eldercare.partitions.console")

_DATETIMES = frozenset(f.name for f in dataclasses.fields(Alert) if "datetime" in str(f.type) and f.name != "state")
_UUIDS = frozenset({"id", "duplicate_of"})


def encode_event(event: AlertEvent, origin: str) -> bytes:
    """JSON of an alert event (datetimes ISO 8601 with offset, ids as text)."""
    alert = {f.name: _plain(getattr(event.alert, f.name)) for f in dataclasses.fields(Alert)}
    return json.dumps(
        {
            "origin": origin,
            "type": event.type.value,
            "actor": event.actor,
            "at": _plain(event.at),
            "detail": event.detail,
            "alert": alert,
        },
        default=str,
        separators=(",", ":"),
    ).encode()


def decode_event(data: bytes) -> tuple[str, AlertEvent]:
    """(origin, event) from :func:`encode_event`'s bytes; ``ValueError``/``KeyError`` when not one."""
    raw = json.loads(data)
    fields: dict[str, Any] = dict(raw["alert"])
    for name in _DATETIMES:
        if fields.get(name) is not None:
            fields[name] = datetime.fromisoformat(fields[name])
    for name in _UUIDS:
        if fields.get(name) is not None:
            fields[name] = uuid.UUID(fields[name])
    fields["state"] = AlertState(fields["state"])
    at = datetime.fromisoformat(raw["at"]) if raw.get("at") else None
    event = AlertEvent(
        AlertEventType(raw["type"]), Alert(**fields), raw.get("actor", "system"), at, raw.get("detail") or {}
    )
    return str(raw.get("origin", "")), event


async def listen(nc: NATS, subject: str, on_message: Callable[[Any], Awaitable[None]]) -> None:
    """Hand every message on ``subject`` to ``on_message`` until cancelled, then unsubscribe."""
    subscription = await nc.subscribe(subject, cb=on_message)
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await subscription.unsubscribe()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


class ConsoleFanOut:
    """Forwards this process's alert events to ``care.console`` (not those that came in from it)."""

    def __init__(self, nc: NATS, bus: AlertBus, origin: str, fan_in: ConsoleFanIn | None = None) -> None:
        self.nc = nc
        self.bus = bus
        self.origin = origin
        self.fan_in = fan_in
        self.sent = 0

    async def run(self) -> None:
        while True:
            try:
                async with self.bus.subscribe() as events:
                    async for event in events:
                        if self.fan_in is not None and self.fan_in.came_in(event):
                            continue
                        try:
                            await self.nc.publish(CONSOLE_SUBJECT, encode_event(event, self.origin))
                            self.sent += 1
                        except Exception as error:  # disconnected: the console resyncs from the database
                            log.warning("console event not forwarded", extra={"error": repr(error)[:120]})
            except Lagged:
                log.warning("console fan-out fell behind; events skipped (consoles resync)")


class ConsoleFanIn:
    """Puts alert events from other processes on this process's bus."""

    def __init__(self, nc: NATS, bus: AlertBus, origin: str) -> None:
        self.nc = nc
        self.bus = bus
        self.origin = origin
        self.received = 0
        self.rejected = 0
        self._recent: OrderedDict[int, AlertEvent] = OrderedDict()
        """Events put on the bus from outside, held so their ``id()`` stays unique while looked up."""

    def came_in(self, event: AlertEvent) -> bool:
        return self._recent.get(id(event)) is event

    async def run(self) -> None:
        async def on_message(message: Any) -> None:
            try:
                origin, event = decode_event(message.data)
            except (ValueError, KeyError, TypeError) as error:
                self.rejected += 1
                log.warning("console message rejected", extra={"error": str(error)[:120]})
                return
            if origin == self.origin:
                return
            self.received += 1
            self._recent[id(event)] = event
            while len(self._recent) > 10_000:
                self._recent.popitem(last=False)
            self.bus.publish(event)

        await listen(self.nc, CONSOLE_SUBJECT, on_message)


class AccountFanOut:
    """Account changes between API instances: :meth:`announce` one made here, :meth:`run` hands
    those made elsewhere to ``on_change`` (the instance's console sessions)."""

    def __init__(self, nc: NATS, origin: str, on_change: Callable[[str], None]) -> None:
        self.nc = nc
        self.origin = origin
        self.on_change = on_change
        self.received = 0
        self.rejected = 0

    async def announce(self, username: str) -> None:
        await self.nc.publish(ACCOUNTS_SUBJECT, json.dumps({"origin": self.origin, "username": username}).encode())
        await self.nc.flush(timeout=2)

    async def run(self) -> None:
        async def on_message(message: Any) -> None:
            try:
                raw = json.loads(message.data)
                origin, username = raw["origin"], raw["username"]
                if not isinstance(username, str):
                    raise TypeError("username must be text")
            except (ValueError, KeyError, TypeError) as error:
                self.rejected += 1
                log.warning("account message rejected", extra={"error": str(error)[:120]})
                return
            if origin != self.origin:
                self.received += 1
                self.on_change(username)

        await listen(self.nc, ACCOUNTS_SUBJECT, on_message)
