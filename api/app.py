"""The FastAPI application: REST under ``/api/v1``, the console at ``/``.

Domain errors become HTTP answers here, once, for every router: a handler raises (or lets through) a
:class:`~registry.errors.DomainError` and :func:`domain_error_answer` answers with its status and its
text as the ``detail``, the same body FastAPI gives an ``HTTPException``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api import (
    alerts,
    auth,
    care,
    console,
    deadletters,
    devices,
    docs,
    family,
    imports,
    orgs,
    overview,
    reports,
    residents,
    responders,
    users,
)
from api.console import ConsoleSessions
from api.hardening import RejectNulBytes
from api.security import LoginThrottle, TokenIssuer
from api.services import Services
from registry.errors import Conflict, DomainError, Forbidden, Invalid, NotFound

ERROR_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Conflict, status.HTTP_409_CONFLICT),
    (Invalid, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (Forbidden, status.HTTP_403_FORBIDDEN),
)
"""Each kind of domain error and its HTTP status (first match); any other domain error is 400."""


def _json_safe(value: Any) -> Any:
    """``value`` with every non-finite float written out (``"Infinity"``, ``"NaN"``) and every lone
    surrogate escaped (``"\\ud800"``): JSON has no such numbers, and UTF-8 no such characters."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value).replace("inf", "Infinity").replace("nan", "NaN")
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_json_safe(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


async def validation_error_answer(request: Request, error: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 with each problem and the input it had, made JSON-safe: a body holding 1e400, NaN
    or a lone surrogate (``"\\ud800"``) is refused with its reason like any other bad value, never a 500."""
    return JSONResponse({"detail": _json_safe(jsonable_encoder(error.errors()))}, status_code=422)


async def domain_error_answer(request: Request, error: DomainError) -> JSONResponse:
    """A domain error as an HTTP answer: its status by kind, its text as the reason (JSON-safe: it may
    quote what the request sent)."""
    code = next((code for kind, code in ERROR_STATUS if isinstance(error, kind)), status.HTTP_400_BAD_REQUEST)
    return JSONResponse({"detail": _json_safe(str(error))}, status_code=code)


@dataclass(frozen=True, slots=True)
class ApiConfig:
    """The API's own settings (the composition root fills them from ``ELDERCARE_*``)."""

    login_address_limit: int = 100
    """Failed logins from one address per 15 min before that address waits."""
    console_recheck_s: float = 5.0
    """How often an open console websocket re-checks its account."""
    hotline: str = "12349"
    """The number outward pages give a person to call (a bad or expired link, a closed alert)."""


def create_app(
    platform: Services, issuer: TokenIssuer, config: ApiConfig | None = None, sessions: ConsoleSessions | None = None
) -> FastAPI:
    """The HTTP API and console over ``platform``; ``sessions`` are the open console feeds (a
    partitioned deployment passes its own, wired to tell the other API instances of account changes)."""
    config = config or ApiConfig()
    app = FastAPI(
        title="eldercare",
        summary="Smart elderly-care platform: alarms, fall and inactivity detection, dispatch console.",
        version="0.1.0",
        docs_url=None,  # api.docs serves it with local assets
        redoc_url=None,
    )
    app.state.platform = platform
    app.state.issuer = issuer
    app.state.login_throttle = LoginThrottle(address_limit=config.login_address_limit)
    app.state.console_sessions = sessions if sessions is not None else ConsoleSessions()
    app.state.console_recheck_s = config.console_recheck_s
    app.state.hotline = config.hotline
    app.add_middleware(RejectNulBytes)
    app.exception_handler(DomainError)(domain_error_answer)
    app.exception_handler(RequestValidationError)(validation_error_answer)
    app.include_router(responders.router)
    app.include_router(reports.router)
    app.include_router(family.router)
    app.include_router(care.router)
    for module in (auth, alerts, devices, console, overview, deadletters, docs):
        app.include_router(module.router)
    for registry_module in (orgs, residents, users, imports):
        app.include_router(registry_module.router)
    from api import (
        calls,
        complaints,
        order_plans,
        orders,
        providers,
        service_menu,
        service_page,
        service_reports,
        worker_page,
    )

    service_centre = (calls, orders, order_plans, service_menu, providers, complaints, service_reports)
    for service_module in (*service_centre, worker_page, service_page):
        app.include_router(service_module.router)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, Any]:
        """Liveness, with the counters an operator looks at first (rejects by reason, spool, shed)."""
        return {"ok": True, **platform.health()}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "not ready"}})
    async def readyz() -> JSONResponse:
        """Ready to take alarms: broker connected, every gateway lane up and its sink taking batches,
        database answering, spool writable."""
        readiness = await platform.readiness()
        return JSONResponse(readiness, status_code=200 if readiness["ready"] else 503)

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
