"""The operator console: the page at ``/`` and its live feed ``/api/v1/ws/console``.

The websocket is a small state machine: *connecting* (authenticate, or close 4401/4403 with the
reason), *live* (a snapshot of open alerts, then every alert event as it happens), *closing*
(client gone, bad JSON from the client → close 1003, or the feed lagged → close 4409 so the
client reconnects and takes a fresh snapshot).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from importlib import resources
from typing import Any

import jwt
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, Response

from alerting import Lagged
from api.deps import STAFF_ROLES
from api.security import TokenIssuer
from api.views import alert_views
from eldercare.runtime import Platform

router = APIRouter(tags=["console"])

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_LAGGED = 4409


def _static(name: str) -> str:
    return resources.files("api").joinpath("static", name).read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def console_page() -> HTMLResponse:
    return HTMLResponse(_static("console.html"))


@router.get("/static/{name}", include_in_schema=False)
async def static_file(name: str) -> Response:
    types = {".js": "text/javascript", ".css": "text/css", ".wav": "audio/wav"}
    suffix = name[name.rfind(".") :] if "." in name else ""
    if suffix not in types or "/" in name or ".." in name:
        return Response(status_code=404)
    try:
        return Response(_static(name), media_type=types[suffix])
    except FileNotFoundError:
        return Response(status_code=404)


def _token(websocket: WebSocket) -> str | None:
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return websocket.query_params.get("token")


@router.websocket("/api/v1/ws/console")
async def console_feed(websocket: WebSocket) -> None:
    platform: Platform = websocket.app.state.platform
    issuer: TokenIssuer = websocket.app.state.issuer
    token = _token(websocket)
    await websocket.accept()
    try:
        user = issuer.verify(token or "")
    except jwt.InvalidTokenError as error:
        await websocket.close(CLOSE_UNAUTHORIZED, f"unauthorized: {error}"[:120])
        return
    if user.role not in STAFF_ROLES:
        await websocket.close(CLOSE_FORBIDDEN, f"role {user.role} may not use the console")
        return
    async with platform.bus.subscribe() as events:
        snapshot = await alert_views(platform.registry, await platform.alerts.open_alerts())
        await websocket.send_json({"type": "snapshot", "alerts": snapshot, "user": user.username})
        receiver = asyncio.create_task(_receive(websocket))
        try:
            async for event in _until_done(events, receiver):
                view = (await alert_views(platform.registry, [event.alert]))[0]
                message: dict[str, Any] = {"type": event.type.value, "alert": view, "actor": event.actor}
                await websocket.send_json(message)
        except Lagged:
            await websocket.close(CLOSE_LAGGED, "feed lagged: reconnect for a fresh snapshot")
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await receiver


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


async def _until_done(events: Any, receiver: asyncio.Task[str]) -> Any:
    """Yield alert events until the client goes away."""
    iterator = events.__aiter__()
    while True:
        getter = asyncio.ensure_future(iterator.__anext__())
        done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            yield getter.result()
            continue
        getter.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await getter
        return
