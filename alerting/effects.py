"""Side effects: decided inside a transaction, run only after it commits.

A deciding transaction collects what should happen (events for the console, commands to the home's
devices, notifications, timers to start or stop) in :class:`Effects`; :class:`EffectRunner` applies
them once the alert is safely stored, so nobody is told about an alert the database does not hold
(the console's provisional alerts, :mod:`alerting.early`, say so of themselves).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alerting.context import Context
from alerting.model import Alert, AlertEvent
from alerting.notify import Notice

log = logging.getLogger("eldercare.alerting")


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def command(alert: Alert, name: str, now: datetime, /, **extra: Any) -> dict[str, Any]:
    """A downlink command about ``alert`` (``announce_pending``, ``call_received``, ``cancelled``, …)."""
    return {"type": name, "alert_id": str(alert.id), "ts": ms(now), **extra}


@dataclass(slots=True)
class Effects:
    """Side effects decided in a transaction, run after it commits."""

    events: list[AlertEvent] = field(default_factory=list)
    downlinks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    timers: list[tuple[int, datetime]] = field(default_factory=list)
    """Timer rows to schedule: (id, due)."""
    cancelled: list[int] = field(default_factory=list)
    """Timer rows to unschedule."""

    def send(self, devices: Iterable[str], cmd: dict[str, Any]) -> None:
        """The same command to each of ``devices``."""
        self.downlinks.extend((device, cmd) for device in devices)


class EffectRunner:
    """Applies committed effects: the scheduler first, then the bus, then downlinks and notices in the
    background (a slow device or channel never holds up the next alarm)."""

    def __init__(
        self,
        ctx: Context,
        schedule: Callable[[int, datetime], None],
        deliver: Callable[[Notice], Awaitable[None]],
    ) -> None:
        self.ctx = ctx
        self.schedule = schedule
        self.deliver = deliver

    def apply(self, fx: Effects) -> None:
        for timer_id in fx.cancelled:
            self.ctx.scheduler.cancel(("timer", timer_id))
        for timer_id, due in fx.timers:
            self.schedule(timer_id, due)
        for event in fx.events:
            self.ctx.publish(event)
        if self.ctx.downlink is not None:
            for device_id, cmd in fx.downlinks:
                self.ctx.spawn(self._send(device_id, cmd))
        for notice in fx.notices:
            self.ctx.spawn(self.deliver(notice))

    async def _send(self, device_id: str, cmd: dict[str, Any]) -> None:
        assert self.ctx.downlink is not None
        try:
            await self.ctx.downlink(device_id, cmd)
        except Exception:  # the alert is stored; a failed downlink must not lose it
            log.exception("downlink failed", extra={"device_id": device_id, "alert_id": cmd.get("alert_id")})
