"""Art. 17 erasure: every registered data set handles its rows about the person in one transaction, then the
result is verified and written into a deletion certificate (PDF) stored with the request.

- delete / anonymise per the registry; business figures stay (a deal's amount remains, its contact link goes);
- records under a retention duty (§ 147 AO, § 257 HGB) are kept without the person's link and held with their
  release date (retention_holds), listed on the certificate;
- the person's keys are destroyed (crypto-shredding): audit and consent entries keep their ciphertext, so the
  hash chains still verify, but nobody can read them;
- keyed hashes of the e-mail addresses and phone numbers go on the suppression list: re-importing the address
  never re-grants marketing consent;
- then verification (core/gdpr/verification.py) searches every table, the full-text indexes and, on SQLite,
  the database file and WAL for the person's identifiers.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field, replace

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core import audit, ledger
from core.consent.ledger import payload as consent_payload
from core.consent.suppression import suppress_digests
from core.errors import Conflict
from core.gdpr.datasets import redact, text_contains
from core.gdpr.discovery import subject_ref
from core.gdpr.documents import controller_info, request_info, store_document
from core.gdpr.registry import DataSet, ErasureContext, SubjectRef, datasets
from core.gdpr.requests import (
    close_request,
    load_request,
    log_step,
    request_view,
    require_identity,
    require_open,
    require_subject,
    verify_log,
)
from core.gdpr.verification import (
    ProbeValue,
    collect_probes,
    file_coverage,
    scan_sqlite_files,
    search_database,
    search_fulltext,
    search_identifiers,
    subject_rows,
)
from core.gdpr.vocabulary import ERASURE_ACTIONS, REDACTED, label
from core.subject_keys import decrypt
from core.uow import UnitOfWork
from db.models import AuditEntry, ConsentEntry, OutboxEvent, PersonKey, RetentionHold
from exports.gdpr_models import Certificate, ChainCheck, ErasedSet, Hold, Probe


@dataclass(frozen=True)
class ErasureResult:
    request_id: int
    counts: dict[str, int]
    holds: int
    shredded_keys: int
    suppressed: int
    complete: bool
    residues: list[str] = field(default_factory=list)
    certificate_id: int | None = None
    seconds_erase: float = 0.0
    seconds_verify: float = 0.0


def _count(ctx: ErasureContext, dataset: DataSet, condition) -> int:  # type: ignore[no-untyped-def]
    return ctx.session.scalar(select(func.count()).select_from(dataset.table).where(condition)) or 0


def _anonymise(ctx: ErasureContext, dataset: DataSet, condition) -> None:  # type: ignore[no-untyped-def]
    """Cut the person's link and black out free text that names them; the row and its figures stay."""
    table = dataset.table
    if dataset.unlink:
        ctx.session.execute(update(table).where(condition).values(dict(dataset.unlink)))
    for name in dataset.personal_columns:
        column = table.c[name]
        ctx.session.execute(update(table).where(condition, text_contains(column, ctx.subject)).values({name: REDACTED}))


def _erase_dataset(ctx: ErasureContext, dataset: DataSet) -> int:
    condition = dataset.locate(ctx.subject) if dataset.locate else None
    if condition is None:
        return 0
    session, table = ctx.session, dataset.table
    action = dataset.erasure
    if action == "delete":
        return session.execute(delete(table).where(condition)).rowcount or 0
    if action == "anonymise":
        count = _count(ctx, dataset, condition)
        _anonymise(ctx, dataset, condition)
        return count
    if action == "retain":
        rule = dataset.retention_rule
        assert rule is not None
        pk = list(table.primary_key.columns)[0]
        rows = session.execute(select(pk, table.c[rule.date_column]).where(condition)).all()
        for record_id, start in rows:
            ctx.hold(dataset.key, record_id, rule, start)
        # The locator matches by the link that is about to be cut: pin the rows by id first.
        _anonymise(ctx, dataset, pk.in_([r[0] for r in rows]))
        return len(rows)
    if action == "shred":
        if dataset.model is PersonKey:
            return (
                session.execute(
                    update(PersonKey).where(condition, PersonKey.key.is_not(None)).values(key=None, shredded_at=ctx.now)
                ).rowcount
                or 0
            )
        return _count(ctx, dataset, condition)
    if action == "scrub":
        assert dataset.scrub is not None
        return dataset.scrub(ctx)
    if action == "blocklist":
        digests = [("email", d) for d in ctx.subject.email_digests] + [("phone", d) for d in ctx.subject.phone_digests]
        if not digests:
            return 0
        return suppress_digests(
            session,
            digests,
            reason="erased",
            note=f"DSGVO-Anfrage {ctx.request_id}",
            now=ctx.now,
            actor_name="Datenschutz",
        ).added
    return 0


def _mentioning_ids(ctx: ErasureContext, dataset: DataSet) -> list[str]:
    assert dataset.mentions is not None
    pk = list(dataset.table.primary_key.columns)[0]
    return [str(i) for i in ctx.session.scalars(select(pk).where(dataset.mentions(ctx.subject)))]


def _names_person(text_value: str | None, identifiers: tuple[str, ...]) -> bool:
    lowered = (text_value or "").lower()
    return any(i.lower() in lowered for i in identifiers)


def _erase_mentions(ctx: ErasureContext) -> int:
    """Free text of other records that names the person (a note on the employer's deal): the history of each such
    text is made unreadable by shredding its field key (core/audit.py free_text_key), and their events lose the
    strings that name the person. Returns the number of texts and events changed."""
    session, identifiers = ctx.session, ctx.subject.identifiers
    changed = 0
    for dataset in datasets():
        if dataset.mentions is None or dataset.audit_entity is None:
            continue
        ids = _mentioning_ids(ctx, dataset)
        if not ids:
            continue
        free_text = [c for c, category in dataset.personal_columns.items() if category == audit.FREE_TEXT]
        entries = (
            session.execute(
                select(AuditEntry.old_value, AuditEntry.new_value, PersonKey.id, PersonKey.key)
                .join(PersonKey, PersonKey.id == AuditEntry.subject_key_id)
                .where(
                    AuditEntry.entity == dataset.audit_entity,
                    AuditEntry.entity_id.in_(ids),
                    AuditEntry.field.in_(free_text),
                    PersonKey.key.is_not(None),
                )
            ).all()
            if free_text
            else []
        )
        naming = {
            key_id
            for old, new, key_id, key in entries
            if _names_person(decrypt(key, old), identifiers) or _names_person(decrypt(key, new), identifiers)
        }
        if naming:
            changed += (
                session.execute(
                    update(PersonKey).where(PersonKey.id.in_(naming)).values(key=None, shredded_at=ctx.now)
                ).rowcount
                or 0
            )
        events = session.execute(
            select(OutboxEvent.id, OutboxEvent.payload).where(
                OutboxEvent.entity == dataset.audit_entity,
                OutboxEvent.entity_id.in_(ids),
                text_contains(OutboxEvent.payload, ctx.subject),
            )
        ).all()
        for event_id, payload in events:
            session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id == event_id)
                .values(payload=redact(payload, identifiers, frozenset()))
            )
        changed += len(events)
    return changed


def _chain_entry_ids(session: Session, subject: SubjectRef) -> tuple[list[int], list[int]]:
    """The person's entries in the audit and consent chains: checked again after their keys are shredded."""
    by_key = {d.key: d for d in datasets()}
    ids = {}
    for key, model in (("audit_entries", AuditEntry), ("consent_entries", ConsentEntry)):
        locate = by_key[key].locate
        assert locate is not None
        ids[key] = list(session.scalars(select(model.id).where(locate(subject))))
    return ids["audit_entries"], ids["consent_entries"]


def erase(uow: UnitOfWork, request_id: int, *, full_sweep: bool = False) -> ErasureResult:
    """Erase the person of an open, identity-verified erasure request, verify, and store the certificate.

    Verification on SQLite always reads the whole database file and WAL. On PostgreSQL it searches the rows that
    were about the person or may name them, the logs and events of their records, and the identifier indexes;
    `full_sweep` adds every text column of every table (about a minute at a million contacts)."""
    started = time.perf_counter()
    with uow:
        uow.authorize("gdpr.manage")
        row = load_request(uow, request_id)
        require_open(row)
        if row.type != "erasure":
            raise Conflict(f"Anfrage {row.id} ist keine Löschanfrage (Art. 17), sondern „{row.type}“.")
        require_identity(row)
        require_subject(row)
        session = uow.session
        subject = subject_ref(session, row.subject_ids.get("contacts", []), row.subject_ids.get("accounts", []))
        probes = collect_probes(session, subject)
        audit_ids, consent_ids = _chain_entry_ids(session, subject)
        ctx = ErasureContext(session=session, subject=subject, now=uow.now, request_id=row.id)
        counts: dict[str, int] = {}
        counts["mentions"] = _erase_mentions(ctx)
        for dataset in datasets():
            counts[dataset.key] = _erase_dataset(ctx, dataset)
        session.flush()
        shredded = counts.get("person_keys", 0)
        suppressed = counts.get("suppressions", 0)
        for contact_id in subject.contact_ids:
            uow.audit(
                entity="contact", entity_id=contact_id, action="erased", reason=f"Art. 17 DSGVO, Anfrage {row.id}"
            )
        counts = {k: v for k, v in counts.items() if v}
        log_step(
            uow, row.id, "erased", counts=counts, holds=len(ctx.holds), shredded_keys=shredded, suppressed=suppressed
        )
        uow.emit(
            "crm.gdpr.erased",
            entity="gdpr_request",
            entity_id=row.id,
            payload={
                "contacts": list(subject.contact_ids),
                "accounts": list(subject.account_ids),
                "counts": counts,
                "holds": len(ctx.holds),
            },
        )
        close_request(
            uow,
            row,
            outcome=f"Gelöscht: {sum(counts.values())} Datensätze in {len(counts)} Bereichen; "
            f"{len(ctx.holds)} aufbewahrt (gesetzliche Pflicht)",
        )
        erased_at = uow.now
        uow.commit()
    erased = time.perf_counter()
    result = _verify_and_certify(
        uow, request_id, subject, probes, counts, shredded, suppressed, audit_ids, consent_ids, erased_at, full_sweep
    )
    return replace(result, seconds_erase=erased - started, seconds_verify=time.perf_counter() - erased)


def _verify_and_certify(
    uow: UnitOfWork,
    request_id: int,
    subject: SubjectRef,
    probes: list[ProbeValue],
    counts: dict[str, int],
    shredded: int,
    suppressed: int,
    audit_ids: list[int],
    consent_ids: list[int],
    erased_at: dt.datetime,
    full_sweep: bool,
) -> ErasureResult:
    with uow:
        session = uow.session
        files = scan_sqlite_files(session.get_bind(), probes)  # first: no read transaction may hold the WAL
        if full_sweep or (files is not None and (files.probe_hits or files.checkpoint_busy)):
            database = search_database(session, probes)
        elif files is not None:
            database = file_coverage()  # the file holds every table and index: SQL only to name residues
        else:
            database = search_database(session, probes, rows=subject_rows(subject))
        identifiers = search_identifiers(session, probes)
        indexes, index_hits = search_fulltext(session, probes)
        residues = [f"{name}: {n} Zeile(n)" for name, n in sorted(database.hits.items())]
        residues += [f"Suchindex {name}: {n} Treffer" for name, n in sorted(identifiers.items())]
        residues += [f"Volltextindex {name}: {n} Treffer" for name, n in sorted(index_hits.items())]
        if files is not None:
            masked = {p.value: p.masked() for p in probes}
            residues += [f"Datenbankdatei: {masked[v]} ({n}×)" for v, n in sorted(files.probe_hits.items())]
            if files.checkpoint_busy:
                residues.append("Write-Ahead-Log konnte nicht vollständig übernommen werden (andere Leser aktiv)")
        chains = [
            _chain_check(
                "Änderungsprotokoll (Einträge der Person)",
                ledger.verify_selected(session, AuditEntry, audit._payload, audit.CHAIN, audit_ids),
            ),
            _chain_check(
                "Einwilligungsprotokoll (Einträge der Person)",
                ledger.verify_selected(session, ConsentEntry, consent_payload, "consent", consent_ids),
            ),
            _chain_check("Anfrageprotokoll (vollständig)", verify_log(session)),
        ]
        row = load_request(uow, request_id)
        holds = session.scalars(
            select(RetentionHold).where(RetentionHold.request_id == request_id).order_by(RetentionHold.id)
        ).all()
        labels = {d.key: d for d in datasets()}
        certificate = Certificate(
            controller=controller_info(session),
            request=request_info(request_view(session, row)),
            erased_at=erased_at,
            verified_at=uow.now,
            erased=[_erased_set(labels, key, n) for key, n in counts.items()],
            holds=[
                Hold(
                    labels[h.entity].label_de if h.entity in labels else h.entity,
                    h.entity_id,
                    h.legal_ground,
                    h.release_on,
                )
                for h in holds
            ],
            shredded_keys=shredded,
            suppressed=suppressed,
            probes=[
                Probe(
                    p.kind,
                    p.masked(),
                    p.fingerprint(),
                    database.probe_hits.get(p.value, 0),
                    files.probe_hits.get(p.value, 0) if files else 0,
                )
                for p in probes
            ],
            residues=residues,
            tables_searched=database.tables,
            columns_searched=database.columns,
            scope=_scope(files is not None, full_sweep),
            files_scanned=files.files if files else [],
            bytes_scanned=files.bytes if files else 0,
            full_text_indexes=indexes,
            chains=chains,
        )
        from exports.pdf.gdpr_certificate import certificate_pdf

        document = store_document(
            uow,
            request_id,
            kind="certificate",
            file_name=f"Loeschprotokoll-Anfrage-{request_id}.pdf",
            data=certificate_pdf(certificate),
            keep_content=True,
        )
        log_step(
            uow,
            request_id,
            "verified",
            complete=certificate.complete,
            residues=len(residues),
            probes=len(probes),
            tables=database.tables,
            bytes_scanned=certificate.bytes_scanned,
        )
        uow.commit()
        return ErasureResult(
            request_id, counts, len(holds), shredded, suppressed, certificate.complete, residues, document.id
        )


def _erased_set(labels: dict[str, DataSet], key: str, count: int) -> ErasedSet:
    if key == "mentions":
        return ErasedSet(
            "Erwähnungen in Freitexten anderer Datensätze", "Verlauf unlesbar, Ereignisse geschwärzt", count
        )
    return ErasedSet(labels[key].label_de, label(ERASURE_ACTIONS, labels[key].erasure), count)


def _scope(sqlite_file: bool, full_sweep: bool) -> str:
    if full_sweep:
        return "Vollprüfung: jede Textspalte jeder Tabelle" + (" und die Datenbankdatei mit WAL" if sqlite_file else "")
    if sqlite_file:
        return "Datenbankdatei mit WAL vollständig (enthält jede Tabelle und jeden Index)"
    return ("Gezielt: alle Datensätze, die die Person betrafen oder sie nennen können, Protokoll und Ereignisse "
            "ihrer Datensätze, Suchindizes von Kontakten und Firmen")


def _chain_check(name: str, verification: ledger.Verification) -> ChainCheck:
    return ChainCheck(name, verification.ok, verification.checked, verification.describe())
