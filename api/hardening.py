"""Requests refused for text PostgreSQL cannot store: a NUL character before routing, in the path or
query string, and a NUL or a lone surrogate in any field of a request body.

PostgreSQL cannot store NUL in text, so an id like ``%00`` or a note holding ``\\u0000`` would
otherwise reach a query and fail there (a 500); nor can UTF-8 carry a lone surrogate (``\\ud800``),
which JSON can spell and pydantic lets through a plain ``str``. Refusing them here gives every route
the same clear 400 with its reason, and every body model (:class:`StorableBody`) a 422 naming the field.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar
from urllib.parse import unquote_to_bytes

from pydantic import BaseModel, field_validator
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

V = TypeVar("V")
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def _unstorable(value: object) -> bool:
    """Whether ``value`` (text, or lists and mappings of it, keys included) holds a NUL or a lone surrogate."""
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is not None
    if isinstance(value, list | tuple):
        return any(_unstorable(item) for item in value)
    if isinstance(value, dict):
        return any(_unstorable(key) or _unstorable(item) for key, item in value.items())
    return False


def storable(value: V) -> V:
    """A validator: ``value`` as it is, refused when it holds text PostgreSQL cannot store (a form
    field puts it after its own limits, so that theirs are checked first)."""
    if _unstorable(value):
        raise ValueError("NUL characters and lone surrogates are not allowed")
    return value


class StorableBody(BaseModel):
    """The base of the API's request bodies: a NUL or a lone surrogate in any field, however deep in its
    lists, is a 422 naming that field (the registry's and care's models constrain their text themselves)."""

    @field_validator("*")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return storable(value)


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
