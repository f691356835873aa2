"""The words of the GDPR workflow: request types, states, channels, data categories, erasure actions."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestType:
    key: str
    article: str
    label_de: str
    label_en: str


REQUEST_TYPES: dict[str, RequestType] = {
    t.key: t
    for t in (
        RequestType("access", "Art. 15", "Auskunft", "Access"),
        RequestType("rectification", "Art. 16", "Berichtigung", "Rectification"),
        RequestType("erasure", "Art. 17", "Löschung", "Erasure"),
        RequestType("restriction", "Art. 18", "Einschränkung", "Restriction"),
        RequestType("portability", "Art. 20", "Datenübertragbarkeit", "Portability"),
        RequestType("objection", "Art. 21", "Widerspruch", "Objection"),
    )
}

# Workflow: eingegangen → Identität prüfen → in Bearbeitung → abgeschlossen | abgelehnt.
STATUSES: dict[str, tuple[str, str]] = {
    "received": ("Eingegangen", "Received"),
    "identity_check": ("Identität prüfen", "Identity check"),
    "in_progress": ("In Bearbeitung", "In progress"),
    "completed": ("Abgeschlossen", "Completed"),
    "rejected": ("Abgelehnt", "Rejected"),
}
OPEN_STATUSES = ("received", "identity_check", "in_progress")
CLOSED_STATUSES = ("completed", "rejected")

CHANNELS: dict[str, tuple[str, str]] = {
    "email": ("E-Mail", "E-mail"),
    "letter": ("Brief", "Letter"),
    "phone": ("Telefon", "Phone"),
    "web_form": ("Webformular", "Web form"),
    "in_person": ("Persönlich", "In person"),
}

# How identity was checked (Art. 12(6): extra data only when there is reasonable doubt).
IDENTITY_METHODS: dict[str, tuple[str, str]] = {
    "known_address": ("Anfrage von der hinterlegten E-Mail-Adresse", "Request from the address on file"),
    "callback": ("Rückruf unter der hinterlegten Nummer", "Call back on the number on file"),
    "confirmation_link": ("Bestätigungslink an die hinterlegte Adresse", "Confirmation link to the address on file"),
    "id_document": ("Ausweisdokument (nur bei begründeten Zweifeln)", "ID document (only on reasonable doubt)"),
    "in_person": ("Persönlich vorgesprochen", "In person"),
}
IDENTITY_RESULTS: dict[str, tuple[str, str]] = {
    "confirmed": ("Bestätigt", "Confirmed"),
    "doubtful": ("Zweifel – weitere Angaben angefordert", "Doubtful – more information requested"),
    "failed": ("Nicht bestätigt", "Not confirmed"),
}

# Categories of personal data (Art. 15(1)(b)); every column marked `personal(...)` names one of these.
CATEGORIES: dict[str, tuple[str, str]] = {
    "identity": ("Identitätsdaten (Name, Anrede, Titel, Geburtsdatum)", "Identity data"),
    "contact_data": ("Kontaktdaten (E-Mail, Telefon, Anschrift)", "Contact data"),
    "professional": ("Berufliche Angaben (Position)", "Professional data"),
    "business_contact": ("Firmendaten von Einzelunternehmen (Name, Anschrift, Telefon)", "Sole-trader business data"),
    "online_identifier": ("Online-Kennungen (IP-Adresse, Browserkennung)", "Online identifiers"),
    "consent_proof": ("Einwilligungsnachweise", "Consent evidence"),
    "communication": ("Kommunikationsinhalte (E-Mails)", "Communication content"),
    "free_text": ("Freitext-Notizen der Mitarbeitenden", "Staff notes"),
    "record_copy": ("Protokoll- und Ereigniskopien der Daten", "Log and event copies"),
    "derived_key": ("Abgeleitete Suchschlüssel (Dublettenprüfung)", "Derived matching keys"),
    "pseudonym": ("Pseudonyme (verschlüsselte Prüfsummen, Schlüssel)", "Pseudonyms (keyed hashes, keys)"),
    "request_details": ("Angaben zu Betroffenenanfragen", "Data-subject request details"),
    "employee": ("Beschäftigtendaten (Benutzerkonten)", "Employee data (user accounts)"),
}

# What erasure (Art. 17) does with a data set's rows about the person.
ERASURE_ACTIONS: dict[str, tuple[str, str]] = {
    "delete": ("Löschen", "Delete"),
    "anonymise": ("Anonymisieren (Personenbezug entfernen, Geschäftszahlen bleiben)", "Anonymise"),
    "retain": ("Aufbewahren (gesetzliche Pflicht), Personenbezug entfernt, Freigabedatum", "Retain"),
    "shred": ("Krypto-Löschung (Schlüssel vernichtet, Kette bleibt prüfbar)", "Crypto-shred"),
    "scrub": ("Personenbezogene Felder in Kopien schwärzen", "Redact copies"),
    "keep": ("Bleibt (Nachweis der Anfrage, verschlüsselt)", "Kept (request proof, encrypted)"),
    "employee": ("Beschäftigtendaten: eigener Löschprozess beim Ausscheiden", "Employee data: own deletion process"),
    "blocklist": (
        "Sperrliste: nur die verschlüsselte Prüfsumme bleibt, damit nie wieder Werbung kommt",
        "Blocklist (keyed hash only)",
    ),
    "none": ("Keine Daten über Betroffene", "No data about data subjects"),
}

SOLE_TRADER_FORMS = ("Einzelunternehmen", "e.K.", "e. K.", "Freiberufler")

REDACTED = "[gelöscht]"


def label(mapping: dict[str, tuple[str, str]], key: str | None, language: str = "de") -> str:
    if key is None:
        return ""
    pair = mapping.get(key)
    if pair is None:
        return key
    return pair[0] if language == "de" else pair[1]


def type_label(key: str, language: str = "de") -> str:
    t = REQUEST_TYPES[key]
    return f"{t.label_de if language == 'de' else t.label_en} ({t.article})"
