"""The operator console: the page at ``/`` and its live feed ``/api/v1/ws/console``.

The page is rendered on the server in the operator's language (``?lang=zh|en``, else the ``lang``
cookie, else ``Accept-Language``; English by default): every UI string comes from one dictionary per
language (``api/static/i18n.<lang>.json``, the same keys in each), written into the HTML as
``{{key}}`` and handed to the page's JavaScript as JSON for the strings it builds itself. The
family and responder pages reuse the dictionaries and ``/static/common.css``.

The websocket is a small state machine: *connecting* (authenticate, or close 4401/4403 with the
reason), *live* (a snapshot of open alerts, then every alert event as it happens; with ``?orders=1``,
as the service page asks, every order event of the service centre too), *closing*
(client gone, bad JSON from the client → close 1003, or the feed lagged → close 4409 so the
client reconnects and takes a fresh snapshot). While live, the account is re-checked every
``console_recheck_s`` and at once when an administrator changes it (:class:`ConsoleSessions`; the
feed holds its messages until that re-check confirms the account): a deactivated account, or one
whose password changed, is closed with 4401; a changed role or area with 4409 (reconnect for the
new scope's snapshot).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import json
import logging
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Mapping
from importlib import resources
from typing import Any

import jwt
from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, JSONResponse, Response

from alerting import Alert, AlertEvent, Lagged
from alerting.early import is_provisional
from api.orders import order_views
from api.scope import Scope, ScopeDenied, scope_for
from api.security import TokenIssuer
from api.services import Services
from api.views import alert_views
from registry.roles import STAFF
from registry.users import User
from servicecentre.model import OrderEvent

router = APIRouter(tags=["console"])
log = logging.getLogger("eldercare.api.console")

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_LAGGED = 4409


LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"
_PLACEHOLDER = re.compile(r"\{\{([a-z0-9_.]+)\}\}")


def _static(name: str) -> str:
    return resources.files("api").joinpath("static", name).read_text(encoding="utf-8")


@functools.cache
def dictionary(lang: str) -> dict[str, str]:
    """The UI strings of one language (``en`` or ``zh``)."""
    if lang not in LANGUAGES:
        raise KeyError(lang)
    return json.loads(_static(f"i18n.{lang}.json"))


def pick_language(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.cookies.get("lang")
    if wanted in LANGUAGES:
        return wanted
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def render_page(template: str, lang: str, strings: Mapping[str, str] | None = None) -> str:
    """Fill ``{{key}}`` from ``strings`` (default: the console's dictionary; HTML-escaped), ``{{lang}}``
    and ``{{i18n_json}}`` (``strings`` as JSON)."""
    strings = dictionary(lang) if strings is None else strings
    # "</" cannot end the JSON's <script> element early
    blob = json.dumps(strings, ensure_ascii=False).replace("</", "<\\/")

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "lang":
            return lang
        if key == "i18n_json":
            return blob
        return html.escape(strings[key])

    return _PLACEHOLDER.sub(fill, _static(template))


def language_page(request: Request, render: Callable[[str], str]) -> HTMLResponse:
    """The page ``render(lang)`` in the caller's language (:func:`pick_language`); a language asked
    for with ``?lang=`` is remembered in a cookie."""
    lang = pick_language(request)
    response = HTMLResponse(render(lang), headers={"Content-Language": lang})
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax")
    return response


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def console_page(request: Request) -> HTMLResponse:
    return language_page(request, functools.partial(render_page, "console.html"))


@router.get("/api/v1/console/i18n/{lang}", include_in_schema=False)
async def i18n_bundle(lang: str) -> Response:
    """One language's dictionary, for pages that build their text in JavaScript (family, responder)."""
    if lang not in LANGUAGES:
        return Response(status_code=404)
    return JSONResponse(dictionary(lang), headers={"Cache-Control": "max-age=300"})


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response:
    return Response(_static("favicon.svg"), media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


@router.get("/api/v1/console/settings", include_in_schema=False)
async def console_settings(request: Request) -> dict[str, Any]:
    """What every page shows the same way: the homes' time zone and the hotline number (nothing secret)."""
    platform: Services = request.app.state.platform
    return {"home_utc_offset_min": platform.alerts.config.utc_offset_min, "hotline": hotline(request)}


def hotline(request: Request) -> str:
    """The number a person calls when a page cannot help them (``ELDERCARE_HOTLINE``)."""
    return str(getattr(request.app.state, "hotline", "12349"))


@router.get("/static/{name}", include_in_schema=False)
async def static_file(name: str) -> Response:
    types = {
        ".js": "text/javascript",
        ".css": "text/css",
        ".wav": "audio/wav",
        ".json": "application/json",
        ".svg": "image/svg+xml",
    }
    suffix = name[name.rfind(".") :] if "." in name else ""
    if suffix not in types or "/" in name or ".." in name:
        return Response(status_code=404)
    try:
        return Response(_static(name), media_type=types[suffix])
    except FileNotFoundError:
        return Response(status_code=404)


class AccountWatch:
    """One feed's view of its account. An administrator's change marks it unconfirmed at once (in
    the same step as the change's response), and the feed holds every message until the re-check
    confirms the account may still see it: a deactivated operator's feed closes before it shows
    anything raised after the deactivation."""

    def __init__(self) -> None:
        self.changed = asyncio.Event()
        self.confirmed = asyncio.Event()
        self.confirmed.set()

    def mark_changed(self) -> None:
        self.confirmed.clear()
        self.changed.set()


class ConsoleSessions:
    """Open console feeds by username, so a change to an account reaches its feeds at once.

    ``announce`` tells the other API instances behind the same URL (over NATS in a partitioned
    deployment, :class:`partitions.console.AccountFanOut`); they call :meth:`changed_elsewhere`."""

    def __init__(self, announce: Callable[[str], Awaitable[None]] | None = None) -> None:
        self._watchers: dict[str, set[AccountWatch]] = defaultdict(set)
        self.announce = announce

    @contextlib.contextmanager
    def watch(self, username: str) -> Iterator[AccountWatch]:
        account = AccountWatch()
        self._watchers[username].add(account)
        try:
            yield account
        finally:
            self._watchers[username].discard(account)
            if not self._watchers[username]:
                del self._watchers[username]

    async def changed(self, username: str) -> None:
        """The account changed (deactivated, new password, role or area): its feeds here and in the
        other instances hold their messages and re-check now."""
        self.changed_elsewhere(username)
        if self.announce is not None:
            try:
                await self.announce(username)
            except Exception as error:  # the others re-check within console_recheck_s all the same
                log.warning("account change not announced", extra={"user": username, "error": repr(error)[:120]})

    def changed_elsewhere(self, username: str) -> None:
        """An account changed: this instance's feeds of it hold their messages and re-check now."""
        for account in self._watchers.get(username, ()):
            account.mark_changed()


UNCONFIRMED_RETRY_S = 1.0


async def _watch_account(
    platform: Services, token_user: User, scope: Scope, account: AccountWatch, every_s: float
) -> tuple[int, str]:
    """Returns (close code, reason) once the account may no longer see this feed as it is; sets
    ``account.confirmed`` after each check that finds it unchanged and no newer change pending."""
    while True:
        wait_s = every_s if account.confirmed.is_set() else min(every_s, UNCONFIRMED_RETRY_S)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(account.changed.wait(), wait_s)
        account.changed.clear()
        try:
            now = await scope_for(token_user, platform.registry, platform.users)
        except ScopeDenied as denied:
            code = CLOSE_UNAUTHORIZED if denied.status_code == 401 else CLOSE_FORBIDDEN
            return code, denied.reason
        except Exception as error:  # the database hiccuped: keep the feed (held if unconfirmed), retry
            log.warning("console account re-check failed", extra={"user": token_user.username, "error": repr(error)})
            continue
        if now.user.role not in STAFF:
            return CLOSE_FORBIDDEN, f"role {now.user.role} may not use the console"
        if (now.org_path, now.resident_id) != (scope.org_path, scope.resident_id):
            return CLOSE_LAGGED, "your area changed: reconnect for a fresh snapshot"
        if not account.changed.is_set():
            account.confirmed.set()


async def _confirmed(account: AccountWatch, watcher: asyncio.Task[Any]) -> bool:
    """Waits while an account change is being re-checked; False when the feed must close."""
    if account.confirmed.is_set():
        return True
    confirmation = asyncio.ensure_future(account.confirmed.wait())
    try:
        await asyncio.wait({confirmation, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        confirmation.cancel()
    return account.confirmed.is_set() and not watcher.done()


def _token(websocket: WebSocket) -> str | None:
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return websocket.query_params.get("token")


@router.websocket("/api/v1/ws/console")
async def console_feed(websocket: WebSocket) -> None:
    platform: Services = websocket.app.state.platform
    issuer: TokenIssuer = websocket.app.state.issuer
    token = _token(websocket)
    await websocket.accept()
    try:
        user = issuer.verify(token or "")
    except jwt.InvalidTokenError as error:
        await websocket.close(CLOSE_UNAUTHORIZED, f"unauthorized: {error}"[:120])
        return
    if user.role not in STAFF:
        await websocket.close(CLOSE_FORBIDDEN, f"role {user.role} may not use the console")
        return
    try:
        scope = await scope_for(user, platform.registry, platform.users)
    except ScopeDenied as denied:
        code = CLOSE_UNAUTHORIZED if denied.status_code == 401 else CLOSE_FORBIDDEN
        await websocket.close(code, denied.reason[:120])
        return
    sessions: ConsoleSessions = websocket.app.state.console_sessions
    recheck_s: float = websocket.app.state.console_recheck_s
    orders = (platform.service_centre.events,) if websocket.query_params.get("orders") == "1" else ()
    with sessions.watch(user.username) as account:
        async with platform.bus.subscribe(*orders) as events:
            snapshot = await alert_views(platform.registry, await platform.alerts.open_alerts(scope=scope))
            try:
                await websocket.send_json(
                    {"type": "snapshot", "alerts": snapshot, "user": user.username, "role": user.role,
                     "scope": scope.org_path}
                )  # fmt: skip
            except (WebSocketDisconnect, RuntimeError):  # the client left before its snapshot
                return
            receiver = asyncio.create_task(_receive(websocket))
            watcher = asyncio.create_task(_watch_account(platform, user, scope, account, recheck_s))
            for stopper in (receiver, watcher):  # the client went away, or the account may no longer see
                stopper.add_done_callback(lambda _: events.end())
            try:
                async for event in events:
                    message = await _message(platform, scope, event)
                    if message is None:
                        continue
                    if not await _confirmed(account, watcher):
                        break
                    await websocket.send_json(message)
                if watcher.done() and not watcher.cancelled() and watcher.exception() is None:
                    code, reason = watcher.result()
                    await websocket.close(code, reason[:120])
            except Lagged:
                await websocket.close(CLOSE_LAGGED, "feed lagged: reconnect for a fresh snapshot")
            except (WebSocketDisconnect, RuntimeError):
                pass
            finally:
                for task in (receiver, watcher):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task


def _visible(scope: Scope, alert: Alert) -> bool:
    """Whether an alert lies in the operator's part of the network (alerts carry their org path)."""
    return scope.covers(alert.org_path, alert.resident_id)


async def _message(platform: Services, scope: Scope, event: AlertEvent | OrderEvent) -> dict[str, Any] | None:
    """The event as the operator's feed shows it; None when it lies outside their part of the network
    (orders, too, carry their resident's org path)."""
    if isinstance(event, OrderEvent):
        if not scope.covers(event.order.org_path, event.order.resident_id):
            return None
        view = (await order_views(platform, [event.order]))[0]
        return {"type": event.type.value, "order": view, "actor": event.actor, "detail": event.detail}
    if not _visible(scope, event.alert):
        return None
    alert = (await alert_views(platform.registry, [event.alert], wait_for_cards=not is_provisional(event.alert)))[0]
    return {"type": event.type.value, "alert": alert, "actor": event.actor}


async def _receive(websocket: WebSocket) -> str:
    """Reads the client's messages (pings); returns why the connection should end."""
    while True:
        try:
            text = await websocket.receive_text()
        except WebSocketDisconnect:
            return "disconnected"
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            await websocket.close(1003, "messages must be JSON")
            return "bad json"
        if isinstance(message, dict) and message.get("type") == "ping":
            await websocket.send_json({"type": "pong"})
