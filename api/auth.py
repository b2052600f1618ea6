"""``POST /api/v1/auth/token``: OAuth2 password flow."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api.deps import IssuerDep, PlatformDep

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str


@router.post("/token", response_model=Token)
async def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    platform: PlatformDep,
    issuer: IssuerDep,
) -> Token:
    """Policy: see :class:`api.security.LoginThrottle` (slowed per name and address, never locked).
    The address is the peer's, or ``X-Forwarded-For`` only from ``ELDERCARE_TRUSTED_PROXIES``."""
    throttle = request.app.state.login_throttle
    keys = (form.username, request.client.host if request.client else "?")
    wait = throttle.retry_after(*keys)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed logins from your address; try again in {int(wait) + 1} s",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    user = await platform.users.authenticate(form.username, form.password)
    if user is None:
        throttle.failed(*keys)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "wrong username or password", headers={"WWW-Authenticate": "Bearer"}
        )
    throttle.succeeded(*keys)
    return Token(access_token=issuer.issue(user), expires_in=issuer.ttl_s, role=user.role)
