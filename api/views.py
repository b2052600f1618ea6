"""How alerts look to the console: the alert plus who the resident is and where they live."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
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


async def alert_views(registry: Registry, alerts: Sequence[Alert]) -> list[dict[str, Any]]:
    residents = await registry.residents(sorted({alert.resident_id for alert in alerts}))
    views = []
    for alert in alerts:
        view = alert.to_json()
        view["resident"] = resident_card(residents.get(alert.resident_id))
        device = registry.device(alert.device_id)
        view["device"] = {"id": alert.device_id, "type": device.type, "location": device.location} if device else None
        views.append(view)
    return views
