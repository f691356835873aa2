"""The import's double opt-in flag: every imported contact with an e-mail address gets a double opt-in request
for one purpose in the import's own transaction (request row, ledger entry `requested` with source "import",
confirmation mail in the queue), exactly as `core.consent.doi.request_doi` does it for one contact.

A contact for whom no request can be made (consent already given, address on the suppression list,
processing restricted, objection, a confirmation mail sent only minutes ago) does not stop the import:
it is named in the result's notes with the gate's reason. The mails leave through the mail queue
(`python -m jobs.send_mail`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from core.consent.doi import request_doi_in_transaction
from core.consent.gate import load_purpose
from core.consent.texts import current_text
from core.errors import Conflict, NotFound, ValidationFailed
from core.formatting import fmt_number
from core.imports.bulk import chunks
from core.uow import UnitOfWork
from db.models import Contact

LANGUAGES = ("de", "en")
NOTES_SHOWN = 20


@dataclass(frozen=True)
class DoiOption:
    """"Double-Opt-in anfordern für Zweck <purpose>" in <language> (purpose by key)."""

    purpose: str
    language: str = "de"


@dataclass(frozen=True)
class DoiOutcome:
    purpose_name: str
    requested: int
    skipped: tuple[str, ...]  # "Zeile 7: <why>" per contact without a request
    without_email: int

    def notes(self) -> tuple[str, ...]:
        parts = [f"Bestätigungs-E-Mails eingereiht: {fmt_number(self.requested)}"]
        if self.without_email:
            parts.append(f"ohne E-Mail-Adresse: {fmt_number(self.without_email)}")
        if self.skipped:
            parts.append(f"nicht angefordert: {fmt_number(len(self.skipped))}")
        notes = [f"Double-Opt-in „{self.purpose_name}“ – {'; '.join(parts)}."]
        notes += self.skipped[:NOTES_SHOWN]
        if len(self.skipped) > NOTES_SHOWN:
            notes.append(f"… und {fmt_number(len(self.skipped) - NOTES_SHOWN)} weitere ohne Anforderung.")
        return tuple(notes)


def check_option(uow: UnitOfWork, entity: str, option: DoiOption) -> str:
    """Permission and plausibility of the option inside the import's transaction; returns the purpose's name."""
    if entity != "contacts":
        raise ValidationFailed({"doi": "Double-Opt-in gibt es nur beim Import von Kontakten."})
    if option.language not in LANGUAGES:
        raise ValidationFailed({"doi_language": "Sprache der Bestätigungs-E-Mail: de oder en"})
    uow.authorize("consent.write")
    try:
        purpose = load_purpose(uow.session, option.purpose)
    except NotFound as exc:
        raise ValidationFailed({"doi_purpose": exc.message}) from None
    if not purpose.active:
        raise ValidationFailed({"doi_purpose": f"Der Zweck „{purpose.name_de}“ ist deaktiviert."})
    try:
        current_text(uow.session, purpose.id, option.language)
    except NotFound as exc:
        raise ValidationFailed({"doi_purpose": exc.message}) from None
    return purpose.name_de


def request_for_imported(
    uow: UnitOfWork, option: DoiOption, purpose_name: str, rows_by_contact: Mapping[int, int]
) -> DoiOutcome:
    """A request for each imported contact (id → row in the file) that has an e-mail address now."""
    emails = _emails(uow, sorted(rows_by_contact))
    requested = 0
    skipped: list[str] = []
    for contact_id, row in sorted(rows_by_contact.items(), key=lambda item: item[1]):
        if not emails.get(contact_id):
            continue
        try:
            request_doi_in_transaction(
                uow, contact_id=contact_id, purpose=option.purpose, source="import", language=option.language
            )
        except Conflict as exc:  # raised before anything is written for this contact
            skipped.append(f"Zeile {row}: {exc.message}")
            continue
        requested += 1
    without_email = sum(1 for contact_id in rows_by_contact if not emails.get(contact_id))
    return DoiOutcome(purpose_name, requested, tuple(skipped), without_email)


def _emails(uow: UnitOfWork, ids: Sequence[int]) -> dict[int, str | None]:
    found: dict[int, str | None] = {}
    for chunk in chunks(uow.session, ids):
        found.update(uow.session.execute(select(Contact.id, Contact.email).where(Contact.id.in_(chunk))).tuples().all())
    return found
