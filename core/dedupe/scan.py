"""Batch scan: read the needed columns in id order, block, score, keep pairs ≥ threshold, store them.

Memory stays bounded: rows are read in keyset chunks as plain tuples (never ORM objects) and
turned into compact feature tuples at once; blocking works on int64 arrays. The stored candidates
of the entity that are still open are replaced in the same transaction; pairs a reviewer already
dismissed are not proposed again.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO, TypeVar

from sqlalchemy import delete, insert, select

from core.dedupe.blocking import MAX_BLOCK, account_block_keys, candidate_pairs, contact_block_keys
from core.dedupe.scoring import (
    FieldScore,
    account_features,
    account_field_scores,
    contact_features,
    contact_field_scores,
    pair_score,
    score_of,
)
from core.dedupe.settings import check_threshold, entity_of, stored_threshold
from core.uow import UnitOfWork
from db.models import Account, Contact, DuplicateCandidate

READ_CHUNK = 50_000
INSERT_BATCH = 5_000
OPEN = "offen"
F = TypeVar("F")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class EntitySpec:
    model: Any
    columns: tuple[str, ...]
    features: Callable[[dict[str, Any]], Any]
    field_scores: Callable[[Any, Any], list[FieldScore]]
    block_keys: Callable[[Any], Iterable[Hashable]]


SPECS: dict[str, EntitySpec] = {
    "contact": EntitySpec(
        Contact,
        (
            "id",
            "external_id",
            "first_name",
            "last_name",
            "match_name",
            "match_email",
            "match_phone",
            "mobile",
            "birth_date",
            "postcode",
            "city",
            "country",
            "account_id",
        ),
        contact_features,
        contact_field_scores,
        contact_block_keys,
    ),
    "account": EntitySpec(
        Account,
        (
            "id",
            "external_id",
            "name",
            "legal_form",
            "match_name",
            "match_phone",
            "email",
            "website",
            "street",
            "postcode",
            "city",
            "country",
        ),
        account_features,
        account_field_scores,
        account_block_keys,
    ),
}


@dataclass(frozen=True)
class FoundPair:
    id_a: int
    id_b: int
    external_id_a: str | None
    external_id_b: str | None
    score: float
    details: dict[str, Any]


@dataclass(frozen=True)
class ScanReport:
    entity: str
    threshold: float
    records: int
    compared_pairs: int
    found: int
    stored: int
    skipped_blocks: int
    seconds: float
    phase_seconds: tuple[tuple[str, float], ...]

    def describe(self) -> str:
        return (
            f"{self.records} Datensätze, {self.compared_pairs} Paare verglichen, {self.found} Dublettenverdachte "
            f"ab Schwelle {self.threshold:.2f} ({self.stored} zur Prüfung gespeichert) in {self.seconds:.1f} s"
            + (f"; {self.skipped_blocks} übergroße Blöcke übersprungen" if self.skipped_blocks else "")
        )


def read_records(uow: UnitOfWork, spec: EntitySpec) -> tuple[list[Any], list[str | None]]:
    """Features and external ids of all rows, in id order, chunk by chunk."""
    columns = [getattr(spec.model, name) for name in spec.columns]
    features: list[Any] = []
    external_ids: list[str | None] = []
    last_id = 0
    while True:
        stmt = select(*columns).where(spec.model.id > last_id).order_by(spec.model.id).limit(READ_CHUNK)
        rows = uow.session.execute(stmt).all()
        if not rows:
            return features, external_ids
        for row in rows:
            values = dict(zip(spec.columns, row))
            features.append(spec.features(values))
            external_ids.append(values["external_id"])
        last_id = rows[-1][0]


def score_pairs(
    records: Sequence[F],
    external_ids: Sequence[str | None],
    codes: Iterable[int],
    field_scores: Callable[[F, F], list[FieldScore]],
    threshold: float,
) -> Iterator[FoundPair]:
    """Score each candidate pair (code = i * n + j) and yield those at or above the threshold."""
    n = len(records)
    for code in codes:
        i, j = divmod(int(code), n)
        fields = field_scores(records[i], records[j])
        if score_of(sum(f.weight for f in fields)) < threshold:
            continue
        a, b = records[i], records[j]
        scored = pair_score(fields)
        first, second = (i, j) if a.id < b.id else (j, i)
        yield FoundPair(
            records[first].id,
            records[second].id,
            external_ids[first],
            external_ids[second],
            round(scored.score, 4),
            scored.details(),
        )


def find_duplicates(
    uow: UnitOfWork, entity: str, threshold: float, *, max_block: int = MAX_BLOCK, progress: Progress | None = None
) -> tuple[list[FoundPair], int, int, int, list[tuple[str, float]]]:
    """Inside an open unit of work: (pairs, records, compared pairs, skipped blocks, seconds per phase)."""
    spec = SPECS[entity]
    timings: list[tuple[str, float]] = []
    started = time.perf_counter()
    records, external_ids = read_records(uow, spec)
    timings.append(("lesen", time.perf_counter() - started))
    _say(progress, f"{len(records)} Datensätze gelesen ({timings[-1][1]:.1f} s)")
    started = time.perf_counter()
    blocking = candidate_pairs(records, spec.block_keys, max_block=max_block)
    timings.append(("blocken", time.perf_counter() - started))
    _say(progress, f"{len(blocking.pairs)} Kandidatenpaare aus {blocking.blocks} Blöcken ({timings[-1][1]:.1f} s)")
    started = time.perf_counter()
    found = sorted(
        score_pairs(records, external_ids, blocking.pairs, spec.field_scores, threshold),
        key=lambda pair: (pair.id_a, pair.id_b),
    )
    timings.append(("bewerten", time.perf_counter() - started))
    _say(progress, f"{len(found)} Paare ab Schwelle {threshold:.2f} ({timings[-1][1]:.1f} s)")
    return found, len(records), len(blocking.pairs), blocking.skipped_blocks, timings


def store_candidates(uow: UnitOfWork, entity: str, pairs: Sequence[FoundPair]) -> int:
    """Replace the entity's open candidates; pairs already reviewed stay as they are and are not re-added."""
    session = uow.session
    session.execute(
        delete(DuplicateCandidate).where(DuplicateCandidate.entity == entity, DuplicateCandidate.status == OPEN)
    )
    reviewed = set(
        session.execute(
            select(DuplicateCandidate.id_a, DuplicateCandidate.id_b).where(DuplicateCandidate.entity == entity)
        ).tuples()
    )
    rows = [
        {
            "entity": entity,
            "id_a": pair.id_a,
            "id_b": pair.id_b,
            "score": pair.score,
            "details": pair.details,
            "status": OPEN,
            "found_at": uow.now,
        }
        for pair in pairs
        if (pair.id_a, pair.id_b) not in reviewed
    ]
    for start in range(0, len(rows), INSERT_BATCH):
        session.execute(insert(DuplicateCandidate), rows[start : start + INSERT_BATCH])
    return len(rows)


def write_csv(out: TextIO, pairs: Iterable[FoundPair]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("id_a", "id_b", "external_id_a", "external_id_b", "score"))
    for pair in pairs:
        writer.writerow((pair.id_a, pair.id_b, pair.external_id_a or "", pair.external_id_b or "", f"{pair.score:.4f}"))


def scan_duplicates(
    uow: UnitOfWork,
    *,
    entity: str,
    threshold: float | None = None,
    out: TextIO | None = None,
    progress: Progress | None = None,
) -> ScanReport:
    """Scan all records of `entity` ("contacts"/"accounts"), write the CSV, store the candidates for review."""
    entity = entity_of(entity)
    if threshold is not None:
        check_threshold(threshold)
    started = time.perf_counter()
    with uow:
        uow.authorize("duplicates.review")
        limit = threshold if threshold is not None else stored_threshold(uow, entity)
        pairs, records, compared, skipped, timings = find_duplicates(uow, entity, limit, progress=progress)
        if out is not None:
            write_csv(out, pairs)
        stored_at = time.perf_counter()
        stored = store_candidates(uow, entity, pairs)
        uow.emit(
            "crm.duplicate.scanned",
            entity=entity,
            entity_id="scan",
            payload={"records": records, "compared": compared, "found": len(pairs), "threshold": limit},
        )
        uow.commit()
        timings.append(("speichern", time.perf_counter() - stored_at))
    return ScanReport(
        entity, limit, records, compared, len(pairs), stored, skipped, time.perf_counter() - started, tuple(timings)
    )


def _say(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)
