"""Shared dependencies: the platform's services and the caller."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, TypeVar

import jwt
from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel

from api.security import TokenIssuer
from api.services import Services
from registry.models import Page
from registry.roles import STAFF
from registry.users import User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_platform(request: Request) -> Services:
    return request.app.state.platform


def get_issuer(request: Request) -> TokenIssuer:
    return request.app.state.issuer


PlatformDep = Annotated[Services, Depends(get_platform)]
IssuerDep = Annotated[TokenIssuer, Depends(get_issuer)]


def current_user(issuer: IssuerDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> User:
    unauthorized = HTTPException(
        status.HTTP_401_UNAUTHORIZED, "missing or invalid access token", headers={"WWW-Authenticate": "Bearer"}
    )
    if not token:
        raise unauthorized
    try:
        return issuer.verify(token)
    except jwt.ExpiredSignatureError:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "access token expired", headers={"WWW-Authenticate": "Bearer"}
        ) from None
    except jwt.InvalidTokenError:
        raise unauthorized from None


UserDep = Annotated[User, Depends(current_user)]


def staff_user(user: UserDep) -> User:
    if user.role not in STAFF:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {user.role!r} may not use the dispatch console")
    return user


StaffDep = Annotated[User, Depends(staff_user)]


async def uploaded_text(request: Request, max_bytes: int, too_large: str) -> str:
    """An uploaded file's text (the request body): at most ``max_bytes`` (else 413, ``too_large``),
    UTF-8 (a BOM is dropped) and free of NUL characters (else 422)."""
    body = await request.body()
    if len(body) > max_bytes:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, too_large)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the file is not UTF-8") from None
    if "\x00" in text:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the file contains NUL characters")
    return text


# -- shared by the registry's routers: pagination and path ids --

M = TypeVar("M", bound=BaseModel)


def page_of(model: type[M], rows: Sequence[Mapping[str, Any]], total: int, limit: int, offset: int) -> Page[M]:
    """A listing's rows (and the total they are a page of) as a page of ``model`` s."""
    return Page(items=[model.model_validate(row) for row in rows], total=total, limit=limit, offset=offset)


Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="rows to skip")]
PathId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
