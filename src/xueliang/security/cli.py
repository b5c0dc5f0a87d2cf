"""``xueliang user …`` (accounts) and ``xueliang audit verify``: registered by ``xueliang.cli``.

Every command honours ``--config``, ``--data-dir``, ``--db`` and the ``XUELIANG_*`` environment.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register"]

user_app = typer.Typer(help="User accounts (账号) and their roles.", no_args_is_help=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", envvar="XUELIANG_CONFIG")]
DataDirOpt = Annotated[Path | None, typer.Option(help="Data directory [XUELIANG_DATA_DIR].")]
DbOpt = Annotated[str | None, typer.Option(help="Database URL [XUELIANG_DB].")]


def _cli() -> Any:
    import xueliang.cli as cli

    return cli


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise _cli()._fail("no password on standard input", 2)
        return password
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _run(settings: Any, work: Any) -> Any:
    from xueliang.security import AccountError, PasswordRejected

    try:
        return asyncio.run(_cli()._with_session(settings, work))
    except (AccountError, PasswordRejected) as exc:
        raise _cli()._fail(str(exc), 2) from None


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="User name (login).")],
    role: Annotated[
        list[str],
        typer.Option("--role", help="Role: admin, operator, maintainer, auditor, viewer (repeatable)."),
    ],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
    display_name: Annotated[str, typer.Option(help="Name shown in the interface.")] = "",
    department: Annotated[str | None, typer.Option(help="Department (部门) shares are made to.")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    db: DbOpt = None,
) -> None:
    """Create an account with roles over every channel (scope them later through the API)."""
    from xueliang.security import AuditEntry, append_audit, create_user

    settings = _cli()._settings(config, data_dir=data_dir, db=db)
    password = _read_password(password_stdin)

    async def work(session: Any) -> None:
        async with session.begin():
            await create_user(
                session,
                name,
                password,
                role,
                display_name=display_name,
                department=department,
                created_by="cli",
            )
            detail = {"change": "user_created", "roles": role, "department": department}
            await append_audit(session, AuditEntry("cli", "permission_change", target=name, detail=detail))

    _run(settings, work)
    typer.echo(f"user {name} added with role {', '.join(role)}")


@user_app.command("list")
def user_list(config: ConfigOpt = None, data_dir: DataDirOpt = None, db: DbOpt = None) -> None:
    """Accounts with their roles and whether they have a second factor."""
    from sqlalchemy import select

    from xueliang.security import AccessGrant, User

    settings = _cli()._settings(config, data_dir=data_dir, db=db)

    async def work(session: Any) -> list[tuple[User, list[str]]]:
        users = (await session.scalars(select(User).order_by(User.username))).all()
        grants = (
            await session.execute(
                select(AccessGrant.user_id, AccessGrant.role).where(
                    AccessGrant.revoked_at.is_(None), AccessGrant.effect == "allow"
                )
            )
        ).all()
        return [(u, sorted({r for uid, r in grants if uid == u.id})) for u in users]

    for user, roles in _run(settings, work):
        flags = [f for f, on in (("2fa", user.totp_secret), ("disabled", user.disabled)) if on]
        typer.echo(
            f"{user.username}\t{','.join(roles) or '-'}\t{user.department or '-'}\t{' '.join(flags)}".rstrip()
        )


async def _existing_user(session: Any, name: str) -> Any:
    """The account called ``name``; AccountError (a clear message, exit 1) when there is none."""
    from xueliang.security import AccountError, find_user

    user = await find_user(session, name)
    if user is None:
        raise AccountError(f"no user {name}")
    return user


@user_app.command("passwd")
def user_passwd(
    name: Annotated[str, typer.Argument(help="User name.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read it from stdin.")] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    db: DbOpt = None,
) -> None:
    """Set a new password (the user's sessions stay; revoke them through the API if needed)."""
    from xueliang.db import utcnow
    from xueliang.security import AuditEntry, append_audit, set_password

    settings = _cli()._settings(config, data_dir=data_dir, db=db)
    password = _read_password(password_stdin)

    async def work(session: Any) -> None:
        async with session.begin():
            user = await _existing_user(session, name)
            await set_password(session, user, password, utcnow())
            entry = AuditEntry("cli", "permission_change", target=name, detail={"change": "password_set"})
            await append_audit(session, entry)

    _run(settings, work)
    typer.echo(f"password of {name} changed")


@user_app.command("totp")
def user_totp(
    name: Annotated[str, typer.Argument(help="User name.")],
    disable: Annotated[bool, typer.Option("--disable", help="Remove the second factor.")] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    db: DbOpt = None,
) -> None:
    """Enrol a second factor (prints the otpauth:// URI for an authenticator app) or remove it."""
    from xueliang.security import new_totp_secret, provisioning_uri

    settings = _cli()._settings(config, data_dir=data_dir, db=db)

    async def work(session: Any) -> str | None:
        async with session.begin():
            user = await _existing_user(session, name)
            user.totp_secret = None if disable else new_totp_secret()
            user.totp_last_step = None
            return user.totp_secret

    secret = _run(settings, work)
    if secret is None:
        typer.echo(f"second factor of {name} removed")
    else:
        typer.echo(provisioning_uri(secret, name))


audit_app = typer.Typer(help="The audit log (审计日志).", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(config: ConfigOpt = None, data_dir: DataDirOpt = None, db: DbOpt = None) -> None:
    """Check the audit chain: OK, or the first changed, removed or reordered record (exit 1)."""
    from xueliang.security import verify_chain

    settings = _cli()._settings(config, data_dir=data_dir, db=db)
    count, head, problem = _run(settings, verify_chain)
    if problem is not None:
        typer.secho(f"FAILED after {count} good records: {problem}", fg="red", err=True)
        raise typer.Exit(1)
    typer.echo(f"OK: {count} records, head {head}")


def register(app: typer.Typer) -> None:
    """Add ``user`` and ``audit`` to the ``xueliang`` command."""
    app.add_typer(user_app, name="user")
    app.add_typer(audit_app, name="audit")
