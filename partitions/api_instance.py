"""An API instance of a partitioned deployment: the REST API and console, no gateway, no stream.

Several run behind one URL. The service centre and care are served from PostgreSQL as in one
process. Device supervision lives in the workers' stream state, which this instance does not hold:
its supervision view is empty, so the console's overview shows devices as not heard yet (the alerts
the workers raise for offline, silent and low-battery devices arrive on the console as usual).
 Each serves the same live console: alert events raised by any worker
arrive over ``care.console`` (:class:`~partitions.console.ConsoleFanIn`); what an operator does here
(acknowledge, dispatch, resolve through :class:`~alerting.AlertService`) is stored in PostgreSQL and
fanned out to the other instances (:class:`~partitions.console.ConsoleFanOut`), and so is an
administrator's change to an account (:class:`~partitions.console.AccountFanOut`: that account's
feeds on every instance re-check it at once).

The site's chores that belong to no partition run in every API instance, each claimed so that it is
done once: alert and order deadlines (the timer loop; a timer row is claimed by whoever fires it, the
workers fire alert timers too), the timers other processes stored (picked up every
``timer_refresh_s``), the service centre's repeating orders (a plan spawns an order once per day), and
the history's upkeep (:mod:`alerting.maintenance`: the alerts rollup, partitions ahead, retention).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client as NATS
from psycopg_pool import AsyncConnectionPool

from alerting import AlertBus, AlertService, EventHistory
from alerting.maintenance import maintain_forever
from care import CareService
from gateway.deadletter import DeadLetterStore
from partitions.console import AccountFanOut, ConsoleFanIn, ConsoleFanOut
from partitions.downlink import MqttDownlink
from partitions.tasks import cancel_and_wait
from registry.rows import answers
from registry.store import Registry
from registry.users import Users
from servicecentre import ServiceCentre
from stream.supervision import DeviceSupervisor, SupervisionState

log = logging.getLogger("eldercare.api_instance")


@dataclass
class ApiInstance:
    """What :func:`api.create_app` needs (the ``api.services.Services`` protocol), over NATS + PostgreSQL."""

    pool: AsyncConnectionPool
    nc: NATS
    registry: Registry
    users: Users
    alerts: AlertService
    history: EventHistory
    bus: AlertBus
    dead_letters: DeadLetterStore
    downlink: MqttDownlink
    fan_in: ConsoleFanIn
    fan_out: ConsoleFanOut
    service_centre: ServiceCentre
    care: CareService
    accounts: AccountFanOut
    supervision: SupervisionState = field(default_factory=DeviceSupervisor)
    utc_offset_min: int = 480
    timer_refresh_s: float = 5.0
    rollup_every_s: float = 60.0
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def start(self) -> None:
        self.tasks = [
            asyncio.create_task(self.fan_in.run(), name="console-fan-in"),
            asyncio.create_task(self.fan_out.run(), name="console-fan-out"),
            asyncio.create_task(self.downlink.run(), name="downlink"),
            asyncio.create_task(self.alerts.run_timers(), name="timers"),
            asyncio.create_task(self._refresh_timers(), name="timer-refresh"),
            asyncio.create_task(self.service_centre.run_plans(), name="service-plans"),
            asyncio.create_task(
                maintain_forever(self.pool, self.history, self.utc_offset_min, self.rollup_every_s),
                name="history-maintenance",
            ),
            asyncio.create_task(self.accounts.run(), name="account-fan-out"),
        ]

    async def _refresh_timers(self) -> None:
        """Alert and order deadlines other processes stored; whoever fires a timer first claims its row."""
        while True:
            await asyncio.sleep(self.timer_refresh_s)
            try:
                await self.alerts.restore()
                await self.service_centre.restore()
            except Exception:
                log.exception("refreshing timers failed; will retry")

    async def stop(self) -> None:
        await cancel_and_wait(self.tasks)

    def health(self) -> dict[str, Any]:
        return {
            "role": "api",
            "nats_connected": self.nc.is_connected,
            "console_subscribers": self.bus.subscribers,
            "console_in": self.fan_in.received,
            "console_out": self.fan_out.sent,
            "account_changes_in": self.accounts.received,
        }

    async def readiness(self) -> dict[str, Any]:
        checks = {"database": await answers(self.pool), "nats": self.nc.is_connected}
        return {"ready": all(checks.values()), "checks": checks}
