"""Responders (community workers, volunteers, property staff, clinics): who is near, free and on duty.

Nearness is read from the org tree: the number of path segments a responder shares with the resident
(``/city/district/street/community/``). Same community first, then street, then district, then city.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any

from alerting.model import InvalidRequest

RESPONDER_KINDS = ("community_worker", "volunteer", "property", "clinic")
NEARNESS = {4: "community", 3: "street", 2: "district", 1: "city", 0: "elsewhere"}


@dataclass(frozen=True, slots=True)
class Shift:
    days: tuple[int, ...]  # 0 Monday … 6 Sunday, local time
    start: time
    end: time  # end < start: the shift runs past midnight (counted from the start day)

    def covers(self, local: datetime) -> bool:
        t, day = local.time(), local.weekday()
        if self.start < self.end:
            return day in self.days and self.start <= t < self.end
        if self.start == self.end:
            return day in self.days
        return (day in self.days and t >= self.start) or ((day - 1) % 7 in self.days and t < self.end)


@dataclass(frozen=True, slots=True)
class Responder:
    username: str
    name: str
    kind: str
    org_node: str
    org_path: str
    phone: str = ""
    available: bool = True
    rota: tuple[Shift, ...] = ()
    """Empty: always on duty (while available)."""
    notify_urls: tuple[str, ...] = field(default=())

    def on_duty(self, now: datetime, utc_offset_min: int) -> bool:
        if not self.available:
            return False
        if not self.rota:
            return True
        local = now.astimezone(timezone(timedelta(minutes=utc_offset_min)))
        return any(shift.covers(local) for shift in self.rota)

    def to_json(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "name": self.name,
            "kind": self.kind,
            "org_node": self.org_node,
            "org_path": self.org_path,
            "phone": self.phone,
            "available": self.available,
            "rota": rota_to_json(self.rota),
            "notify_urls": list(self.notify_urls),
        }


def shared_depth(a: str | None, b: str | None) -> int:
    """How many leading org-path segments two paths share (``/41/4101/`` and ``/41/4102/`` share 1)."""
    left = [s for s in (a or "").split("/") if s]
    right = [s for s in (b or "").split("/") if s]
    depth = 0
    for x, y in zip(left, right, strict=False):
        if x != y:
            break
        depth += 1
    return depth


AREA_DEPTH = 2
"""Responders serve the district (``/city/district/``) they belong to, and from above it (a city-wide
team) every district below: never another district's residents."""


def serves(responder: Responder, alert_path: str | None) -> bool:
    """Whether ``responder`` may be sent to an alert at ``alert_path``: the responder's node lies in
    the alert's district (its first :data:`AREA_DEPTH` segments), or above it on the alert's branch."""
    segments = [s for s in (alert_path or "").split("/") if s]
    area = "/" + "".join(f"{s}/" for s in segments[:AREA_DEPTH])
    own = responder.org_path
    return own.startswith(area) or (alert_path or "/").startswith(own)


def nearness(resident_path: str | None, responder_path: str) -> str:
    return NEARNESS.get(min(shared_depth(resident_path, responder_path), 4), "elsewhere")


def rank(resident_path: str | None, responders: Sequence[Responder]) -> list[tuple[Responder, int]]:
    """Nearest first (most shared path segments), then by name; with the shared depth."""
    scored = [(r, shared_depth(resident_path, r.org_path)) for r in responders]
    scored.sort(key=lambda item: (-item[1], item[0].name, item[0].username))
    return scored


def _clock(text: Any, name: str) -> time:
    if not isinstance(text, str):
        raise InvalidRequest(f"{name} is a time like 08:00")
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"{name} is a time like 08:00, not {text!r}") from None


def parse_rota(rota: Any) -> tuple[Shift, ...]:
    if not isinstance(rota, list):
        raise InvalidRequest("rota is a list of shifts")
    shifts = []
    for item in rota:
        if not isinstance(item, Mapping) or set(item) - {"days", "start", "end"}:
            raise InvalidRequest('a shift is {"days": [0-6], "start": "08:00", "end": "20:00"}')
        days = item.get("days", list(range(7)))
        if not isinstance(days, list) or not all(isinstance(d, int) and 0 <= d <= 6 for d in days):
            raise InvalidRequest("shift days are 0 (Monday) … 6 (Sunday)")
        shifts.append(
            Shift(tuple(sorted(set(days))), _clock(item.get("start"), "start"), _clock(item.get("end"), "end"))
        )
    return tuple(shifts)


def rota_to_json(rota: Sequence[Shift]) -> list[dict[str, Any]]:
    return [{"days": list(s.days), "start": s.start.strftime("%H:%M"), "end": s.end.strftime("%H:%M")} for s in rota]
