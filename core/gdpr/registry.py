"""The personal-data registry: every table is declared once — what it holds about people and what an
erasure does with it.

Personal columns are marked where they are defined (`db.base.personal(category)` in the column's info);
this registry adds, per table, the purpose, legal basis, retention rule, recipients, source, the erasure
action, how to find the rows about a data subject, and the explicit list of non-personal columns.
tests/unit/test_gdpr_registry.py fails when any column of any model is declared neither way, so a new
module cannot forget GDPR: it registers its tables here (see core/sales/gdpr.py, core/consent/gdpr.py).

Discovery, the Art. 15 export, the Art. 17 erasure and the Art. 30 record are all driven from here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Table
from sqlalchemy.orm import Session

from core.gdpr.vocabulary import CATEGORIES, ERASURE_ACTIONS
from db.base import Base
from db.models import RetentionHold


@dataclass(frozen=True)
class SubjectRef:
    """The records that make up one data subject, as confirmed by the officer (plus what follows from them)."""

    contact_ids: tuple[int, ...] = ()
    account_ids: tuple[int, ...] = ()
    email_digests: tuple[str, ...] = ()
    phone_digests: tuple[str, ...] = ()
    # The person's identifying values in clear text (e-mail, phones, names), held in memory only: they find
    # copies in free text and JSON, and the erasure's verification searches for them.
    identifiers: tuple[str, ...] = ()
    # The companies the person works for (and their own sole-trader records): free text that may mention the
    # person is searched there, through indexes, instead of in every company's records.
    related_account_ids: tuple[int, ...] = ()

    @property
    def contact_keys(self) -> tuple[str, ...]:
        return tuple(str(i) for i in self.contact_ids)

    @property
    def account_keys(self) -> tuple[str, ...]:
        return tuple(str(i) for i in self.account_ids)

    @property
    def empty(self) -> bool:
        return not (self.contact_ids or self.account_ids)


Locator = Callable[[SubjectRef], ColumnElement[bool] | None]


@dataclass(frozen=True)
class Retention:
    """A statutory retention duty: the record stays until the end of the calendar year of `date_column`
    plus `years` (§ 147 Abs. 4 AO, § 257 Abs. 5 HGB)."""

    legal_ground: str
    years: int
    date_column: str

    def release_on(self, start: dt.date | dt.datetime | None, fallback: dt.date) -> dt.date:
        year = (start or fallback).year
        return dt.date(year + self.years, 12, 31)


@dataclass
class ErasureContext:
    """One erasure in progress: its transaction, the person, the time, and the retention holds it sets."""

    session: Session
    subject: SubjectRef
    now: dt.datetime
    request_id: int
    holds: list[RetentionHold] = field(default_factory=list)

    def hold(self, entity: str, record_id: int, rule: Retention, start: dt.date | dt.datetime | None) -> None:
        """Keep a record under a retention duty until the end of its period (listed on the certificate)."""
        hold = RetentionHold(
            request_id=self.request_id,
            entity=entity,
            entity_id=record_id,
            legal_ground=rule.legal_ground,
            release_on=rule.release_on(start, self.now.date()),
            created_at=self.now,
        )
        self.session.add(hold)
        self.holds.append(hold)


Scrubber = Callable[[ErasureContext], int]


@dataclass(frozen=True)
class DataSet:
    key: str
    model: type[Base]
    label_de: str
    label_en: str
    module: str
    purpose: str
    legal_basis: str
    retention: str
    erasure: str
    non_personal: frozenset[str]
    locate: Locator | None = None
    recipients: str = "Mitarbeitende des Verantwortlichen mit der jeweiligen Berechtigung"
    source: str = "Erhoben im Rahmen der Geschäftsbeziehung"
    provided: frozenset[str] = frozenset()
    unlink: Mapping[str, Any] = field(default_factory=dict)
    retention_rule: Retention | None = None
    scrub: Scrubber | None = None
    erase_order: int = 100
    export: bool = True
    # The entity name its rows have in the audit log and in events ("contact", "opportunity", …).
    audit_entity: str | None = None
    # Rows of other people or companies whose free text may name the person (a deal of their employer): their
    # free-text history and events are searched, and only what names the person is made unreadable.
    mentions: Locator | None = None
    subjects: str = "Kunden und Interessenten sowie deren Ansprechpartner"
    # Values encrypted with a key of the row itself (subject (key_type, id)), e.g. a request's requester data.
    key_type: str | None = None

    @property
    def table(self) -> Table:
        return self.model.__table__  # type: ignore[return-value]

    @property
    def personal_columns(self) -> dict[str, str]:
        """column → category, from the columns' own declarations."""
        return {c.name: c.info["personal"] for c in self.table.columns if c.info.get("personal")}

    @property
    def categories(self) -> list[str]:
        return sorted(set(self.personal_columns.values()))

    @property
    def about_subjects(self) -> bool:
        """Whether the table can hold data about a customer-side data subject."""
        return self.locate is not None


DATASETS: dict[str, DataSet] = {}


def register_dataset(dataset: DataSet) -> DataSet:
    if dataset.key in DATASETS and DATASETS[dataset.key].model is not dataset.model:
        raise ValueError(f"data set {dataset.key!r} is registered twice")
    if dataset.erasure not in ERASURE_ACTIONS:
        raise ValueError(f"{dataset.key}: unknown erasure action {dataset.erasure!r}")
    if dataset.erasure == "retain" and dataset.retention_rule is None:
        raise ValueError(f"{dataset.key}: 'retain' needs a retention rule with its legal ground")
    if dataset.erasure == "scrub" and dataset.scrub is None:
        raise ValueError(f"{dataset.key}: 'scrub' needs a scrub function")
    DATASETS[dataset.key] = dataset
    return dataset


PlainTable = tuple[type[Base], str, str, str, Iterable[str]]  # model, key, German label, English label, columns


def register_plain_tables(*, module: str, purpose: str, legal_basis: str, tables: Iterable[PlainTable]) -> None:
    """Tables without personal data, declared so that the completeness test knows each column was looked at."""
    for model, key, label_de, label_en, columns in tables:
        register_dataset(
            DataSet(
                key=key,
                model=model,
                label_de=label_de,
                label_en=label_en,
                module=module,
                purpose=purpose,
                legal_basis=legal_basis,
                retention="Keine personenbezogenen Daten",
                erasure="none",
                non_personal=frozenset(columns),
            )
        )


def datasets() -> list[DataSet]:
    """All registered data sets (every capability loaded), in erasure order."""
    from core.capabilities import load_all

    load_all()
    return sorted(DATASETS.values(), key=lambda d: (d.erase_order, d.key))


def dataset_for(table_name: str) -> DataSet | None:
    return next((d for d in datasets() if d.table.name == table_name), None)


def classification_problems(tables: Iterable[Table] | None = None, extra: Iterable[DataSet] = ()) -> list[str]:
    """Every table and column the registry does not classify (empty when complete).

    Defaults to every model's table; tests pass their own tables and data sets.
    """
    registered = {d.table.name: d for d in [*datasets(), *extra]}
    problems: list[str] = []
    for table in Base.metadata.sorted_tables if tables is None else tables:
        dataset = registered.get(table.name)
        if dataset is None:
            problems.append(f"{table.name}: no data set registered (core.gdpr.registry.register_dataset)")
            continue
        personal = dataset.personal_columns
        for column in table.columns:
            declared_personal = column.name in personal
            declared_plain = column.name in dataset.non_personal
            if declared_personal and declared_plain:
                problems.append(f"{table.name}.{column.name}: declared personal and non-personal")
            elif not (declared_personal or declared_plain):
                problems.append(f"{table.name}.{column.name}: neither personal(...) nor listed as non-personal")
        for name in dataset.non_personal - {c.name for c in table.columns}:
            problems.append(f"{table.name}.{name}: listed as non-personal but no such column")
        for category in personal.values():
            if category not in CATEGORIES:
                problems.append(f"{table.name}: unknown category {category!r}")
        if personal and dataset.locate is None and dataset.erasure not in ("keep", "employee"):
            problems.append(f"{table.name}: holds personal data but has no locator and is not kept as proof")
    return problems
