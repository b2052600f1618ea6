"""``/api/v1/users`` (administrators manage the accounts of their area) and ``/api/v1/audit``."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request, status

from api.deps import Limit, Offset, PlatformDep, page_of
from api.scope import AdminScope, ScopeDep
from registry.models import AuditEntry, Page, Role, UserCreate, UserPublic, UserUpdate

router = APIRouter()
users = APIRouter(prefix="/api/v1/users", tags=["users"])
audit = APIRouter(prefix="/api/v1/audit", tags=["audit"])
Username = Path(pattern=r"^[A-Za-z0-9_.@-]{3,64}$")
Word = Query(None, pattern=r"^[A-Za-z0-9_.@:-]{1,64}$")


@users.get("/me", response_model=UserPublic)
async def me(platform: PlatformDep, scope: ScopeDep) -> UserPublic:
    """Who you are and where in the network you work."""
    return UserPublic.model_validate(await platform.users.profile(scope.user.username))


@users.get("", response_model=Page[UserPublic])
async def list_users(
    platform: PlatformDep, scope: AdminScope, limit: Limit = 100, offset: Offset = 0, role: Role | None = None
) -> Page[UserPublic]:
    rows, total = await platform.users.list(scope.area, limit, offset, role)
    return page_of(UserPublic, rows, total, limit, offset)


@users.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, platform: PlatformDep, scope: AdminScope) -> UserPublic:
    """An account at a node of your area, or a family account linked to a resident of your area."""
    return UserPublic.model_validate(await platform.users.create(body.model_dump(), scope.area, scope.user))


@users.get("/{username}", response_model=UserPublic, responses={404: {"description": "not in your area"}})
async def get_user(platform: PlatformDep, scope: AdminScope, username: str = Username) -> UserPublic:
    return UserPublic.model_validate(await platform.users.get_public(username, scope.area))


@users.patch("/{username}", response_model=UserPublic, responses={404: {"description": "not in your area"}})
async def update_user(
    request: Request, body: UserUpdate, platform: PlatformDep, scope: AdminScope, username: str = Username
) -> UserPublic:
    """Change role, node, password or deactivate. Takes effect at once: a new password or a
    deactivation refuses every token issued before, and the user's open console feeds re-check."""
    changes = body.model_dump(exclude_unset=True)
    updated = UserPublic.model_validate(await platform.users.update(username, changes, scope.area, scope.user))
    await request.app.state.console_sessions.changed(username)
    return updated


@audit.get("", response_model=Page[AuditEntry])
async def audit_log(
    platform: PlatformDep,
    scope: AdminScope,
    limit: Limit = 100,
    offset: Offset = 0,
    actor: str | None = Word,
    action: str | None = Word,
    object_type: str | None = Word,
    object_id: str | None = Word,
) -> Page[AuditEntry]:
    """Who read or changed what in your area, newest first."""
    rows, total = await platform.users.audit_log(
        scope.area, limit, offset, actor=actor, action=action, object_type=object_type, object_id=object_id
    )
    return page_of(AuditEntry, rows, total, limit, offset)


router.include_router(users)
router.include_router(audit)
