"""Registry entries for the foundation's tables: people, companies, addresses, logs, the GDPR workflow."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import String, and_, cast, false, func, or_, select, update

from core.gdpr.registry import DataSet, ErasureContext, Retention, SubjectRef, register_dataset, register_plain_tables
from core.gdpr.vocabulary import REDACTED
from db.models import (
    Account,
    Address,
    ApiKey,
    AppSetting,
    AuditEntry,
    Contact,
    DuplicateCandidate,
    EventSubscription,
    GdprDocument,
    GdprLogEntry,
    GdprRequest,
    ImportRun,
    LedgerHead,
    MergeRecord,
    OutboxEvent,
    PersonKey,
    RecordAlias,
    RetentionHold,
    SalesOrder,
    Team,
    User,
)

CRM_PURPOSE = (
    "Kundenbeziehungsmanagement: Ansprechpartner bei Kunden und Interessenten betreuen, Angebote und Aufträge abwickeln"
)
CRM_BASIS = (
    "Art. 6 Abs. 1 lit. b DSGVO (Vertrag und Vertragsanbahnung), lit. f (berechtigtes Interesse an der Kundenbetreuung)"
)
CRM_RETENTION = "Bis zum Ende der Geschäftsbeziehung zuzüglich der Verjährungsfrist von 3 Jahren (§ 195 BGB); auf Antrag früher (Art. 17)"
CRM_RECIPIENTS = "Vertrieb, Marketing und Kundenservice des Verantwortlichen; Hosting-Dienstleister als Auftragsverarbeiter (Art. 28)"
CRM_SOURCE = "Angaben der Person selbst, Visitenkarten und Messen, Importe aus Formularen, Vertriebsmitarbeitende"
LOG_PURPOSE = "Nachweis und Revisionssicherheit (Art. 5 Abs. 2, Art. 30 DSGVO): wer hat wann was geändert"
LOG_BASIS = "Art. 6 Abs. 1 lit. c DSGVO (Rechenschaftspflicht), lit. f (Nachvollziehbarkeit)"
TECH_PURPOSE = "Technischer Betrieb der Anwendung"
TECH_BASIS = "Art. 6 Abs. 1 lit. f DSGVO (Betrieb der Anwendung)"

CONTACT_NON_PERSONAL = frozenset(
    {"id", "external_id", "account_id", "country", "owner_id", "created_at", "updated_at", "version"}
)


def text_contains(column: Any, subject: SubjectRef) -> Any:
    """Rows whose text (or JSON as text, where "ü" may be stored as "\\u00fc") holds an identifying value."""
    if not subject.identifiers:
        return false()
    as_text = func.lower(cast(column, String))
    forms = {form.lower() for value in subject.identifiers for form in (value, json.dumps(value)[1:-1])}
    return or_(*[as_text.contains(form, autoescape=True) for form in sorted(forms)])


def _contact_keys(subject: SubjectRef) -> Any:
    return select(PersonKey.id).where(
        or_(
            and_(PersonKey.subject_type == "contact", PersonKey.subject_id.in_(subject.contact_keys)),
            and_(PersonKey.subject_type == "account", PersonKey.subject_id.in_(subject.account_keys)),
        )
    )


def _entity_rows(entity_col: Any, id_col: Any, subject: SubjectRef) -> Any:
    return or_(
        and_(entity_col == "contact", id_col.in_(subject.contact_keys)),
        and_(entity_col == "account", id_col.in_(subject.account_keys)),
    )


def redact(value: Any, identifiers: tuple[str, ...], personal_keys: frozenset[str]) -> Any:
    """A JSON value with every personal field, and every string holding an identifier, replaced."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if k in personal_keys and v is not None else redact(v, identifiers, personal_keys))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v, identifiers, personal_keys) for v in value]
    if isinstance(value, str) and any(i.lower() in value.lower() for i in identifiers):
        return REDACTED
    return value


def personal_field_names() -> frozenset[str]:
    from core.gdpr.registry import datasets

    return frozenset(name for d in datasets() for name in d.personal_columns)


def _own_rows(dataset: DataSet, subject: SubjectRef) -> Any:
    """Ids (as the text the log and events use) of the data set's rows about the person."""
    assert dataset.locate is not None
    pk = list(dataset.table.primary_key.columns)[0]
    return select(cast(pk, String)).where(dataset.locate(subject))


def _event_sources() -> list[DataSet]:
    from core.gdpr.registry import datasets

    return [d for d in datasets() if d.audit_entity and d.locate is not None and d.model is not OutboxEvent]


def _locate_outbox(subject: SubjectRef) -> Any:
    """The events about the person's own rows in every data set (index on entity, entity_id)."""
    return or_(
        *[
            and_(OutboxEvent.entity == d.audit_entity, OutboxEvent.entity_id.in_(_own_rows(d, subject)))
            for d in _event_sources()
        ]
    )


def _scrub_outbox(ctx: ErasureContext) -> int:
    """Black out the personal fields (and anything naming the person) in the events of the person's rows."""
    session, subject = ctx.session, ctx.subject
    changed = 0
    for dataset in _event_sources():
        keys = frozenset(dataset.personal_columns)
        rows = session.execute(
            select(OutboxEvent.id, OutboxEvent.payload).where(
                OutboxEvent.entity == dataset.audit_entity, OutboxEvent.entity_id.in_(_own_rows(dataset, subject))
            )
        ).all()
        for event_id, payload in rows:
            session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id == event_id)
                .values(payload=redact(payload, subject.identifiers, keys))
            )
        changed += len(rows)
    return changed


def _scrub_import_runs(ctx: ErasureContext) -> int:
    session, subject = ctx.session, ctx.subject
    rows = session.execute(select(ImportRun.id, ImportRun.report).where(text_contains(ImportRun.report, subject))).all()
    for run_id, report in rows:
        kept = [
            issue
            for issue in report
            if not any(i.lower() in json.dumps(issue, ensure_ascii=False).lower() for i in subject.identifiers)
        ]
        session.execute(update(ImportRun).where(ImportRun.id == run_id).values(report=kept))
    return len(rows)


def _erase_sole_trader(ctx: ErasureContext) -> int:
    """A sole trader's company record: kept and held while orders with it must be retained (§ 147 AO,
    § 257 HGB); otherwise anonymised. Its deals' amounts stay in the reports either way."""
    session, now = ctx.session, ctx.now
    changed = 0
    for account in session.scalars(select(Account).where(Account.id.in_(ctx.subject.account_ids))):
        last_order = session.scalar(
            select(SalesOrder.order_date)
            .where(SalesOrder.account_id == account.id)
            .order_by(SalesOrder.order_date.desc())
        )
        if last_order is not None:
            ctx.hold("accounts", account.id, ACCOUNT_RETENTION, last_order)
            continue
        account.name = f"Gelöscht (Art. 17) #{account.id}"
        for column in ("website", "phone", "email", "street", "postcode", "city", "notes", "match_name", "match_phone"):
            setattr(account, column, None)
        account.updated_at = now
        changed += 1
    session.flush()
    return changed


ACCOUNT_RETENTION = Retention(
    "§ 147 Abs. 1 Nr. 4, Abs. 3 AO, § 257 Abs. 1 Nr. 4, Abs. 4 HGB (Buchungsbelege)", 8, "order_date"
)

register_dataset(
    DataSet(
        key="contacts",
        model=Contact,
        audit_entity="contact",
        label_de="Kontakte",
        label_en="Contacts",
        module="Stammdaten",
        purpose=CRM_PURPOSE,
        legal_basis=CRM_BASIS,
        retention=CRM_RETENTION,
        recipients=CRM_RECIPIENTS,
        source=CRM_SOURCE,
        erasure="delete",
        non_personal=CONTACT_NON_PERSONAL,
        erase_order=900,
        locate=lambda s: Contact.id.in_(s.contact_ids),
        provided=frozenset(
            {
                "salutation",
                "title",
                "first_name",
                "last_name",
                "job_title",
                "email",
                "phone",
                "mobile",
                "birth_date",
                "postcode",
                "city",
                "country",
            }
        ),
    )
)
register_dataset(
    DataSet(
        key="accounts",
        model=Account,
        audit_entity="account",
        mentions=lambda s: Account.id.in_(s.related_account_ids),
        label_de="Firmen (Einzelunternehmen)",
        label_en="Companies (sole traders)",
        module="Stammdaten",
        purpose=CRM_PURPOSE,
        legal_basis=CRM_BASIS,
        retention="Firmendaten juristischer Personen sind keine personenbezogenen Daten; bei Einzelunternehmen wie Kontakte, "
        "solange Aufträge aufzubewahren sind bis zum Ende der Aufbewahrungsfrist (8 Jahre, § 147 AO)",
        recipients=CRM_RECIPIENTS,
        source=CRM_SOURCE,
        erasure="scrub",
        scrub=_erase_sole_trader,
        erase_order=950,
        non_personal=frozenset(
            {
                "id",
                "external_id",
                "legal_form",
                "industry",
                "revenue_class",
                "employees",
                "country",
                "owner_id",
                "created_at",
                "updated_at",
                "version",
            }
        ),
        locate=lambda s: Account.id.in_(s.account_ids),
        provided=frozenset({"name", "website", "phone", "email", "street", "postcode", "city"}),
    )
)
register_dataset(
    DataSet(
        key="addresses",
        model=Address,
        audit_entity="address",
        label_de="Anschriften",
        label_en="Addresses",
        module="Stammdaten",
        purpose=CRM_PURPOSE,
        legal_basis=CRM_BASIS,
        retention=CRM_RETENTION,
        recipients=CRM_RECIPIENTS,
        source=CRM_SOURCE,
        erasure="delete",
        non_personal=frozenset(
            {
                "id",
                "account_id",
                "contact_id",
                "type",
                "state",
                "country",
                "is_primary",
                "valid_from",
                "valid_until",
                "created_at",
                "updated_at",
                "version",
            }
        ),
        locate=lambda s: or_(Address.contact_id.in_(s.contact_ids), Address.account_id.in_(s.account_ids)),
        provided=frozenset({"type", "street", "house_number", "address_line2", "postcode", "city", "state", "country"}),
    )
)
register_dataset(
    DataSet(
        key="audit_entries",
        model=AuditEntry,
        label_de="Änderungsprotokoll",
        label_en="Audit log",
        module="Revision",
        purpose=LOG_PURPOSE,
        legal_basis=LOG_BASIS,
        retention="Dauerhaft als Hash-Kette; personenbezogene Werte sind je Person verschlüsselt und werden bei Löschung "
        "durch Vernichtung des Schlüssels unlesbar",
        erasure="shred",
        source="Automatisch bei jeder Änderung",
        subjects="Alle Personen, deren Daten geändert wurden",
        non_personal=frozenset(
            {
                "id",
                "occurred_at",
                "actor_id",
                "actor_name",
                "entity",
                "entity_id",
                "action",
                "field",
                "subject_key_id",
                "prev_hash",
                "hash",
            }
        ),
        locate=lambda s: or_(
            _entity_rows(AuditEntry.entity, AuditEntry.entity_id, s), AuditEntry.subject_key_id.in_(_contact_keys(s))
        ),
    )
)
register_dataset(
    DataSet(
        key="person_keys",
        model=PersonKey,
        label_de="Schlüssel je Person",
        label_en="Per-person keys",
        module="Revision",
        purpose="Krypto-Löschung: personenbezogene Werte in unveränderlichen Protokollen verschlüsseln",
        legal_basis="Art. 25, 32 DSGVO (Datenschutz durch Technikgestaltung, Sicherheit)",
        retention="Bis zur Löschung der Person; dann wird der Schlüssel vernichtet",
        erasure="shred",
        export=False,
        source="Automatisch erzeugt",
        erase_order=1000,
        non_personal=frozenset({"id", "subject_type", "subject_id", "created_at", "shredded_at"}),
        locate=lambda s: or_(
            and_(PersonKey.subject_type == "contact", PersonKey.subject_id.in_(s.contact_keys)),
            and_(PersonKey.subject_type == "account", PersonKey.subject_id.in_(s.account_keys)),
        ),
    )
)
register_dataset(
    DataSet(
        key="outbox_events",
        model=OutboxEvent,
        label_de="Ereignisse (Outbox)",
        label_en="Outbox events",
        module="Integration",
        purpose="Benachrichtigung angebundener Systeme und interner Module über Änderungen",
        legal_basis=CRM_BASIS,
        retention="Bis zur Löschung der Person; dann werden personenbezogene Felder geschwärzt",
        recipients="Interne Module; angebundene Systeme per Webhook (Auftragsverarbeiter)",
        source="Automatisch bei Änderungen",
        erasure="scrub",
        scrub=_scrub_outbox,
        erase_order=10,
        non_personal=frozenset(
            {"id", "event_id", "name", "schema_version", "entity", "entity_id", "actor_id", "occurred_at"}
        ),
        locate=_locate_outbox,
    )
)
register_dataset(
    DataSet(
        key="duplicate_candidates",
        model=DuplicateCandidate,
        label_de="Dublettenvorschläge",
        label_en="Duplicate candidates",
        module="Stammdaten",
        purpose="Datenqualität: Dubletten erkennen (Art. 5 Abs. 1 lit. d DSGVO, Richtigkeit)",
        legal_basis="Art. 6 Abs. 1 lit. f DSGVO",
        retention="Bis zur Prüfung des Vorschlags",
        erasure="delete",
        source="Automatisch aus den Stammdaten abgeleitet",
        non_personal=frozenset(
            {"id", "entity", "id_a", "id_b", "score", "status", "found_at", "reviewed_at", "reviewed_by_id"}
        ),
        locate=lambda s: or_(
            and_(
                DuplicateCandidate.entity == "contact",
                or_(DuplicateCandidate.id_a.in_(s.contact_ids), DuplicateCandidate.id_b.in_(s.contact_ids)),
            ),
            and_(
                DuplicateCandidate.entity == "account",
                or_(DuplicateCandidate.id_a.in_(s.account_ids), DuplicateCandidate.id_b.in_(s.account_ids)),
            ),
        ),
    )
)
register_dataset(
    DataSet(
        key="record_aliases",
        model=RecordAlias,
        label_de="Verweise zusammengeführter Datensätze",
        label_en="Merge aliases",
        module="Stammdaten",
        purpose="Alte Kennungen zusammengeführter Datensätze auflösen",
        legal_basis=TECH_BASIS,
        retention="Solange der Datensatz besteht",
        erasure="delete",
        source="Automatisch bei Zusammenführung",
        erase_order=40,
        non_personal=frozenset({"id", "entity", "alias_id", "target_id", "merge_id"}),
        locate=lambda s: or_(
            and_(RecordAlias.entity == "contact", RecordAlias.target_id.in_(s.contact_ids)),
            and_(RecordAlias.entity == "account", RecordAlias.target_id.in_(s.account_ids)),
        ),
    )
)
register_dataset(
    DataSet(
        key="merge_records",
        model=MergeRecord,
        label_de="Zusammenführungen",
        label_en="Merges",
        module="Stammdaten",
        purpose="Zusammenführungen nachvollziehen und rückgängig machen",
        legal_basis=LOG_BASIS,
        retention="Solange der Datensatz besteht; Kopien sind je Person verschlüsselt",
        erasure="delete",
        erase_order=50,
        source="Automatisch bei Zusammenführung",
        non_personal=frozenset(
            {
                "id",
                "entity",
                "survivor_id",
                "merged_id",
                "relinked",
                "merged_at",
                "merged_by_id",
                "undone_at",
                "undone_by_id",
            }
        ),
        locate=lambda s: or_(
            and_(
                MergeRecord.entity == "contact",
                or_(MergeRecord.survivor_id.in_(s.contact_ids), MergeRecord.merged_id.in_(s.contact_ids)),
            ),
            and_(
                MergeRecord.entity == "account",
                or_(MergeRecord.survivor_id.in_(s.account_ids), MergeRecord.merged_id.in_(s.account_ids)),
            ),
        ),
    )
)
register_dataset(
    DataSet(
        key="import_runs",
        model=ImportRun,
        label_de="Importprotokolle",
        label_en="Import reports",
        module="Stammdaten",
        purpose="Importe nachvollziehen und abgelehnte Zeilen korrigieren",
        legal_basis=TECH_BASIS,
        retention="Bis zur Löschung der Person; dann werden ihre Zeilen aus dem Bericht entfernt",
        erasure="scrub",
        scrub=_scrub_import_runs,
        source="Importierte Dateien",
        non_personal=frozenset(
            {
                "id",
                "entity",
                "file_name",
                "mode",
                "status",
                "rows_total",
                "rows_created",
                "rows_updated",
                "rows_rejected",
                "started_at",
                "finished_at",
                "started_by_id",
            }
        ),
        locate=lambda s: text_contains(ImportRun.report, s),
    )
)
register_dataset(
    DataSet(
        key="users",
        model=User,
        label_de="Benutzerkonten",
        label_en="User accounts",
        module="Verwaltung",
        purpose="Anmeldung, Berechtigungen und Zuordnung von Datensätzen zu Mitarbeitenden",
        legal_basis="Art. 88 DSGVO i. V. m. § 26 BDSG (Beschäftigungsverhältnis)",
        retention="Bis zum Ausscheiden; Protokolleinträge behalten den Namen als Nachweis",
        erasure="employee",
        subjects="Beschäftigte (Benutzer der Anwendung)",
        source="Administration",
        non_personal=frozenset(
            {
                "id",
                "username",
                "role",
                "team_id",
                "password_hash",
                "is_active",
                "locale",
                "last_login_at",
                "failed_logins",
                "created_at",
                "updated_at",
                "version",
            }
        ),
    )
)
register_dataset(
    DataSet(
        key="gdpr_requests",
        model=GdprRequest,
        label_de="Betroffenenanfragen",
        label_en="Data-subject requests",
        module="Datenschutz",
        purpose="Betroffenenrechte bearbeiten und die Bearbeitung nachweisen (Art. 12–22, Art. 5 Abs. 2 DSGVO)",
        legal_basis="Art. 6 Abs. 1 lit. c DSGVO (rechtliche Verpflichtung), Art. 17 Abs. 3 lit. e (Abwehr von Ansprüchen)",
        retention="3 Jahre nach Abschluss (§ 195 BGB); Angaben der anfragenden Person verschlüsselt, Schlüssel wird danach vernichtet",
        erasure="keep",
        source="Die anfragende Person",
        subjects="Personen, die Betroffenenrechte geltend machen",
        key_type="gdpr_request",
        non_personal=frozenset(
            {
                "id",
                "type",
                "status",
                "channel",
                "received_at",
                "due_on",
                "extended_due_on",
                "extension_reason",
                "subject_ids",
                "identity_method",
                "identity_result",
                "identity_checked_by",
                "identity_checked_at",
                "assignee_id",
                "outcome",
                "rejection_reason",
                "closed_at",
                "created_by",
                "created_at",
                "updated_at",
                "version",
            }
        ),
        locate=lambda s: or_(
            GdprRequest.email_digest.in_(s.email_digests), GdprRequest.phone_digest.in_(s.phone_digests)
        ),
    )
)

register_plain_tables(
    module="Betrieb",
    purpose=TECH_PURPOSE,
    legal_basis=TECH_BASIS,
    tables=(
        (
            GdprLogEntry,
            "gdpr_log_entries",
            "Protokoll der Betroffenenanfragen",
            "Request log",
            {"id", "request_id", "occurred_at", "action", "details", "actor_id", "actor_name", "prev_hash", "hash"},
        ),
        (
            GdprDocument,
            "gdpr_documents",
            "Dokumente zu Anfragen",
            "Request documents",
            {"id", "request_id", "kind", "file_name", "sha256", "size", "content", "created_at", "created_by"},
        ),
        (
            RetentionHold,
            "retention_holds",
            "Aufbewahrungsvermerke",
            "Retention holds",
            {"id", "request_id", "entity", "entity_id", "legal_ground", "release_on", "created_at"},
        ),
        (
            LedgerHead,
            "ledger_heads",
            "Kettenköpfe der Protokolle",
            "Ledger heads",
            {"name", "last_id", "last_hash", "entries"},
        ),
        (
            EventSubscription,
            "event_subscriptions",
            "Ereignis-Abonnenten",
            "Event subscribers",
            {"subscriber", "last_event_id", "attempts", "last_error", "updated_at"},
        ),
        (Team, "teams", "Teams", "Teams", {"id", "name", "created_at", "updated_at", "version"}),
        (
            ApiKey,
            "api_keys",
            "API-Schlüssel",
            "API keys",
            {
                "id",
                "name",
                "prefix",
                "key_hash",
                "scopes",
                "created_by_id",
                "revoked_at",
                "last_used_at",
                "created_at",
                "updated_at",
            },
        ),
        (
            AppSetting,
            "app_settings",
            "Einstellungen",
            "Settings",
            {"key", "value", "description", "created_at", "updated_at", "version"},
        ),
    ),
)
