"""The FastAPI application: REST under ``/api/v1``, the console at ``/``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api import alerts, auth, console, deadletters, devices, docs, imports, orgs, overview, residents, users
from api.console import ConsoleSessions
from api.hardening import RejectNulBytes
from api.security import LoginThrottle, TokenIssuer
from api.services import Services


@dataclass(frozen=True, slots=True)
class ApiConfig:
    """The API's own settings (the composition root fills them from ``ELDERCARE_*``)."""

    login_address_limit: int = 100
    """Failed logins from one address per 15 min before that address waits."""
    console_recheck_s: float = 5.0
    """How often an open console websocket re-checks its account."""
    hotline: str = "12349"
    """The number outward pages give a person to call (a bad or expired link, a closed alert)."""


def create_app(platform: Services, issuer: TokenIssuer, config: ApiConfig | None = None) -> FastAPI:
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
    app.state.console_sessions = ConsoleSessions()
    app.state.console_recheck_s = config.console_recheck_s
    app.state.hotline = config.hotline
    app.add_middleware(RejectNulBytes)
    from api import family, reports, responders  # alerting's pages and reports

    app.include_router(responders.router)
    app.include_router(reports.router)
    app.include_router(family.router)
    for module in (auth, alerts, devices, console, overview, deadletters, docs):
        app.include_router(module.router)
    for registry_module in (orgs, residents, users, imports):
        app.include_router(registry_module.router)

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
