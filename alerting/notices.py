"""Notices on alerts already raised: the stream's word that a resident it alerted on moves again.

A home alert (inactivity, not up, a long stay in the bathroom, out of bed at night) rests on a
silence, a NIGHT_EXIT on nothing inside since the door; the first activity after it
(:data:`stream.detections.DetectionKind.MOVING_AGAIN`) is what the operator asks first: is the
resident moving, are they back? It is written on the alert as ``details["moving_again"]`` (when, the
device, where, after how long), in the alert's trail, announced to the consoles (``alert.updated``)
and sent to the family contacts already told of the alert. It closes nothing: a resident who fell may
still crawl to the door, and a responder coming in is activity too; the operator calls and decides.

The alert is found by the key it was raised with (``details["alert_key"]``) through
``alert_triggers``, so a silence stored as a repeat of an open alert of its kind finds that one.
Only the first notice is kept. One for an alert already closed, never stored (a home not monitored
raises none) or already told is left, counted by its reason; one that cannot be written (an error) is
logged and counted, and never holds back the alarms stored with it or after it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter
from psycopg.types.json import Jsonb

from alerting.model import Alert, AlertEventType
from alerting.tx import Transaction
from stream.detections import Detection

log = logging.getLogger("eldercare.alerting")

NOTICES_LEFT = Counter(
    "eldercare_alert_notices_left_total", "Notices on alerts not written, by reason", ["kind", "reason"]
)


def _moving(notice: Detection) -> dict[str, Any]:
    """What the console shows of the notice: when (ISO), the device, where, how long the silence was."""
    details = notice.details
    return {
        "at": datetime.fromtimestamp(notice.ts_ms / 1000, UTC).isoformat(),
        "device_id": notice.device_id,
        "device_type": details.get("device_type", ""),
        "location": details.get("location", ""),
        "silent_s": details.get("silent_s"),
    }


def _left(notice: Detection, reason: str) -> None:
    NOTICES_LEFT.labels(notice.kind.value, reason).inc()
    log.info("notice left", extra={"kind": notice.kind.value, "reason": reason, "key": notice.key})


TellFamily = Callable[[Transaction, Alert, datetime], Awaitable[int]]
"""Tells the family contacts already told of an alert that the resident moves again (:mod:`alerting.family`)."""


async def note_moving_again(tx: Transaction, notice: Detection, tell_family: TellFamily | None = None) -> None:
    """Write ``notice`` (the resident moves again) on the alert it names, in ``tx``; the family
    contacts told of the alert hear it too (``tell_family``)."""
    cursor = await tx.conn.execute(
        "SELECT alert_id FROM alert_triggers WHERE key = %s", (notice.details.get("alert_key"),)
    )
    row = await cursor.fetchone()
    if row is None:
        _left(notice, "no_alert")
        return
    alert = await tx.lock(row["alert_id"])
    if not alert.is_open:
        _left(notice, "closed")
        return
    if "moving_again" in alert.details:
        _left(notice, "told")
        return
    moving = _moving(notice)
    alert = await tx.update(alert, {"details": Jsonb({**alert.details, "moving_again": moving})})
    await tx.audit(alert.id, "system", "moving again", str(notice.details.get("reason", "")))
    tx.publish(AlertEventType.UPDATED, alert, "system", {"moving_again": moving})
    if tell_family is not None:
        await tell_family(tx, alert, datetime.fromtimestamp(notice.ts_ms / 1000, UTC))


async def note_safely(tx: Transaction, notice: Detection, tell_family: TellFamily | None = None) -> None:
    """:func:`note_moving_again` in a savepoint of ``tx``: an error undoes this notice alone, is logged
    and counted (``reason="error"``), and the batch goes on (a notice is no alarm to retry forever)."""
    events, sends = len(tx.fx.events), len(tx.fx.notices)
    try:
        async with tx.conn.transaction():
            await note_moving_again(tx, notice, tell_family)
    except Exception:
        del tx.fx.events[events:], tx.fx.notices[sends:]  # what it decided is undone with it
        log.exception("notice not written", extra={"kind": notice.kind.value, "key": notice.key})
        NOTICES_LEFT.labels(notice.kind.value, "error").inc()
