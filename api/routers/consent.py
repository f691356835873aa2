"""Consent over REST: a contact's consent matrix, grant and withdraw, double opt-in requests, the consent
gate, the purposes and the ledger (cursor by entry id).

Every endpoint calls one `core.consent` service, which checks the permission (`consent.read`,
`consent.write`; API keys by their scopes), validates, writes the ledger entry and emits the
`crm.consent.*` event. A double opt-in's confirmation mail is sent right after the request is committed;
when that fails it stays queued and the mail job retries it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Annotated, Generic, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.deps import ClockDep, Factory, Uow
from api.errors import problem_responses
from core.consent.doi import request_doi
from core.consent.service import (
    consent_matrix,
    contact_decision,
    entries_after,
    entry_views,
    grant_consent,
    revoke_consent,
)
from core.consent.texts import list_purposes
from core.consent.vocabulary import CHANNELS, LEGAL_BASES
from core.email.delivery import MailBackend, backend_from_settings, deliver_message
from core.settings import get_settings

T = TypeVar("T")
MAX_LIMIT = 200
# Sources an integration may name; "preference_centre", "unsubscribe", "merge" and "system" are the
# suite's own (the preference centre's grants need no evidence, so a client must not claim it).
API_SOURCES = ("webform", "import", "phone", "event", "sales", "api")

Channel = Literal[tuple(CHANNELS)]  # type: ignore[valid-type]
LegalBasis = Literal[tuple(LEGAL_BASES)]  # type: ignore[valid-type]
ApiSource = Literal[API_SOURCES]  # type: ignore[valid-type]
PurposeKey = Annotated[
    str,
    Field(min_length=2, max_length=40, description="Schlüssel des Zwecks (GET /consent/purposes), z. B. newsletter"),
]


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("Zeitpunkt mit Zeitzone angeben, z. B. 2027-12-31T23:59:59+01:00")
    return value


def _ip(value: str | None) -> str | None:
    if value is not None:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError("keine gültige IP-Adresse") from None
    return value


AwareDatetime = Annotated[dt.datetime, AfterValidator(_aware)]
IpAddress = Annotated[
    str | None,
    AfterValidator(_ip),
    Field(max_length=64, description="IP-Adresse der Person, z. B. aus dem Webformular"),
]
UserAgent = Annotated[str | None, Field(max_length=500, description="Browser der Person (User-Agent)")]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ConsentEntry(BaseModel):
    """One ledger entry with its proof (personal values read "[gelöscht]" after erasure)."""

    id: int
    occurred_at: dt.datetime
    contact_id: int
    channel: str
    purpose_id: int
    purpose_key: str
    action: Literal["requested", "confirmed", "granted", "revoked", "expired"]
    status: Literal["granted", "revoked", "pending", "expired"]
    legal_basis: str
    source: str
    text_id: int | None
    text_version: int | None
    text_sha256: str | None
    order_id: int | None
    doi_request_id: int | None
    doi_requested_at: dt.datetime | None
    doi_confirmed_at: dt.datetime | None
    valid_until: dt.datetime | None
    address: str | None
    ip: str | None
    user_agent: str | None
    evidence: str | None
    reason: str | None
    actor_name: str
    hash: str


class ConsentCell(BaseModel):
    channel: str
    purpose_id: int
    purpose_key: str
    status: str | None = Field(description="Status des letzten Eintrags; null: nichts erfasst (nothing recorded)")
    entry: ConsentEntry | None


class ConsentMatrix(BaseModel):
    contact_id: int
    items: list[ConsentCell]


class Grant(Input):
    """A consent (or another legal basis) given outside the double opt-in."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "channel": "phone",
                    "purpose": "produktinformationen",
                    "source": "phone",
                    "evidence": "Telefonat am 24.11.2026, Gesprächsnotiz 4711",
                },
                {"channel": "email", "purpose": "newsletter", "legal_basis": "existing_customer", "order_id": 815},
            ]
        }
    )

    channel: Channel
    purpose: PurposeKey
    legal_basis: LegalBasis = "consent"
    source: ApiSource = "api"
    text_id: int | None = Field(default=None, description="Version des Einwilligungstexts (Standard: neueste deutsche)")
    order_id: int | None = Field(default=None, description="Auftrag bei Bestandskunden (§ 7 Abs. 3 UWG)")
    evidence: str | None = Field(default=None, max_length=2_000, description="Nachweis, bei Einwilligung Pflicht")
    valid_until: AwareDatetime | None = None
    ip: IpAddress = None
    user_agent: UserAgent = None


class Revoke(Input):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"channel": "email", "purpose": "newsletter", "reason": "Anruf beim Vertrieb"}]}
    )

    channel: Channel
    purpose: PurposeKey
    source: ApiSource = "api"
    reason: str | None = Field(default=None, max_length=1_000)


class Revocation(BaseModel):
    changed: bool = Field(description="false: war schon widerrufen, nichts erfasst (already withdrawn)")
    entry: ConsentEntry | None


class DoiRequestIn(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [{"purpose": "newsletter", "language": "de"}]})

    purpose: PurposeKey
    language: Literal["de", "en"] = "de"
    source: ApiSource = "api"
    ip: IpAddress = None
    user_agent: UserAgent = None


class DoiRequestOut(BaseModel):
    request_id: int
    resent: bool = Field(description="true: erneut gesendet, der alte Link gilt nicht mehr (re-sent)")
    expires_at: dt.datetime
    email_message_id: int
    mail_status: Literal["queued", "sending", "sent", "failed", "blocked"] = Field(
        description="sent, oder queued: wird vom Mail-Job erneut versucht (retried by the mail job)"
    )


class MayContact(BaseModel):
    contact_id: int
    channel: str
    purpose: str
    at: dt.datetime
    allowed: bool
    reason: str = Field(description="allowed, missing, revoked, pending, expired, suppressed, restricted, …")
    description: str = Field(description="Begründung auf Deutsch")


class Purpose(BaseModel):
    id: int
    key: str
    name_de: str
    name_en: str
    description_de: str | None
    description_en: str | None
    marketing: bool
    tracking: bool
    active: bool


class Items(BaseModel, Generic[T]):
    items: list[T]


class EntryPage(BaseModel):
    items: list[ConsentEntry]
    next_after: int | None = Field(
        description="Für die nächste Seite als `after` mitsenden; null auf der letzten Seite "
        "(pass as `after` for the next page; null on the last page)"
    )


def get_mail_backend() -> MailBackend:
    """Where confirmation mails go (tests override it)."""
    return backend_from_settings(get_settings())


Mailer = Annotated[MailBackend, Depends(get_mail_backend)]
router = APIRouter(tags=["Einwilligungen"])


@router.get(
    "/contacts/{contact_id}/consents",
    name="consents_matrix",
    summary="Einwilligungen eines Kontakts (Kanal × Zweck) · Consent matrix of a contact",
    response_model=ConsentMatrix,
    responses=problem_responses(401, 403, 404),
)
def matrix(contact_id: int, uow: Uow) -> ConsentMatrix:
    cells = consent_matrix(uow, contact_id)
    return ConsentMatrix(
        contact_id=contact_id, items=[ConsentCell.model_validate(c, from_attributes=True) for c in cells]
    )


@router.post(
    "/contacts/{contact_id}/consents",
    name="consents_grant",
    summary="Einwilligung erfassen · Record a consent",
    description="Einwilligung braucht `evidence`; Bestandskunde (nur E-Mail) braucht `order_id`; berechtigtes "
    "Interesse nur für Post. Consent needs `evidence`; existing_customer needs `order_id` (e-mail only).",
    status_code=201,
    response_model=ConsentEntry,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def grant(contact_id: int, body: Grant, uow: Uow) -> ConsentEntry:
    entry_id = grant_consent(uow, contact_id=contact_id, **body.model_dump())
    return ConsentEntry.model_validate(entry_views(uow, [entry_id])[0], from_attributes=True)


@router.post(
    "/contacts/{contact_id}/consents/revoke",
    name="consents_revoke",
    summary="Einwilligung widerrufen · Withdraw a consent",
    description="Schließt auch ein offenes Double-Opt-in für den Zweck (its pending double opt-in is closed too).",
    response_model=Revocation,
    responses=problem_responses(401, 403, 404, 422),
)
def revoke(contact_id: int, body: Revoke, uow: Uow) -> Revocation:
    entry_id = revoke_consent(uow, contact_id=contact_id, **body.model_dump())
    if entry_id is None:
        return Revocation(changed=False, entry=None)
    entry = ConsentEntry.model_validate(entry_views(uow, [entry_id])[0], from_attributes=True)
    return Revocation(changed=True, entry=entry)


@router.post(
    "/contacts/{contact_id}/doi-requests",
    name="consents_request_doi",
    summary="Double-Opt-in per E-Mail anfordern · Request double opt-in by e-mail",
    description="Sendet die Bestätigungs-E-Mail sofort (201); ein erneuter Versand ist gedrosselt und ersetzt "
    "den Link (200). Sends the confirmation mail at once; a throttled re-send replaces the link (200).",
    status_code=201,
    response_model=DoiRequestOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def doi_request(
    contact_id: int, body: DoiRequestIn, uow: Uow, factory: Factory, clock: ClockDep, mailer: Mailer, response: Response
) -> DoiRequestOut:
    sent = request_doi(uow, contact_id=contact_id, **body.model_dump())
    status = deliver_message(factory, sent.email_message_id, now=clock(), backend=mailer)
    if sent.resent:
        response.status_code = 200
    return DoiRequestOut(
        request_id=sent.request_id,
        resent=sent.resent,
        expires_at=sent.expires_at,
        email_message_id=sent.email_message_id,
        mail_status=status,
    )


@router.get(
    "/consent/may-contact",
    name="consents_may_contact",
    summary="Darf der Kontakt angesprochen werden? · May the contact be contacted?",
    description="Die Einwilligungsprüfung, die jeder Versand durchläuft (the consent gate every send passes).",
    response_model=MayContact,
    responses=problem_responses(401, 403, 404, 422),
)
def may_contact(
    uow: Uow,
    contact_id: Annotated[int, Query(description="Kontakt-ID")],
    channel: Annotated[Channel, Query(description="email, sms, phone, post")],
    purpose: Annotated[str, Query(min_length=2, max_length=40, description="Schlüssel des Zwecks")],
    at: Annotated[AwareDatetime | None, Query(description="Zeitpunkt (Standard: jetzt)")] = None,
) -> MayContact:
    decision = contact_decision(uow, contact_id=contact_id, channel=channel, purpose=purpose, at=at)
    return MayContact(
        contact_id=decision.contact_id,
        channel=decision.channel,
        purpose=decision.purpose_key,
        at=decision.at,
        allowed=decision.allowed,
        reason=decision.reason,
        description=decision.describe("de"),
    )


@router.get(
    "/consent/purposes",
    name="consents_purposes",
    summary="Zwecke · Purposes",
    response_model=Items[Purpose],
    responses=problem_responses(401, 403, 422),
)
def purposes(
    uow: Uow, include_inactive: Annotated[bool, Query(description="auch deaktivierte Zwecke")] = False
) -> Items[Purpose]:
    views = list_purposes(uow, include_inactive=include_inactive)
    return Items[Purpose](items=[Purpose.model_validate(p, from_attributes=True) for p in views])


@router.get(
    "/consent/entries",
    name="consents_entries",
    summary="Einträge des Einwilligungsprotokolls (Cursor nach ID) · Consent ledger entries",
    description="Älteste zuerst. Weiter mit `after` = `next_after` der vorigen Antwort (auch im `Link`-Header, "
    "rel=next); das Protokoll wird nur ergänzt, Seiten verschieben sich nie. Oldest first; continue with "
    "`after` = the previous `next_after`.",
    response_model=EntryPage,
    responses=problem_responses(401, 403, 422),
)
def entries(
    uow: Uow,
    request: Request,
    response: Response,
    contact_id: Annotated[int | None, Query(description="Nur Einträge dieses Kontakts")] = None,
    after: Annotated[int | None, Query(ge=0, description="`next_after` der vorigen Seite (letzte gelesene ID)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Einträge pro Seite")] = 50,
) -> EntryPage:
    views, next_after = entries_after(uow, after_id=after, limit=limit, contact_id=contact_id)
    if next_after is not None:
        response.headers["Link"] = f'<{request.url.include_query_params(after=next_after)}>; rel="next"'
    return EntryPage(
        items=[ConsentEntry.model_validate(v, from_attributes=True) for v in views], next_after=next_after
    )
