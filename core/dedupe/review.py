"""Stored duplicate candidates: list them, compare a pair field by field, dismiss "keine Dublette"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from core import audit
from core.dedupe.scan import OPEN, SPECS
from core.dedupe.scoring import FieldScore, pair_score
from core.dedupe.settings import entity_of
from core.errors import Conflict, NotFound
from core.listing import ListQuery, Page, fetch_page
from core.uow import UnitOfWork
from db.models import Account, Contact, DuplicateCandidate, User

DISMISSED = "keine_dublette"
MERGED = "zusammengefuehrt"
STATUSES = {OPEN: "offen", DISMISSED: "keine Dublette", MERGED: "zusammengeführt"}
COMPARED_COLUMNS = {
    "contact": (
        "id",
        "external_id",
        "salutation",
        "title",
        "first_name",
        "last_name",
        "email",
        "phone",
        "mobile",
        "birth_date",
        "postcode",
        "city",
        "country",
        "account_id",
        "match_name",
        "match_email",
        "match_phone",
    ),
    "account": (
        "id",
        "external_id",
        "name",
        "legal_form",
        "email",
        "website",
        "phone",
        "street",
        "postcode",
        "city",
        "country",
        "match_name",
        "match_phone",
    ),
}


@dataclass(frozen=True)
class CandidatePair:
    id: int
    entity: str
    score: float
    status: str
    found_at: dt.datetime
    reviewed_at: dt.datetime | None
    reviewed_by: str | None
    record_a: dict[str, Any]
    record_b: dict[str, Any]
    fields: tuple[FieldScore, ...]
    current_score: float


def _label(entity: str, alias: Any) -> Any:
    if entity == "contact":
        return alias.first_name + " " + alias.last_name
    return alias.name


def list_candidates(uow: UnitOfWork, entity: str, query: ListQuery) -> Page:
    """Filters: status (default open); search over both names. Columns: id, score, names, ids, status."""
    entity = entity_of(entity)
    model = Contact if entity == "contact" else Account
    if query.sort is None:
        query = replace(query, sort="score", descending=True)
    with uow:
        uow.authorize("duplicates.review")
        a, b = aliased(model), aliased(model)
        name_a, name_b = _label(entity, a), _label(entity, b)
        stmt = (
            select(
                DuplicateCandidate.id,
                DuplicateCandidate.score,
                name_a.label("name_a"),
                name_b.label("name_b"),
                a.city.label("city_a"),
                b.city.label("city_b"),
                DuplicateCandidate.id_a,
                DuplicateCandidate.id_b,
                DuplicateCandidate.status,
                DuplicateCandidate.found_at,
            )
            .join(a, a.id == DuplicateCandidate.id_a)
            .join(b, b.id == DuplicateCandidate.id_b)
        )
        status = query.filters.get("status") or [OPEN]
        statuses = [status] if isinstance(status, str) else list(status)
        conditions = [DuplicateCandidate.entity == entity, DuplicateCandidate.status.in_(statuses)]
        if query.search:
            term = f"%{query.search.strip().lower()}%"
            conditions.append(func.lower(name_a).like(term) | func.lower(name_b).like(term))
        count = (
            select(DuplicateCandidate.id)
            .join(a, a.id == DuplicateCandidate.id_a)
            .join(b, b.id == DuplicateCandidate.id_b)
            .where(*conditions)
        )
        sortable = {"score": DuplicateCandidate.score, "name_a": name_a, "found_at": DuplicateCandidate.found_at}
        return fetch_page(
            uow.session,
            stmt.where(*conditions),
            query,
            sortable=sortable,
            default_sort=DuplicateCandidate.id,
            count_stmt=count,
        )


def _record(uow: UnitOfWork, entity: str, record_id: int) -> dict[str, Any]:
    model = SPECS[entity].model
    names = COMPARED_COLUMNS[entity]
    row = uow.session.execute(select(*[getattr(model, n) for n in names]).where(model.id == record_id)).first()
    if row is None:
        raise NotFound(f"Datensatz {record_id} gibt es nicht mehr (gelöscht oder zusammengeführt).")
    return dict(zip(names, row))


def get_candidate(uow: UnitOfWork, candidate_id: int) -> CandidatePair:
    """Both records side by side with freshly computed per-field scores (the data may have changed)."""
    with uow:
        uow.authorize("duplicates.review")
        candidate = uow.session.get(DuplicateCandidate, candidate_id)
        if candidate is None:
            raise NotFound(f"Dublettenverdacht {candidate_id} gibt es nicht.")
        spec = SPECS[candidate.entity]
        record_a = _record(uow, candidate.entity, candidate.id_a)
        record_b = _record(uow, candidate.entity, candidate.id_b)
        reviewer = uow.session.get(User, candidate.reviewed_by_id) if candidate.reviewed_by_id else None
        scored = pair_score(spec.field_scores(spec.features(record_a), spec.features(record_b)))
        return CandidatePair(
            candidate.id,
            candidate.entity,
            candidate.score,
            candidate.status,
            candidate.found_at,
            candidate.reviewed_at,
            reviewer.display_name if reviewer else None,
            record_a,
            record_b,
            scored.fields,
            round(scored.score, 4),
        )


def dismiss_candidate(uow: UnitOfWork, candidate_id: int, *, reason: str | None = None) -> None:
    """Mark a pair as "keine Dublette": later scans do not propose it again."""
    with uow:
        uow.authorize("duplicates.review")
        candidate = uow.session.get(DuplicateCandidate, candidate_id)
        if candidate is None:
            raise NotFound(f"Dublettenverdacht {candidate_id} gibt es nicht.")
        if candidate.status != OPEN:
            raise Conflict(
                f"Der Dublettenverdacht ist bereits erledigt ({STATUSES.get(candidate.status, candidate.status)})."
            )
        candidate.status, candidate.reviewed_at, candidate.reviewed_by_id = DISMISSED, uow.now, uow.actor.user_id
        uow.session.flush()
        uow.audit(
            entity="duplicate_candidate",
            entity_id=candidate.id,
            action="dismissed",
            changes=[audit.FieldChange("status", OPEN, DISMISSED)],
            reason=reason,
        )
        uow.emit(
            "crm.duplicate.dismissed",
            entity=candidate.entity,
            entity_id=candidate.id,
            payload={"id_a": candidate.id_a, "id_b": candidate.id_b, "score": candidate.score},
        )
        uow.commit()
