"""GDPR's plug-ins: permissions and event names."""

from __future__ import annotations

from core.events import register_event
from core.permissions import Role, Scope, register_permission

_A = Scope.ALL

register_permission("gdpr.read", "Betroffenenanfragen ansehen", {Role.ADMIN: _A, Role.COMPLIANCE: _A})
register_permission(
    "gdpr.manage",
    "Betroffenenanfragen bearbeiten, Auskunft erteilen, Daten löschen",
    {Role.ADMIN: _A, Role.COMPLIANCE: _A},
)

for _verb, _label in (
    ("request_received", "Betroffenenanfrage eingegangen"),
    ("identity_verified", "Identität geprüft"),
    ("extended", "Frist verlängert"),
    ("completed", "Anfrage abgeschlossen"),
    ("rejected", "Anfrage abgelehnt"),
    ("exported", "Auskunft erstellt"),
    ("erased", "Daten gelöscht"),
    ("restricted", "Verarbeitung eingeschränkt"),
    ("objected", "Werbewiderspruch umgesetzt"),
):
    register_event(f"crm.gdpr.{_verb}", _label)
