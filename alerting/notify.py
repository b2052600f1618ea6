"""Notifications through Apprise (email, JSON webhooks, WeCom, DingTalk, Feishu, SMS gateways …).

Apprise is synchronous; each URL is sent on a worker thread with its own Apprise object so every
delivery gets its own result. Results are recorded by the service without the URL's secrets.

A notification URL is typed in by staff, so it must not become a way into the platform's own
network: a target on a loopback, private, link-local or otherwise internal address is refused
(when the URL is saved, and again after resolving the name when it is sent) unless the host is
listed in ``ELDERCARE_NOTIFY_ALLOWED_HOSTS`` (a site's own SMTP relay, say).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import socket
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
    phone: str = ""
    """Where the operator calls them (their messages go to ``urls``)."""

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
            "phone": self.phone,
            "channels": [describe_channel(url) for url in self.urls],
        }


def describe_channel(url: str) -> str:
    """A notification URL as an operator may see it: its kind and where it goes, never a password or
    token (``mailto://a@b.cn`` → ``mailto a@b.cn``; ``json://host/path`` → ``json host``;
    ``wecombot://KEY`` → ``wecombot``)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        user = parts.username or ""
    except ValueError:
        return url.partition("://")[0].lower() or "?"
    scheme = parts.scheme.lower()
    if scheme in ("mailto", "mailtos"):
        recipient = parts.path.strip("/").split("/")[0]
        if "@" not in recipient:  # Apprise's short form: the login is the address
            recipient = f"{user}@{host}" if user else host
        return f"mailto {recipient}".strip()
    if scheme in ("json", "jsons", "form", "forms", "xml", "xmls"):
        return f"{scheme} {host}".strip()
    return scheme


@functools.cache
def _load_apprise_plugins() -> None:
    """Apprise imports its plugins on first use; some import deprecated modules (``imghdr``).
    Load them once here, with that deprecation silenced, rather than inside a request or a thread."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        apprise.Apprise.instantiate("json://localhost")


def validate_urls(urls: Sequence[str], allowed: Sequence[str] = ()) -> tuple[str, ...]:
    """Apprise URLs that Apprise recognises and that do not aim at an internal address (unless
    ``allowed``); raises :class:`InvalidRequest` naming the bad one."""
    _load_apprise_plugins()
    if not urls:
        raise InvalidRequest("at least one notification URL is needed")
    for url in urls:
        if apprise.Apprise.instantiate(url) is None:
            raise InvalidRequest(f"not a notification URL Apprise understands: {redact(url)}")
        refused = refused_target(url, allowed, resolve=False)
        if refused:
            raise InvalidRequest(refused)
    return tuple(urls)


def allowed_hosts(text: str) -> tuple[str, ...]:
    """``ELDERCARE_NOTIFY_ALLOWED_HOSTS``: host names, addresses or networks, comma-separated."""
    return tuple(_bare(item.strip()) for item in text.split(",") if item.strip())


def _bare(host: str) -> str:
    """A host as compared and resolved: lower case, without IPv6 brackets or the root's trailing dot
    (``localhost.`` is ``localhost``, and an HTTP client connects to it as such)."""
    return host.lower().strip("[]").rstrip(".")


def _is_allowed(host: str, allowed: Sequence[str]) -> bool:
    host = _bare(host)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host in allowed
    for entry in allowed:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return bool(
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_unspecified
        or address.is_reserved
        or address.is_multicast
    )


def _target_hosts(url: str) -> list[str]:
    """The hosts a URL makes us connect to: its host, and an email URL's ``smtp=`` server."""
    parts = urlsplit(url)
    hosts = [parts.hostname or ""]
    hosts += parse_qs(parts.query).get("smtp", [])
    return [h for h in hosts if h]


def refused_target(url: str, allowed: Sequence[str] = (), *, resolve: bool = True) -> str | None:
    """Why a notification may not go to ``url`` (an internal address), or None.

    Without ``resolve`` only literal addresses and ``localhost`` names are judged (saving a URL
    must not wait on DNS); the send resolves the name and judges every address it gets."""
    try:
        hosts = _target_hosts(url)
    except ValueError:
        return "the notification URL is not valid"
    for host in hosts:
        if _is_allowed(host, allowed):
            continue
        name = _bare(host)
        try:
            addresses = [ipaddress.ip_address(name)]
        except ValueError:
            if name == "localhost" or name.endswith(".localhost"):
                addresses = [ipaddress.ip_address("127.0.0.1")]
            elif resolve:
                addresses = _resolve(name)
            else:
                addresses = []
        for address in addresses:
            if _internal(address) and not _is_allowed(str(address), allowed):
                return (
                    f"notification target {redact(url)} is an internal address ({address}); "
                    "allow it with ELDERCARE_NOTIFY_ALLOWED_HOSTS if it is your own relay"
                )
    return None


def _resolve(name: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []  # unresolvable: the send fails on its own, with Apprise's reason
    found = []
    for info in infos:
        try:
            found.append(ipaddress.ip_address(str(info[4][0]).split("%")[0]))
        except ValueError:
            continue
    return found


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
        logged = output.getvalue().strip()
    return ok, "" if ok else (logged.splitlines()[-1][:300] if logged else "delivery failed")
