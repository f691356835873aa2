"""The words around a rule tree's conditions, in German and English (the UI's two languages).

`service.describe_condition` / `describe_rules` / `why_member` and `insights.outline_rules` take `lang` ("de" or
"en"); the condition's own field and operator names come from the catalogue (`label_de` / `label_en`).
"""

from __future__ import annotations

from typing import Final

Lang = str

PHRASES: Final[dict[str, dict[str, str]]] = {
    "de": {
        "in_segment": "{op} im Segment {value}",
        "between": "{op} {low} und {high}",
        "anniversary_today": "Jahrestag heute",
        "in_last": " in den letzten {period}",
        "and": "und",
        "or": "oder",
        "not": "nicht ({inner})",
        "contacts_where": "Kontakte, für die gilt: {rule}",
        "all_contacts": "Alle Kontakte",
        "no_contacts": "Keine Kontakte",
        "always": "(immer erfüllt)",
        "never": "(nie erfüllt)",
        "not_met": "{sentence} – trifft nicht zu.",
        "added_by_hand": "Von Hand oder per Datei aufgenommen am {date}.",
        "negated_line": "Nicht: {text}",
        "quote": "„{}“",
    },
    "en": {
        "in_segment": "{op} of segment {value}",
        "between": "{op} {low} and {high}",
        "anniversary_today": "anniversary today",
        "in_last": " in the last {period}",
        "and": "and",
        "or": "or",
        "not": "not ({inner})",
        "contacts_where": "Contacts for whom: {rule}",
        "all_contacts": "All contacts",
        "no_contacts": "No contacts",
        "always": "(always met)",
        "never": "(never met)",
        "not_met": "{sentence} – not met.",
        "added_by_hand": "Added by hand or from a file on {date}.",
        "negated_line": "Not: {text}",
        "quote": "“{}”",
    },
}

# (singular, plural) per unit
UNITS: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "de": {"days": ("Tag", "Tagen"), "months": ("Monat", "Monaten")},
    "en": {"days": ("day", "days"), "months": ("month", "months")},
}

# The heading of a group in the outline, by (operator, negated)
GROUP_HEADINGS: Final[dict[str, dict[tuple[str, bool], str]]] = {
    "de": {
        ("and", False): "Alle folgenden Bedingungen treffen zu:",
        ("or", False): "Mindestens eine der folgenden Bedingungen trifft zu:",
        ("and", True): "Ausgeschlossen, wenn alle folgenden Bedingungen zutreffen:",
        ("or", True): "Keine der folgenden Bedingungen trifft zu:",
    },
    "en": {
        ("and", False): "All of the following conditions are met:",
        ("or", False): "At least one of the following conditions is met:",
        ("and", True): "Excluded when all of the following conditions are met:",
        ("or", True): "None of the following conditions is met:",
    },
}
# An empty AND group matches every contact, an empty OR group none; NOT swaps them.
EMPTY_GROUP: Final[dict[str, dict[tuple[str, bool], str]]] = {
    "de": {
        ("and", False): "Alle Kontakte (keine Bedingung)",
        ("or", False): "Kein Kontakt (leere Oder-Gruppe)",
        ("and", True): "Kein Kontakt (verneinte leere Gruppe)",
        ("or", True): "Alle Kontakte (verneinte leere Oder-Gruppe)",
    },
    "en": {
        ("and", False): "All contacts (no condition)",
        ("or", False): "No contact (empty OR group)",
        ("and", True): "No contact (negated empty group)",
        ("or", True): "All contacts (negated empty OR group)",
    },
}


def language(lang: Lang) -> str:
    """The wording's language for `lang`: German for anything but English."""
    return "en" if lang == "en" else "de"


def phrases(lang: Lang) -> dict[str, str]:
    return PHRASES[language(lang)]
