"""Art. 15 access and Art. 20 portability: everything the discovery finds, as a ZIP (data.json, one CSV per data
set, a German PDF report with what Art. 15(1)(a)–(h) requires). Every generation is logged in the request log
with the package's SHA-256; the package itself is not stored (it is personal data)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from core.errors import Conflict
from core.gdpr.discovery import Discovery, Group, discover_subject, subject_ref
from core.gdpr.documents import AUTOMATED_DECISIONS, controller_info, dataset_info, request_info, store_document
from core.gdpr.registry import DATASETS
from core.gdpr.requests import load_request, request_view, require_identity, require_open, require_subject
from core.uow import UnitOfWork
from exports.gdpr_models import AccessReport

EXPORT_TYPES = ("access", "portability")


@dataclass(frozen=True)
class ExportPackage:
    file_name: str
    data: bytes
    sha256: str
    counts: dict[str, int]


def package_groups(discovery: Discovery, portability: bool) -> list[Group]:
    """The data sets the package holds: those whose content is handed out; for Art. 20 only those holding data the
    person provided (the preview and the package agree by both asking here)."""
    return [g for g in discovery.groups if DATASETS[g.key].export and (DATASETS[g.key].provided or not portability)]


def _rows_for(discovery: Discovery, portability: bool) -> dict[str, list[dict]]:
    """All rows; for Art. 20 only the fields the person provided."""
    rows: dict[str, list[dict]] = {}
    for group in package_groups(discovery, portability):
        provided = DATASETS[group.key].provided
        rows[group.key] = (
            [{k: v for k, v in row.items() if k in provided} for row in group.rows] if portability else group.rows
        )
    return rows


def build_export(uow: UnitOfWork, request_id: int, *, portability: bool | None = None) -> ExportPackage:
    """Generate the ZIP for an open, identity-verified access or portability request and log the download."""
    from exports.gdpr_package import build_package

    with uow:
        uow.authorize("gdpr.manage")
        row = load_request(uow, request_id)
        require_open(row)
        if row.type not in EXPORT_TYPES:
            raise Conflict(f"Anfrage {row.id} ist keine Auskunfts- oder Übertragbarkeitsanfrage (Art. 15/20).")
        require_identity(row)
        require_subject(row)
        portable = row.type == "portability" if portability is None else portability
        session = uow.session
        subject = subject_ref(session, row.subject_ids.get("contacts", []), row.subject_ids.get("accounts", []))
        discovery = discover_subject(session, subject, rows_per_group=None, exported_only=True)
        rows = _rows_for(discovery, portable)
        view = request_view(session, row)
        report = AccessReport(
            controller=controller_info(session),
            request=request_info(view),
            generated_at=uow.now,
            subject_label=view.requester_name or view.requester_email or f"Anfrage {row.id}",
            datasets=[dataset_info(DATASETS[key], len(items)) for key, items in rows.items()],
            rows=rows,
            portability=portable,
            automated_decisions=AUTOMATED_DECISIONS,
        )
        data = build_package(report)
        kind = "portability" if portable else "access"
        file_name = f"{'Datenuebertragung' if portable else 'Auskunft'}-Anfrage-{row.id}-{uow.now:%Y%m%d}.zip"
        store_document(uow, row.id, kind=kind, file_name=file_name, data=data, keep_content=False)
        counts = {key: len(items) for key, items in rows.items()}
        uow.emit(
            "crm.gdpr.exported",
            entity="gdpr_request",
            entity_id=row.id,
            payload={"portability": portable, "records": sum(counts.values()), "datasets": len(counts)},
        )
        uow.audit(entity="gdpr_request", entity_id=row.id, action="exported", reason=file_name)
        uow.commit()
    return ExportPackage(file_name, data, hashlib.sha256(data).hexdigest(), counts)
