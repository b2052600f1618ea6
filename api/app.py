"""The FastAPI application: REST under ``/api/v1``, the console at ``/``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api import alerts, auth, console, devices, imports, orgs, overview, residents, users
from api.console import ConsoleSessions
from api.hardening import RejectNulBytes
from api.security import LoginThrottle, TokenIssuer
from eldercare.runtime import Platform
from eldercare.settings import Settings


def create_app(platform: Platform, issuer: TokenIssuer, settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="eldercare",
        summary="Smart elderly-care platform: alarms, fall and inactivity detection, dispatch console.",
        version="0.1.0",
    )
    app.state.platform = platform
    app.state.issuer = issuer
    app.state.login_throttle = LoginThrottle(address_limit=settings.login_address_limit)
    app.state.console_sessions = ConsoleSessions()
    app.state.console_recheck_s = settings.console_recheck_s
    app.add_middleware(RejectNulBytes)
    from api import family, reports, responders  # alerting's pages and reports

    app.include_router(responders.router)
    app.include_router(reports.router)
    app.include_router(family.router)
    for module in (auth, alerts, devices, console, overview):
        app.include_router(module.router)
    for registry_module in (orgs, residents, users, imports):
        app.include_router(registry_module.router)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, Any]:
        """Liveness, with the counters an operator looks at first (rejects by reason, spool, shed)."""
        return {"ok": True, **platform.health()}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "not ready"}})
    async def readyz() -> JSONResponse:
        """Ready to take alarms: broker connected, database answering, spool writable."""
        readiness = await platform.readiness()
        return JSONResponse(readiness, status_code=200 if readiness["ready"] else 503)

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
