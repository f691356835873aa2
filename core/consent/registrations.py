"""Consent's plug-ins: permissions, event names, merge re-links."""

from __future__ import annotations

from core.events import register_event
from core.merge import register_relink
from core.permissions import Role, Scope, register_permission
from db.models import DoiRequest, EmailMessage, ProcessingRestriction

_A = Scope.ALL

register_permission("consent.read", "Einwilligungen ansehen", {role: _A for role in Role})
register_permission(
    "consent.write",
    "Einwilligungen erfassen und widerrufen, Double-Opt-in anfordern",
    {role: _A for role in (Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP, Role.MARKETING, Role.COMPLIANCE)},
)
register_permission(
    "consent.configure",
    "Zwecke, Einwilligungstexte, Sperrliste und Einschränkungen verwalten",
    {Role.ADMIN: _A, Role.COMPLIANCE: _A},
)
register_permission("mail.read", "Postausgang einsehen", {Role.ADMIN: _A, Role.COMPLIANCE: _A})
register_permission("mail.manage", "Postausgang verwalten (erneut senden)", {Role.ADMIN: _A})

for _verb, _label in (
    ("doi_requested", "Double-Opt-in angefordert"),
    ("doi_confirmed", "Double-Opt-in bestätigt"),
    ("granted", "Einwilligung erteilt"),
    ("revoked", "Einwilligung widerrufen"),
    ("expired", "Double-Opt-in abgelaufen"),
):
    register_event(f"crm.consent.{_verb}", _label)

register_relink("contact", DoiRequest, "contact_id")
register_relink("contact", EmailMessage, "contact_id")
register_relink("contact", ProcessingRestriction, "contact_id")
