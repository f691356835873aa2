"""What the person does through the public links: one-click unsubscribe and the preference centre.

Both act as the person (PUBLIC_ACTOR), authorised by the signed token alone, and write to the ledger
with IP and user agent as proof. Withdrawing is exactly as easy as giving (Art. 7(3) DSGVO): every
cell the person may give is a checkbox they can also clear, and "von allem abmelden" is one click.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.consent.doi import PUBLIC_ACTOR, mask_address
from core.consent.gate import BLOCKING_REASONS, may_contact
from core.consent.ledger import EntryDraft
from core.consent.links import PREFERENCES, UNSUBSCRIBE, InvalidLink, unsign
from core.consent.service import contact_address, latest_entry, load_contact, record_entry, revoke_in_transaction
from core.consent.texts import current_text
from core.consent.vocabulary import CHANNELS
from core.errors import NotFound
from core.uow import Clock, UnitOfWork, utc_now
from db.models import ConsentPurpose, Contact


@dataclass(frozen=True)
class UnsubscribeView:
    contact_id: int
    purpose_id: int
    purpose_name: str
    channel: str
    masked_address: str
    already_revoked: bool


@dataclass(frozen=True)
class PreferenceCell:
    channel: str
    purpose_key: str
    purpose_name: str
    purpose_description: str | None
    granted: bool
    available: bool  # the contact has an address for the channel and nothing blocks it
    note: str | None


@dataclass(frozen=True)
class PreferenceView:
    contact_id: int
    greeting_name: str
    masked_address: str
    cells: tuple[PreferenceCell, ...]


def _unsubscribe_target(session: Session, token: str) -> tuple[Contact, ConsentPurpose, str]:
    payload = unsign(UNSUBSCRIBE, token)
    try:
        contact = load_contact(session, int(payload["c"]))
    except (NotFound, KeyError, ValueError):
        raise InvalidLink("Zu diesem Abmeldelink gibt es keine Daten mehr; es werden keine E-Mails mehr gesendet.") from None
    purpose = session.get(ConsentPurpose, payload.get("p"))
    channel = str(payload.get("ch", "email"))
    if purpose is None or channel not in CHANNELS:
        raise InvalidLink("Dieser Abmeldelink ist ungültig.")
    return contact, purpose, channel


def unsubscribe_view(factory: sessionmaker[Session], token: str, *, lang: str = "de") -> UnsubscribeView:
    with factory() as session:
        contact, purpose, channel = _unsubscribe_target(session, token)
        latest = latest_entry(session, contact.id, channel, purpose.id)
        return UnsubscribeView(
            contact.id,
            purpose.id,
            purpose.name_en if lang == "en" else purpose.name_de,
            channel,
            mask_address(contact.email or ""),
            latest is not None and latest.status == "revoked",
        )


def unsubscribe(
    factory: sessionmaker[Session],
    token: str,
    *,
    ip: str | None,
    user_agent: str | None,
    lang: str = "de",
    clock: Clock = utc_now,
) -> UnsubscribeView:
    """One click (or the mail client's RFC 8058 POST) withdraws consent for the link's purpose at once."""
    uow = UnitOfWork(factory, actor=PUBLIC_ACTOR, clock=clock)
    with uow:
        contact, purpose, channel = _unsubscribe_target(uow.session, token)
        revoke_in_transaction(
            uow, contact_id=contact.id, channel=channel, purpose=purpose.id, source="unsubscribe",
            reason="Abmeldelink", ip=ip, user_agent=user_agent,
        )
        uow.commit()
    name = purpose.name_en if lang == "en" else purpose.name_de
    return UnsubscribeView(contact.id, purpose.id, name, channel, mask_address(contact.email or ""), True)


def _preference_contact(session: Session, token: str) -> Contact:
    payload = unsign(PREFERENCES, token)
    try:
        return load_contact(session, int(payload["c"]))
    except (NotFound, KeyError, ValueError):
        raise InvalidLink("Zu diesem Link gibt es keine Daten mehr.") from None


def _cells(session: Session, contact: Contact, now: dt.datetime, lang: str) -> tuple[PreferenceCell, ...]:
    purposes = session.scalars(
        select(ConsentPurpose).where(ConsentPurpose.active.is_(True)).order_by(ConsentPurpose.position)
    ).all()
    cells = []
    for purpose in purposes:
        for channel in CHANNELS:
            if purpose.tracking and channel != "email":
                continue
            decision = may_contact(session, contact.id, channel, purpose.id, now)
            has_address = contact_address(contact, channel) is not None
            cells.append(
                PreferenceCell(
                    channel=channel,
                    purpose_key=purpose.key,
                    purpose_name=purpose.name_en if lang == "en" else purpose.name_de,
                    purpose_description=purpose.description_en if lang == "en" else purpose.description_de,
                    granted=decision.allowed,
                    available=has_address and decision.reason not in BLOCKING_REASONS,
                    note=decision.describe(lang) if decision.reason in BLOCKING_REASONS or not has_address else None,
                )
            )
    return tuple(cells)


def preference_view(
    factory: sessionmaker[Session], token: str, *, lang: str = "de", clock: Clock = utc_now
) -> PreferenceView:
    with factory() as session:
        contact = _preference_contact(session, token)
        return PreferenceView(
            contact.id,
            f"{contact.first_name} {contact.last_name}".strip(),
            mask_address(contact.email or ""),
            _cells(session, contact, clock(), lang),
        )


def save_preferences(
    factory: sessionmaker[Session],
    token: str,
    wanted: Collection[tuple[str, str]],
    *,
    lang: str = "de",
    ip: str | None,
    user_agent: str | None,
    clock: Clock = utc_now,
) -> PreferenceView:
    """Make the ledger match the ticked (channel, purpose key) cells: grant what was ticked and is not yet
    allowed (consent with the current text in the page's language), withdraw what was cleared."""
    uow = UnitOfWork(factory, actor=PUBLIC_ACTOR, clock=clock)
    with uow:
        session, now = uow.session, uow.now
        contact = _preference_contact(session, token)
        purpose_ids = dict(session.execute(select(ConsentPurpose.key, ConsentPurpose.id)).tuples().all())
        for cell in _cells(session, contact, now, lang):
            purpose_id = purpose_ids[cell.purpose_key]
            key = (cell.channel, cell.purpose_key)
            if key in wanted and not cell.granted and cell.available:
                text = current_text(session, purpose_id, lang)
                record_entry(
                    uow,
                    EntryDraft(
                        contact_id=contact.id,
                        channel=cell.channel,
                        purpose_id=purpose_id,
                        action="granted",
                        legal_basis="consent",
                        source="preference_centre",
                        text_id=text.id,
                        text_sha256=text.sha256,
                        address=contact_address(contact, cell.channel),
                        ip=ip,
                        user_agent=user_agent,
                    ),
                    event="crm.consent.granted",
                )
            elif key not in wanted and cell.granted:
                revoke_in_transaction(
                    uow, contact_id=contact.id, channel=cell.channel, purpose=purpose_id,
                    source="preference_centre", reason="Präferenzcenter", ip=ip, user_agent=user_agent,
                )
        view = PreferenceView(
            contact.id,
            f"{contact.first_name} {contact.last_name}".strip(),
            mask_address(contact.email or ""),
            _cells(session, contact, now, lang),
        )
        uow.commit()
    return view
