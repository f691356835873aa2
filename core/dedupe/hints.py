"""Hints while typing: likely duplicates of the values in a create/edit form, before saving.

Only indexed lookups (each at most `LOOKUP_LIMIT` rows): contacts by (name code, postcode) — the
last name's and, for swapped names, the first name's code — by canonical e-mail and by phone;
accounts by name code, phone and postcode. The few hundred candidates are scored like in the
batch scan; the best `limit` at or above the entity's threshold are returned with field scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select

from core.dedupe.keys import match_keys_for_account, match_keys_for_contact
from core.dedupe.normalize import name_key, phone_e164
from core.dedupe.phonetics import koelner_phonetik
from core.dedupe.scan import SPECS
from core.dedupe.scoring import FieldScore, pair_score
from core.dedupe.settings import entity_of, stored_threshold
from core.uow import UnitOfWork
from db.models import Account, Contact

LOOKUP_LIMIT = 200
LABEL_COLUMNS = {"contact": ("first_name", "last_name", "postcode", "city"), "account": ("name", "postcode", "city")}


@dataclass(frozen=True)
class DuplicateHint:
    id: int
    label: str
    score: float
    fields: tuple[FieldScore, ...]


def _contact_lookups(values: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    keys = match_keys_for_contact(values)
    codes = {keys["match_name"], koelner_phonetik(name_key(values.get("first_name")))} - {None, ""}
    postcode = (values.get("postcode") or "").strip()
    country = values.get("country") or "DE"
    phones = {keys["match_phone"], phone_e164(values.get("mobile"), country)} - {None}
    lookups: list[ColumnElement[bool]] = []
    if codes and postcode:
        lookups.append(Contact.match_name.in_(sorted(codes)) & (Contact.postcode == postcode))
    if keys["match_email"]:
        lookups.append(Contact.match_email == keys["match_email"])
    if phones:
        lookups.append(Contact.match_phone.in_(sorted(phones)))
    return lookups


def _account_lookups(values: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    keys = match_keys_for_account(values)
    postcode = (values.get("postcode") or "").strip()
    lookups: list[ColumnElement[bool]] = []
    if keys["match_name"]:
        lookups.append(Account.match_name == keys["match_name"])
    if keys["match_phone"]:
        lookups.append(Account.match_phone == keys["match_phone"])
    if postcode:
        lookups.append(Account.postcode == postcode)
    return lookups


LOOKUPS = {"contact": _contact_lookups, "account": _account_lookups}


def duplicate_hints(
    uow: UnitOfWork, entity: str, values: Mapping[str, Any], *, exclude_id: int | None = None, limit: int = 5
) -> list[DuplicateHint]:
    """The most likely existing duplicates of a form's current values, best first."""
    entity = entity_of(entity)
    spec = SPECS[entity]
    with uow:
        uow.authorize(f"{entity}s.read")
        lookups = LOOKUPS[entity](values)
        if not lookups:
            return []
        threshold = stored_threshold(uow, entity)
        names = tuple(dict.fromkeys(spec.columns + LABEL_COLUMNS[entity]))
        columns = [getattr(spec.model, name) for name in names]
        rows: dict[int, dict[str, Any]] = {}
        for condition in lookups:
            for row in uow.session.execute(select(*columns).where(condition).limit(LOOKUP_LIMIT)):
                rows.setdefault(row[0], dict(zip(names, row)))
    typed = spec.features(dict(values) | {"id": exclude_id or 0})
    hints = []
    for record_id, row in rows.items():
        if record_id == exclude_id:
            continue
        scored = pair_score(spec.field_scores(typed, spec.features(row)))
        if scored.score >= threshold:
            label = " ".join(str(row[c]) for c in LABEL_COLUMNS[entity] if row[c])
            hints.append(DuplicateHint(record_id, label, round(scored.score, 4), scored.fields))
    return sorted(hints, key=lambda hint: -hint.score)[:limit]
