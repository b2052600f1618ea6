"""Notifications through Apprise (email, JSON webhooks, WeCom, DingTalk, Feishu, SMS gateways …).

Apprise is synchronous; each URL is sent on a worker thread with its own Apprise object so every
delivery gets its own result. Results are recorded by the service without the URL's secrets.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import apprise

from alerting.model import InvalidRequest

log = logging.getLogger("eldercare.alerting.notify")


@dataclass(frozen=True, slots=True)
class Contact:
    """One family contact of a resident, in the order they are tried."""

    resident_id: str
    position: int
    name: str
    urls: tuple[str, ...]
    relation: str = ""
    quiet_start: time | None = None
    quiet_end: time | None = None
    kinds: tuple[str, ...] = ()
    """Alert kinds this contact wants; empty: every kind."""

    def wants(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds

    def quiet_at(self, local: time) -> bool:
        """Inside the quiet hours (``quiet_start`` ≤ t < ``quiet_end``, across midnight when end < start)."""
        if self.quiet_start is None or self.quiet_end is None or self.quiet_start == self.quiet_end:
            return False
        if self.quiet_start < self.quiet_end:
            return self.quiet_start <= local < self.quiet_end
        return local >= self.quiet_start or local < self.quiet_end

    def to_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "name": self.name,
            "relation": self.relation,
            "urls": list(self.urls),
            "quiet_start": self.quiet_start.strftime("%H:%M") if self.quiet_start else None,
            "quiet_end": self.quiet_end.strftime("%H:%M") if self.quiet_end else None,
            "kinds": list(self.kinds),
        }


@functools.cache
def _load_apprise_plugins() -> None:
    """Apprise imports its plugins on first use; some import deprecated modules (``imghdr``).
    Load them once here, with that deprecation silenced, rather than inside a request or a thread."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        apprise.Apprise.instantiate("json://localhost")


def validate_urls(urls: Sequence[str]) -> tuple[str, ...]:
    """Apprise URLs that Apprise recognises; raises :class:`InvalidRequest` naming the bad one."""
    _load_apprise_plugins()
    if not urls:
        raise InvalidRequest("at least one notification URL is needed")
    for url in urls:
        if apprise.Apprise.instantiate(url) is None:
            raise InvalidRequest(f"not a notification URL Apprise understands: {redact(url)}")
    return tuple(urls)


def redact(url: str) -> str:
    """``scheme://host[:port]/…`` without user, password, path or query (they often carry secrets)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "invalid"
    return f"{parts.scheme}://{host}{port}"


def local_time(now: datetime, utc_offset_min: int) -> time:
    return now.astimezone(timezone(timedelta(minutes=utc_offset_min))).time()


@dataclass(frozen=True, slots=True)
class Delivery:
    channel: str
    ok: bool
    error: str = ""


@dataclass(frozen=True, slots=True)
class Notice:
    """A message to send after the transaction that decided it has committed."""

    alert_id: str
    audience: str  # family, responder, supervisor
    recipient: str
    urls: tuple[str, ...]
    title: str
    body: str
    extra: dict[str, Any] = field(default_factory=dict)
    outbox_id: int | None = None
    """Its row in ``notification_outbox`` once queued there."""


class Notifier:
    """Sends through Apprise; replaceable in tests or by a queue-backed sender."""

    def __init__(self, timeout_s: float = 20.0) -> None:
        self.timeout_s = timeout_s

    async def send(self, urls: Sequence[str], title: str, body: str) -> list[Delivery]:
        _load_apprise_plugins()
        return list(await asyncio.gather(*(self._send_one(url, title, body) for url in urls)))

    async def _send_one(self, url: str, title: str, body: str) -> Delivery:
        channel = redact(url)
        try:
            ok, error = await asyncio.wait_for(asyncio.to_thread(_notify, url, title, body), self.timeout_s)
        except TimeoutError:
            ok, error = False, f"timed out after {self.timeout_s:g} s"
        except Exception as exc:  # a broken plugin must not stop the other contacts
            ok, error = False, f"{type(exc).__name__}: {exc}"
        if not ok:
            log.warning("notification failed", extra={"channel": channel, "error": error})
        return Delivery(channel, ok, error)


def _notify(url: str, title: str, body: str) -> tuple[bool, str]:
    sender = apprise.Apprise()
    if not sender.add(url):
        return False, "URL not understood by Apprise"
    with apprise.LogCapture(level=apprise.logging.WARNING) as output:
        ok = bool(sender.notify(title=title, body=body))
        logged = output.getvalue().strip()  # type: ignore[attr-defined]
    return ok, "" if ok else (logged.splitlines()[-1][:300] if logged else "delivery failed")
