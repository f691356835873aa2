"""The consent module's entries in the personal-data registry (core/gdpr/registry.py)."""

from __future__ import annotations

from sqlalchemy import or_

from core.gdpr.datasets import TECH_BASIS
from core.gdpr.registry import DataSet, register_dataset, register_plain_tables
from db.models import (
    ConsentEntry,
    ConsentPurpose,
    ConsentText,
    DoiRequest,
    EmailMessage,
    ProcessingRestriction,
    Suppression,
)

CONSENT_PURPOSE = "Einwilligungen und Werbewidersprüche nachweisen und beachten (Art. 7 Abs. 1 DSGVO, § 7 UWG)"
CONSENT_BASIS = "Art. 6 Abs. 1 lit. c DSGVO (Nachweispflicht, Art. 7 Abs. 1), lit. f (Abwehr von Ansprüchen)"

register_dataset(
    DataSet(
        key="consent_entries",
        model=ConsentEntry,
        label_de="Einwilligungen (Nachweis)",
        label_en="Consent ledger",
        module="Einwilligungen",
        purpose=CONSENT_PURPOSE,
        legal_basis=CONSENT_BASIS,
        retention="3 Jahre nach Widerruf (Verjährung, § 195 BGB); Nachweisdaten je Person verschlüsselt, bei Löschung "
        "durch Vernichtung des Schlüssels unlesbar, die Kette bleibt prüfbar",
        source="Die Person selbst (Formular, Double-Opt-in), Mitarbeitende, Importe",
        erasure="shred",
        non_personal=frozenset(
            {
                "id",
                "occurred_at",
                "contact_id",
                "channel",
                "purpose_id",
                "action",
                "status",
                "legal_basis",
                "source",
                "text_id",
                "text_sha256",
                "order_id",
                "doi_request_id",
                "doi_requested_at",
                "doi_confirmed_at",
                "valid_until",
                "actor_id",
                "actor_name",
                "subject_key_id",
                "prev_hash",
                "hash",
            }
        ),
        provided=frozenset({"channel", "purpose_id", "action", "status", "occurred_at", "address"}),
        locate=lambda s: ConsentEntry.contact_id.in_(s.contact_ids),
    )
)
register_dataset(
    DataSet(
        key="doi_requests",
        model=DoiRequest,
        audit_entity="doi_request",
        label_de="Double-Opt-in-Anfragen",
        label_en="Double opt-in requests",
        module="Einwilligungen",
        purpose=CONSENT_PURPOSE,
        legal_basis=CONSENT_BASIS,
        retention="Bis zur Bestätigung oder zum Ablauf; der Nachweis steht im Einwilligungsprotokoll",
        erasure="delete",
        source="Die Person selbst (Formular), Mitarbeitende",
        non_personal=frozenset(
            {
                "id",
                "contact_id",
                "channel",
                "purpose_id",
                "text_id",
                "language",
                "source",
                "nonce",
                "status",
                "requested_at",
                "expires_at",
                "last_sent_at",
                "send_count",
                "confirmed_at",
                "closed_at",
                "actor_id",
                "actor_name",
                "email_message_id",
            }
        ),
        locate=lambda s: DoiRequest.contact_id.in_(s.contact_ids),
    )
)
register_dataset(
    DataSet(
        key="processing_restrictions",
        model=ProcessingRestriction,
        label_de="Einschränkungen und Widersprüche",
        label_en="Restrictions and objections",
        module="Einwilligungen",
        purpose="Einschränkung der Verarbeitung (Art. 18) und Werbewiderspruch (Art. 21) beachten",
        legal_basis=CONSENT_BASIS,
        retention="Solange die Person gespeichert ist; danach wirkt die Sperrliste",
        erasure="delete",
        source="Die Person selbst",
        erase_order=80,
        non_personal=frozenset({"id", "contact_id", "kind", "started_at", "lifted_at", "created_by"}),
        locate=lambda s: ProcessingRestriction.contact_id.in_(s.contact_ids),
    )
)
register_dataset(
    DataSet(
        key="suppressions",
        model=Suppression,
        label_de="Sperrliste",
        label_en="Suppression list",
        module="Einwilligungen",
        purpose="Nie wieder Werbung an gelöschte oder widersprechende Adressen (Art. 17, 21 DSGVO, § 7 UWG)",
        legal_basis="Art. 6 Abs. 1 lit. c, f DSGVO",
        retention="Dauerhaft; nur eine verschlüsselte Prüfsumme (HMAC), keine Adresse",
        erasure="blocklist",
        source="Abmeldungen, Widersprüche, Löschungen",
        non_personal=frozenset({"id", "kind", "reason", "created_at", "created_by"}),
        locate=lambda s: Suppression.digest.in_(s.email_digests + s.phone_digests),
    )
)
register_dataset(
    DataSet(
        key="email_messages",
        model=EmailMessage,
        audit_entity="email_message",
        label_de="E-Mails und Versand",
        label_en="E-mails and sends",
        module="Kommunikation",
        purpose="E-Mails an Kontakte versenden (Double-Opt-in, Werbung mit Einwilligung, Service)",
        legal_basis="Art. 6 Abs. 1 lit. a DSGVO (Einwilligung), lit. b, f",
        retention="90 Tage nach Versand, auf Antrag früher",
        recipients="Versand-Dienstleister (SMTP) als Auftragsverarbeiter",
        source="Erzeugt aus Vorlagen",
        erasure="delete",
        non_personal=frozenset(
            {
                "id",
                "created_at",
                "kind",
                "category",
                "template",
                "language",
                "contact_id",
                "channel",
                "purpose_id",
                "from_address",
                "message_id",
                "status",
                "attempts",
                "next_attempt_at",
                "lease_until",
                "sent_at",
                "gate_allowed",
                "gate_reason",
                "gate_checked_at",
            }
        ),
        locate=lambda s: or_(EmailMessage.contact_id.in_(s.contact_ids), EmailMessage.to_address.in_(s.identifiers)),
    )
)
register_plain_tables(
    module="Einwilligungen",
    purpose=CONSENT_PURPOSE,
    legal_basis=TECH_BASIS,
    tables=(
        (
            ConsentPurpose,
            "consent_purposes",
            "Zwecke",
            "Purposes",
            {
                "id",
                "key",
                "name_de",
                "name_en",
                "description_de",
                "description_en",
                "marketing",
                "tracking",
                "active",
                "position",
                "created_at",
            },
        ),
        (
            ConsentText,
            "consent_texts",
            "Einwilligungstexte",
            "Consent texts",
            {"id", "purpose_id", "language", "version", "title", "body", "sha256", "created_at", "created_by"},
        ),
    ),
)
