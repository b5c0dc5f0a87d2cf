"""Managing access (``manage_users``): accounts, grants (role × scope × time) and shares.

Every change is audited in the same transaction (``permission_change``, ``share``) and takes
effect on the next request: grants are read afresh for each request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from xueliang.db import utcnow
from xueliang.security.accounts import AccountError, check_role, create_user, find_user, set_password
from xueliang.security.audit import AuditEntry, append_audit
from xueliang.security.dependencies import authority_of, require
from xueliang.security.models import AccessGrant, User
from xueliang.security.passwords import PasswordRejected
from xueliang.security.permissions import Action
from xueliang.security.principal import Principal

__all__ = ["router"]

router = APIRouter(tags=["access"])
Admin = Annotated[Principal, Depends(require(Action.MANAGE_USERS))]
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
HOURS = r"^([01]\d|2[0-3]):[0-5]\d$"


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64)
    password: str | None = Field(None, max_length=256, description="None: single sign-on only")
    display_name: str = Field("", max_length=100)
    department: str | None = Field(None, max_length=64)
    roles: list[str] = Field(default_factory=list, description="Unscoped grants of these roles")


class UserUpdate(BaseModel):
    display_name: str | None = Field(None, max_length=100)
    department: str | None = Field(None, max_length=64)
    disabled: bool | None = None
    password: str | None = Field(None, max_length=256)


class GrantCreate(BaseModel):
    """A role over a scope; the scope is every channel when no scope field is given."""

    user: str | None = Field(None, description="User name (or give department)")
    department: str | None = Field(None, max_length=64)
    role: str
    effect: Literal["allow", "deny"] = "allow"
    region: str | None = Field(None, pattern=r"^\d{2,8}$", description="Civil-code prefix (subtree)")
    org: str | None = Field(None, max_length=64, description="Organisation code (subtree)")
    point_class: int | None = Field(None, ge=1, le=9)
    channels: list[str] | None = Field(None, max_length=10000, description="Explicit channel GB IDs")
    weekdays: list[int] | None = Field(None, description="ISO weekdays 1 (Monday) … 7 it applies on")
    hours_from: str | None = Field(None, pattern=HOURS, description="Local HH:MM it starts applying")
    hours_to: str | None = Field(None, pattern=HOURS, description="Local HH:MM it stops (may wrap)")
    expires_at: datetime | None = None
    require_reason: bool = Field(False, description="Live view and snapshots need a stated reason")
    note: str = Field("", max_length=2000)

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (not value or any(not 1 <= d <= 7 for d in value)):
            raise ValueError("weekdays are 1 (Monday) to 7 (Sunday)")
        return value

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not (len(c) == 20 and c.isdigit()) for c in value):
            raise ValueError("channels are 20-digit GB IDs")
        return value


class ShareCreate(BaseModel):
    """Channels shared with another department (横向共享) until ``expires_at``."""

    department: str = Field(min_length=1, max_length=64)
    role: str = "viewer"
    region: str | None = Field(None, pattern=r"^\d{2,8}$")
    org: str | None = Field(None, max_length=64)
    point_class: int | None = Field(None, ge=1, le=9)
    channels: list[str] | None = Field(None, max_length=10000)
    expires_at: datetime
    require_reason: bool = False
    note: str = Field("", max_length=2000)


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _utc(moment: datetime | None) -> datetime | None:
    from datetime import UTC

    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _minutes(text: str | None) -> int | None:
    return None if text is None else int(text[:2]) * 60 + int(text[3:])


def _hhmm(minutes: int | None) -> str | None:
    return None if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


async def _roles(session: AsyncSession, user_ids: list[int]) -> dict[int, list[str]]:
    rows = await session.execute(
        select(AccessGrant.user_id, AccessGrant.role).where(
            AccessGrant.user_id.in_(user_ids), AccessGrant.revoked_at.is_(None), AccessGrant.effect == "allow"
        )
    )
    roles: dict[int, set[str]] = {}
    for uid, role in rows:
        roles.setdefault(uid, set()).add(role)
    return {uid: sorted(r) for uid, r in roles.items()}


def user_public(user: User, roles: list[str]) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "department": user.department,
        "roles": roles,
        "disabled": user.disabled,
        "second_factor": bool(user.totp_secret),
        "single_sign_on": user.oidc_subject is not None,
        "created_at": user.created_at,
    }


def grant_public(grant: AccessGrant, username: str | None) -> dict[str, Any]:
    weekdays = None
    if grant.weekdays is not None:
        weekdays = [d + 1 for d in range(7) if grant.weekdays & (1 << d)]
    return {
        "id": grant.id,
        "kind": grant.kind,
        "user": username,
        "department": grant.department,
        "role": grant.role,
        "effect": grant.effect,
        "region": grant.region,
        "org": grant.org_code,
        "point_class": grant.point_class,
        "channels": grant.channels,
        "weekdays": weekdays,
        "hours_from": _hhmm(grant.minute_from),
        "hours_to": _hhmm(grant.minute_to),
        "expires_at": grant.expires_at,
        "require_reason": grant.require_reason,
        "note": grant.note,
        "created_by": grant.created_by,
        "created_at": grant.created_at,
        "revoked_at": grant.revoked_at,
        "revoked_by": grant.revoked_by,
    }


@router.get("/users")
async def list_users(principal: Admin, request: Request) -> dict[str, Any]:
    async with authority_of(request).sessions() as session:
        users = (await session.scalars(select(User).order_by(User.username))).all()
        roles = await _roles(session, [u.id for u in users])
    items = [user_public(u, roles.get(u.id, [])) for u in users]
    return {"items": items, "total": len(items)}


@router.post("/users", status_code=201)
async def add_user(principal: Admin, request: Request, body: UserCreate) -> dict[str, Any]:
    async with authority_of(request).sessions() as session, session.begin():
        try:
            user = await create_user(
                session,
                body.username,
                body.password,
                body.roles,
                display_name=body.display_name,
                department=body.department,
                created_by=principal.username,
            )
        except AccountError as exc:
            raise HTTPException(409 if "already exists" in str(exc) else 422, str(exc)) from None
        except PasswordRejected as exc:
            raise HTTPException(422, str(exc)) from None
        detail = {"change": "user_created", "roles": body.roles, "department": body.department}
        await append_audit(
            session,
            AuditEntry(
                principal.username,
                "permission_change",
                target=body.username,
                client_address=_client(request),
                detail=detail,
            ),
        )
        return user_public(user, sorted(set(body.roles)))


@router.patch("/users/{username}")
async def update_user(principal: Admin, request: Request, username: str, body: UserUpdate) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    async with authority_of(request).sessions() as session, session.begin():
        user = await find_user(session, username)
        if user is None:
            raise HTTPException(404, f"user {username} not found")
        if "password" in changes and body.password is not None:
            try:
                await set_password(session, user, body.password, utcnow())
            except PasswordRejected as exc:
                raise HTTPException(422, str(exc)) from None
        if body.display_name is not None:
            user.display_name = body.display_name
        if "department" in changes:
            user.department = body.department or None
        if body.disabled is not None:
            user.disabled = body.disabled  # a disabled account's tokens stop working at once
        detail = {"change": "user_updated", "fields": sorted(changes)}
        await append_audit(
            session,
            AuditEntry(
                principal.username,
                "permission_change",
                target=username,
                client_address=_client(request),
                detail=detail,
            ),
        )
        roles = (await _roles(session, [user.id])).get(user.id, [])
        return user_public(user, roles)


async def _make_grant(
    request: Request, principal: Principal, body: GrantCreate | ShareCreate, kind: str
) -> dict[str, Any]:
    try:
        check_role(body.role)
    except AccountError as exc:
        raise HTTPException(422, str(exc)) from None
    user_name = getattr(body, "user", None)
    department = body.department
    if (user_name is None) == (department is None):
        raise HTTPException(422, "give exactly one of 'user' and 'department'")
    hours = (getattr(body, "hours_from", None), getattr(body, "hours_to", None))
    if (hours[0] is None) != (hours[1] is None):
        raise HTTPException(422, "give both 'hours_from' and 'hours_to', or neither")
    expires = _utc(body.expires_at)
    if expires is not None and expires <= utcnow():
        raise HTTPException(422, "'expires_at' is in the past")
    weekdays = getattr(body, "weekdays", None)
    async with authority_of(request).sessions() as session, session.begin():
        user = None
        if user_name is not None:
            user = await find_user(session, user_name)
            if user is None:
                raise HTTPException(404, f"user {user_name} not found")
        grant = AccessGrant(
            kind=kind,
            user_id=user.id if user else None,
            department=department,
            role=body.role,
            effect=getattr(body, "effect", "allow"),
            region=body.region,
            org_code=body.org,
            point_class=body.point_class,
            channels=sorted(set(body.channels)) if body.channels is not None else None,
            weekdays=None if weekdays is None else sum(1 << (d - 1) for d in set(weekdays)),
            minute_from=_minutes(hours[0]),
            minute_to=_minutes(hours[1]),
            require_reason=body.require_reason,
            expires_at=expires,
            note=body.note,
            created_by=principal.username,
            created_at=utcnow(),
        )
        session.add(grant)
        await session.flush()
        public = grant_public(grant, user_name)
        detail = {
            k: v for k, v in public.items() if v is not None and k not in ("created_at", "created_by", "note")
        }
        detail["expires_at"] = str(expires) if expires else None
        await append_audit(
            session,
            AuditEntry(
                principal.username,
                "share" if kind == "share" else "permission_change",
                target=f"{kind} {grant.id} to {user_name or 'department ' + str(department)}",
                client_address=_client(request),
                detail={"change": f"{kind}_created", **detail},
            ),
        )
        return public


async def _list_grants(
    request: Request, kind: str | None, user: str | None, department: str | None, ended: bool
) -> dict[str, Any]:
    statement = select(AccessGrant, User.username).outerjoin(User, User.id == AccessGrant.user_id)
    if kind:
        statement = statement.where(AccessGrant.kind == kind)
    if user:
        statement = statement.where(User.username == user)
    if department:
        statement = statement.where(AccessGrant.department == department)
    if not ended:
        statement = statement.where(
            AccessGrant.revoked_at.is_(None),
            or_(AccessGrant.expires_at.is_(None), AccessGrant.expires_at > utcnow()),
        )
    async with authority_of(request).sessions() as session:
        rows = (await session.execute(statement.order_by(AccessGrant.id))).all()
    items = [grant_public(g, name) for g, name in rows]
    return {"items": items, "total": len(items)}


async def _revoke(request: Request, principal: Principal, grant_id: int, kind: str) -> Response:
    async with authority_of(request).sessions() as session, session.begin():
        grant = await session.get(AccessGrant, grant_id)
        if grant is None or grant.revoked_at is not None or (kind == "share") != (grant.kind == "share"):
            raise HTTPException(404, f"no live {kind} {grant_id}")
        grant.revoked_at, grant.revoked_by = utcnow(), principal.username
        await append_audit(
            session,
            AuditEntry(
                principal.username,
                "share" if kind == "share" else "permission_change",
                target=f"{kind} {grant_id}",
                client_address=_client(request),
                detail={"change": f"{kind}_revoked"},
            ),
        )
    return Response(status_code=204)


@router.get("/grants")
async def list_grants(
    principal: Admin,
    request: Request,
    user: str | None = None,
    department: str | None = None,
    ended: bool = False,
) -> dict[str, Any]:
    """Grants and shares in force (with ``ended=true`` also revoked and expired ones)."""
    return await _list_grants(request, None, user, department, ended)


@router.post("/grants", status_code=201)
async def add_grant(principal: Admin, request: Request, body: GrantCreate) -> dict[str, Any]:
    return await _make_grant(request, principal, body, "role")


@router.delete("/grants/{grant_id}", status_code=204, response_class=Response)
async def revoke_grant(principal: Admin, request: Request, grant_id: RowId) -> Response:
    return await _revoke(request, principal, grant_id, "grant")


@router.get("/shares")
async def list_shares(
    principal: Admin, request: Request, department: str | None = None, ended: bool = False
) -> dict[str, Any]:
    return await _list_grants(request, "share", None, department, ended)


@router.post("/shares", status_code=201)
async def add_share(principal: Admin, request: Request, body: ShareCreate) -> dict[str, Any]:
    """Share channels with a department until ``expires_at`` (effective at once, revocable)."""
    return await _make_grant(request, principal, body, "share")


@router.delete("/shares/{share_id}", status_code=204, response_class=Response)
async def revoke_share(principal: Admin, request: Request, share_id: RowId) -> Response:
    return await _revoke(request, principal, share_id, "share")
