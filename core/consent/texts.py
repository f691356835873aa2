"""Consent purposes and their versioned texts. A text is never edited: a change is a new version with its
own SHA-256, and every ledger entry names the version (and hash) the person agreed to."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.consent.gate import load_purpose
from core.errors import Conflict, NotFound, ValidationFailed
from core.uow import UnitOfWork
from core.validation import InputModel, parse
from db.models import ConsentPurpose, ConsentText

LANGUAGES = ("de", "en")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


@dataclass(frozen=True)
class PurposeView:
    id: int
    key: str
    name_de: str
    name_en: str
    description_de: str | None
    description_en: str | None
    marketing: bool
    tracking: bool
    active: bool

    def name(self, lang: str = "de") -> str:
        return self.name_en if lang == "en" else self.name_de


@dataclass(frozen=True)
class TextView:
    id: int
    purpose_id: int
    language: str
    version: int
    title: str
    body: str
    sha256: str
    created_at: dt.datetime
    created_by: str


def _purpose_view(p: ConsentPurpose) -> PurposeView:
    return PurposeView(
        p.id, p.key, p.name_de, p.name_en, p.description_de, p.description_en, p.marketing, p.tracking, p.active
    )


def _text_view(t: ConsentText) -> TextView:
    return TextView(t.id, t.purpose_id, t.language, t.version, t.title, t.body, t.sha256, t.created_at, t.created_by)


def list_purposes(uow: UnitOfWork, *, include_inactive: bool = False) -> list[PurposeView]:
    with uow:
        uow.authorize("consent.read")
        stmt = select(ConsentPurpose).order_by(ConsentPurpose.position, ConsentPurpose.id)
        if not include_inactive:
            stmt = stmt.where(ConsentPurpose.active.is_(True))
        return [_purpose_view(p) for p in uow.session.scalars(stmt)]


class PurposeInput(InputModel):
    key: str = Field(min_length=2, max_length=40)
    name_de: str = Field(min_length=2, max_length=100)
    name_en: str = Field(min_length=2, max_length=100)
    description_de: str | None = Field(default=None, max_length=2_000)
    description_en: str | None = Field(default=None, max_length=2_000)
    marketing: bool = True
    tracking: bool = False


def create_purpose(uow: UnitOfWork, values: dict[str, object]) -> PurposeView:
    """A new purpose; its texts follow with `create_text_version` (no consent can be given without one)."""
    data = parse(PurposeInput, values)
    if not KEY_RE.match(data.key):
        raise ValidationFailed({"key": "nur Kleinbuchstaben, Ziffern und _, beginnend mit einem Buchstaben"})
    with uow:
        uow.authorize("consent.configure")
        if uow.session.scalar(select(ConsentPurpose.id).where(ConsentPurpose.key == data.key)) is not None:
            raise Conflict(f"Den Zweck „{data.key}“ gibt es schon.")
        position = (uow.session.scalar(select(func.max(ConsentPurpose.position))) or 0) + 1
        purpose = ConsentPurpose(**data.model_dump(), active=True, position=position, created_at=uow.now)
        uow.session.add(purpose)
        uow.session.flush()
        uow.audit(entity="consent_purpose", entity_id=purpose.id, action="create", reason=data.key)
        view = _purpose_view(purpose)
        uow.commit()
    return view


def set_purpose_active(uow: UnitOfWork, purpose_id: int, active: bool, *, reason: str) -> PurposeView:
    """Deactivating a purpose stops every send for it (gate reason `inactive_purpose`); history stays."""
    with uow:
        uow.authorize("consent.configure")
        purpose = uow.session.get(ConsentPurpose, purpose_id)
        if purpose is None:
            raise NotFound(f"Zweck {purpose_id} gibt es nicht.")
        if purpose.active != active:
            purpose.active = active
            uow.audit(entity="consent_purpose", entity_id=purpose.id, action="update", reason=reason)
        view = _purpose_view(purpose)
        uow.commit()
    return view


def text_versions(uow: UnitOfWork, purpose: str | int) -> list[TextView]:
    """Every version of a purpose's texts, newest first."""
    with uow:
        uow.authorize("consent.read")
        target = load_purpose(uow.session, purpose)
        stmt = (
            select(ConsentText)
            .where(ConsentText.purpose_id == target.id)
            .order_by(ConsentText.language, ConsentText.version.desc())
        )
        return [_text_view(t) for t in uow.session.scalars(stmt)]


def current_text(session: Session, purpose_id: int, language: str) -> ConsentText:
    """The newest version in `language` (German when none exists in that language)."""
    for lang in dict.fromkeys((language, "de")):
        text = session.scalars(
            select(ConsentText)
            .where(ConsentText.purpose_id == purpose_id, ConsentText.language == lang)
            .order_by(ConsentText.version.desc())
            .limit(1)
        ).first()
        if text is not None:
            return text
    raise NotFound("Für diesen Zweck gibt es noch keinen Einwilligungstext. Bitte zuerst einen Text anlegen.")


class TextInput(InputModel):
    language: str = Field(pattern="^(de|en)$")
    title: str = Field(min_length=3, max_length=200)
    body: str = Field(min_length=20, max_length=10_000)


def create_text_version(uow: UnitOfWork, purpose: str | int, values: dict[str, object]) -> TextView:
    """Add the next version of a purpose's text in one language; identical wording is refused."""
    data = parse(TextInput, values)
    with uow:
        uow.authorize("consent.configure")
        target = load_purpose(uow.session, purpose)
        latest = uow.session.scalars(
            select(ConsentText)
            .where(ConsentText.purpose_id == target.id, ConsentText.language == data.language)
            .order_by(ConsentText.version.desc())
            .limit(1)
        ).first()
        digest = ConsentText.digest(data.title, data.body)
        if latest is not None and latest.sha256 == digest:
            raise Conflict(f"Der Text ist unverändert (Version {latest.version}); es wurde keine neue Version angelegt.")
        text = ConsentText(
            purpose_id=target.id,
            language=data.language,
            version=(latest.version if latest else 0) + 1,
            title=data.title,
            body=data.body,
            sha256=digest,
            created_at=uow.now,
            created_by=uow.actor.name,
        )
        uow.session.add(text)
        uow.session.flush()
        uow.audit(entity="consent_text", entity_id=text.id, action="create", reason=f"{target.key} v{text.version}")
        view = _text_view(text)
        uow.commit()
    return view
