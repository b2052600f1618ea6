"""Ring first: an alarm certain to become a new alert is on the console before it is stored.

Storing an alert is a synchronous commit (here 1.5–2.5 ms, and as long as the database's worst
moment); an operator's console need not wait for it to ring. An alarm is *certain* to become a new
alert when its kind starts ringing at once (no cancel window under the resident's policy), no pending
alert of the resident's could take a press as "I'm fine", and no alert of that kind is open for the
resident as far as this process knows (:class:`OpenAlerts`). Such an alarm is announced as a
provisional alert (``details.stored`` false) with the id the stored alert will have; the stored alert
follows on the bus with that id and replaces it (the console rings once).

The guarantee to the resident is unchanged: the device hears "call received" only once the alert is
committed, and an operator's action on a provisional alert (acknowledge, at machine speed) waits for
its store to end (:class:`Storing`). When the store decides otherwise after all (a repeat of an
alert another process opened, an alarm stored before a restart and delivered again), the
provisional alert is *settled*: replaced by the alert as stored, or withdrawn (closed as a
duplicate; it never existed), so no phantom stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from alerting.model import OPEN_STATES, PRIORITY, Alert, AlertState, alert_id_for
from stream.detections import Detection


class OpenAlerts:
    """Open alerts by resident and kind, as this process knows them: loaded at start and with the
    periodic restore, then kept from every event the alert service publishes.

    Errs towards "may be open": an alert another process closed stays here until the next load, and
    an alarm that may repeat it waits for the store before it rings (as every alarm did before).
    """

    def __init__(self) -> None:
        self._open: dict[tuple[str, str], set[uuid.UUID]] = {}

    def load(self, rows: Iterable[tuple[uuid.UUID, str, str]]) -> None:
        """Replace what is known with ``(alert id, resident id, kind)`` of every open alert."""
        known: dict[tuple[str, str], set[uuid.UUID]] = {}
        for alert_id, resident_id, kind in rows:
            known.setdefault((resident_id, kind), set()).add(alert_id)
        self._open = known

    def saw(self, alert: Alert) -> None:
        """An alert as just stored or changed."""
        key = (alert.resident_id, alert.kind)
        if alert.state in OPEN_STATES:
            self._open.setdefault(key, set()).add(alert.id)
            return
        ids = self._open.get(key)
        if ids is not None:
            ids.discard(alert.id)
            if not ids:
                del self._open[key]

    def may_have(self, resident_id: str, kind: str) -> bool:
        return (resident_id, kind) in self._open

    def __len__(self) -> int:
        return sum(len(ids) for ids in self._open.values())


def provisional_alert(detection: Detection, org_path: str | None, now: datetime) -> Alert:
    """The alert a detection will be once stored, as the console may show it before (same id)."""
    return Alert(
        id=alert_id_for(detection.key),
        resident_id=detection.resident_id,
        device_id=detection.device_id,
        kind=detection.kind.value,
        priority=PRIORITY.get(detection.kind, 5),
        state=AlertState.RAISED,
        occurred_at=datetime.fromtimestamp(detection.ts_ms / 1000, UTC),
        raised_at=now,
        last_trigger_at=now,
        confidence=detection.confidence,
        details={**detection.details, "stored": False},
        org_path=org_path,
        ringing_at=now,
    )


def is_provisional(alert: Alert) -> bool:
    """Announced before (or without, while the database is away) being stored."""
    return alert.details.get("stored") is False


class Storing:
    """Provisional alerts whose store is under way: an action on one waits until it has ended (stored,
    or spooled while the database is away), so acting on what the console shows never meets a 404
    only because the commit was a millisecond behind the ring."""

    def __init__(self) -> None:
        self._ends: dict[uuid.UUID, asyncio.Event] = {}

    def begin(self, alert_ids: Iterable[uuid.UUID]) -> None:
        for alert_id in alert_ids:
            self._ends.setdefault(alert_id, asyncio.Event())

    def end(self, alert_ids: Iterable[uuid.UUID]) -> None:
        for alert_id in alert_ids:
            ended = self._ends.pop(alert_id, None)
            if ended is not None:
                ended.set()

    async def until_stored(self, alert_id: uuid.UUID, timeout_s: float = 5.0) -> None:
        """Returns at once unless ``alert_id`` is being stored; then when that ends (or after ``timeout_s``)."""
        ended = self._ends.get(alert_id)
        if ended is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await ended.wait()

    def __len__(self) -> int:
        return len(self._ends)
