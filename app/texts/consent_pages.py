"""Menu titles of the consent and e-mail pages (their own texts live in consent.py and mail.py)."""

from __future__ import annotations

DE: dict[str, str] = {
    "page.consent_management": "Einwilligungen",
    "page.consent_history": "Einwilligungsverlauf",
    "page.consent_overview": "Compliance-Übersicht",
    "page.consent_texts": "Einwilligungstexte",
    "page.admin_postausgang": "Postausgang",
}

EN: dict[str, str] = {
    "page.consent_management": "Consents",
    "page.consent_history": "Consent history",
    "page.consent_overview": "Compliance overview",
    "page.consent_texts": "Consent texts",
    "page.admin_postausgang": "Outbox",
}
