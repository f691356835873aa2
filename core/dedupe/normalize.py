"""Canonical forms for comparing names, companies, addresses, phone numbers and e-mail addresses.

`fold` is the base of all text comparisons: lower case, single spaces, umlauts and ß written out
(ä → ae, ß → ss) and other letters transliterated to ASCII (é → e, ł → l). `name_key` goes one
step further so that Müller, Mueller and Muller compare equal.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ẞ": "ss"})
_NOT_DECOMPOSABLE = str.maketrans({"ł": "l", "ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ı": "i", "þ": "th"})
_SPACES = re.compile(r"\s+")
_WRITTEN_OUT_UMLAUT = re.compile(r"(?<=[a-z])(?:ae|oe|ue)|^(?:ae|oe|ue)")

# Legal forms as folded tokens (punctuation removed): stripped from the end of a company name.
LEGAL_FORM_TOKENS = frozenset(
    {
        "gmbh",
        "mbh",
        "ag",
        "kg",
        "kgaa",
        "ohg",
        "ug",
        "haftungsbeschraenkt",
        "ek",
        "ekfr",
        "ekfm",
        "gbr",
        "se",
        "ev",
        "eg",
        "co",
        "cokg",
        "partg",
        "partgmbb",
        "gesmbh",
        "inc",
        "ltd",
        "limited",
        "llc",
        "plc",
        "sarl",
        "sa",
        "bv",
        "nv",
        "ab",
        "spa",
        "srl",
        "einzelunternehmen",
    }
)
_CONNECTORS = frozenset({"und", "u", "&", "+"})
_STREET_SUFFIXES = ((re.compile(r"(str|strasse)\b\.?"), "strasse"), (re.compile(r"pl\b\.?"), "platz"))
_HOUSE_NUMBER = re.compile(r"^(?P<street>.*?)[\s,]*(?P<number>\d+\s*[a-z]?(?:\s*[-/]\s*\d+\s*[a-z]?)?)\s*$")
MIN_PHONE_DIGITS = 6
_FREE_MAIL = frozenset(
    {
        "gmx.de",
        "gmx.net",
        "web.de",
        "t-online.de",
        "gmail.com",
        "googlemail.com",
        "posteo.de",
        "yahoo.de",
        "yahoo.com",
        "outlook.com",
        "outlook.de",
        "hotmail.com",
        "hotmail.de",
        "icloud.com",
        "freenet.de",
        "aol.com",
    }
)


@lru_cache(maxsize=500_000)
def fold(text: str | None) -> str:
    """Lower case, single spaces, umlauts written out, everything else transliterated to ASCII."""
    if not text:
        return ""
    lowered = text.lower().translate(_UMLAUTS).translate(_NOT_DECOMPOSABLE)
    ascii_text = unicodedata.normalize("NFKD", lowered).encode("ascii", "ignore").decode("ascii")
    return _SPACES.sub(" ", ascii_text).strip()


@lru_cache(maxsize=500_000)
def name_key(text: str | None) -> str:
    """Folded letters only, with written-out umlauts contracted: Müller, Mueller, Muller → "muller"."""
    folded = re.sub(r"[^a-z ]", " ", fold(text))
    words = (_WRITTEN_OUT_UMLAUT.sub(lambda m: m.group(0)[0], word) for word in folded.split())
    return " ".join(words)


def company_tokens(name: str | None) -> list[str]:
    """Folded words of a company name without its legal form: "Müller GmbH & Co. KG" → ["mueller"]."""
    folded = fold(name).replace(".", "").replace(",", " ").replace("&", " & ").replace("+", " + ")
    tokens = [t for t in re.split(r"[\s()/\-]+", folded) if t]
    while tokens and (tokens[-1] in LEGAL_FORM_TOKENS or tokens[-1] in _CONNECTORS):
        tokens.pop()
    return ["und" if t in _CONNECTORS else t for t in tokens]


def company_name(name: str | None) -> str:
    """The comparable company name: folded, legal form stripped."""
    return " ".join(company_tokens(name))


def street_and_number(street: str | None) -> tuple[str, str]:
    """Normalised street name and house number: "Hauptstr. 12 - 14" → ("hauptstrasse", "12-14")."""
    folded = fold(street)
    match = _HOUSE_NUMBER.match(folded)
    name, number = (match.group("street"), match.group("number")) if match else (folded, "")
    for pattern, replacement in _STREET_SUFFIXES:
        name = pattern.sub(replacement, name)
    return name.strip(" ,."), re.sub(r"\s+", "", number)


_PHONE_SEPARATORS = str.maketrans("", "", " /-.")
_DE_INTERNATIONAL = re.compile(r"\+49[1-9]\d{6,11}")
_DE_NATIONAL = re.compile(r"0[1-9]\d{6,11}")


@lru_cache(maxsize=100_000)
def phone_e164(raw: str | None, country: str | None = "DE") -> str | None:
    """E.164 ("+4930123456") or None when the text is no possible phone number.

    Plainly written German numbers (+49 221 741281, 0221/741281) take a fast path that gives
    the same result as phonenumbers (tests compare both); imports normalise 100,000s of them.
    """
    if not raw or not raw.strip():
        return None
    compact = raw.translate(_PHONE_SEPARATORS)
    if _DE_INTERNATIONAL.fullmatch(compact):
        return compact
    if (country or "DE").upper() == "DE" and _DE_NATIONAL.fullmatch(compact):
        return "+49" + compact[1:]
    try:
        number = phonenumbers.parse(raw, (country or "DE").upper())
    except phonenumbers.NumberParseException:
        return None
    if len(str(number.national_number)) < MIN_PHONE_DIGITS or not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def canonical_email(raw: str | None) -> str | None:
    """Lower case, no "+tag"; Gmail without dots in the local part. None when it is no address."""
    if not raw or "@" not in raw:
        return None
    local, domain = raw.strip().lower().rsplit("@", 1)
    local = local.split("+", 1)[0]
    if domain == "googlemail.com":
        domain = "gmail.com"
    if domain == "gmail.com":
        local = local.replace(".", "")
    return f"{local}@{domain}" if local and domain else None


def email_domain(email: str | None) -> str | None:
    """The domain of a company address (free-mail domains say nothing about the company)."""
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].lower()
    return None if domain in _FREE_MAIL else domain


def website_domain(url: str | None) -> str | None:
    """ "https://www.mueller-bau.de/kontakt" → "mueller-bau.de"."""
    if not url:
        return None
    host = re.sub(r"^[a-z]+://", "", url.strip().lower()).split("/", 1)[0]
    return host.removeprefix("www.") or None
