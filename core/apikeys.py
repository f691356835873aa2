"""API keys for integrations: shown once, stored as SHA-256, scoped by permission names."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.errors import AuthenticationFailed, Conflict, NotFound, ValidationFailed
from core.permissions import PERMISSIONS, Actor
from core.uow import UnitOfWork
from db.models import ApiKey

ENTITY = "apikey"
KEY_PREFIX = "crm"
# "Last used" is refreshed at most once a minute: writing it on every request would make concurrent
# API calls queue on the key's row (and on SQLite's single writer) and turn every read into a commit.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class CreatedKey:
    id: int
    name: str
    scopes: tuple[str, ...]
    key: str


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_scopes(raw: str | list[str]) -> tuple[str, ...]:
    scopes = [s.strip() for s in (raw.split(",") if isinstance(raw, str) else raw) if s.strip()]
    unknown = [s for s in scopes if s not in PERMISSIONS]
    if not scopes or unknown:
        known = ", ".join(sorted(PERMISSIONS))
        raise ValidationFailed({"scopes": f"unbekannt: {', '.join(unknown) or '(leer)'}; erlaubt: {known}"})
    return tuple(dict.fromkeys(scopes))


def create_api_key(uow: UnitOfWork, *, name: str, scopes: str | list[str]) -> CreatedKey:
    scope_list = parse_scopes(scopes)
    name = name.strip()
    if not (2 <= len(name) <= 100):
        raise ValidationFailed({"name": "2 bis 100 Zeichen"})
    with uow:
        uow.authorize("apikeys.manage")
        if uow.session.scalar(select(ApiKey.id).where(ApiKey.name == name)):
            raise Conflict(f"Ein API-Schlüssel „{name}“ existiert schon.")
        prefix = secrets.token_hex(4)
        key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        row = ApiKey(
            name=name,
            prefix=prefix,
            key_hash=_digest(key),
            scopes=",".join(scope_list),
            created_by_id=uow.actor.user_id,
            created_at=uow.now,
            updated_at=uow.now,
        )
        uow.session.add(row)
        uow.session.flush()
        uow.audit(entity=ENTITY, entity_id=row.id, action="created", reason=f"{name}: {row.scopes}")
        uow.emit("crm.apikey.created", entity=ENTITY, entity_id=row.id, payload={"name": name, "scopes": scope_list})
        uow.commit()
        return CreatedKey(row.id, name, scope_list, key)


def revoke_api_key(uow: UnitOfWork, key_id: int) -> None:
    with uow:
        uow.authorize("apikeys.manage")
        row = uow.session.get(ApiKey, key_id)
        if row is None:
            raise NotFound(f"API-Schlüssel {key_id} gibt es nicht.")
        if row.revoked_at is None:
            row.revoked_at = uow.now
            uow.audit(entity=ENTITY, entity_id=row.id, action="revoked", reason=row.name)
            uow.emit("crm.apikey.revoked", entity=ENTITY, entity_id=row.id, payload={"name": row.name})
        uow.commit()


def list_api_keys(uow: UnitOfWork) -> pd.DataFrame:
    with uow:
        uow.authorize("apikeys.manage")
        result = uow.session.execute(
            select(ApiKey.id, ApiKey.name, ApiKey.prefix, ApiKey.scopes, ApiKey.created_at, ApiKey.last_used_at, ApiKey.revoked_at).order_by(ApiKey.name)
        )
        return pd.DataFrame(result.mappings().all(), columns=list(result.keys()))


def authenticate_api_key(session: Session, key: str, *, now: dt.datetime) -> Actor:
    """The actor for a bearer key; raises AuthenticationFailed for unknown or revoked keys."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        raise AuthenticationFailed("Ungültiger API-Schlüssel.")
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
    if row is None or not hmac.compare_digest(row.key_hash, _digest(key)):
        raise AuthenticationFailed("Ungültiger API-Schlüssel.")
    if row.revoked_at is not None:
        raise AuthenticationFailed("Dieser API-Schlüssel wurde widerrufen.")
    actor = Actor(user_id=None, name=f"api:{row.name}", scopes=frozenset(row.scopes.split(",")))
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        _stamp_last_use(session, row.id, now)
    return actor


def _stamp_last_use(session: Session, key_id: int, now: dt.datetime) -> None:
    """Concurrent requests of one key race to stamp it; the conditional UPDATE lets one of them write.

    The UPDATE runs in a fresh transaction: SQLite cannot turn the read that found the key into a
    write once another request has written meanwhile ("database is locked" at once, no waiting).
    """
    session.rollback()
    due = or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= now - LAST_USED_RESOLUTION)
    session.execute(update(ApiKey).where(ApiKey.id == key_id, due).values(last_used_at=now))
    session.commit()
