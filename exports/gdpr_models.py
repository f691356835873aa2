"""Plain data handed from core/gdpr to the GDPR document builders (exports/gdpr_package.py, exports/pdf/gdpr_*.py).

The builders are pure functions of these values: no database, no clock, no permissions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Controller:
    """The controller (Verantwortlicher), its data-protection officer and the competent supervisory authority."""

    name: str
    address: str
    email: str
    dpo: str
    authority: str


@dataclass(frozen=True)
class DataSetInfo:
    """One registered data set as the documents describe it (from core/gdpr/registry.py)."""

    key: str
    label: str
    module: str
    purpose: str
    legal_basis: str
    retention: str
    recipients: str
    source: str
    erasure: str
    categories: list[str]
    count: int = 0
    subjects: str = "Kunden und Interessenten sowie deren Ansprechpartner"


@dataclass(frozen=True)
class RequestInfo:
    id: int
    type_label: str
    status_label: str
    channel_label: str
    received_at: dt.datetime
    due_on: dt.date
    requester: str | None
    identity: str | None
    handled_by: str


@dataclass(frozen=True)
class AccessReport:
    """Art. 15 (and Art. 20) package content: every row the discovery found, grouped by data set."""

    controller: Controller
    request: RequestInfo
    generated_at: dt.datetime
    subject_label: str
    datasets: list[DataSetInfo]
    rows: dict[str, list[dict[str, Any]]]
    portability: bool
    automated_decisions: str
    schema_version: int = 1


@dataclass(frozen=True)
class ErasedSet:
    label: str
    action: str
    count: int


@dataclass(frozen=True)
class Hold:
    label: str
    record_id: int
    legal_ground: str
    release_on: dt.date


@dataclass(frozen=True)
class Probe:
    """One identifier searched for after the erasure: shown masked, with a fingerprint, never in clear."""

    kind: str
    masked: str
    fingerprint: str
    database_hits: int
    file_hits: int


@dataclass(frozen=True)
class ChainCheck:
    name: str
    ok: bool
    checked: int
    message: str


@dataclass(frozen=True)
class Certificate:
    """Deletion certificate (Löschprotokoll) of one erasure request."""

    controller: Controller
    request: RequestInfo
    erased_at: dt.datetime
    verified_at: dt.datetime
    erased: list[ErasedSet]
    holds: list[Hold]
    shredded_keys: int
    suppressed: int
    probes: list[Probe]
    residues: list[str]
    tables_searched: int
    columns_searched: int
    scope: str = ""
    files_scanned: list[str] = field(default_factory=list)
    bytes_scanned: int = 0
    full_text_indexes: list[str] = field(default_factory=list)
    chains: list[ChainCheck] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.residues and all(c.ok for c in self.chains)


@dataclass(frozen=True)
class ProcessingRecord:
    """Art. 30(1) record of processing activities (Verzeichnis von Verarbeitungstätigkeiten)."""

    controller: Controller
    generated_at: dt.datetime
    datasets: list[DataSetInfo]
    security_measures: list[str]
