"""What every part of alerting shares: the pool, the clock, the configuration, the policies, the timer
scheduler, the bus, the device downlink and the notifier, plus the background tasks they start.

One :class:`Context` is made by :class:`~alerting.service.AlertService` and handed to each concept
(intake, lifecycle, escalation, dispatch, family, outbox, queries); changing ``clock`` or ``notifier``
on the service changes it for all of them.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, Self, TypeVar, overload

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

from alerting.bus import AlertBus
from alerting.early import OpenAlerts, Storing
from alerting.links import LinkSigner
from alerting.model import Alert, AlertEvent
from alerting.notify import Notifier
from alerting.policy import EscalationPolicy, PolicyBook
from alerting.scheduler import Scheduler
from devices.protocol import HOME_UTC_OFFSET_MIN
from registry.like import like_prefix
from registry.rows import connection

log = logging.getLogger("eldercare.alerting")

Downlink = Callable[[str, dict[str, Any]], Awaitable[None]]
"""Sends a command to a device: ``await downlink(device_id, {"type": "call_received", …})``."""

Clock = Callable[[], datetime]
OrgOf = Callable[[str], "str | Awaitable[str | None] | None"]
"""The resident's org path (``/city/district/street/community/``), sync or async; None if unknown."""
PHONE_DEVICE = "phone:"
"""The device-id prefix of alerts reported by telephone (the service centre raises them)."""
Announcers = Callable[[str], Sequence[str]]
NameOf = Callable[[str], Awaitable[str | None]]
"""A resident's name by id (the registry's), for messages people read; None: unknown."""
"""The resident's devices that can speak or light up (button, hub), for home announcements."""


def utc_now() -> datetime:
    return datetime.now(UTC)


T = TypeVar("T")


@dataclass(slots=True)
class AlertingConfig:
    public_url: str = "http://127.0.0.1:8000"
    """Base of the links in notifications (responder and family pages)."""
    link_ttl_s: int = 24 * 3600
    utc_offset_min: int = HOME_UTC_OFFSET_MIN
    """Homes' and rotas' local time (quiet hours, shifts, report days)."""
    policy: EscalationPolicy = field(default_factory=EscalationPolicy)
    timer_retries: int = 3
    timer_retry_s: float = 5.0
    outbox_lease_s: float = 120.0
    """A notification still unsent this long after its sender claimed it is sent by the next sweep
    (the sender died or hung between the commit and the send)."""
    outbox_sweep_s: float = 30.0
    """How often the live timer loop sweeps the outbox."""
    notify_allowed_hosts: tuple[str, ...] = ()
    """Hosts, addresses or networks on internal addresses that notifications may reach (a local relay)."""
    hotline: str = "12349"
    """The number messages give people to call."""


class ScopeLike(Protocol):
    """What alerting needs of the caller's scope (``api.scope.Scope`` fits)."""

    @property
    def org_path(self) -> str: ...

    @property
    def resident_id(self) -> str | None: ...


def scope_clause(scope: ScopeLike | None) -> tuple[str, tuple[Any, ...]]:
    """SQL restricting alerts (by ``resident_id`` / ``org_path``) to a scope; None: everything."""
    if scope is None:
        return "TRUE", ()
    if scope.resident_id is not None:
        return "resident_id = %s", (scope.resident_id,)
    if scope.org_path in ("", "/"):
        return "TRUE", ()
    return "COALESCE(org_path, '/') LIKE %s", (like_prefix(scope.org_path),)


class Context:
    """The shared state of one alert service."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        bus: AlertBus,
        downlink: Downlink | None,
        clock: Clock,
        coalesce_window: timedelta,
        org_of: OrgOf | None,
        announcers: Announcers | None,
        notifier: Notifier,
        config: AlertingConfig,
    ) -> None:
        self.pool = pool
        self.bus = bus
        self.downlink = downlink
        self.clock = clock
        self.coalesce_window = coalesce_window
        self.org_of = org_of
        self.announcers = announcers
        self.notifier = notifier
        self.config = config
        self.policies = PolicyBook(config.policy)
        self.scheduler = Scheduler(lambda: self.clock())
        self.background: set[asyncio.Task[None]] = set()
        self.open_alerts = OpenAlerts()
        self.storing = Storing()
        self._signer: LinkSigner | None = None
        self.name_of: NameOf | None = None

    async def resident_name(self, resident_id: str) -> str:
        """The resident's name for a message (the id when the registry does not know it)."""
        if self.name_of is not None:
            try:
                name = await self.name_of(resident_id)
            except Exception:  # a message without the name beats no message
                log.exception("resident name lookup failed", extra={"resident_id": resident_id})
                name = None
            if name:
                return name
        return resident_id

    def connection(self) -> AbstractAsyncContextManager[AsyncConnection[DictRow]]:
        """A pooled connection; the pool makes dict rows (:func:`eldercare.db.open_pool`)."""
        return connection(self.pool)

    def publish(self, event: AlertEvent) -> None:
        """An alert event on the bus, with the open-alert index kept in step (:mod:`alerting.early`)."""
        self.open_alerts.saw(event.alert)
        self.bus.publish(event)

    def spawn(self, coro: Awaitable[None]) -> None:
        """Run ``coro`` in the background; :meth:`drain` waits for it."""
        task = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def drain(self) -> None:
        while self.background:
            await asyncio.gather(*list(self.background), return_exceptions=True)

    async def links(self) -> LinkSigner:
        """The link signer, its key loaded from the database once."""
        if self._signer is None:
            self._signer = await LinkSigner.load(self.pool)
        return self._signer

    def policy(self, alert: Alert) -> EscalationPolicy:
        return self.policies.resolve(alert.resident_id, alert.org_path)

    def home_devices(self, alert: Alert, *extra: str) -> list[str]:
        """The alert's device, ``extra`` devices and the resident's announcers, each once.

        An alert reported by telephone has the pseudo-device ``phone:<call id>``: nothing to command."""
        devices = [alert.device_id, *extra] if not alert.device_id.startswith(PHONE_DEVICE) else [*extra]
        if self.announcers is not None:
            devices.extend(self.announcers(alert.resident_id))
        return list(dict.fromkeys(devices))

    async def org_path(self, resident_id: str) -> str | None:
        if self.org_of is None:
            return None
        try:
            path = self.org_of(resident_id)
            if inspect.isawaitable(path):
                path = await path
        except Exception:  # an unknown org path must not stop the alarm: the alert is seen from the root
            log.exception("org path lookup failed", extra={"resident_id": resident_id})
            return None
        return path


class _HasContext(Protocol):
    @property
    def ctx(self) -> Context: ...


class Shared(Generic[T]):
    """An attribute of a facade that lives on its :class:`Context` (``facade.ctx.<name>``), so that
    setting it on the facade (where ``settable``) changes it for every part sharing that context."""

    def __init__(self, *, settable: bool = False) -> None:
        self.settable = settable
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, facade: None, owner: type) -> Self: ...

    @overload
    def __get__(self, facade: _HasContext, owner: type) -> T: ...

    def __get__(self, facade: _HasContext | None, owner: type) -> T | Self:
        if facade is None:
            return self
        value: T = getattr(facade.ctx, self.name)
        return value

    def __set__(self, facade: _HasContext, value: T) -> None:
        if not self.settable:
            raise AttributeError(f"{self.name!r} is read-only")
        setattr(facade.ctx, self.name, value)
