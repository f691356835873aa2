"""The segment module's entries in the personal-data registry (core/gdpr/registry.py).

Segments and their runs hold no personal data. Membership, its history, tags and activities are about one
contact each: found by `contact_id` and deleted on erasure (before the contact itself).
"""

from __future__ import annotations

from core.gdpr.datasets import CRM_RECIPIENTS, CRM_RETENTION, TECH_BASIS
from core.gdpr.registry import DataSet, register_dataset, register_plain_tables
from db.models import Activity, ContactTag, Segment, SegmentChange, SegmentMember, SegmentRun
from db.models.segments import SegmentReach

MODULE = "Marketing"
SEGMENT_PURPOSE = "Zielgruppen für Marketing und Vertrieb bilden (Segmente)"
SEGMENT_BASIS = (
    "Art. 6 Abs. 1 lit. f DSGVO (berechtigtes Interesse an zielgerichteter Ansprache), lit. a (Einwilligung)"
)

register_plain_tables(
    module=MODULE,
    purpose=SEGMENT_PURPOSE,
    legal_basis=TECH_BASIS,
    tables=(
        (
            Segment,
            "segments",
            "Segmente",
            "Segments",
            {
                "id",
                "name",
                "description",
                "kind",
                "rules",
                "created_by",
                "member_count",
                "last_refreshed_at",
                "refresh_error",
                "created_at",
                "updated_at",
                "version",
            },
        ),
        (
            SegmentRun,
            "segment_runs",
            "Segment-Neuberechnungen",
            "Segment recalculations",
            {"id", "segment_id", "started_at", "finished_at", "reason", "size", "joined", "left"},
        ),
        (
            SegmentReach,
            "segment_reach",
            "Erreichbarkeit der Segmente (Anzahlen)",
            "Segment reach (counts)",
            {"id", "segment_id", "channel", "purpose_id", "members", "reachable", "reasons", "computed_at"},
        ),
    ),
)
register_dataset(
    DataSet(
        key="segment_members",
        model=SegmentMember,
        label_de="Segmentzugehörigkeit",
        label_en="Segment membership",
        module=MODULE,
        purpose=SEGMENT_PURPOSE,
        legal_basis=SEGMENT_BASIS,
        retention="Solange der Kontakt die Regel des Segments erfüllt oder bis zur Entfernung aus dem Segment",
        recipients=CRM_RECIPIENTS,
        source="Berechnet aus den Regeln des Segments; statische Segmente: Mitarbeitende, Importe",
        erasure="delete",
        erase_order=60,
        non_personal=frozenset({"segment_id", "contact_id", "joined_at"}),
        locate=lambda s: SegmentMember.contact_id.in_(s.contact_ids),
    )
)
register_dataset(
    DataSet(
        key="segment_changes",
        model=SegmentChange,
        label_de="Segment-Eintritte und -Austritte",
        label_en="Segment joins and leaves",
        module=MODULE,
        purpose=SEGMENT_PURPOSE,
        legal_basis=SEGMENT_BASIS,
        retention=CRM_RETENTION,
        recipients=CRM_RECIPIENTS,
        source="Berechnet bei jeder Neuberechnung eines Segments",
        erasure="delete",
        erase_order=60,
        non_personal=frozenset({"id", "segment_id", "contact_id", "change", "at", "run_id"}),
        locate=lambda s: SegmentChange.contact_id.in_(s.contact_ids),
    )
)
register_dataset(
    DataSet(
        key="contact_tags",
        model=ContactTag,
        label_de="Schlagworte",
        label_en="Tags",
        module=MODULE,
        purpose=SEGMENT_PURPOSE,
        legal_basis=SEGMENT_BASIS,
        retention=CRM_RETENTION,
        recipients=CRM_RECIPIENTS,
        source="Mitarbeitende, Importe",
        erasure="delete",
        erase_order=60,
        non_personal=frozenset({"contact_id", "tag"}),
        locate=lambda s: ContactTag.contact_id.in_(s.contact_ids),
    )
)
register_dataset(
    DataSet(
        key="activities",
        model=Activity,
        label_de="Aktivitäten (Öffnungen, Klicks, Anrufe, Termine, Besuche, Veranstaltungen)",
        label_en="Activities (opens, clicks, calls, meetings, visits, events)",
        module=MODULE,
        purpose="Kundenbeziehung nachvollziehen und Zielgruppen nach Verhalten bilden",
        legal_basis=SEGMENT_BASIS,
        retention=CRM_RETENTION,
        recipients=CRM_RECIPIENTS,
        source="Versand- und Website-Auswertung (mit Einwilligung), Mitarbeitende, Formulare, Veranstaltungen",
        erasure="delete",
        erase_order=60,
        non_personal=frozenset({"id", "contact_id", "type", "occurred_at", "campaign_key"}),
        locate=lambda s: Activity.contact_id.in_(s.contact_ids),
    )
)
