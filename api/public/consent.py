"""Public consent pages at /p/… for the person behind a link in an e-mail: double opt-in confirmation,
one-click unsubscribe (RFC 8058) and the preference centre.

The signed token in the path is the only authorisation: no login and no cookies, so there is nothing a
forged cross-site POST could ride on without the token itself. GET never changes anything (mail
gateways' link scanners fetch every link); each change is a POST from one button, and a mail client's
RFC 8058 POST (`List-Unsubscribe=One-Click`) works the same way. Pages are German, English with
`?lang=en` or when the browser prefers English; they need no JavaScript, and the one inline
stylesheet is allowed by its hash in a strict Content-Security-Policy.

The IP recorded as proof is `request.client.host`. Behind a reverse proxy, run uvicorn with
`--proxy-headers --forwarded-allow-ips=<proxy address>` so that it is the visitor's address; a
X-Forwarded-For header is never read here, since any client can send one.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from babel.dates import format_datetime
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from api.deps import ClockDep, Factory
from core.consent.doi import DoiLanding, LinkExpired, LinkUsed, confirm_doi, doi_landing
from core.consent.links import InvalidLink, preferences_url
from core.consent.preferences import (
    PreferenceView,
    preference_view,
    save_preferences,
    unsubscribe,
    unsubscribe_view,
)
from core.consent.vocabulary import CHANNELS, label
from core.email.render import paragraphs
from core.errors import DomainError, ValidationFailed
from core.settings import get_settings

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STYLESHEET = (TEMPLATES_DIR / "public.css").read_text(encoding="utf-8")
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLESHEET.encode("utf-8")).digest()).decode("ascii")
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}
LANGUAGES = {"de": "Deutsch", "en": "English"}
MAX_USER_AGENT = 500
MAX_FORM_BYTES = 16_384
MAX_FORM_FIELDS = 200

TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "language": "Sprache",
        "footer": "Diese Seite setzt keine Cookies und speichert zu Ihrer Auswahl nur den Zeitpunkt, "
        "Ihre IP-Adresse und Ihren Browser als Nachweis.",
        "purpose": "Zweck",
        "channel": "Kanal",
        "address": "Adresse",
        "valid_until": "Link gültig bis",
        "confirmed_at": "Bestätigt am",
        "version": "Textfassung, Version",
        "doi_title": "Einwilligung bestätigen",
        "doi_intro": "Bitte bestätigen Sie, dass Sie mit dieser Einwilligung einverstanden sind. "
        "Erst mit Ihrem Klick auf die Schaltfläche wird sie wirksam.",
        "doi_button": "Einwilligung bestätigen",
        "doi_ignore": "Wenn Sie das nicht angefordert haben, ignorieren Sie diese Seite einfach; "
        "ohne Bestätigung erhalten Sie nichts.",
        "confirmed_title": "Vielen Dank – Ihre Einwilligung ist bestätigt",
        "confirmed_intro": "Wir haben Ihre Bestätigung gespeichert. Dem haben Sie zugestimmt:",
        "withdraw_any_time": "Sie können Ihre Einwilligung jederzeit mit Wirkung für die Zukunft widerrufen.",
        "preferences_link": "Zum Präferenzcenter",
        "unsubscribe_title": "Abmelden",
        "unsubscribe_intro": "Mit einem Klick auf „Abmelden“ widerrufen Sie Ihre Einwilligung für diesen Zweck; "
        "Sie erhalten dazu dann keine Nachrichten mehr.",
        "already_unsubscribed": "Sie sind für diesen Zweck bereits abgemeldet.",
        "unsubscribe_button": "Abmelden",
        "unsubscribed_title": "Sie wurden abgemeldet",
        "unsubscribed_intro": "Ihr Widerruf ist gespeichert und gilt ab sofort.",
        "other_purposes": "Ihre übrigen Einstellungen sehen und ändern Sie im Präferenzcenter.",
        "preferences_title": "Ihre Kommunikationseinstellungen",
        "hello": "Hallo",
        "preferences_intro": "hier legen Sie fest, worüber und auf welchem Weg wir Sie informieren dürfen. "
        "Ein Häkchen erteilt die Einwilligung, ohne Häkchen ist sie widerrufen.",
        "preferences_caption": "Zweck und Kanal",
        "not_offered": "nicht angeboten",
        "save_button": "Speichern",
        "unsubscribe_all_button": "Von allem abmelden",
        "preferences_hint": "Änderungen gelten sofort nach dem Speichern. Ausgegraute Felder sind für Sie "
        "derzeit nicht wählbar; der Hinweis im Feld oder über der Spalte nennt den Grund.",
        "saved": "Ihre Einstellungen wurden gespeichert.",
        "saved_all": "Sie wurden von allen Zwecken und Kanälen abgemeldet.",
        "next_step": "Was Sie jetzt tun können",
        "invalid_title": "Link ungültig",
        "invalid_detail": "Dieser Link ist ungültig oder unvollständig.",
        "invalid_next": "Bitte öffnen Sie den Link direkt aus der E-Mail oder kopieren Sie ihn vollständig "
        "in die Adresszeile Ihres Browsers.",
        "expired_title": "Link abgelaufen",
        "expired_detail": "Dieser Bestätigungslink ist abgelaufen.",
        "expired_since": "Dieser Bestätigungslink war bis {when} gültig und ist abgelaufen.",
        "expired_next": "Bitte fordern Sie eine neue Bestätigungs-E-Mail an, zum Beispiel über das Formular, "
        "in dem Sie sich angemeldet haben, oder bei Ihrem Ansprechpartner.",
        "used_title": "Link nicht mehr gültig",
        "used_detail": "Dieser Link wurde bereits verwendet oder durch eine neuere E-Mail ersetzt.",
        "used_next": "Nutzen Sie bitte den Link aus der neuesten E-Mail. Ihre Einstellungen können Sie jederzeit "
        "im Präferenzcenter prüfen, dessen Link in jeder unserer E-Mails steht.",
        "confirmed_already_title": "Bereits bestätigt",
        "confirmed_already": "Ihre Einwilligung wurde bereits am {when} bestätigt. Der Link gilt nur einmal.",
        "confirmed_already_next": "Sie müssen nichts weiter tun. Ihre Einstellungen können Sie jederzeit im "
        "Präferenzcenter ändern.",
        "withdrawn_title": "Anfrage beendet",
        "withdrawn_detail": "Diese Bestätigungsanfrage wurde zurückgezogen oder durch einen Widerruf beendet; "
        "der Link ist nicht mehr gültig.",
        "withdrawn_next": "Wenn Sie doch zustimmen möchten, fordern Sie bitte eine neue Bestätigungs-E-Mail an.",
        "error_title": "Das hat nicht geklappt",
        "error_detail": "Ihre Anfrage konnte nicht verarbeitet werden.",
        "error_next": "Bitte versuchen Sie es später erneut oder wenden Sie sich an Ihren Ansprechpartner.",
    },
    "en": {
        "language": "Language",
        "footer": "This page sets no cookies; with your choice it stores only the time, your IP address and "
        "your browser as proof.",
        "purpose": "Purpose",
        "channel": "Channel",
        "address": "Address",
        "valid_until": "Link valid until",
        "confirmed_at": "Confirmed on",
        "version": "Wording, version",
        "doi_title": "Confirm your consent",
        "doi_intro": "Please confirm that you agree to this consent. It only takes effect when you click the "
        "button.",
        "doi_button": "Confirm consent",
        "doi_ignore": "If you did not ask for this, simply ignore this page; without confirmation you will "
        "receive nothing.",
        "confirmed_title": "Thank you – your consent is confirmed",
        "confirmed_intro": "We have saved your confirmation. This is what you agreed to:",
        "withdraw_any_time": "You can withdraw your consent at any time with effect for the future.",
        "preferences_link": "Go to the preference centre",
        "unsubscribe_title": "Unsubscribe",
        "unsubscribe_intro": "Clicking “Unsubscribe” withdraws your consent for this purpose; you will then "
        "receive no more messages about it.",
        "already_unsubscribed": "You have already unsubscribed from this purpose.",
        "unsubscribe_button": "Unsubscribe",
        "unsubscribed_title": "You have been unsubscribed",
        "unsubscribed_intro": "Your withdrawal is saved and takes effect immediately.",
        "other_purposes": "You can see and change your other settings in the preference centre.",
        "preferences_title": "Your communication preferences",
        "hello": "Hello",
        "preferences_intro": "here you decide what we may inform you about and how. A tick gives consent, "
        "without a tick it is withdrawn.",
        "preferences_caption": "Purpose and channel",
        "not_offered": "not offered",
        "save_button": "Save",
        "unsubscribe_all_button": "Unsubscribe from everything",
        "preferences_hint": "Changes take effect as soon as you save. Greyed-out boxes cannot be chosen at the "
        "moment; the note in the box or above the column gives the reason.",
        "saved": "Your preferences have been saved.",
        "saved_all": "You have been unsubscribed from all purposes and channels.",
        "next_step": "What you can do now",
        "invalid_title": "Invalid link",
        "invalid_detail": "This link is invalid or incomplete.",
        "invalid_next": "Please open the link directly from the e-mail or copy all of it into your browser's "
        "address bar.",
        "expired_title": "Link expired",
        "expired_detail": "This confirmation link has expired.",
        "expired_since": "This confirmation link was valid until {when} and has expired.",
        "expired_next": "Please ask for a new confirmation e-mail, for example through the form you signed up "
        "with or from your contact person.",
        "used_title": "Link no longer valid",
        "used_detail": "This link has already been used or was replaced by a newer e-mail.",
        "used_next": "Please use the link in the most recent e-mail. You can check your settings at any time "
        "in the preference centre, linked in each of our e-mails.",
        "confirmed_already_title": "Already confirmed",
        "confirmed_already": "Your consent was already confirmed on {when}. The link works only once.",
        "confirmed_already_next": "There is nothing more to do. You can change your settings at any time in "
        "the preference centre.",
        "withdrawn_title": "Request closed",
        "withdrawn_detail": "This confirmation request was withdrawn or ended by a withdrawal of consent; the "
        "link is no longer valid.",
        "withdrawn_next": "If you do want to agree, please ask for a new confirmation e-mail.",
        "error_title": "That did not work",
        "error_detail": "Your request could not be processed.",
        "error_next": "Please try again later or contact your contact person.",
    },
}
# A refused link's kind, by the error the service raised.
REFUSALS: tuple[tuple[type[DomainError], str], ...] = (
    (InvalidLink, "invalid"),
    (LinkExpired, "expired"),
    (LinkUsed, "used"),
)

router = APIRouter(prefix="/p", include_in_schema=False)


@dataclass(frozen=True)
class ClientProof:
    """Who clicked, kept in the ledger entry as proof."""

    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class Column:
    channel: str
    label: str
    note: str | None  # the reason when no cell of the channel can be chosen, said once


@dataclass(frozen=True)
class Cell:
    channel: str
    channel_label: str
    purpose_key: str
    granted: bool
    available: bool
    note: str | None


@dataclass(frozen=True)
class Row:
    name: str
    description: str | None
    cells: tuple[Cell | None, ...]  # one per column; None: the purpose is not offered on that channel


@dataclass(frozen=True)
class PreferenceTable:
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]


def page_language(request: Request) -> str:
    """`?lang=de|en`, else the browser's preferred one of the two (Accept-Language), else German."""
    chosen = request.query_params.get("lang")
    if chosen in LANGUAGES:
        return chosen
    best, best_q = "de", 0.0
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, params = part.partition(";")
        primary = tag.strip().lower().split("-")[0]
        try:
            q = float(params.strip().removeprefix("q=")) if params.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best


def client_proof(request: Request) -> ClientProof:
    agent = request.headers.get("user-agent")
    return ClientProof(request.client.host if request.client else None, agent[:MAX_USER_AGENT] if agent else None)


async def form_body(request: Request) -> bytes:
    return await request.body()


Lang = Annotated[str, Depends(page_language)]
Proof = Annotated[ClientProof, Depends(client_proof)]
FormBody = Annotated[bytes, Depends(form_body)]


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["paragraphs"] = paragraphs
    return env


def sender_name() -> str:
    """The sender's display name from CRM_MAIL_FROM, else its domain ("firma.de")."""
    name, address = parseaddr(get_settings().mail_from)
    return name or address.rpartition("@")[2] or address


def format_when(value: dt.datetime, lang: str) -> str:
    """25. November 2026, 10:00 Uhr / 25 November 2026, 10:00, in the installation's time zone."""
    if lang == "en":
        return format_datetime(value, "d MMMM y, HH:mm", tzinfo=get_settings().timezone, locale="en_GB")
    return format_datetime(value, "d. MMMM y, HH:mm 'Uhr'", tzinfo=get_settings().timezone, locale="de_DE")


def preferences_link(contact_id: int, lang: str) -> str:
    url = preferences_url(contact_id)
    return f"{url}?lang=en" if lang == "en" else url


def render(request: Request, template: str, lang: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A page with the security headers; forms post back to the page's own URL in its language."""
    html = environment().get_template(template).render(
        lang=lang,
        t=TEXTS[lang],
        languages=LANGUAGES.items(),
        sender=sender_name(),
        stylesheet=Markup(STYLESHEET),
        action=f"{request.url.path}?lang={lang}",
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def refused(request: Request, lang: str, error: DomainError) -> HTMLResponse:
    """The page for a link the service refused: its status (400, 404, 409, 410), why, and what to do next.

    In German the service's own message names the case exactly; in English the kind's text."""
    kind = next((k for cls, k in REFUSALS if isinstance(error, cls)), "error")
    t = TEXTS[lang]
    detail = error.message if lang == "de" else t[f"{kind}_detail"]
    return render(
        request, "refused.html", lang, status=error.status, heading=t[f"{kind}_title"], detail=detail,
        next_step=t[f"{kind}_next"], preferences=None,
    )


def closed_request(request: Request, lang: str, landing: DoiLanding) -> HTMLResponse:
    """GET on a link whose request is no longer open: expired (410), confirmed or withdrawn (409)."""
    t = TEXTS[lang]
    if landing.state == "expired":
        status, heading, next_step = 410, t["expired_title"], t["expired_next"]
        detail, preferences = t["expired_since"].format(when=format_when(landing.expires_at, lang)), None
    elif landing.state == "confirmed" and landing.confirmed_at is not None:
        status, heading, next_step = 409, t["confirmed_already_title"], t["confirmed_already_next"]
        detail = t["confirmed_already"].format(when=format_when(landing.confirmed_at, lang))
        preferences = preferences_link(landing.contact_id, lang)
    else:
        status, heading, detail, next_step = 409, t["withdrawn_title"], t["withdrawn_detail"], t["withdrawn_next"]
        preferences = None
    return render(
        request, "refused.html", lang, status=status, heading=heading, detail=detail, next_step=next_step,
        preferences=preferences,
    )


@router.get("/doi/{token}", response_class=HTMLResponse)
def doi_page(token: str, request: Request, factory: Factory, clock: ClockDep, lang: Lang) -> HTMLResponse:
    """The landing page of the confirmation link: shows what is agreed to; confirms nothing."""
    try:
        landing = doi_landing(factory, token, clock=clock)
    except DomainError as exc:
        return refused(request, lang, exc)
    if landing.state != "open":
        return closed_request(request, lang, landing)
    return render(request, "doi_landing.html", lang, landing=landing, expires=format_when(landing.expires_at, lang))


@router.post("/doi/{token}", response_class=HTMLResponse)
def doi_confirm(
    token: str, request: Request, factory: Factory, clock: ClockDep, lang: Lang, proof: Proof
) -> HTMLResponse:
    """The button on the landing page: grants the consent with IP and browser as proof."""
    try:
        landing = confirm_doi(factory, token, ip=proof.ip, user_agent=proof.user_agent, clock=clock)
    except DomainError as exc:
        return refused(request, lang, exc)
    assert landing.confirmed_at is not None
    return render(
        request, "doi_confirmed.html", lang, landing=landing, confirmed=format_when(landing.confirmed_at, lang),
        preferences=preferences_link(landing.contact_id, lang),
    )


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(token: str, request: Request, factory: Factory, lang: Lang) -> HTMLResponse:
    """The unsubscribe link: purpose and one button; opening it withdraws nothing."""
    try:
        view = unsubscribe_view(factory, token, lang=lang)
    except DomainError as exc:
        return refused(request, lang, exc)
    return render(
        request, "unsubscribe.html", lang, view=view, channel=label(CHANNELS, view.channel, lang),
        preferences=preferences_link(view.contact_id, lang),
    )


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_now(
    token: str, request: Request, factory: Factory, clock: ClockDep, lang: Lang, proof: Proof
) -> HTMLResponse:
    """Withdraws at once: the page's button, or a mail client's RFC 8058 one-click POST (whose body,
    `List-Unsubscribe=One-Click`, needs no checking: the token alone says what to withdraw). Repeating
    it shows the same success."""
    try:
        view = unsubscribe(factory, token, ip=proof.ip, user_agent=proof.user_agent, lang=lang, clock=clock)
    except DomainError as exc:
        return refused(request, lang, exc)
    return render(
        request, "unsubscribed.html", lang, view=view, channel=label(CHANNELS, view.channel, lang),
        preferences=preferences_link(view.contact_id, lang),
    )


def preference_table(view: PreferenceView, lang: str) -> PreferenceTable:
    """The cells as purposes × channels; a note shared by a whole channel is said once in its header."""
    channels = [channel for channel in CHANNELS if any(c.channel == channel for c in view.cells)]
    columns = []
    for channel in channels:
        notes = {c.note for c in view.cells if c.channel == channel}
        blocked = all(not c.available for c in view.cells if c.channel == channel)
        shared = next(iter(notes)) if blocked and len(notes) == 1 else None
        columns.append(Column(channel, label(CHANNELS, channel, lang), shared))
    rows: dict[str, Row] = {}
    by_cell = {(c.purpose_key, c.channel): c for c in view.cells}
    for c in view.cells:
        if c.purpose_key in rows:
            continue
        cells = []
        for column in columns:
            found = by_cell.get((c.purpose_key, column.channel))
            cells.append(
                None
                if found is None
                else Cell(
                    found.channel, column.label, found.purpose_key, found.granted, found.available,
                    None if column.note else found.note,
                )
            )
        rows[c.purpose_key] = Row(c.purpose_name, c.purpose_description, tuple(cells))
    return PreferenceTable(tuple(columns), tuple(rows.values()))


def wanted_cells(body: bytes) -> tuple[str, set[tuple[str, str]]]:
    """The preference form: which button ("save" or "all") and the ticked (channel, purpose key) cells."""
    if len(body) > MAX_FORM_BYTES:
        raise ValidationFailed({"cell": "Die Formulardaten sind zu groß."})
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed({"cell": "Die Formulardaten sind ungültig."}) from None
    action = fields.get("action", ["save"])[-1]
    if action not in ("save", "all"):
        raise ValidationFailed({"action": "Unbekannte Aktion; bitte das Formular erneut absenden."})
    if action == "all":
        return action, set()
    wanted = set()
    for value in fields.get("cell", []):
        channel, separator, purpose_key = value.partition(":")
        if not separator or channel not in CHANNELS or not purpose_key:
            raise ValidationFailed({"cell": f"Ungültige Auswahl „{value}“; bitte die Seite neu laden."})
        wanted.add((channel, purpose_key))
    return action, wanted


@router.get("/preferences/{token}", response_class=HTMLResponse)
def preferences_page(token: str, request: Request, factory: Factory, clock: ClockDep, lang: Lang) -> HTMLResponse:
    """The preference centre: every purpose × channel the person can give or withdraw."""
    try:
        view = preference_view(factory, token, lang=lang, clock=clock)
    except DomainError as exc:
        return refused(request, lang, exc)
    return render(request, "preferences.html", lang, view=view, table=preference_table(view, lang), saved=None)


@router.post("/preferences/{token}", response_class=HTMLResponse)
def preferences_save(
    token: str, request: Request, factory: Factory, clock: ClockDep, lang: Lang, proof: Proof, body: FormBody
) -> HTMLResponse:
    """"Speichern" makes the consents match the ticks; "Von allem abmelden" withdraws every one."""
    try:
        action, wanted = wanted_cells(body)
        view = save_preferences(
            factory, token, wanted, lang=lang, ip=proof.ip, user_agent=proof.user_agent, clock=clock
        )
    except DomainError as exc:
        return refused(request, lang, exc)
    saved = TEXTS[lang]["saved_all" if action == "all" else "saved"]
    return render(request, "preferences.html", lang, view=view, table=preference_table(view, lang), saved=saved)
