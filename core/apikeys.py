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
# A worker remembers a key it has checked for a few seconds, so most requests authenticate without a
# query. A key revoked in this process is forgotten at once; in another process (the admin page, the
# CLI) it is refused by every API worker at most this long after the revocation.
AUTH_CACHE_TTL = dt.timedelta(seconds=10)
AUTH_CACHE_MAX_KEYS = 1_000


@dataclass(frozen=True)
class CreatedKey:
    id: int
    name: str
    scopes: tuple[str, ...]
    key: str


@dataclass(frozen=True)
class _CheckedKey:
    actor: Actor
    valid_until: dt.datetime


_checked: dict[str, _CheckedKey] = {}


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
    _checked.clear()


def list_api_keys(uow: UnitOfWork) -> pd.DataFrame:
    with uow:
        uow.authorize("apikeys.manage")
        result = uow.session.execute(
            select(ApiKey.id, ApiKey.name, ApiKey.prefix, ApiKey.scopes, ApiKey.created_at, ApiKey.last_used_at, ApiKey.revoked_at).order_by(ApiKey.name)
        )
        return pd.DataFrame(result.mappings().all(), columns=list(result.keys()))


def checked_api_actor(key: str, *, now: dt.datetime) -> Actor | None:
    """The actor of a key this process has checked moments ago (`authenticate_api_key`), else None."""
    entry = _checked.get(_digest(key))
    return entry.actor if entry is not None and now < entry.valid_until else None


def authenticate_api_key(session: Session, key: str, *, now: dt.datetime) -> Actor:
    """The actor for a bearer key; raises AuthenticationFailed for unknown or revoked keys.

    The key is remembered until AUTH_CACHE_TTL has passed or its last use is due to be stamped again.
    """
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        raise AuthenticationFailed("Ungültiger API-Schlüssel.")
    digest = _digest(key)
    row = session.execute(
        select(ApiKey.id, ApiKey.name, ApiKey.key_hash, ApiKey.scopes, ApiKey.revoked_at, ApiKey.last_used_at).where(
            ApiKey.prefix == parts[1]
        )
    ).first()
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        raise AuthenticationFailed("Ungültiger API-Schlüssel.")
    if row.revoked_at is not None:
        raise AuthenticationFailed("Dieser API-Schlüssel wurde widerrufen.")
    actor = Actor(user_id=None, name=f"api:{row.name}", scopes=frozenset(row.scopes.split(",")))
    last_used = row.last_used_at
    if last_used is None or now - last_used >= LAST_USED_RESOLUTION:
        _stamp_last_use(session, row.id, now)
        last_used = now
    if len(_checked) >= AUTH_CACHE_MAX_KEYS:
        _checked.clear()
    _checked[digest] = _CheckedKey(actor, min(now + AUTH_CACHE_TTL, last_used + LAST_USED_RESOLUTION))
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
