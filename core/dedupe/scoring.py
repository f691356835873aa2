"""Explainable pair scores: per-field similarities, turned into evidence weights and one score.

Each compared field yields a similarity in [0, 1] (None when a side is empty) and a weight in the
spirit of Fellegi–Sunter: agreement adds log-odds evidence for "same record", disagreement
subtracts, a missing value counts nothing. The score is the logistic of the summed evidence,
`1 / (1 + 2^-(evidence - EVIDENCE_OFFSET))`: 0.5 at 9 bits of evidence. The levels below were
tuned on the labelled benchmark (bench/dedupe.py, docs/performance.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

from core.dedupe.keys import account_name_code
from core.dedupe.nicknames import same_person_name
from core.dedupe.normalize import (
    canonical_email,
    company_name,
    email_domain,
    fold,
    name_key,
    phone_e164,
    street_and_number,
    website_domain,
)
from core.dedupe.phonetics import koelner_phonetik

EVIDENCE_OFFSET = 9.0

# (minimum similarity, weight) from the strongest level down; below all levels: the disagreement weight.
Levels = tuple[tuple[float, float], ...]
LAST_NAME: Levels = ((0.97, 5.0), (0.92, 3.5), (0.85, 1.0))
FIRST_NAME: Levels = ((0.97, 3.5), (0.9, 2.0), (0.8, 0.5))
COMPANY_NAME: Levels = ((0.95, 6.0), (0.88, 3.5), (0.8, 1.0))
BIRTH_DATE: Levels = ((1.0, 6.0), (0.7, 3.0))
STREET: Levels = ((1.0, 3.0), (0.6, 1.0))
DISAGREE = {
    "last_name": -5.0,
    "first_name": -4.0,
    "company_name": -5.0,
    "birth_date": -5.0,
    "email": -1.5,
    "phone": -1.0,
    "postcode": -0.5,
    "city": -0.5,
    "street": -1.0,
    "domain": -2.0,
    "legal_form": -0.5,
    "account": -0.5,
}
AGREE = {
    "email": 6.0,
    "email_local": 3.0,
    "phone": 5.0,
    "postcode": 1.5,
    "city": 0.5,
    "domain": 7.0,
    "legal_form": 0.5,
    "account": 1.0,
}
PHONETIC_LAST_NAME = 3.0


@dataclass(frozen=True)
class FieldScore:
    field: str
    similarity: float | None
    weight: float
    note: str = ""


@dataclass(frozen=True)
class PairScore:
    score: float
    evidence: float
    fields: tuple[FieldScore, ...]

    def details(self) -> dict[str, Any]:
        """JSON for `duplicate_candidates.details`: why the pair scored as it did."""
        return {
            "evidence": round(self.evidence, 2),
            "fields": {
                f.field: {
                    "similarity": None if f.similarity is None else round(f.similarity, 3),
                    "weight": f.weight,
                    "note": f.note,
                }
                for f in self.fields
            },
        }


def score_of(evidence: float) -> float:
    return 1.0 / (1.0 + 2.0 ** (EVIDENCE_OFFSET - evidence))


def pair_score(fields: Sequence[FieldScore]) -> PairScore:
    evidence = sum(f.weight for f in fields)
    return PairScore(score_of(evidence), evidence, tuple(fields))


def level_weight(similarity: float, levels: Levels, disagree: float) -> float:
    return next((weight for minimum, weight in levels if similarity >= minimum), disagree)


# ---------------------------------------------------------------------------------------- similarities


def name_similarity(a: str, b: str) -> float:
    """Jaro–Winkler of name keys; a double name containing the other ("Müller-Lüdenscheidt") nearly agrees."""
    if a == b:
        return 1.0
    similarity = JaroWinkler.similarity(a, b)
    if " " in a or " " in b:
        similarity = max(similarity, 0.96 * fuzz.token_set_ratio(a, b) / 100.0)
    return similarity


def first_name_similarity(a: str, b: str) -> tuple[float, str]:
    if a == b:
        return 1.0, ""
    if same_person_name(a, b):
        return 1.0, "Kurzform"
    if (len(a) == 1 or len(b) == 1) and a[:1] == b[:1]:
        return 0.9, "Initiale"
    return name_similarity(a, b), ""


def date_similarity(a: dt.date, b: dt.date) -> tuple[float, str]:
    """1 equal; 0.85 day and month swapped; 0.75 one typed digit wrong or two neighbours swapped; else 0."""
    if a == b:
        return 1.0, ""
    if a.year == b.year and a.day == b.month and a.month == b.day:
        return 0.85, "Tag/Monat vertauscht"
    x, y = a.strftime("%Y%m%d"), b.strftime("%Y%m%d")
    diffs = [i for i in range(8) if x[i] != y[i]]
    if len(diffs) == 1 or (
        len(diffs) == 2 and diffs[1] == diffs[0] + 1 and x[diffs[0]] == y[diffs[1]] and x[diffs[1]] == y[diffs[0]]
    ):
        return 0.75, "Tippfehler"
    return 0.0, ""


def _exact(field: str, a: Any, b: Any) -> FieldScore:
    if not a or not b:
        return FieldScore(field, None, 0.0)
    if a == b:
        return FieldScore(field, 1.0, AGREE[field])
    return FieldScore(field, 0.0, DISAGREE[field])


# ---------------------------------------------------------------------------------------- contacts


class ContactFeatures(NamedTuple):
    """A contact's comparable values, normalised once."""

    id: int
    first: str
    last: str
    last_code: str
    email: str | None
    phones: tuple[str, ...]
    birth_date: dt.date | None
    postcode: str | None
    city: str
    account_id: int | None


def contact_features(row: Mapping[str, Any]) -> ContactFeatures:
    """From form values or a table row (uses the stored match_* keys when the row has them)."""
    country = row.get("country") or "DE"
    phones = {row.get("match_phone") or phone_e164(row.get("phone"), country), phone_e164(row.get("mobile"), country)}
    last = name_key(row.get("last_name"))
    return ContactFeatures(
        id=row.get("id") or 0,
        first=name_key(row.get("first_name")),
        last=last,
        last_code=row.get("match_name") or koelner_phonetik(last),
        email=row.get("match_email") or canonical_email(row.get("email")),
        phones=tuple(sorted(p for p in phones if p)),
        birth_date=row.get("birth_date"),
        postcode=(row.get("postcode") or "").strip() or None,
        city=fold(row.get("city")),
        account_id=row.get("account_id"),
    )


def _names(a: ContactFeatures, b: ContactFeatures) -> list[FieldScore]:
    if not (a.first and a.last and b.first and b.last):
        return [FieldScore("last_name", None, 0.0), FieldScore("first_name", None, 0.0)]
    straight_first, note = first_name_similarity(a.first, b.first)
    straight = (name_similarity(a.last, b.last), straight_first, note)
    swapped = (name_similarity(a.last, b.first), name_similarity(a.first, b.last), "Vor-/Nachname vertauscht")
    last_sim, first_sim, first_note = max(straight, swapped, key=lambda s: s[0] + s[1])
    last_weight = level_weight(last_sim, LAST_NAME, DISAGREE["last_name"])
    last_note = "Vor-/Nachname vertauscht" if first_note == "Vor-/Nachname vertauscht" else ""
    if last_weight < PHONETIC_LAST_NAME and a.last_code and a.last_code == b.last_code:
        last_weight, last_note = PHONETIC_LAST_NAME, "Kölner Phonetik gleich"
    return [
        FieldScore("last_name", last_sim, last_weight, last_note),
        FieldScore("first_name", first_sim, level_weight(first_sim, FIRST_NAME, DISAGREE["first_name"]), first_note),
    ]


def _email(a: str | None, b: str | None) -> FieldScore:
    if not a or not b:
        return FieldScore("email", None, 0.0)
    if a == b:
        return FieldScore("email", 1.0, AGREE["email"])
    if a.split("@", 1)[0] == b.split("@", 1)[0]:
        return FieldScore("email", 0.5, AGREE["email_local"], "gleicher Name, andere Domain")
    return FieldScore("email", 0.0, DISAGREE["email"])


def _phones(a: tuple[str, ...], b: tuple[str, ...]) -> FieldScore:
    if not a or not b:
        return FieldScore("phone", None, 0.0)
    if any(phone in b for phone in a):
        return FieldScore("phone", 1.0, AGREE["phone"])
    return FieldScore("phone", 0.0, DISAGREE["phone"])


def _birth_date(a: dt.date | None, b: dt.date | None) -> FieldScore:
    if a is None or b is None:
        return FieldScore("birth_date", None, 0.0)
    similarity, note = date_similarity(a, b)
    return FieldScore("birth_date", similarity, level_weight(similarity, BIRTH_DATE, DISAGREE["birth_date"]), note)


def contact_field_scores(a: ContactFeatures, b: ContactFeatures) -> list[FieldScore]:
    return [
        *_names(a, b),
        _email(a.email, b.email),
        _phones(a.phones, b.phones),
        _birth_date(a.birth_date, b.birth_date),
        _exact("postcode", a.postcode, b.postcode),
        _exact("city", a.city, b.city),
        _exact("account", a.account_id, b.account_id),
    ]


def score_contacts(a: ContactFeatures, b: ContactFeatures) -> PairScore:
    return pair_score(contact_field_scores(a, b))


# ---------------------------------------------------------------------------------------- accounts


class AccountFeatures(NamedTuple):
    id: int
    name: str
    name_code: str | None
    legal_form: str
    phone: str | None
    domains: frozenset[str]
    street: str
    house_number: str
    postcode: str | None
    city: str


def account_features(row: Mapping[str, Any]) -> AccountFeatures:
    street, number = street_and_number(row.get("street"))
    domains = {email_domain(row.get("email")), website_domain(row.get("website"))}
    return AccountFeatures(
        id=row.get("id") or 0,
        name=name_key(company_name(row.get("name"))),
        name_code=row.get("match_name") or account_name_code(row.get("name")),
        legal_form=fold(row.get("legal_form")).replace(".", ""),
        phone=row.get("match_phone") or phone_e164(row.get("phone"), row.get("country") or "DE"),
        domains=frozenset(d for d in domains if d),
        street=street,
        house_number=number,
        postcode=(row.get("postcode") or "").strip() or None,
        city=fold(row.get("city")),
    )


def company_name_similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    return max(JaroWinkler.similarity(a, b), fuzz.token_set_ratio(a, b) / 100.0 * 0.97)


def _street(a: AccountFeatures, b: AccountFeatures) -> FieldScore:
    if not a.street or not b.street:
        return FieldScore("street", None, 0.0)
    similarity = JaroWinkler.similarity(a.street, b.street)
    if similarity >= 0.92 and a.house_number == b.house_number:
        return FieldScore("street", 1.0, STREET[0][1])
    if similarity >= 0.92:
        return FieldScore("street", 0.6, STREET[1][1], "andere Hausnummer")
    return FieldScore("street", similarity, DISAGREE["street"])


def _other_town(a: AccountFeatures, b: AccountFeatures) -> bool:
    """Both addresses known and in different towns (postcode and city differ): a move or another site."""
    return bool(a.postcode and b.postcode and a.city and b.city) and a.postcode != b.postcode and a.city != b.city


def _implied_by_town(score: FieldScore) -> FieldScore:
    """In another town street and (landline) phone differ for a moved company as much as for another
    one: their disagreement is no further evidence beyond postcode and city, so it counts nothing."""
    if score.weight >= 0:
        return score
    return FieldScore(score.field, score.similarity, 0.0, "anderer Ort")


def account_field_scores(a: AccountFeatures, b: AccountFeatures) -> list[FieldScore]:
    if a.name and b.name:
        similarity = company_name_similarity(a.name, b.name)
        name = FieldScore("company_name", similarity, level_weight(similarity, COMPANY_NAME, DISAGREE["company_name"]))
    else:
        name = FieldScore("company_name", None, 0.0)
    if a.domains and b.domains:
        shared = bool(a.domains & b.domains)
        weight = AGREE["domain"] if shared else DISAGREE["domain"]
        domain = FieldScore("domain", float(shared), weight, "eigene Domain gleich" if shared else "")
    else:
        domain = FieldScore("domain", None, 0.0)
    phone, street = _exact("phone", a.phone, b.phone), _street(a, b)
    if _other_town(a, b):
        phone, street = _implied_by_town(phone), _implied_by_town(street)
    return [
        name,
        _exact("legal_form", a.legal_form, b.legal_form),
        phone,
        domain,
        street,
        _exact("postcode", a.postcode, b.postcode),
        _exact("city", a.city, b.city),
    ]


def score_accounts(a: AccountFeatures, b: AccountFeatures) -> PairScore:
    return pair_score(account_field_scores(a, b))
