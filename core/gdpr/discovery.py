"""Discovery: from an e-mail address, phone number or name, find the person's records, then everything
every module holds about them — driven by the personal-data registry, so a new module's data is found
as soon as it registers its tables.

Matching reuses the accounts capability's normalisation (canonical e-mail, E.164 phone, Kölner Phonetik
of the last name) and scores names with rapidfuzz, so "Mueller" finds "Müller".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import LargeBinary, func, or_, select
from sqlalchemy.orm import Session

from core.dedupe.keys import account_name_code
from core.dedupe.normalize import canonical_email, name_key, phone_e164
from core.dedupe.phonetics import koelner_phonetik
from core.digests import email_digest, phone_digest
from core.errors import ValidationFailed
from core.gdpr.registry import DataSet, SubjectRef, datasets
from core.gdpr.vocabulary import ERASURE_ACTIONS, SOLE_TRADER_FORMS, label
from core.subject_keys import CIPHER_PREFIX, decrypt
from core.uow import UnitOfWork
from db.models import Account, Contact, PersonKey, RecordAlias

NAME_THRESHOLD = 80
CANDIDATE_LIMIT = 25
LOOKUP_LIMIT = 2_000
DISPLAY_ROWS = 200


@dataclass(frozen=True)
class Candidate:
    kind: str  # "contact" | "account"
    id: int
    label: str
    email: str | None
    phone: str | None
    company: str | None
    score: int
    matched_on: tuple[str, ...]


def _split_name(name: str) -> tuple[str, str]:
    parts = name.replace(",", " ").split()
    if "," in name and len(parts) >= 2:  # "Müller, Anna"
        return " ".join(parts[1:]), parts[0]
    return " ".join(parts[:-1]), parts[-1] if parts else ""


def find_candidates(
    uow: UnitOfWork, *, email: str | None = None, phone: str | None = None, name: str | None = None
) -> list[Candidate]:
    """Contacts and sole traders that may be the person, best match first."""
    email, phone, name = (v.strip() if v and v.strip() else None for v in (email, phone, name))
    if not (email or phone or name):
        raise ValidationFailed({"query": "E-Mail-Adresse, Telefonnummer oder Name angeben"})
    canonical, e164 = canonical_email(email), phone_e164(phone)
    if email and canonical is None:
        raise ValidationFailed({"email": "keine gültige E-Mail-Adresse"})
    if phone and e164 is None:
        raise ValidationFailed({"phone": "keine gültige Telefonnummer"})
    with uow:
        uow.authorize("gdpr.read")
        session = uow.session
        found: dict[tuple[str, int], Candidate] = {}
        for candidate in _contact_candidates(session, canonical, email, e164, phone, name):
            found[(candidate.kind, candidate.id)] = candidate
        for candidate in _account_candidates(session, canonical, e164, name):
            found[(candidate.kind, candidate.id)] = candidate
    return sorted(found.values(), key=lambda c: (-c.score, c.kind, c.id))[:CANDIDATE_LIMIT]


def _name_score(query: str | None, first: str | None, last: str | None) -> int:
    if not query:
        return 0
    return int(fuzz.token_sort_ratio(name_key(query), name_key(f"{first or ''} {last or ''}")))


def _contact_candidates(
    session: Session, canonical: str | None, email: str | None, e164: str | None, phone: str | None, name: str | None
) -> list[Candidate]:
    lookups = []
    if canonical:
        lookups.append(Contact.match_email == canonical)
        lookups.append(Contact.email_digest == email_digest(email))
    if e164:
        digest = phone_digest(phone)
        lookups += [Contact.match_phone == e164, Contact.phone_digest == digest, Contact.mobile_digest == digest]
    if name:
        code = koelner_phonetik(_split_name(name)[1])
        if code:
            lookups.append(Contact.match_name == code[:40])
    rows = session.execute(
        select(
            Contact.id,
            Contact.first_name,
            Contact.last_name,
            Contact.email,
            Contact.phone,
            Contact.mobile,
            Contact.match_email,
            Contact.match_phone,
            Contact.email_digest,
            Contact.phone_digest,
            Contact.mobile_digest,
            Account.name,
        )
        .outerjoin(Account, Account.id == Contact.account_id)
        .where(or_(*lookups))
        .limit(LOOKUP_LIMIT)
    ).all()
    candidates = []
    for r in rows:
        matched: list[str] = []
        score = 0
        if canonical and (r.match_email == canonical or r.email_digest == email_digest(email)):
            matched.append("E-Mail")
            score = 100
        if e164 and (r.match_phone == e164 or phone_digest(phone) in (r.phone_digest, r.mobile_digest)):
            matched.append("Telefon")
            score = max(score, 95)
        name_score = _name_score(name, r.first_name, r.last_name)
        if name_score >= NAME_THRESHOLD:
            matched.append("Name")
            score = max(score, name_score if not matched[:-1] else min(100, score + 5))
        if not matched:
            continue
        candidates.append(
            Candidate(
                "contact",
                r.id,
                f"{r.first_name} {r.last_name}",
                r.email,
                r.phone or r.mobile,
                r[11],
                score,
                tuple(matched),
            )
        )
    return candidates


def _account_candidates(session: Session, canonical: str | None, e164: str | None, name: str | None) -> list[Candidate]:
    lookups = []
    if canonical:
        lookups.append(func.lower(Account.email) == canonical)
    if e164:
        lookups.append(Account.match_phone == e164)
    if name:
        code = account_name_code(_split_name(name)[1])
        if code:
            lookups.append(Account.match_name == code)
    if not lookups:
        return []
    rows = session.execute(
        select(Account.id, Account.name, Account.email, Account.phone, Account.match_phone)
        .where(Account.legal_form.in_(SOLE_TRADER_FORMS), or_(*lookups))
        .limit(LOOKUP_LIMIT)
    ).all()
    candidates = []
    for r in rows:
        matched = []
        if canonical and (r.email or "").lower() == canonical:
            matched.append("E-Mail")
        if e164 and r.match_phone == e164:
            matched.append("Telefon")
        if name and fuzz.partial_token_sort_ratio(name_key(name), name_key(r.name)) >= NAME_THRESHOLD:
            matched.append("Name")
        if matched:
            score = 100 if "E-Mail" in matched else 95 if "Telefon" in matched else 85
            candidates.append(Candidate("account", r.id, r.name, r.email, r.phone, None, score, tuple(matched)))
    return candidates


# --- the subject and its records ---------------------------------------------------------------------


def subject_ref(session: Session, contact_ids: Iterable[int], account_ids: Iterable[int] = ()) -> SubjectRef:
    """The confirmed records plus what follows from them: merged-away ids, digests and clear identifiers."""
    contacts = sorted(set(contact_ids))
    aliases = session.scalars(
        select(RecordAlias.alias_id).where(RecordAlias.entity == "contact", RecordAlias.target_id.in_(contacts))
    ).all()
    all_contacts = tuple(sorted(set(contacts) | set(aliases)))
    rows = session.execute(
        select(
            Contact.account_id,
            Contact.first_name,
            Contact.last_name,
            Contact.email,
            Contact.phone,
            Contact.mobile,
            Contact.match_email,
            Contact.match_phone,
            Contact.email_digest,
            Contact.phone_digest,
            Contact.mobile_digest,
        ).where(Contact.id.in_(contacts))
    ).all()
    accounts = tuple(sorted(set(account_ids)))
    account_rows = session.execute(
        select(Account.name, Account.email, Account.phone, Account.match_phone).where(Account.id.in_(accounts))
    ).all()
    identifiers: list[str] = []
    emails: list[str | None] = []
    phones: list[str | None] = []
    for r in rows:
        identifiers += [f"{r.first_name} {r.last_name}", f"{r.last_name}, {r.first_name}"]
        emails += [r.email, r.match_email]
        phones += [r.phone, r.mobile, r.match_phone, phone_e164(r.mobile)]
    for r in account_rows:
        identifiers.append(r.name)
        emails.append(r.email)
        phones += [r.phone, r.match_phone]
    identifiers += [e for e in emails if e] + [p for p in phones if p]
    email_digests = {d for r in rows for d in (r.email_digest,) if d} | {d for e in emails if (d := email_digest(e))}
    phone_digests = {d for r in rows for d in (r.phone_digest, r.mobile_digest) if d} | {
        d for p in phones if (d := phone_digest(p))
    }
    return SubjectRef(
        contact_ids=all_contacts,
        account_ids=accounts,
        email_digests=tuple(sorted(email_digests)),
        phone_digests=tuple(sorted(phone_digests)),
        identifiers=tuple(dict.fromkeys(i for i in identifiers if i and len(i) >= 5)),
        related_account_ids=tuple(sorted({r.account_id for r in rows if r.account_id} | set(accounts))),
    )


def json_value(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return None
    return value


def _key_materials(session: Session, key_ids: set[int]) -> dict[int, bytes | None]:
    if not key_ids:
        return {}
    return dict(session.execute(select(PersonKey.id, PersonKey.key).where(PersonKey.id.in_(key_ids))).all())


def read_rows(
    session: Session, dataset: DataSet, subject: SubjectRef, *, limit: int | None = None
) -> list[dict[str, Any]]:
    """The data set's rows about the subject, JSON-ready, encrypted values decrypted with the person's key."""
    assert dataset.locate is not None
    condition = dataset.locate(subject)
    if condition is None:
        return []
    table = dataset.table
    columns = [c for c in table.columns if not isinstance(c.type, LargeBinary)]
    query = select(*columns).where(condition).order_by(*table.primary_key.columns)
    if limit is not None:
        query = query.limit(limit)
    rows = [dict(r) for r in session.execute(query).mappings()]
    if "subject_key_id" in table.columns:
        materials = _key_materials(session, {r["subject_key_id"] for r in rows if r.get("subject_key_id")})
        keys = [materials.get(row.get("subject_key_id")) for row in rows]
    elif dataset.key_type is not None:
        pk = list(table.primary_key.columns)[0].name
        own = dict(
            session.execute(
                select(PersonKey.subject_id, PersonKey.key).where(
                    PersonKey.subject_type == dataset.key_type, PersonKey.subject_id.in_([str(r[pk]) for r in rows])
                )
            ).all()
        )
        keys = [own.get(str(row[pk])) for row in rows]
    else:
        keys = [None] * len(rows)
    for row, key in zip(rows, keys):
        for name, value in row.items():
            if isinstance(value, str) and value.startswith(CIPHER_PREFIX):
                row[name] = decrypt(key, value)
    return [{k: json_value(v) for k, v in row.items() if not isinstance(v, bytes)} for row in rows]


def count_rows(session: Session, dataset: DataSet, subject: SubjectRef) -> int:
    assert dataset.locate is not None
    condition = dataset.locate(subject)
    if condition is None:
        return 0
    return session.scalar(select(func.count()).select_from(dataset.table).where(condition)) or 0


@dataclass(frozen=True)
class Group:
    """What one data set holds about the person, with the legal ground that applies."""

    key: str
    label: str
    module: str
    purpose: str
    legal_basis: str
    retention: str
    erasure: str
    erasure_label: str
    count: int
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class Discovery:
    subject: SubjectRef
    groups: list[Group]

    @property
    def total(self) -> int:
        return sum(g.count for g in self.groups)

    def group(self, key: str) -> Group | None:
        return next((g for g in self.groups if g.key == key), None)


def discover_subject(
    session: Session, subject: SubjectRef, *, rows_per_group: int | None = DISPLAY_ROWS, exported_only: bool = False
) -> Discovery:
    groups = []
    for dataset in datasets():
        if not dataset.about_subjects or (exported_only and not dataset.export):
            continue
        count = count_rows(session, dataset, subject)
        if count == 0:
            continue
        rows = read_rows(session, dataset, subject, limit=rows_per_group) if dataset.export else []
        groups.append(
            Group(
                key=dataset.key,
                label=dataset.label_de,
                module=dataset.module,
                purpose=dataset.purpose,
                legal_basis=dataset.legal_basis,
                retention=dataset.retention,
                erasure=dataset.erasure,
                erasure_label=label(ERASURE_ACTIONS, dataset.erasure),
                count=count,
                rows=rows,
            )
        )
    return Discovery(subject, groups)


def discover(
    uow: UnitOfWork,
    *,
    contact_ids: list[int],
    account_ids: list[int] | None = None,
    rows_per_group: int | None = DISPLAY_ROWS,
) -> Discovery:
    """Everything every registered module holds about the person, grouped by data set."""
    if not contact_ids and not account_ids:
        raise ValidationFailed({"contact_ids": "Mindestens einen Datensatz der Person auswählen"})
    with uow:
        uow.authorize("gdpr.read")
        subject = subject_ref(uow.session, contact_ids, account_ids or [])
        return discover_subject(uow.session, subject, rows_per_group=rows_per_group)
