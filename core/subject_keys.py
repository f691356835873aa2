"""Per-person encryption keys for crypto-shredding personal data inside append-only logs.

Values are encrypted with the data subject's own Fernet key. Erasure (Art. 17) destroys the
key; the ciphertext stays, so hash chains still verify, but nobody can read it any more.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import PersonKey

CIPHER_PREFIX = "enc:"
SHREDDED_TEXT = "[gelöscht]"


@dataclass(frozen=True)
class Subject:
    """A data subject: the person a personal value belongs to (e.g. ("contact", "42"))."""

    type: str
    id: str


def key_for(session: Session, subject: Subject, now: dt.datetime) -> PersonKey:
    key = session.scalars(
        select(PersonKey).where(PersonKey.subject_type == subject.type, PersonKey.subject_id == subject.id)
    ).one_or_none()
    if key is None:
        key = PersonKey(subject_type=subject.type, subject_id=subject.id, key=Fernet.generate_key(), created_at=now)
        session.add(key)
        session.flush()
    return key


def encrypt(key: PersonKey, plaintext: str) -> str:
    if key.key is None:
        raise ValueError("the subject's key was shredded; nothing personal may be recorded for it")
    return CIPHER_PREFIX + Fernet(key.key).encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(key_material: bytes | None, stored: str | None) -> str | None:
    """Plain value for display; shredded or unreadable ciphertext shows as '[gelöscht]'."""
    if stored is None or not stored.startswith(CIPHER_PREFIX):
        return stored
    if key_material is None:
        return SHREDDED_TEXT
    try:
        return Fernet(key_material).decrypt(stored[len(CIPHER_PREFIX) :].encode("ascii")).decode("utf-8")
    except InvalidToken:
        return SHREDDED_TEXT


def shred(session: Session, subject: Subject, now: dt.datetime) -> bool:
    """Destroy the subject's key. Returns False when the subject never had one."""
    key = session.scalars(
        select(PersonKey).where(PersonKey.subject_type == subject.type, PersonKey.subject_id == subject.id)
    ).one_or_none()
    if key is None:
        return False
    key.key = None
    key.shredded_at = now
    return True
