"""Hotline calls logged by the operator, and an emergency reported by phone becoming an alert.

A call's number is matched to a resident in the operator's area (digits only, ``+86`` dropped). An
emergency call raises an alert through alerting's public intake, as a detection of kind ``phone``
from the pseudo-device ``phone:<call id>`` with the key ``phone:<call id>``: the alert id is
deterministic, raising twice is a no-op, and the alert runs the same lifecycle, escalation ladder and
answer-time SLA as any other. Nothing is sent to the pseudo-device.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from alerting.model import AlertEvent, alert_id_for
from servicecentre.context import ServiceContext, Tx
from servicecentre.model import (
    PHONE_DEVICE_PREFIX,
    CallCategory,
    Conflict,
    Direction,
    Forbidden,
    Invalid,
    Reach,
    row_json,
)
from stream.detections import Detection, DetectionKind

RaiseAlerts = Callable[[Sequence[Detection]], Awaitable[Sequence[AlertEvent] | None]]
"""Alerting's intake (``AlertService.raise_detections``): the events of the alerts it stored."""

CALL_COLUMNS = (
    "id, direction, number, resident_id, org_path, agent, category, started_at, answered_at, ended_at, notes,"
    " alert_id, order_id"
)
_NOT_DIGITS = re.compile(r"\D")


def normalise_number(number: str) -> str:
    """Digits only, without the country code: ``+86 138-0000-0001`` → ``13800000001``."""
    digits = _NOT_DIGITS.sub("", number)
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def phone_key(call_id: uuid.UUID) -> str:
    return f"{PHONE_DEVICE_PREFIX}{call_id}"


class Calls:
    def __init__(self, ctx: ServiceContext, raise_alerts: RaiseAlerts | None) -> None:
        self.ctx = ctx
        self.raise_alerts = raise_alerts

    def _staff(self, reach: Reach) -> None:
        if reach.is_provider or reach.area.resident_id is not None:
            raise Forbidden("only the centre's staff log calls")

    async def match(self, number: str, reach: Reach) -> list[dict[str, Any]]:
        """Residents in the caller's area whose phone is ``number``."""
        self._staff(reach)
        digits = normalise_number(number)
        if len(digits) < 5:
            return []
        condition, params = reach.area.where("org_path", "id")
        return await self.ctx.read(
            "SELECT id, name, org_path, phone, address FROM residents"
            f" WHERE regexp_replace(phone, '\\D', '', 'g') IN (%s, %s) AND {condition} ORDER BY id LIMIT 20",
            (digits, "86" + digits, *params),
        )

    async def log(self, data: dict[str, Any], reach: Reach) -> dict[str, Any]:
        """Log a call; with no ``resident_id`` given, a number matching exactly one resident links it."""
        self._staff(reach)
        direction = Direction(data.get("direction", Direction.INBOUND))
        category = CallCategory(data["category"])
        number = normalise_number(data.get("number", ""))
        resident_id = data.get("resident_id")
        if resident_id is None and number:
            matches = await self.match(number, reach)
            resident_id = matches[0]["id"] if len(matches) == 1 else None
        now = self.ctx.clock()
        started = data.get("started_at") or now
        answered = data.get("answered_at") or (now if direction is Direction.INBOUND else None)
        for moment in (started, answered, data.get("ended_at")):
            if moment is not None and moment.tzinfo is None:
                raise Invalid("call times need a time zone offset")
        if answered is not None and answered < started:
            raise Invalid("a call is answered after it starts")
        async with self.ctx.begin() as tx:
            path = reach.area.org_path
            if resident_id is not None:  # the call lies in the resident's area, else in the operator's
                path = (await tx.resident(resident_id, reach.area))["org_path"]
            row = await tx.one(
                f"INSERT INTO service_calls ({CALL_COLUMNS}) VALUES"
                " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, NULL)"
                f" RETURNING {CALL_COLUMNS}",
                (
                    uuid.uuid4(), direction.value, number, resident_id, path, reach.actor, category.value, started,
                    answered, data.get("ended_at"), data.get("notes", ""),
                ),
            )  # fmt: skip
            assert row is not None
            await tx.audit("call", row["id"], reach.actor, "logged", category.value)
        return row_json(row)

    async def _lock(self, call_id: uuid.UUID, reach: Reach, tx: Tx) -> dict[str, Any]:
        condition, params = reach.area.where("org_path", None)
        sql = f"SELECT {CALL_COLUMNS} FROM service_calls WHERE id = %s AND {condition} FOR UPDATE"
        return await tx.found(sql, (call_id, *params), f"no call {call_id}")

    async def update(self, call_id: uuid.UUID, changes: dict[str, Any], reach: Reach) -> dict[str, Any]:
        """Set the end time, notes, category, or the order the call produced."""
        self._staff(reach)
        allowed = {"ended_at", "notes", "category", "order_id"}
        if unknown := set(changes) - allowed:
            raise Invalid(f"a call's {', '.join(sorted(unknown))} cannot be changed")
        if "category" in changes:
            changes["category"] = CallCategory(changes["category"]).value
        async with self.ctx.begin() as tx:
            call = await self._lock(call_id, reach, tx)
            if changes.get("ended_at") is not None and changes["ended_at"] < call["started_at"]:
                raise Invalid("a call ends after it starts")
            if changes.get("order_id") is not None:
                where, params = reach.area.where("org_path", "resident_id")
                order = changes["order_id"]
                await tx.found(
                    f"SELECT 1 FROM service_orders WHERE id = %s AND {where}", (order, *params), f"no order {order}"
                )
            if not changes:
                return row_json(call)
            assignments = ", ".join(f"{name} = %s" for name in changes)
            row = await tx.one(
                f"UPDATE service_calls SET {assignments} WHERE id = %s RETURNING {CALL_COLUMNS}",
                (*changes.values(), call_id),
            )
            await tx.audit("call", call_id, reach.actor, "updated", ", ".join(sorted(changes)))
        assert row is not None
        return row_json(row)

    async def raise_emergency(self, call_id: uuid.UUID, reach: Reach, note: str = "") -> dict[str, Any]:
        """The caller reports an emergency: an alert of kind ``phone`` for the call's resident (idempotent)."""
        self._staff(reach)
        if self.raise_alerts is None:
            raise Conflict("alerting is not connected")
        async with self.ctx.begin() as tx:
            call = await self._lock(call_id, reach, tx)
            if call["resident_id"] is None:
                raise Invalid("link the call to a resident before raising an alert (an alert is for a resident)")
        key = phone_key(call_id)
        started: datetime = call["started_at"]
        detection = Detection(
            resident_id=call["resident_id"],
            device_id=key,
            kind=DetectionKind.PHONE,
            ts_ms=int(started.timestamp() * 1000),
            detected_ms=int(self.ctx.clock().timestamp() * 1000),
            key=key,
            details={"call_id": str(call_id), "agent": reach.actor, "note": note[:500]},
        )
        # stored by alerting first: the call names its alert only once the alert exists
        events = await self.raise_alerts([detection])
        # a repeat joins the resident's open alert (not this key's); raised before: the alert named then
        alert_id = next((event.alert.id for event in events or ()), None) or call["alert_id"] or alert_id_for(key)
        async with self.ctx.begin() as tx:
            row = await tx.one(
                f"UPDATE service_calls SET alert_id = %s, category = %s WHERE id = %s RETURNING {CALL_COLUMNS}",
                (alert_id, CallCategory.EMERGENCY.value, call_id),
            )
            if call["alert_id"] is None:
                await tx.audit("call", call_id, reach.actor, "alert raised", str(alert_id))
        assert row is not None
        return row_json(row)

    async def get(self, call_id: uuid.UUID, reach: Reach) -> dict[str, Any]:
        self._staff(reach)
        condition, params = reach.area.where("org_path", None)
        sql = f"SELECT {CALL_COLUMNS} FROM service_calls WHERE id = %s AND {condition}"
        return row_json(await self.ctx.found(sql, (call_id, *params), f"no call {call_id}"))

    async def list(
        self, reach: Reach, start: datetime | None = None, resident_id: str | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        self._staff(reach)
        condition, params = reach.area.where("org_path", None)
        filters = [("started_at >= %s", start), ("resident_id = %s", resident_id)]
        sql = f"SELECT {CALL_COLUMNS} FROM service_calls WHERE {condition}"
        return [row_json(row) for row in await self.ctx.listing(sql, params, filters, "started_at DESC", limit)]
