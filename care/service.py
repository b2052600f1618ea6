"""The care service the API calls: categories (and their import), visits, care calls, assessments, home
care beds, indicators and the dashboard, the last two read from the rollup (:mod:`care.rollup`).

Each concept is its own object over one shared :class:`~care.context.CareContext`; this facade wires
them and owns the two seams to the rest of the platform, passed in by the composition root:

* ``raise_alert`` — alerting's public interface (``AlertService.raise_detections``), for a visit that
  finds something that cannot wait;
* ``signals`` — the platform's own signals about residents (no activity today, a device offline),
  which move a resident up the overdue list;
* ``offline_devices`` and ``alert_counts`` — for the home-care-bed compliance view
  (:mod:`care.signals` builds all three from alerting's query interface);
* ``answer_times`` — alerting's SLA report, for the indicators;
* ``service_orders`` — the service centre's order report by area, for the indicators;
* ``scheduler`` — alerting's timer loop, which catches the rollup up every :data:`care.rollup.TICK`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from typing import Any

from psycopg_pool import AsyncConnectionPool

from alerting.model import AlertEvent
from alerting.scheduler import Scheduler
from care.assessments import Assessments
from care.beds import AlertCounts, Beds, OfflineDevices, no_alerts, nothing_offline
from care.calls import CareCalls
from care.category_import import import_categories
from care.context import CareContext, Clock, Row, Signals, no_signals, utc_now
from care.dashboard import Dashboard
from care.indicators import AnswerTimes, Indicators, ServiceOrders, no_answer_times, no_service_orders
from care.instruments import Instrument
from care.memberships import Memberships
from care.periods import Month, local_date
from care.rollup import TICK, Rollup
from care.visits import Visits
from registry.area import Area
from registry.audit import Actor
from registry.imports import ImportReport
from stream.detections import Detection, DetectionKind

RaiseAlert = Callable[[Sequence[Detection]], Awaitable[Sequence[AlertEvent]]]


class CareService:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        clock: Clock = utc_now,
        utc_offset_min: int = 480,
        raise_alert: RaiseAlert | None = None,
        signals: Signals = no_signals,
        instruments: Mapping[str, Instrument] | None = None,
        offline_devices: OfflineDevices = nothing_offline,
        alert_counts: AlertCounts = no_alerts,
        answer_times: AnswerTimes = no_answer_times,
        service_orders: ServiceOrders = no_service_orders,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.ctx = CareContext(pool, clock, utc_offset_min)
        self.raise_alert = raise_alert
        self.rollup = Rollup(self.ctx)
        self.memberships = Memberships(self.ctx)
        self.visits = Visits(self.ctx, self.rollup, signals)
        self.assessments = Assessments(self.ctx, instruments)
        self.beds = Beds(self.ctx, offline_devices, alert_counts)
        self.indicators = Indicators(self.ctx, self.visits, self.beds, self.rollup, answer_times, service_orders)
        self.calls = CareCalls(self.ctx, self.rollup, self.record_visit, signals)
        self.dashboard = Dashboard(self.ctx, self.rollup, self.indicators)
        self.scheduler = scheduler

    @property
    def pool(self) -> AsyncConnectionPool:
        return self.ctx.pool

    def today(self) -> date:
        """Today in the site's local time."""
        return local_date(self.ctx.clock(), self.ctx.utc_offset_min)

    def this_month(self) -> Month:
        return Month.of(self.ctx.clock(), self.ctx.utc_offset_min)

    async def prepare(self) -> None:
        """After the migrations: the default visit rules, and the rollup's tick on the scheduler."""
        await self.visits.install_default_rules()
        if self.scheduler is not None:
            self._schedule_tick()

    def _schedule_tick(self) -> None:
        assert self.scheduler is not None
        self.scheduler.schedule(self.ctx.clock() + TICK, ("care", "rollup"), self._tick)

    async def _tick(self) -> None:
        """Keep the rollup's queue short and this month built, so a dashboard rarely waits for it."""
        try:
            await self.rollup.catch_up(self.this_month())
        finally:
            self._schedule_tick()

    async def import_categories(self, text: str, area: Area, actor: Actor) -> ImportReport:
        """Category memberships from CSV (:mod:`care.category_import`)."""
        return await import_categories(self.ctx, text, area, actor)

    async def record_visit(
        self, resident_id: str, data: Mapping[str, Any], area: Area, actor: Actor, raise_alert: bool = False
    ) -> Row:
        """Store a visit; with ``raise_alert``, a ``care_concern`` alert for the resident too (one per
        visit: the key is the visit's id, so a retry never pages twice)."""
        visit = await self.visits.record(
            resident_id, {**data, "concern": data.get("concern") or raise_alert}, area, actor
        )
        if raise_alert:
            if self.raise_alert is None:
                raise RuntimeError("this care service has no alerting to raise an alert with")
            at_ms = int(visit["at"].timestamp() * 1000)
            detection = Detection(
                resident_id, "", DetectionKind.CARE_CONCERN, at_ms, int(self.ctx.clock().timestamp() * 1000),
                f"care-visit:{visit['id']}", details={"visit_id": visit["id"], "visitor": visit["visitor"],
                                                      "findings": dict(visit["findings"])},
            )  # fmt: skip
            events = await self.raise_alert([detection])
            alert_id = next((event.alert.id for event in events), None)
            if alert_id is not None:
                await self.visits.link_alert(visit["id"], alert_id)
                visit["alert_id"] = alert_id
        return visit
