"""Local users: argon2 password hashes, login with lockout, the first admin, user administration."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.errors import AuthenticationFailed, Conflict, NotFound, ValidationFailed
from core.permissions import SYSTEM, Actor, Role
from core.records import create_record, update_record
from core.uow import Clock, UnitOfWork, utc_now
from core.validation import InputModel, check_email, parse
from db.models import Team, User

ENTITY = "user"
MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
# Verified against when the user does not exist, so timing does not reveal valid usernames.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: "Administration",
    Role.SALES_MANAGER: "Vertriebsleitung",
    Role.SALES_REP: "Vertrieb",
    Role.MARKETING: "Marketing",
    Role.COMPLIANCE: "Datenschutz/Compliance",
    Role.VIEWER: "Nur lesen",
}


def hash_password(password: str) -> str:
    check_password_policy(password)
    return _hasher.hash(password)


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed({"password": f"mindestens {MIN_PASSWORD_LENGTH} Zeichen"})


class UserInput(InputModel):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[a-z0-9._-]+$")
    display_name: str = Field(min_length=2, max_length=200)
    role: Role
    email: str | None = Field(default=None, max_length=320)
    team_id: int | None = None
    locale: str = Field(default="de", pattern=r"^(de|en)$")
    is_active: bool = True

    _email = field_validator("email")(check_email)


EDITABLE = ("display_name", "role", "email", "team_id", "locale", "is_active")


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    display_name: str
    role: Role
    email: str | None
    team_id: int | None
    locale: str
    is_active: bool
    version: int
    last_login_at: dt.datetime | None

    def actor(self) -> Actor:
        return Actor(user_id=self.id, name=self.username, role=self.role, team_id=self.team_id)


def _view(user: User) -> UserView:
    return UserView(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        email=user.email,
        team_id=user.team_id,
        locale=user.locale,
        is_active=user.is_active,
        version=user.version,
        last_login_at=user.last_login_at,
    )


def _parse_with_password(values: Mapping[str, Any], password: str) -> UserInput:
    """Report field and password problems together, not one after the other."""
    errors: dict[str, str] = {}
    try:
        check_password_policy(password)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    try:
        data = parse(UserInput, values)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.fields | errors) from None
    if errors:
        raise ValidationFailed(errors)
    return data


def create_user(uow: UnitOfWork, values: Mapping[str, Any], *, password: str) -> UserView:
    data = _parse_with_password(values, password)
    password_hash = _hasher.hash(password)
    with uow:
        uow.authorize("users.manage")
        if uow.session.scalar(select(User.id).where(User.username == data.username)):
            raise Conflict(f"Benutzername „{data.username}“ ist schon vergeben.")
        if data.team_id is not None and uow.session.get(Team, data.team_id) is None:
            raise ValidationFailed({"team_id": f"Team {data.team_id} gibt es nicht"})
        user = User(**data.model_dump(), password_hash=password_hash, version=1, failed_logins=0)
        create_record(uow, user, entity=ENTITY, fields=("username", *EDITABLE), subject_type=ENTITY)
        view = _view(user)
        uow.commit()
        return view


def update_user(uow: UnitOfWork, user_id: int, values: Mapping[str, Any], *, expected_version: int | None) -> UserView:
    with uow:
        uow.authorize("users.manage")
        user = uow.session.get(User, user_id)
        if user is None:
            raise NotFound(f"Benutzer {user_id} gibt es nicht.")
        merged = {"username": user.username} | {f: getattr(user, f) for f in EDITABLE} | dict(values)
        data = parse(UserInput, merged)
        if user.id == uow.actor.user_id and (not data.is_active or data.role != Role.ADMIN):
            raise Conflict("Sie können sich nicht selbst deaktivieren oder die Administrationsrolle entziehen.")
        update_record(
            uow,
            user,
            data.model_dump(include=set(EDITABLE)),
            entity=ENTITY,
            expected_version=expected_version,
            subject_type=ENTITY,
        )
        view = _view(user)
        uow.commit()
        return view


def set_password(uow: UnitOfWork, user_id: int, new_password: str) -> None:
    """An admin resets a password, or a user changes their own."""
    password_hash = hash_password(new_password)
    with uow:
        if uow.actor.user_id != user_id:
            uow.authorize("users.manage")
        user = uow.session.get(User, user_id)
        if user is None:
            raise NotFound(f"Benutzer {user_id} gibt es nicht.")
        user.password_hash = password_hash
        user.failed_logins = 0
        user.updated_at = uow.now
        uow.audit(entity=ENTITY, entity_id=user.id, action="password_changed")
        uow.commit()


def authenticate(
    factory: sessionmaker[Session], username: str, password: str, *, clock: Clock = utc_now, max_failed: int = 10
) -> UserView:
    """Check credentials; repeated failures lock the account until an admin resets the password."""
    uow = UnitOfWork(factory, actor=SYSTEM, clock=clock)
    with uow:
        user = uow.session.scalar(select(User).where(User.username == username.strip().lower()))
        if user is None:
            _verify(_DUMMY_HASH, password)
            raise AuthenticationFailed("Benutzername oder Passwort ist falsch.")
        if not user.is_active:
            raise AuthenticationFailed("Dieses Benutzerkonto ist deaktiviert.")
        if user.failed_logins >= max_failed:
            raise AuthenticationFailed("Zu viele Fehlversuche: Konto gesperrt. Bitte die Administration kontaktieren.")
        actor = Actor(user_id=user.id, name=user.username, role=Role(user.role), team_id=user.team_id)
        uow.actor = actor
        if not _verify(user.password_hash, password):
            user.failed_logins += 1
            uow.audit(entity=ENTITY, entity_id=user.id, action="login_failed")
            uow.commit()
            raise AuthenticationFailed("Benutzername oder Passwort ist falsch.")
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        user.failed_logins = 0
        user.last_login_at = uow.now
        uow.audit(entity=ENTITY, entity_id=user.id, action="logged_in")
        uow.emit("crm.user.logged_in", entity=ENTITY, entity_id=user.id, payload={"username": user.username})
        view = _view(user)
        uow.commit()
        return view


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def get_user(uow: UnitOfWork, user_id: int) -> UserView:
    with uow:
        user = uow.session.get(User, user_id)
        if user is None:
            raise NotFound(f"Benutzer {user_id} gibt es nicht.")
        return _view(user)


def list_users(uow: UnitOfWork) -> pd.DataFrame:
    with uow:
        uow.authorize("users.manage")
        stmt = (
            select(
                User.id,
                User.username,
                User.display_name,
                User.role,
                User.email,
                Team.name.label("team"),
                User.is_active,
                User.last_login_at,
                User.version,
            )
            .outerjoin(Team, Team.id == User.team_id)
            .order_by(User.username)
        )
        result = uow.session.execute(stmt)
        return pd.DataFrame(result.mappings().all(), columns=list(result.keys()))


def owner_options(uow: UnitOfWork) -> pd.DataFrame:
    """Active users who can own records, for pickers and filters."""
    with uow:
        stmt = select(User.id, User.display_name).where(User.is_active.is_(True)).order_by(User.display_name)
        return pd.DataFrame(uow.session.execute(stmt).mappings().all(), columns=["id", "display_name"])


def list_teams(uow: UnitOfWork) -> pd.DataFrame:
    with uow:
        return pd.DataFrame(
            uow.session.execute(select(Team.id, Team.name).order_by(Team.name)).mappings().all(), columns=["id", "name"]
        )


def ensure_admin(factory: sessionmaker[Session], *, password: str | None, clock: Clock = utc_now) -> str | None:
    """On first start create `admin`. Returns the generated password (to print once) or None."""
    with factory() as session:
        if session.scalar(select(func.count()).select_from(User)):
            return None
    generated = password is None
    secret = password or secrets.token_urlsafe(12)
    create_user(
        UnitOfWork(factory, actor=SYSTEM, clock=clock),
        {"username": "admin", "display_name": "Administrator", "role": Role.ADMIN},
        password=secret,
    )
    return secret if generated else None
