"""Incidents injected into simulated homes, and whether (and how fast) the platform raised them.

:class:`Scenarios` injects an incident into a home of a running :class:`~firmware_sim.fleet.Fleet`
and matches the alerts the platform announces (console websocket messages, see
:func:`console_alerts`) to what was injected: the alert kinds each incident must raise are in
:data:`EXPECTED`. Times are kept in simulated and in wall-clock seconds.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from firmware_sim.fleet import Fleet
from firmware_sim.home import Device

EXPECTED: dict[str, frozenset[str]] = {
    "sos": frozenset({"sos"}),
    "fall": frozenset({"fall"}),
    "radar_fall": frozenset({"fall"}),
    "collapse": frozenset({"inactivity"}),
    "not_up": frozenset({"not_up"}),
    "smoke": frozenset({"smoke"}),
    "gas": frozenset({"gas"}),
    "water_leak": frozenset({"water_leak"}),
    "device_offline": frozenset({"device_offline"}),
    "device_silent": frozenset({"device_silent"}),
    "low_battery": frozenset({"low_battery"}),
}
ANNOUNCED = frozenset({"alert.pending", "alert.raised", "alert.repeated", "alert.duplicate"})
"""Console messages that announce a detection (a fall may first be pending: the wearer can cancel)."""
DEVICE_KINDS = frozenset(
    {"sos", "fall", "radar_fall", "smoke", "gas", "water_leak", "device_offline", "device_silent", "low_battery"}
)
"""Incidents whose alert names the device that reported it."""


@dataclass(slots=True)
class Incident:
    name: str
    home_id: str
    resident_id: str
    device_id: str
    sim_at: float
    real_at: float
    note: str = ""
    expect: frozenset[str] = frozenset()
    alert: dict[str, Any] | None = None
    sim_delay_s: float | None = None
    real_delay_s: float | None = None

    @property
    def detected(self) -> bool:
        return self.alert is not None

    def summary(self) -> dict[str, Any]:
        return {
            "incident": self.name,
            "home": self.home_id,
            "device": self.device_id,
            "note": self.note,
            "detected": self.detected,
            "alert_kind": self.alert.get("kind") if self.alert else None,
            "announced_as": self.alert.get("announced_as") if self.alert else None,
            "sim_delay_s": None if self.sim_delay_s is None else round(self.sim_delay_s, 1),
            "real_delay_s": None if self.real_delay_s is None else round(self.real_delay_s, 3),
        }


@dataclass(slots=True)
class Scenarios:
    """Inject incidents into ``fleet`` and match the platform's alerts to them."""

    fleet: Fleet
    incidents: list[Incident] = field(default_factory=list)
    unexpected: list[dict[str, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def inject(self, name: str, home_id: str, **options: Any) -> Incident:
        """Inject ``name`` (a key of :data:`EXPECTED`) into ``home_id`` now.

        Options: ``press`` (sos: single/double/hold), ``recording`` (fall: file name or index),
        ``kind`` (device incidents: which device, default per incident), ``to_pct`` (low_battery),
        ``under_radar`` (collapse: in the presence radar's room).
        """
        home = self.fleet.home(home_id)
        device: Device | None = None
        note = ""
        expect = EXPECTED.get(name, frozenset())
        if name == "sos":
            device = home.press_sos(options.get("press", "single"))
            note = f"{options.get('press', 'single')} press ({device.spec.protocol})"
        elif name == "fall":
            wearable = next(d for d in home.devices.values() if d.spec.imu_hz)
            clip = self.fleet.library.fall(wearable.spec.imu_hz, options.get("recording"), seed=options.get("seed", 0))
            device = home.fall(clip)
            note = f"{clip.source} at {wearable.spec.imu_hz:g} Hz"
        elif name == "radar_fall":
            device = home.radar_fall()
            note = f"under {device.spec.model} in the {device.spec.location}"
        elif name == "collapse":
            home.collapse(under_radar=bool(options.get("under_radar", False)))
            note = f"in the {home.place}" + (" under the radar" if options.get("under_radar") else "")
            if home.place == "bed":  # down in bed at night: the home sees a resident not getting up
                expect = EXPECTED["collapse"] | EXPECTED["not_up"]
        elif name == "not_up":
            home.not_up()
            note = f"now in the {home.place}"
        elif name in {"smoke", "gas", "water_leak"}:
            device = home.smoke(name)
        elif name == "device_offline":
            device = await home.kill_device(options.get("kind", "sos_button"))
            note = f"{device.spec.kind} ({device.spec.link}, {device.spec.protocol}) lost power"
        elif name == "device_silent":
            device = await home.kill_device(options.get("kind", "smoke"))
            note = f"{device.spec.kind} ({device.spec.link}, {device.spec.protocol}) went quiet"
        elif name == "low_battery":
            device = home.run_down_battery(options.get("kind", "pir"), float(options.get("to_pct", 15.0)))
            note = f"{device.spec.kind} battery {device.battery:.0f} %"
        else:
            raise ValueError(f"unknown incident {name!r}; one of {', '.join(EXPECTED)}")
        incident = Incident(
            name,
            home_id,
            home.spec.resident_id,
            device.id if device is not None and name in DEVICE_KINDS else "",
            self.fleet.clock.time(),
            time.time(),
            note,
            expect,
        )
        self.incidents.append(incident)
        return incident

    def observe(self, message: dict[str, Any]) -> Incident | None:
        """One console message; returns the incident it detects, if any."""
        if message.get("type") not in ANNOUNCED:
            return None
        alert = message.get("alert") or {}
        for incident in self.incidents:
            if incident.detected or alert.get("resident_id") != incident.resident_id:
                continue
            if alert.get("kind") not in incident.expect:
                continue
            if incident.device_id and alert.get("device_id") not in ("", None, incident.device_id):
                continue
            incident.alert = {**alert, "announced_as": message.get("type")}
            incident.sim_delay_s = self.fleet.clock.time() - incident.sim_at
            incident.real_delay_s = time.time() - incident.real_at
            self.changed.set()
            return incident
        if alert.get("resident_id") in self.fleet.by_resident:
            self.unexpected.append(alert)
        return None

    def pending(self) -> list[Incident]:
        return [i for i in self.incidents if not i.detected]

    async def wait(self, timeout: float) -> bool:
        """Until every injected incident is detected (True) or ``timeout`` wall-clock seconds pass."""
        deadline = time.monotonic() + timeout
        while self.pending():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except TimeoutError:
                return not self.pending()
        return True

    def report(self) -> dict[str, Any]:
        return {
            "incidents": [i.summary() for i in self.incidents],
            "detected": sum(i.detected for i in self.incidents),
            "injected": len(self.incidents),
            "other_alerts": sorted({f"{a.get('kind')}" for a in self.unexpected}),
        }


async def console_alerts(ws_url: str, token: str) -> AsyncIterator[dict[str, Any]]:
    """The console websocket's alert messages (after its snapshot), as dicts."""
    import websockets

    async with websockets.connect(f"{ws_url.rstrip('/')}/api/v1/ws/console?token={token}", max_size=None) as ws:
        async for raw in ws:
            message = json.loads(raw)
            if isinstance(message, dict) and "alert" in message:
                yield message


async def follow(scenarios: Scenarios, ws_url: str, token: str, ready: asyncio.Event | None = None) -> None:
    """Feed every console alert to ``scenarios`` until cancelled."""
    import websockets

    async with websockets.connect(f"{ws_url.rstrip('/')}/api/v1/ws/console?token={token}", max_size=None) as ws:
        await ws.recv()  # the snapshot
        if ready is not None:
            ready.set()
        async for raw in ws:
            message = json.loads(raw)
            if isinstance(message, dict):
                scenarios.observe(message)
