"""Read-only queries the dispatch console needs that no resource router answers (yet).

Everything here calls the services' public methods (``platform.alerts``, ``platform.registry``,
``platform.history``) and filters through the caller's scope; nothing writes, nothing touches another
package's tables directly.

- ``GET /api/v1/console/residents/{id}/card`` — the resident record (with its profile), the
  resident's devices with their last known state (online, battery, last seen) from the event history,
  and the contacts alerting notifies, in order, with their phone and channels.
- ``GET /api/v1/console/residents/{id}/activity?hours=24`` — the resident's non-IMU events of the last
  hours, for the inactivity timeline (one row per room).
- ``GET /api/v1/console/residents/{id}/alerts`` — the resident's previous alerts (any state).
- ``GET /api/v1/console/alerts/{id}/trail`` — the alert's audit trail (who did what, when).
- ``GET /api/v1/console/overview`` — open alerts by area; devices offline or low on battery;
  residents unmonitored or with no activity today (bounded: at most ``MAX_RESIDENTS`` residents).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Query, status

from alerting import AlertNotFound
from api.deps import PlatformDep, StaffDep
from api.scope import ROOT, ScopeDep
from api.services import Services
from registry.store import DeviceRecord, ResidentRecord

router = APIRouter(prefix="/api/v1/console", tags=["console"])

LOW_BATTERY = 20
"""Percent at or below which a battery counts as low."""
MAX_RESIDENTS = 500
"""The overview reads each resident's recent events; it stops after this many residents."""
ACTIVITY_STREAMS = frozenset({"motion", "contact", "bed", "seat", "vibration", "alarm", "env", "vitals"})
RECENT_EVENTS = 400
MAX_DEVICES = 20_000


def _when(row: dict[str, Any]) -> datetime:
    value = row.get("received_at") or row.get("ts")
    return value if isinstance(value, datetime) else datetime.now(UTC)


async def _path_of(platform: Services, resident: ResidentRecord | None) -> str:
    if resident is None or resident.org_node is None:
        return ROOT
    return await platform.registry.org_path(resident.org_node) or ROOT


async def _resident_in_scope(platform: Services, scope: Any, resident_id: str) -> ResidentRecord:
    resident = await platform.registry.resident(resident_id)
    if resident is None or not scope.covers(await _path_of(platform, resident), resident_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no resident {resident_id}")
    return resident


def _device_states(devices: list[DeviceRecord], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each device with the last ``status`` it reported and when it was last heard (rows newest first)."""
    states: dict[str, dict[str, Any]] = {
        d.id: {**asdict(d), "online": None, "battery": None, "last_seen": None} for d in devices
    }
    for row in rows:
        state = states.get(row["device_id"])
        if state is None:
            continue
        if state["last_seen"] is None:
            state["last_seen"] = _when(row).isoformat()
        payload = row.get("payload") or {}
        if row["stream"] == "status":
            if state["online"] is None and "online" in payload:
                state["online"] = bool(payload["online"])
            if state["battery"] is None and payload.get("battery") is not None:
                state["battery"] = payload["battery"]
        elif state["online"] is None:
            state["online"] = True  # heard from after its last status: it is talking
    return list(states.values())


def _resident_json(resident: ResidentRecord, path: str) -> dict[str, Any]:
    data = asdict(resident)
    born = resident.birth_date
    if born is not None:
        today = date.today()
        data["age"] = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        data["birth_date"] = born.isoformat()
    else:
        data["age"] = None
    data["org_path"] = path
    return data


@router.get("/residents/{resident_id}/card")
async def resident_card(resident_id: str, platform: PlatformDep, user: StaffDep, scope: ScopeDep) -> dict[str, Any]:
    """The resident (with profile: contacts, conditions, languages, access) and their devices' state."""
    resident = await _resident_in_scope(platform, scope, resident_id)
    devices = [d for d in platform.registry.devices() if d.resident_id == resident_id]
    rows = await platform.history.recent(resident_id, RECENT_EVENTS)
    return {
        "resident": _resident_json(resident, await _path_of(platform, resident)),
        "devices": _device_states(devices, rows),
        "contacts": [c.to_json() for c in await platform.alerts.contacts(resident_id)],  # who is told, in order
    }


@router.get("/residents/{resident_id}/activity")
async def resident_activity(
    resident_id: str,
    platform: PlatformDep,
    user: StaffDep,
    scope: ScopeDep,
    hours: float = Query(24.0, gt=0, le=72),
) -> dict[str, Any]:
    """Events of the last ``hours`` (newest first), each with the room of its device."""
    await _resident_in_scope(platform, scope, resident_id)
    now = datetime.now(UTC)
    since = now - timedelta(hours=hours)
    rows = await platform.history.recent(resident_id, 5000)
    events = []
    for row in rows:
        when = _when(row)
        if when < since:
            break
        if row["stream"] not in ACTIVITY_STREAMS:
            continue
        device = platform.registry.device(row["device_id"])
        events.append(
            {
                "at": when.isoformat(),
                "device_id": row["device_id"],
                "stream": row["stream"],
                "room": (device.location if device else "") or row["device_id"],
                "payload": row.get("payload") or {},
            }
        )
    return {"from": since.isoformat(), "to": now.isoformat(), "events": events}


@router.get("/residents/{resident_id}/alerts")
async def resident_alerts(
    resident_id: str,
    platform: PlatformDep,
    user: StaffDep,
    scope: ScopeDep,
    days: int = Query(90, ge=1, le=366),
) -> list[dict[str, Any]]:
    """The resident's alerts of the last ``days`` (any state), newest first: "previous alerts"."""
    await _resident_in_scope(platform, scope, resident_id)
    since = datetime.now(UTC) - timedelta(days=days)
    alerts = await platform.alerts.recent_alerts(scope, since=since, limit=1000)
    return [alert.to_json() for alert in alerts if alert.resident_id == resident_id][:50]


@router.get("/alerts/{alert_id}/trail")
async def alert_trail(
    alert_id: uuid.UUID, platform: PlatformDep, user: StaffDep, scope: ScopeDep
) -> list[dict[str, Any]]:
    missing = HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}")
    try:
        alert = await platform.alerts.get(alert_id)
        await _resident_in_scope(platform, scope, alert.resident_id)
    except (AlertNotFound, HTTPException):
        raise missing from None  # outside the caller's area looks exactly like absent
    trail = await platform.alerts.audit_trail(alert_id)
    return [
        {**row, "at": row["at"].isoformat() if isinstance(row.get("at"), datetime) else row.get("at")} for row in trail
    ]


@router.get("/overview")
async def overview(
    platform: PlatformDep,
    user: StaffDep,
    scope: ScopeDep,
    tz_offset_min: int = Query(0, ge=-14 * 60, le=14 * 60, description="the browser's UTC offset, minutes east"),
) -> dict[str, Any]:
    """Open alerts by area, devices offline / low battery, residents unmonitored / quiet today."""
    now = datetime.now(UTC)
    local_midnight = (now + timedelta(minutes=tz_offset_min)).replace(hour=0, minute=0, second=0, microsecond=0)
    today_start = local_midnight - timedelta(minutes=tz_offset_min)

    alerts = await platform.alerts.open_alerts(1000)
    device_rows, _ = await platform.registry.list_devices(scope.area, limit=MAX_DEVICES, offset=0)
    resident_ids = sorted({a.resident_id for a in alerts} | {r["resident_id"] for r in device_rows if r["resident_id"]})
    residents = await platform.registry.residents(resident_ids)
    paths = {rid: await _path_of(platform, residents.get(rid)) for rid in resident_ids}
    visible = {rid for rid in resident_ids if scope.covers(paths[rid], rid)}

    areas: dict[str, dict[str, Any]] = {}
    for alert in alerts:
        if alert.resident_id not in visible:
            continue
        resident = residents.get(alert.resident_id)
        node = resident.org_node if resident else None
        area = areas.setdefault(
            paths[alert.resident_id],
            {"org_node": node, "org_path": paths[alert.resident_id], "open": 0, "unanswered": 0, "by_kind": {}},
        )
        area["open"] += 1
        area["unanswered"] += alert.state.value == "raised"
        area["by_kind"][alert.kind] = area["by_kind"].get(alert.kind, 0) + 1

    by_resident: dict[str, list[DeviceRecord]] = defaultdict(list)
    for device in platform.registry.devices():
        if device.resident_id is not None and device.resident_id in visible:
            by_resident[device.resident_id].append(device)
    offline: list[dict[str, Any]] = []
    low: list[dict[str, Any]] = []
    unmonitored: list[dict[str, Any]] = []
    quiet: list[dict[str, Any]] = []
    checked = sorted(visible)[:MAX_RESIDENTS]
    for rid in checked:
        resident = residents.get(rid)
        who = {"resident_id": rid, "name": resident.name if resident else rid, "org_path": paths[rid]}
        devices = by_resident.get(rid, [])
        rows = await platform.history.recent(rid, RECENT_EVENTS) if devices else []
        states = _device_states(devices, rows)
        for state in states:
            entry = {**who, "device_id": state["id"], "type": state["type"], "location": state["location"]}
            if state["online"] is False:
                offline.append({**entry, "last_seen": state["last_seen"]})
            battery = _percent(state["battery"])
            if battery is not None and battery <= LOW_BATTERY:
                low.append({**entry, "battery": battery})
        if not devices or all(s["online"] is False for s in states):
            unmonitored.append({**who, "reason": "no_devices" if not devices else "all_offline"})
        active = [r for r in rows if r["stream"] in ACTIVITY_STREAMS and _when(r) >= today_start]
        if devices and not active:
            quiet.append(who)

    return {
        "generated_at": now.isoformat(),
        "today_start": today_start.isoformat(),
        "scope": scope.org_path if scope.resident_id is None else None,
        "org_paths": {r.org_node: paths[rid] for rid, r in residents.items() if r.org_node and rid in visible},
        "open_by_area": sorted(areas.values(), key=lambda a: (-a["open"], a["org_path"])),
        "open_total": sum(a["open"] for a in areas.values()),
        "devices": {"total": sum(len(v) for v in by_resident.values()), "offline": offline, "low_battery": low},
        "residents": {
            "total": len(visible),
            "checked": len(checked),
            "unmonitored": unmonitored,
            "no_activity_today": quiet,
        },
    }


def _percent(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(str(value).rstrip("%"))
    except ValueError:
        return None
