"""Read-only queries the dispatch console needs that no resource router answers (yet).

Everything here calls the services' public methods (``platform.alerts``, ``platform.registry``,
``platform.history``) and filters through the caller's scope; nothing writes, nothing touches another
package's tables directly.

- ``GET /api/v1/console/residents/{id}/card`` — the resident record (with its profile), the
  resident's devices with their state (online, battery, last seen) as the stream core's device
  supervision holds it, what those devices cannot see (``sensing_gaps``, :func:`stream.coverage.sensing_gaps`:
  a home with no motion sensor reads an hour on the sofa as silence), and the contacts alerting
  notifies, in order, with their phone and channels.
- ``GET /api/v1/console/residents/{id}/activity?hours=24`` — the resident's activity of the last
  hours, for the inactivity timeline (one row per room), read from the hourly activity aggregate.
- ``GET /api/v1/console/residents/{id}/alerts`` — the resident's previous alerts (any state).
- ``GET /api/v1/console/alerts/{id}/trail`` — the alert's audit trail (who did what, when).
- ``GET /api/v1/console/overview`` — open alerts by area; devices offline (last will) or silent, or
  heard but sensing nothing (``not_sensing``: quiet beyond habit, with ``last_sensed``), or pads
  holding "occupied" after the resident left them (``stuck_pad``: an open PAD_STUCK alert names the
  device, with ``reported``), or low on battery; residents unmonitored or with no activity today
  (bounded: at most ``MAX_RESIDENTS`` residents; "activity today" is one query over the hourly
  activity aggregate); and the homes whose kit leaves a sensing gap (``sensing_gaps``,
  :func:`stream.coverage.sensing_gaps`), for whoever plans the next installation visits.

Device and home health come from the stream core's supervision (``platform.supervision``), the state
its DEVICE_OFFLINE, DEVICE_SILENT, LOW_BATTERY and UNMONITORED alerts come from, never re-derived
here: a device the stream has not heard since its state began shows as unknown.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query

from api.deps import PlatformDep, StaffDep
from api.scope import ROOT, ScopeDep, scoped_resident
from api.services import Services
from registry.errors import NotFound
from registry.store import DeviceRecord, ResidentRecord
from stream.coverage import sensing_gaps
from stream.detections import DetectionKind

router = APIRouter(prefix="/api/v1/console", tags=["console"])

MAX_RESIDENTS = 500
"""The overview checks at most this many residents (activity today in one aggregate query)."""
ACTIVITY_STREAMS = frozenset({"motion", "contact", "bed", "seat", "vibration", "alarm", "env", "vitals"})
MAX_DEVICES = 20_000


async def _path_of(platform: Services, resident: ResidentRecord | None) -> str:
    if resident is None or resident.org_node is None:
        return ROOT
    return await platform.registry.org_path(resident.org_node) or ROOT


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _device_states(platform: Services, devices: list[DeviceRecord]) -> list[dict[str, Any]]:
    """Each device with its supervision state (``None`` while the stream has not heard from it)."""
    health = platform.supervision.device_health(d.id for d in devices)
    states: list[dict[str, Any]] = []
    for device in devices:
        seen = health.get(device.id)
        state: dict[str, Any] = {
            **asdict(device),
            **dict.fromkeys(("online", "silent", "battery", "low_battery", "last_seen", "not_sensing", "last_sensed")),
        }
        if seen is not None:
            state.update(
                online=seen.online and not seen.silent,
                silent=seen.silent,
                battery=seen.battery_pct,
                low_battery=seen.low_battery,
                last_seen=_iso(seen.last_seen_ms),
                not_sensing=seen.not_sensing,
                last_sensed=_iso(seen.last_sensed_ms),
            )
        states.append(state)
    return states


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
    """The resident (with profile: contacts, conditions, languages, access), their devices' state and
    what those devices cannot see."""
    resident = await scoped_resident(platform.registry, scope, resident_id)
    devices = [d for d in platform.registry.devices() if d.resident_id == resident_id]
    return {
        "resident": _resident_json(resident, await _path_of(platform, resident)),
        "devices": _device_states(platform, devices),
        "sensing_gaps": sensing_gaps((d.type, d.location) for d in devices),
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
    """Activity of the last ``hours`` from the hourly aggregate, newest first: one entry per hour, device
    (with its room) and stream, ``at`` its last event, ``payload`` the count and the first event's time."""
    await scoped_resident(platform.registry, scope, resident_id)
    now = datetime.now(UTC)
    since = now - timedelta(hours=hours)
    events = []
    for row in await platform.history.activity(resident_id, since):
        if row["stream"] not in ACTIVITY_STREAMS:
            continue
        device = platform.registry.device(row["device_id"])
        events.append(
            {
                "at": row["last_at"].isoformat(),
                "device_id": row["device_id"],
                "stream": row["stream"],
                "room": (device.location if device else "") or row["device_id"],
                "payload": {
                    "events": row["events"],
                    "first_at": row["first_at"].isoformat(),
                    "hour": row["bucket"].isoformat(),
                },
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
    await scoped_resident(platform.registry, scope, resident_id)
    since = datetime.now(UTC) - timedelta(days=days)
    alerts = await platform.alerts.recent_alerts(scope, since=since, limit=1000)
    return [alert.to_json() for alert in alerts if alert.resident_id == resident_id][:50]


@router.get("/alerts/{alert_id}/trail")
async def alert_trail(
    alert_id: uuid.UUID, platform: PlatformDep, user: StaffDep, scope: ScopeDep
) -> list[dict[str, Any]]:
    missing = f"no alert {alert_id}"  # outside the caller's area looks exactly like absent
    alert = await platform.alerts.get(alert_id)
    resident = await platform.registry.resident(alert.resident_id)
    if resident is None:
        raise NotFound(missing)
    scope.require(await _path_of(platform, resident), alert.resident_id, missing=missing)
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
    """Open alerts by area, devices offline / low battery, residents unmonitored / quiet today, homes
    with sensing gaps."""
    now = datetime.now(UTC)
    local_midnight = (now + timedelta(minutes=tz_offset_min)).replace(hour=0, minute=0, second=0, microsecond=0)
    today_start = local_midnight - timedelta(minutes=tz_offset_min)

    alerts = await platform.alerts.open_alerts(1000)
    stuck_pads = {a.device_id: a for a in alerts if a.kind == DetectionKind.PAD_STUCK.value and a.device_id}
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
    gaps: list[dict[str, Any]] = []
    checked = sorted(visible)[:MAX_RESIDENTS]
    unmonitored_since = platform.supervision.unmonitored_since(checked)
    active_today = await platform.history.active_residents(checked, today_start, ACTIVITY_STREAMS)
    for rid in checked:
        resident = residents.get(rid)
        who = {"resident_id": rid, "name": resident.name if resident else rid, "org_path": paths[rid]}
        devices = by_resident.get(rid, [])
        for state in _device_states(platform, devices):
            entry = {**who, "device_id": state["id"], "type": state["type"], "location": state["location"]}
            if state["online"] is False:
                offline.append({**entry, "last_seen": state["last_seen"], "silent": state["silent"]})
            elif state["not_sensing"]:  # heard, but senses nothing (quiet beyond habit): a visit all the same
                offline.append(
                    {
                        **entry,
                        "last_seen": state["last_seen"],
                        "silent": False,
                        "not_sensing": True,
                        "last_sensed": state["last_sensed"],
                    }
                )
            elif state["id"] in stuck_pads:  # heard and sensing, but it does not let go: a visit too
                reported = stuck_pads[state["id"]].occurred_at.isoformat()
                offline.append(
                    {**entry, "last_seen": state["last_seen"], "silent": False, "stuck_pad": True, "reported": reported}
                )
            if state.get("low_battery"):
                low.append({**entry, "battery": state["battery"]})
        if not devices or rid in unmonitored_since:
            unmonitored.append({**who, "reason": "no_devices" if not devices else "all_offline"})
        if devices and rid not in active_today:
            quiet.append(who)
        if devices and (home_gaps := sensing_gaps((d.type, d.location) for d in devices)):
            gaps.append({**who, "gaps": home_gaps})

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
            "sensing_gaps": gaps,
        },
    }
