"""Demo duplicates: a small share of realistic duplicates, and the scan's candidates stored for review.

Bulk step (after contacts, accounts and addresses): about 1 % of the run's contacts (at most 500)
and 0.5 % of its companies (at most 100), at least one each, get a derived duplicate
(core/dedupe/derive.py: typos, umlaut spellings, moved address, missing fields, …). The copies
continue the external-id numbering, keep the original's owner and are counted in the entity's one
`bulk_imported` audit entry. History step (after the change history): the duplicate scan of
contacts and accounts stores its pairs as open candidates, so the Dubletten page has pairs to
review right away. Tables larger than `SCAN_LIMIT` (size large) are not scanned during the seed:
a full scan of a million contacts takes about a minute, `manage.py dedupe scan` does it on demand.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from core.dedupe.derive import (
    ACCOUNT_COLUMNS,
    ACCOUNT_ERRORS,
    CONTACT_COLUMNS,
    CONTACT_ERRORS,
    Corruption,
    Row,
    derive_duplicate,
)
from core.dedupe.keys import match_keys_for_account, match_keys_for_contact
from core.dedupe.scan import scan_duplicates
from core.demo import BulkImport, DemoRun, Phase, PlantedPair, bulk_insert, past_moment, register_demo_step
from core.formatting import fmt_number
from core.permissions import SYSTEM
from core.uow import UnitOfWork
from db.models import Account, Contact

SCAN_LIMIT = 100_000
SCAN_COUNT_LABEL = "Dublettenverdachte zur Prüfung"


@dataclass(frozen=True)
class DuplicatePlan:
    """How one entity gets its planted duplicates."""

    entity: str
    model: Any
    columns: tuple[str, ...]
    errors: dict[str, tuple[Corruption, int]]
    keys: Callable[[Row], dict[str, str | None]]
    label: str
    prefix: str
    digits: int
    share: float
    limit: int


DUPLICATE_PLANS = (
    DuplicatePlan(
        "contact", Contact, CONTACT_COLUMNS, CONTACT_ERRORS, match_keys_for_contact, "Kontakte", "CON", 7, 0.01, 500
    ),
    DuplicatePlan(
        "account", Account, ACCOUNT_COLUMNS, ACCOUNT_ERRORS, match_keys_for_account, "Firmen", "ACC", 6, 0.005, 100
    ),
)


def planted_count(records: int, share: float, limit: int) -> int:
    """How many duplicates to plant among `records`: the share rounded up, at least one, at most `limit`."""
    return min(limit, math.ceil(records * share)) if records > 0 else 0


def _originals(run: DemoRun, plan: DuplicatePlan, ids: Sequence[int]) -> list[Row]:
    """The chosen records as plain rows (the columns a duplicate copies, plus created_at), in `ids` order."""
    columns = [getattr(plan.model, name) for name in (*plan.columns, "created_at")]
    stmt = select(*columns).where(plan.model.id.in_(ids))
    by_id = {row["id"]: row for row in (dict(r._mapping) for r in run.session.execute(stmt))}
    return [by_id[i] for i in ids]


def duplicate_rows(
    run: DemoRun, plan: DuplicatePlan, rng: random.Random, originals: Sequence[Row], start: int
) -> list[Row]:
    """Derived copies numbered from `start`, each created after its original, with fresh match keys."""
    rows = []
    for number, original in enumerate(originals, start):
        copy, _ = derive_duplicate(rng, original, plan.errors)
        created: dt.datetime = past_moment(rng, original["created_at"], run.reference)
        values = {k: v for k, v in copy.items() if k != "id"}
        values |= {"external_id": f"{plan.prefix}-{number:0{plan.digits}d}", "version": 1}
        values |= {"created_at": created, "updated_at": created}
        rows.append(values | plan.keys(values))
    return rows


def _bulk_import_index(run: DemoRun, entity: str) -> int:
    return next(i for i, item in enumerate(run.bulk_imports) if item.entity == entity)


def _extend_bulk_import(run: DemoRun, entity: str, added: int, last_external_id: str) -> None:
    """The planted rows belong to the entity's one bulk import: its count and id range grow."""
    index = _bulk_import_index(run, entity)
    item: BulkImport = run.bulk_imports[index]
    run.bulk_imports[index] = dataclasses.replace(
        item,
        count=item.count + added,
        last_external_id=last_external_id,
        label=f"{item.label} (davon {fmt_number(added)} als Dubletten abgeleitet)",
    )
    run.counts[item.label] = run.counts.get(item.label, 0) + added


def plant_duplicates(run: DemoRun, plan: DuplicatePlan) -> None:
    ids = run.created.get(plan.entity, [])
    wanted = planted_count(len(ids), plan.share, plan.limit)
    if not wanted:
        return
    loaded = run.bulk_imports[_bulk_import_index(run, plan.entity)]
    # Keyed by external ids, not database ids: PostgreSQL sequences differ between runs.
    rng = run.rng(f"duplicates:{loaded.first_external_id}")
    originals = _originals(run, plan, rng.sample(ids, wanted))
    session = run.session
    external = plan.model.external_id
    start = int(loaded.last_external_id.split("-", 1)[1]) + 1
    above = session.scalar(select(func.max(plan.model.id))) or 0
    bulk_insert(session, plan.model, duplicate_rows(run, plan, rng, originals, start))
    inserted = dict(session.execute(select(external, plan.model.id).where(plan.model.id > above)).tuples().all())
    for number, original in enumerate(originals, start):
        copy_id = inserted[f"{plan.prefix}-{number:0{plan.digits}d}"]
        run.planted.append(PlantedPair(plan.entity, original["id"], copy_id))
    last = f"{plan.prefix}-{start + wanted - 1:0{plan.digits}d}"
    _extend_bulk_import(run, plan.entity, wanted, last)


@register_demo_step("duplicates", Phase.BULK)
def load_duplicates(run: DemoRun) -> None:
    if not run.plant_duplicates:
        return
    for plan in DUPLICATE_PLANS:
        plant_duplicates(run, plan)


def _table_size(run: DemoRun, model: Any) -> int:
    with run.factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@register_demo_step("duplicate_scan", Phase.HISTORY)
def scan_for_duplicates(run: DemoRun) -> None:
    """Store the scan's pairs as open candidates (after the history: the scan sees the final data)."""
    if not run.plant_duplicates:
        return
    stored: int | None = None
    for plan in DUPLICATE_PLANS:
        size = _table_size(run, plan.model)
        if size > SCAN_LIMIT:
            run.notes.append(
                f"Dublettenprüfung der {fmt_number(size)} {plan.label} nicht gestartet "
                f"(über {fmt_number(SCAN_LIMIT)} Datensätze): bei Bedarf „manage.py dedupe scan“ ausführen."
            )
            continue
        uow = UnitOfWork(run.factory, actor=SYSTEM, clock=run.clock)
        stored = (stored or 0) + scan_duplicates(uow, entity=plan.entity).stored
    if stored is not None:
        run.counts[SCAN_COUNT_LABEL] = stored
