"""The sales module's entries in the personal-data registry (core/gdpr/registry.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from core.gdpr.datasets import CRM_RECIPIENTS, CRM_RETENTION, TECH_BASIS, text_contains
from core.gdpr.registry import DataSet, Locator, Retention, SubjectRef, register_dataset, register_plain_tables
from db.models import (
    DealReason,
    Opportunity,
    OpportunityContact,
    OpportunityStageEvent,
    Pipeline,
    PipelineStage,
    Product,
    Quote,
    QuoteLine,
    SalesOrder,
    SavedView,
)

QUOTE_RETENTION = Retention(
    "§ 147 Abs. 1 Nr. 2, 3, Abs. 3 AO, § 257 Abs. 1 Nr. 2, 3, Abs. 4 HGB (Handelsbriefe, 6 Jahre)", 6, "quote_date"
)
ORDER_RETENTION = Retention(
    "§ 147 Abs. 1 Nr. 4, Abs. 3 AO, § 257 Abs. 1 Nr. 4, Abs. 4 HGB (Buchungsbelege, 8 Jahre)", 8, "order_date"
)
SALES_PURPOSE = "Vertrieb: Verkaufschancen, Angebote und Aufträge mit Kunden abwickeln"
SALES_BASIS = "Art. 6 Abs. 1 lit. b DSGVO (Vertrag und Vertragsanbahnung)"
SALES_SOURCE = "Vertriebsmitarbeitende im Kundengespräch"


def _opportunity_texts(s: SubjectRef) -> ColumnElement[bool]:
    """A sole trader's deals, and deals of the person's companies whose notes mention the person."""
    mentions = or_(
        text_contains(Opportunity.next_step, s),
        text_contains(Opportunity.description, s),
        text_contains(Opportunity.close_reason_text, s),
    )
    return or_(
        Opportunity.account_id.in_(s.account_ids), and_(Opportunity.account_id.in_(s.related_account_ids), mentions)
    )


def _employer_rows(model: Any) -> Locator:
    return lambda s: model.account_id.in_(s.related_account_ids)


register_dataset(
    DataSet(
        key="opportunities",
        model=Opportunity,
        audit_entity="opportunity",
        mentions=_employer_rows(Opportunity),
        label_de="Verkaufschancen",
        label_en="Opportunities",
        module="Vertrieb",
        purpose=SALES_PURPOSE,
        legal_basis=SALES_BASIS,
        retention=CRM_RETENTION,
        recipients=CRM_RECIPIENTS,
        source=SALES_SOURCE,
        erasure="anonymise",
        non_personal=frozenset(
            {
                "id",
                "external_id",
                "name",
                "account_id",
                "owner_id",
                "pipeline_id",
                "stage_id",
                "status",
                "amount",
                "currency",
                "probability_override",
                "forecast_category_override",
                "expected_close_date",
                "closed_date",
                "lead_source",
                "campaign",
                "competitor",
                "won_reason_id",
                "lost_reason_id",
                "stage_entered_at",
                "created_at",
                "updated_at",
                "version",
            }
        ),
        locate=_opportunity_texts,
    )
)
register_dataset(
    DataSet(
        key="opportunity_contacts",
        model=OpportunityContact,
        audit_entity="opportunity_contact",
        label_de="Rollen in Verkaufschancen",
        label_en="Opportunity contact roles",
        module="Vertrieb",
        purpose=SALES_PURPOSE,
        legal_basis=SALES_BASIS,
        retention=CRM_RETENTION,
        recipients=CRM_RECIPIENTS,
        source=SALES_SOURCE,
        erasure="delete",
        non_personal=frozenset(
            {"id", "opportunity_id", "contact_id", "role", "is_primary", "created_at", "updated_at", "version"}
        ),
        locate=lambda s: OpportunityContact.contact_id.in_(s.contact_ids),
    )
)
register_dataset(
    DataSet(
        key="quotes",
        model=Quote,
        audit_entity="quote",
        mentions=_employer_rows(Quote),
        label_de="Angebote",
        label_en="Quotes",
        module="Vertrieb",
        purpose=SALES_PURPOSE,
        legal_basis=SALES_BASIS + "; Art. 6 Abs. 1 lit. c (handels- und steuerrechtliche Aufbewahrung)",
        retention="6 Jahre ab Ende des Kalenderjahres (Handelsbriefe, § 257 HGB, § 147 AO)",
        recipients=CRM_RECIPIENTS,
        source=SALES_SOURCE,
        erasure="retain",
        retention_rule=QUOTE_RETENTION,
        unlink={"contact_id": None},
        non_personal=frozenset(
            {
                "id",
                "number",
                "opportunity_id",
                "account_id",
                "contact_id",
                "status",
                "is_primary",
                "quote_date",
                "valid_until",
                "currency",
                "discount_percent",
                "net_total",
                "vat_total",
                "gross_total",
                "terms",
                "sent_at",
                "decided_at",
                "created_at",
                "updated_at",
                "version",
            }
        ),
        locate=lambda s: or_(Quote.contact_id.in_(s.contact_ids), Quote.account_id.in_(s.account_ids)),
    )
)
register_dataset(
    DataSet(
        key="sales_orders",
        model=SalesOrder,
        audit_entity="sales_order",
        mentions=_employer_rows(SalesOrder),
        label_de="Aufträge",
        label_en="Orders",
        module="Vertrieb",
        purpose=SALES_PURPOSE,
        legal_basis=SALES_BASIS + "; Art. 6 Abs. 1 lit. c (handels- und steuerrechtliche Aufbewahrung)",
        retention="8 Jahre ab Ende des Kalenderjahres (Buchungsbelege, § 257 HGB, § 147 AO)",
        recipients=CRM_RECIPIENTS + "; Steuerberatung und Finanzbehörden im Rahmen der Außenprüfung",
        source=SALES_SOURCE,
        erasure="retain",
        retention_rule=ORDER_RETENTION,
        unlink={"contact_id": None},
        non_personal=frozenset(
            {
                "id",
                "number",
                "quote_id",
                "opportunity_id",
                "account_id",
                "contact_id",
                "status",
                "order_date",
                "currency",
                "net_total",
                "vat_total",
                "gross_total",
                "lines",
                "cancelled_at",
                "created_at",
                "updated_at",
                "version",
            }
        ),
        locate=lambda s: or_(SalesOrder.contact_id.in_(s.contact_ids), SalesOrder.account_id.in_(s.account_ids)),
    )
)

register_plain_tables(
    module="Vertrieb",
    purpose=SALES_PURPOSE,
    legal_basis=TECH_BASIS,
    tables=(
        (
            Pipeline,
            "pipelines",
            "Pipelines",
            "Pipelines",
            {"id", "name", "position", "is_default", "is_active", "created_at", "updated_at", "version"},
        ),
        (
            PipelineStage,
            "pipeline_stages",
            "Phasen",
            "Stages",
            {
                "id",
                "pipeline_id",
                "name",
                "position",
                "kind",
                "probability",
                "forecast_category",
                "stale_after_days",
                "created_at",
                "updated_at",
                "version",
            },
        ),
        (
            DealReason,
            "deal_reasons",
            "Gewinn- und Verlustgründe",
            "Deal reasons",
            {"id", "kind", "label", "position", "needs_text", "is_active", "created_at", "updated_at", "version"},
        ),
        (
            OpportunityStageEvent,
            "opportunity_stage_events",
            "Phasenverlauf",
            "Stage history",
            {
                "id",
                "opportunity_id",
                "pipeline_id",
                "kind",
                "from_stage_id",
                "to_stage_id",
                "occurred_at",
                "amount",
                "currency",
                "probability",
                "expected_close_date",
                "actor_id",
            },
        ),
        (
            Product,
            "products",
            "Produkte",
            "Products",
            {
                "id",
                "sku",
                "name",
                "description",
                "unit",
                "unit_price",
                "vat_rate",
                "is_active",
                "created_at",
                "updated_at",
                "version",
            },
        ),
        (
            QuoteLine,
            "quote_lines",
            "Angebotspositionen",
            "Quote lines",
            {
                "id",
                "quote_id",
                "position",
                "product_id",
                "description",
                "quantity",
                "unit",
                "unit_price",
                "discount_percent",
                "vat_rate",
                "net_amount",
            },
        ),
        (
            SavedView,
            "saved_views",
            "Gespeicherte Ansichten",
            "Saved views",
            {"id", "user_id", "page", "name", "state", "is_default", "created_at", "updated_at", "version"},
        ),
    ),
)
