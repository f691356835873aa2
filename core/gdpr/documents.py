"""Documents of the GDPR workflow: the controller's details, request summaries for documents, stored documents
(deletion certificates), and the Art. 30 record of processing activities generated from the registry."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.app_settings import read_setting
from core.errors import NotFound
from core.gdpr.registry import DataSet, datasets
from core.gdpr.requests import RequestView, log_step
from core.gdpr.vocabulary import CATEGORIES, CHANNELS, ERASURE_ACTIONS, STATUSES, label, type_label
from core.uow import UnitOfWork
from db.models import GdprDocument
from exports.gdpr_models import Controller, DataSetInfo, ProcessingRecord, RequestInfo

CONTROLLER_SETTING = "gdpr.controller"
DEFAULT_CONTROLLER = {
    "name": "Musterfirma Vertriebs GmbH",
    "address": "Hohenzollernring 12, 50672 Köln",
    "email": "datenschutz@musterfirma.example",
    "dpo": "Datenschutzbeauftragte: Dr. Petra Lindner, datenschutz@musterfirma.example, Tel. +49 221 555 0190",
    "authority": "Landesbeauftragte für Datenschutz und Informationsfreiheit Nordrhein-Westfalen, "
    "Kavalleriestraße 2–4, 40213 Düsseldorf, poststelle@ldi.nrw.de",
}
AUTOMATED_DECISIONS = (
    "Es findet keine automatisierte Entscheidungsfindung einschließlich Profiling im Sinne von Art. 22 Abs. 1 und 4 "
    "DSGVO statt. Segmente und Lead-Bewertungen dienen nur der Auswahl von Ansprechpartnern durch Mitarbeitende."
)
SECURITY_MEASURES = [
    "Betrieb auf eigenen Servern in der EU; keine Übermittlung in Drittländer",
    "Rollen- und Berechtigungskonzept; jede Aktion prüft die Berechtigung im Dienst (core/), nicht nur in der Oberfläche",
    "Passwörter mit Argon2 gehasht; API-Schlüssel nur als SHA-256-Prüfsumme gespeichert",
    "Revisionssicheres, hash-verkettetes Änderungsprotokoll; Einwilligungs- und Anfrageprotokoll ebenso",
    "Personenbezogene Werte in Protokollen je Person verschlüsselt (Krypto-Löschung bei Art. 17)",
    "Sperrliste nur als verschlüsselte Prüfsummen (HMAC); Löschung mit Nachweis (Durchsuchung aller Tabellen, "
    "Volltextindizes und der Datenbankdatei)",
    "SQLite mit secure_delete (gelöschte Seiten werden überschrieben); PostgreSQL mit Zugriff nur für die Anwendung",
]


def controller_info(session: Session) -> Controller:
    stored = read_setting(session, CONTROLLER_SETTING, {}) or {}
    return Controller(**(DEFAULT_CONTROLLER | {k: v for k, v in stored.items() if k in DEFAULT_CONTROLLER}))


def request_info(view: RequestView) -> RequestInfo:
    identity = None
    if view.identity_result:
        identity = f"{view.identity_result} ({view.identity_method}, {view.identity_checked_by})"
    return RequestInfo(
        id=view.id,
        type_label=type_label(view.type),
        status_label=label(STATUSES, view.status),
        channel_label=label(CHANNELS, view.channel),
        received_at=view.received_at,
        due_on=view.due_on,
        requester=view.requester_name or view.requester_email or view.requester_phone,
        identity=identity,
        handled_by=view.assignee_name or view.created_by,
    )


def dataset_info(dataset: DataSet, count: int = 0) -> DataSetInfo:
    return DataSetInfo(
        key=dataset.key,
        label=dataset.label_de,
        module=dataset.module,
        purpose=dataset.purpose,
        legal_basis=dataset.legal_basis,
        retention=dataset.retention,
        recipients=dataset.recipients,
        source=dataset.source,
        erasure=label(ERASURE_ACTIONS, dataset.erasure),
        categories=[label(CATEGORIES, c) for c in dataset.categories],
        count=count,
        subjects=dataset.subjects,
    )


def store_document(
    uow: UnitOfWork, request_id: int, *, kind: str, file_name: str, data: bytes, keep_content: bool
) -> GdprDocument:
    """Record a document for the request (content kept only for documents that hold no personal data)."""
    document = GdprDocument(
        request_id=request_id,
        kind=kind,
        file_name=file_name,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        content=data if keep_content else None,
        created_at=uow.now,
        created_by=uow.actor.name,
    )
    uow.session.add(document)
    uow.session.flush()
    log_step(uow, request_id, f"document_{kind}", document_id=document.id, file_name=file_name, sha256=document.sha256)
    return document


@dataclass(frozen=True)
class DocumentView:
    id: int
    kind: str
    file_name: str
    sha256: str
    size: int
    created_at: dt.datetime
    created_by: str
    stored: bool


def list_documents(uow: UnitOfWork, request_id: int) -> list[DocumentView]:
    with uow:
        uow.authorize("gdpr.read")
        rows = uow.session.execute(
            select(
                GdprDocument.id,
                GdprDocument.kind,
                GdprDocument.file_name,
                GdprDocument.sha256,
                GdprDocument.size,
                GdprDocument.created_at,
                GdprDocument.created_by,
                GdprDocument.content.is_not(None),
            )
            .where(GdprDocument.request_id == request_id)
            .order_by(GdprDocument.id)
        ).all()
        return [DocumentView(*row) for row in rows]


def document_content(uow: UnitOfWork, document_id: int) -> tuple[str, bytes]:
    with uow:
        uow.authorize("gdpr.read")
        document = uow.session.get(GdprDocument, document_id)
        if document is None or document.content is None:
            raise NotFound(f"Dokument {document_id} ist nicht gespeichert.")
        return document.file_name, document.content


def processing_record(session: Session, now: dt.datetime) -> ProcessingRecord:
    infos = [dataset_info(d) for d in datasets() if d.personal_columns]
    return ProcessingRecord(controller_info(session), now, infos, SECURITY_MEASURES)


def processing_record_pdf(uow: UnitOfWork) -> bytes:
    """The Art. 30 record of processing activities (Verzeichnis von Verarbeitungstätigkeiten) as PDF."""
    from exports.pdf.gdpr_record import processing_record_pdf as render

    with uow:
        uow.authorize("gdpr.read")
        return render(processing_record(uow.session, uow.now))
