"""The fixed words of consent: channels, statuses, legal bases, sources, ledger actions, gate reasons.

Keys are stored; labels are German and English (pages, CLI, e-mails and the preference centre use them).
"""

from __future__ import annotations

from typing import Final

Labels = dict[str, tuple[str, str]]

CHANNELS: Final[Labels] = {
    "email": ("E-Mail", "E-mail"),
    "sms": ("SMS", "Text message"),
    "phone": ("Telefon", "Phone"),
    "post": ("Post", "Post"),
}

STATUSES: Final[Labels] = {
    "granted": ("erteilt", "granted"),
    "revoked": ("widerrufen", "withdrawn"),
    "pending": ("ausstehend (DOI)", "pending (double opt-in)"),
    "expired": ("abgelaufen", "expired"),
}

LEGAL_BASES: Final[Labels] = {
    "consent": ("Einwilligung, Art. 6 Abs. 1 lit. a DSGVO", "Consent, Art. 6(1)(a) GDPR"),
    "legitimate_interest": ("Berechtigtes Interesse, Art. 6 Abs. 1 lit. f DSGVO", "Legitimate interest, Art. 6(1)(f) GDPR"),
    "existing_customer": ("Bestandskunde, § 7 Abs. 3 UWG", "Existing customer, § 7(3) UWG"),
}

SOURCES: Final[Labels] = {
    "webform": ("Webformular", "Web form"),
    "import": ("Import", "Import"),
    "phone": ("Telefon", "Phone"),
    "event": ("Veranstaltung", "Event"),
    "sales": ("Vertrieb", "Sales"),
    "api": ("REST-API", "REST API"),
    "preference_centre": ("Präferenzcenter", "Preference centre"),
    "unsubscribe": ("Abmeldelink", "Unsubscribe link"),
    "merge": ("Zusammenführung", "Merge"),
    "system": ("System", "System"),
}

# action → resulting status
ACTIONS: Final[dict[str, str]] = {
    "requested": "pending",
    "confirmed": "granted",
    "granted": "granted",
    "revoked": "revoked",
    "expired": "expired",
}
ACTION_LABELS: Final[Labels] = {
    "requested": ("DOI angefordert", "Double opt-in requested"),
    "confirmed": ("DOI bestätigt", "Double opt-in confirmed"),
    "granted": ("erteilt", "granted"),
    "revoked": ("widerrufen", "withdrawn"),
    "expired": ("abgelaufen", "expired"),
}

GATE_REASONS: Final[Labels] = {
    "allowed": ("erlaubt: gültige Einwilligung bzw. Rechtsgrundlage", "allowed: valid consent or legal basis"),
    "unknown_contact": ("Kontakt nicht vorhanden (gelöscht oder nie angelegt)", "contact does not exist"),
    "no_address": ("keine Adresse für diesen Kanal hinterlegt", "no address for this channel"),
    "suppressed": ("Adresse steht auf der Sperrliste", "address is on the suppression list"),
    "restricted": ("Verarbeitung eingeschränkt (Art. 18 DSGVO)", "processing restricted (Art. 18 GDPR)"),
    "objected": ("Widerspruch gegen Direktwerbung (Art. 21 DSGVO)", "objection to direct marketing (Art. 21 GDPR)"),
    "missing": ("keine Einwilligung erfasst", "no consent recorded"),
    "revoked": ("Einwilligung widerrufen", "consent withdrawn"),
    "pending": ("Double-Opt-in noch nicht bestätigt", "double opt-in not confirmed yet"),
    "expired": ("Einwilligung abgelaufen", "consent expired"),
    "inactive_purpose": ("Zweck ist deaktiviert", "purpose is inactive"),
}

SUPPRESSION_REASONS: Final[Labels] = {
    "erased": ("Person gelöscht (Art. 17 DSGVO)", "person erased (Art. 17 GDPR)"),
    "manual": ("manuell gesperrt", "blocked manually"),
    "bounce": ("dauerhaft unzustellbar", "hard bounce"),
    "complaint": ("Beschwerde / Spam-Meldung", "complaint / spam report"),
    "unsubscribed_all": ("von allem abgemeldet", "unsubscribed from everything"),
    "objection": ("Werbewiderspruch (Art. 21 DSGVO)", "objection to direct marketing (Art. 21 GDPR)"),
}

RESTRICTION_KINDS: Final[Labels] = {
    "restriction": ("Einschränkung der Verarbeitung (Art. 18)", "Restriction of processing (Art. 18)"),
    "objection": ("Widerspruch gegen Direktwerbung (Art. 21)", "Objection to direct marketing (Art. 21)"),
}


def label(labels: Labels, key: str | None, lang: str = "de") -> str:
    """The label of `key` in `lang` ("de" or "en"); the key itself when unknown."""
    if key is None:
        return "–"
    pair = labels.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]
