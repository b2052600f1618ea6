"""The service centre's interface: calls, the menu, orders, plans, complaints, reports, phone links.

The API calls this facade (through ``api.services.Services``); the work is done by one object per
concept sharing one :class:`~servicecentre.context.ServiceContext`:

- :mod:`servicecentre.calls`: hotline calls; an emergency by phone becomes an alert.
- :mod:`servicecentre.menu`: categories, items, providers, their offers and staff, sites.
- :mod:`servicecentre.orders`: the order lifecycle and its deadlines.
- :mod:`servicecentre.plans`: repeating orders.
- :mod:`servicecentre.complaints`: complaints, handled and audited.
- :mod:`servicecentre.reports`: orders by area/category/provider; call answer times.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from datetime import timedelta

from psycopg_pool import AsyncConnectionPool

from alerting.bus import EventBus
from alerting.links import LinkClaims, LinkSigner
from alerting.scheduler import Scheduler
from registry.area import ROOT, Area
from servicecentre.calls import Calls, RaiseAlerts
from servicecentre.complaints import Complaints
from servicecentre.context import Clock, ServiceConfig, ServiceContext, utc_now
from servicecentre.menu import Menu
from servicecentre.model import DESK, WORKER, Forbidden, Invalid, InvalidLink, LinkPage, OrderEvent, Reach
from servicecentre.orders import Orders
from servicecentre.plans import Plans
from servicecentre.reports import Reports

log = logging.getLogger("eldercare.servicecentre")


class ServiceCentre:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        *,
        clock: Clock = utc_now,
        scheduler: Scheduler | None = None,
        raise_alerts: RaiseAlerts | None = None,
        config: ServiceConfig | None = None,
    ) -> None:
        self.ctx = ServiceContext(pool, clock, scheduler, config or ServiceConfig())
        self.menu = Menu(self.ctx)
        self.orders = Orders(self.ctx)
        self.plans = Plans(self.ctx, self.orders)
        self.calls = Calls(self.ctx, raise_alerts)
        self.complaints = Complaints(self.ctx)
        self.reports = Reports(self.ctx)
        self._signer: LinkSigner | None = None

    @property
    def clock(self) -> Clock:
        return self.ctx.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self.ctx.clock = clock

    @property
    def scheduler(self) -> Scheduler:
        return self.ctx.scheduler

    async def restore(self) -> int:
        """Load the link key and mirror every pending order deadline into the scheduler (after a restart)."""
        await self._links()
        timers = await self.orders.restore_timers()
        log.info("order deadlines restored", extra={"timers": timers})
        return timers

    async def tick(self) -> int:
        """Fire every deadline due by ``clock()`` (tests drive the clock; live, the timer loop does this)."""
        return await self.ctx.scheduler.run_due()

    async def run_plans(self, every_s: float = 600.0) -> None:
        """The live loop spawning repeating orders ahead of their day."""
        while True:
            try:
                await self.plans.spawn()
            except Exception:
                log.exception("spawning plan orders failed; will retry")
            await asyncio.sleep(every_s)

    async def reach_of(self, username: str, role: str, area: Area) -> Reach:
        """The caller's reach: their area, or (a provider's staff) their provider's orders only."""
        if role == "provider":
            provider_id = await self.menu.provider_of(username)
            if provider_id is None:
                raise Forbidden(f"{username!r} is on no provider's staff")
            return Reach(Area(ROOT), provider_id, username)
        return Reach(area, None, username)

    @property
    def events(self) -> EventBus[OrderEvent]:
        """Each new order, move and missed deadline, after its transaction commits."""
        return self.ctx.events

    # -- the provider's phone pages --

    async def _links(self) -> LinkSigner:
        if self._signer is None:
            async with self.ctx.connection() as conn, conn.transaction():
                await conn.execute(
                    "INSERT INTO service_keys (name, key) VALUES ('links', %s) ON CONFLICT (name) DO NOTHING",
                    (secrets.token_urlsafe(32),),
                )
                cursor = await conn.execute("SELECT key FROM service_keys WHERE name = 'links'")
                row = await cursor.fetchone()
            assert row is not None
            self._signer = LinkSigner(str(row["key"]).encode())
        return self._signer

    async def worker_link(self, order_id: uuid.UUID, username: str) -> str:
        """A signed link for one worker and one order: the worker's phone page, no login."""
        if await self.menu.provider_of(username) is None:
            raise Invalid(f"{username!r} is on no provider's staff or their account is deactivated")
        return await self._link(order_id, username, WORKER)

    async def desk_link(self, order_id: uuid.UUID, username: str) -> str:
        """A signed link for one of the provider's staff and one order: the desk's phone page (accept or
        refuse, assign a worker and pass them their link), no login."""
        if await self.menu.provider_of(username) is None:
            raise Invalid(f"{username!r} is on no provider's staff or their account is deactivated")
        return await self._link(order_id, username, DESK)

    async def _link(self, order_id: uuid.UUID, username: str, page: LinkPage) -> str:
        signer = await self._links()
        expires = self.ctx.clock() + timedelta(seconds=self.ctx.config.link_ttl_s)
        token = signer.sign(str(order_id), page.audience, username, expires)
        return f"{self.ctx.config.public_url.rstrip('/')}/{page.path}/{token}"

    async def verify_link(self, token: str, page: LinkPage | None = None) -> tuple[uuid.UUID, Reach]:
        """The order and the reach a link grants: its provider's orders, acting as ``worker:<username>``
        (or ``desk:<username>`` for a desk link). Refused once its holder's account is deactivated or
        they left the provider, and once the provider is inactive (except a worker's link to a visit
        already checked in, to complete it)."""
        page = page or WORKER
        signer = await self._links()
        try:
            claims: LinkClaims = signer.verify(token, page.audience, self.ctx.clock())
        except Exception as error:
            raise InvalidLink(str(error)) from None
        provider_id = await self.menu.provider_of(claims.subject)
        if provider_id is None:
            raise InvalidLink(
                f"this link no longer works: its {page.actor} left the provider or their account is deactivated"
                " · 此链接已失效：持有人已离开服务商或账号已停用"
            )
        try:
            order_id = uuid.UUID(claims.alert_id)
        except ValueError:
            raise InvalidLink("this link is not valid") from None
        if not await self.menu.provider_active(provider_id) and (
            page is DESK or not await self.orders.in_visit(order_id)
        ):
            raise InvalidLink(
                "this link no longer works: the provider is no longer active · 此链接已失效：服务商已停用"
            )
        return order_id, Reach(Area(ROOT), provider_id, f"{page.actor}:{claims.subject}")
