"""Requests refused before routing: a NUL character in the path or query string.

PostgreSQL cannot store NUL in text, so an id like ``%00`` would otherwise reach a query and fail
there (a 500). Refusing it here gives every route the same clear 400 with its reason.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class RejectNulBytes:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            raw_path = scope.get("raw_path") or scope.get("path", "").encode()
            query = scope.get("query_string", b"")
            if (
                b"\x00" in unquote_to_bytes(raw_path)
                or b"\x00" in unquote_to_bytes(query)
                or "\x00" in scope.get("path", "")
            ):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008, "reason": "NUL characters are not allowed"})
                    return
                response = JSONResponse({"detail": "NUL characters are not allowed in the path or query"}, 400)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
