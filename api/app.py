"""The FastAPI application: REST under ``/api/v1``, the console at ``/``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from api import alerts, auth, console, devices
from api.security import LoginThrottle, TokenIssuer
from eldercare.runtime import Platform


def create_app(platform: Platform, issuer: TokenIssuer) -> FastAPI:
    app = FastAPI(
        title="eldercare",
        summary="Smart elderly-care platform: alarms, fall and inactivity detection, dispatch console.",
        version="0.1.0",
    )
    app.state.platform = platform
    app.state.issuer = issuer
    app.state.login_throttle = LoginThrottle()
    for module in (auth, alerts, devices, console):
        app.include_router(module.router)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, Any]:
        return {"ok": True, **platform.health()}

    return app
