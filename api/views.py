"""How alerts look to the console: the alert, its answer-time SLA, who the resident is and where."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from alerting import Alert
from registry.store import Registry, ResidentRecord


def resident_card(resident: ResidentRecord | None, today: date | None = None) -> dict[str, Any] | None:
    if resident is None:
        return None
    age = None
    if resident.birth_date is not None:
        today = today or date.today()
        born = resident.birth_date
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return {
        "id": resident.id,
        "name": resident.name,
        "address": resident.address,
        "phone": resident.phone,
        "age": age,
        "org_node": resident.org_node,
    }


async def alert_views(
    registry: Registry, alerts: Sequence[Alert], now: datetime | None = None, *, wait_for_cards: bool = True
) -> list[dict[str, Any]]:
    """Each alert as JSON with ``sla`` (live timers as of ``now``), ``resident`` and ``device``.

    ``wait_for_cards=False``: only the resident cards already in memory (``resident`` is null for the
    others): a provisional alert rings without a database read; its stored event brings the card.
    """
    now = now or datetime.now(UTC)
    ids = sorted({alert.resident_id for alert in alerts})
    residents = await registry.residents(ids) if wait_for_cards else registry.residents_in_memory(ids)
    views = []
    for alert in alerts:
        view = alert.to_json()
        view["sla"] = alert.sla(now)
        view["resident"] = resident_card(residents.get(alert.resident_id))
        device = registry.device(alert.device_id)
        view["device"] = {"id": alert.device_id, "type": device.type, "location": device.location} if device else None
        views.append(view)
    return views
