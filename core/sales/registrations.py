"""What the sales module adds to the suite's registries: permissions, event names, merge re-links."""

from __future__ import annotations

from core.events import register_event
from core.merge import register_relink
from core.permissions import Role, Scope, register_permission
from db.models import Opportunity, OpportunityContact, Quote, SalesOrder

_A, _O = Scope.ALL, Scope.OWN

register_permission("opportunities.read", "Verkaufschancen ansehen", {role: _A for role in Role})
register_permission(
    "opportunities.write",
    "Verkaufschancen anlegen, bearbeiten und verschieben",
    {Role.ADMIN: _A, Role.SALES_MANAGER: _A, Role.SALES_REP: _O},
)
register_permission("opportunities.delete", "Verkaufschancen löschen", {Role.ADMIN: _A, Role.SALES_MANAGER: _A})
register_permission("sales.configure", "Pipelines, Gründe und Produkte einrichten", {Role.ADMIN: _A})

for _verb, _label in (
    ("created", "angelegt"),
    ("updated", "geändert"),
    ("stage_changed", "Phase gewechselt"),
    ("won", "gewonnen"),
    ("lost", "verloren"),
    ("reopened", "wiedereröffnet"),
    ("deleted", "gelöscht"),
):
    register_event(f"crm.opportunity.{_verb}", f"Verkaufschance {_label}")
register_event("crm.opportunity_contact.created", "Kontaktrolle an Verkaufschance vergeben")
register_event("crm.opportunity_contact.updated", "Kontaktrolle an Verkaufschance geändert")
register_event("crm.opportunity_contact.deleted", "Kontaktrolle von Verkaufschance entfernt")
register_event("crm.pipeline_stage.updated", "Pipeline-Phase geändert")
register_event("crm.deal_reason.created", "Gewinn-/Verlustgrund angelegt")
register_event("crm.deal_reason.updated", "Gewinn-/Verlustgrund geändert")

register_relink("account", Opportunity, "account_id", audit_entity="opportunity")
register_relink("contact", OpportunityContact, "contact_id", audit_entity="opportunity_contact")
register_relink("account", Quote, "account_id", audit_entity="quote")
register_relink("contact", Quote, "contact_id", audit_entity="quote")
register_relink("account", SalesOrder, "account_id", audit_entity="sales_order")
register_relink("contact", SalesOrder, "contact_id", audit_entity="sales_order")

# Quotes, orders and the product catalogue (core/sales/quotes.py, orders.py, products.py)
for _verb, _label in (
    ("created", "angelegt"),
    ("updated", "geändert"),
    ("sent", "versendet"),
    ("accepted", "angenommen"),
    ("declined", "abgelehnt"),
    ("deleted", "gelöscht"),
):
    register_event(f"crm.quote.{_verb}", f"Angebot {_label}")
register_event("crm.order.placed", "Auftrag aufgegeben")
register_event("crm.order.cancelled", "Auftrag storniert")
register_event("crm.product.created", "Produkt angelegt")
register_event("crm.product.updated", "Produkt geändert")
