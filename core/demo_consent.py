"""Demo consent data: two years of consent history for the demo contacts, written as the services would.

Bulk step after the sales data (existing-customer consents name a demo order). About 60 % of the run's
contacts get 1–3 ledger entries, drawn as small stories per channel × purpose:

- e-mail double opt-in (newsletter, Produktinformationen, …) from the web form, events, sales or an
  import: requested → confirmed within minutes to hours; some still pending (requested in the last
  36 hours), some expired unconfirmed (the expiry job's `expired` entry), some confirmed and later
  withdrawn through the unsubscribe link, the preference centre or by phone; a few newsletter readers
  also allow open/click tracking in the preference centre;
- phone consents given in a call, with the call as evidence ("Telefonat … Gesprächsnotiz"), some withdrawn;
- post on legitimate interest (Art. 6(1)(f)), a few objected to by reply card;
- existing customers (§ 7(3) UWG) for contacts of companies with orders, each naming its order;
- event consents valid for a year (`valid_until`): some expired already, a few expire in the next 30 days.

Each entry is what `core.consent.ledger.append` would write: consecutive ids in time order, chained
with `ledger.chain_hash` over `ledger.payload`, the personal proof (address, IP, user agent, evidence,
reason) encrypted with the person's own key. Keys are created only for people whose entries carry such
proof (the expiry job's entries carry none), in bulk like everything else. Each double opt-in has its
`doi_requests` row. A few addresses go on the suppression list (keyed hashes, one of an erased
person). The history step then records one restriction (Art. 18) and one objection (Art. 21) through
`core.consent.restrictions`, acting as the data protection officer.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core import demo, ledger
from core.consent.doi import PUBLIC_ACTOR, ttl_hours
from core.consent.gate import reachable
from core.consent.ledger import CHAIN, payload
from core.consent.restrictions import add_restriction
from core.consent.service import contact_address
from core.consent.texts import current_text
from core.consent.vocabulary import ACTIONS
from core.demo import (
    DEMO_USERS,
    MANAGER,
    MARKETING,
    REPS_BY_REGION,
    BulkImport,
    DemoReport,
    DemoRun,
    Phase,
    batched,
    register_demo_step,
)
from core.demo_sales import Weighted
from core.digests import email_digest, phone_digest
from core.formatting import DISPLAY_TZ
from core.imports.bulk import insert_columns, insert_rows, larger_page_cache, reserve_ids
from core.permissions import SYSTEM, Actor, Role
from core.subject_keys import CIPHER_PREFIX
from core.uow import Clock, utc_now
from db.models import (
    ConsentEntry,
    ConsentPurpose,
    Contact,
    DoiRequest,
    LedgerHead,
    PersonKey,
    SalesOrder,
    Suppression,
)

CONSENT_SHARE = 0.6
WINDOW = dt.timedelta(days=730)
ENTRY_BUDGET = Weighted({1: 30, 2: 45, 3: 25})
CHUNK = 10_000
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
PENDING_WINDOW = dt.timedelta(hours=36)
EVENT_VALIDITY = dt.timedelta(days=365)
EXPIRING_SHARE = 0.15  # of event consents: valid until a day in the coming 30 days
TRACKING_SHARE = 0.35  # of confirmed newsletter readers with room for one more entry
ENGLISH_SHARE = 0.08
SUPPRESSED_SHARE = 0.001
MIN_SUPPRESSED = 5
COMPLIANCE = next(user.username for user in DEMO_USERS if user.role is Role.COMPLIANCE)
LABEL_ENTRIES = "Einträge im Consent-Ledger"
LABEL_DOI = "Double-Opt-in-Anfragen"
LABEL_SUPPRESSIONS = "Sperrlisteneinträge"
LABEL_RESTRICTIONS = "Einschränkungen und Widersprüche (Art. 18/21 DSGVO)"

DOI_PURPOSES = Weighted({"newsletter": 55, "produktinformationen": 25, "veranstaltungen": 12, "umfragen": 8})
DOI_SOURCES = Weighted({"webform": 75, "event": 10, "sales": 10, "import": 5})
REVOKE_SOURCES = Weighted({"unsubscribe": 65, "preference_centre": 25, "phone": 10})
PHONE_PURPOSES = Weighted({"produktinformationen": 60, "veranstaltungen": 40})
POST_PURPOSES = Weighted({"produktinformationen": 50, "veranstaltungen": 30, "newsletter": 20})
EVENT_CHANNELS = Weighted({"email": 40, "sms": 35, "phone": 25})
IP_PREFIXES = ("84.132", "91.64", "178.24", "217.229", "31.16", "79.192", "93.104", "188.174", "46.114", "87.79")
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Mobile Safari/537.36",
)
PHONE_EVIDENCE = (
    "Telefonat am {date} um {time} Uhr, geführt von {user}: Einwilligungstext vorgelesen, Einwilligung mündlich "
    "erteilt. Gesprächsnotiz im CRM.",
    "Rückruf auf Wunsch des Kontakts am {date}, {time} Uhr ({user}); Einwilligung ausdrücklich bestätigt, "
    "Gesprächsnotiz abgelegt.",
    "Telefonat am {date} mit {user} (Nachfassaktion nach Messekontakt): Einwilligung erteilt, Gesprächsnotiz und "
    "Bestätigungsschreiben vom selben Tag.",
)
EVENTS = (
    "Hannover Messe",
    "SPS Nürnberg",
    "it-sa Nürnberg",
    "LogiMAT Stuttgart",
    "Kundentag {city}",
    "Webinar „Digitale Fertigung“",
    "Praxisforum ERP",
    "Anwendertreffen {city}",
)
EVENT_EVIDENCE = (
    "Anmeldekarte {event} am {date}, eigenhändig unterschrieben (Scan im DMS)",
    "Online-Anmeldung zu {event} am {date}, Einwilligungs-Kästchen angekreuzt",
    "Visitenkarte mit unterschriebener Einwilligung, {event} am {date}",
)
PHONE_REVOKE_REASONS = (
    "Telefonisch widerrufen: kein Interesse mehr",
    "Kontakt bat im Telefonat um Streichung aus dem Verteiler",
    "Telefonisch widerrufen (neue Zuständigkeit im Unternehmen)",
)
POST_REVOKE_REASONS = ("Widerspruch per Antwortkarte", "Bitte keine Kataloge mehr (E-Mail an den Vertrieb)")
SUPPRESSION_REASONS = Weighted({"bounce": 50, "complaint": 20, "manual": 20, "unsubscribed_all": 10})
SUPPRESSION_NOTES = {
    "bounce": "Dauerhaft unzustellbar (550 5.1.1 Postfach unbekannt)",
    "complaint": "Spam-Meldung über den Feedback-Loop des Providers",
    "manual": "Kontakt wünscht keinerlei Werbung (Anruf beim Empfang)",
    "unsubscribed_all": "Von allen Verteilern abgemeldet",
}
ERASED_ADDRESS = "ehemaliger.kunde@beispiel-insolvenz.de"


class Text(NamedTuple):
    id: int
    sha256: str
    language: str


class ContactInfo(NamedTuple):
    """What the stories need to know about one contact (dropped once its entries are planned)."""

    id: int
    account_id: int | None
    email: str | None
    phone: str | None  # phone, else mobile: the number a call consent refers to
    mobile: str | None
    post: str | None
    seller: Actor
    city: str | None
    earliest: dt.datetime


@dataclass(slots=True)
class DoiPlan:
    """A double opt-in request; its id is assigned when its `requested` entry gets its place in the ledger."""

    contact_id: int
    purpose_id: int
    text: Text
    address: str
    source: str
    actor: Actor
    requested_at: dt.datetime
    expires_at: dt.datetime
    status: str
    last_sent_at: dt.datetime
    send_count: int = 1
    confirmed_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    ip: str | None = None
    user_agent: str | None = None
    nonce: str = ""
    id: int | None = None


class Planned(NamedTuple):
    """One ledger entry before it has its place in the chain (see core.consent.ledger.EntryDraft)."""

    at: dt.datetime
    contact_id: int
    channel: str
    purpose_id: int
    action: str
    legal_basis: str
    source: str
    actor: Actor
    text: Text | None = None
    with_text_hash: bool = True  # the expiry job names the text's id only
    order_id: int | None = None
    doi: DoiPlan | None = None
    valid_until: dt.datetime | None = None
    address: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    evidence: str | None = None
    reason: str | None = None

    @property
    def proof(self) -> tuple[str | None, ...]:
        """The personal values, in the order of the ledger's columns; the ledger stores them encrypted."""
        return (self.address, self.ip, self.user_agent, self.evidence, self.reason)


class LedgerRow(NamedTuple):
    """A `consent_entries` row in column order; `ledger.payload` reads it like a ConsentEntry."""

    id: int
    occurred_at: dt.datetime
    contact_id: int
    channel: str
    purpose_id: int
    action: str
    status: str
    legal_basis: str
    source: str
    text_id: int | None
    text_sha256: str | None
    order_id: int | None
    doi_request_id: int | None
    doi_requested_at: dt.datetime | None
    doi_confirmed_at: dt.datetime | None
    valid_until: dt.datetime | None
    address: str | None
    ip: str | None
    user_agent: str | None
    evidence: str | None
    reason: str | None
    actor_id: int | None
    actor_name: str
    subject_key_id: int | None


class Order(NamedTuple):
    id: int
    created_at: dt.datetime


class Variant(NamedTuple):
    name: str
    entries: int
    weight: float


@dataclass
class ConsentContext:
    """Everything the stories draw from, shared by all contacts of a run."""

    rng: random.Random
    reference: dt.datetime
    ttl: dt.timedelta
    purposes: dict[str, int]
    texts: dict[tuple[int, str], Text]
    orders: dict[int, list[Order]]
    marketing: Actor
    display_names: dict[str, str]
    doi_count: int = 0
    choices: dict[tuple[tuple[bool, ...], int], Weighted[tuple[Story, str]] | None] = field(default_factory=dict)

    def text(self, purpose_id: int, language: str = "de") -> Text:
        return self.texts[(purpose_id, language)]


Story = Callable[[ConsentContext, ContactInfo, str, set[tuple[str, int]]], list[Planned]]


# ---------------------------------------------------------------------------------------- moments and proof


def between(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    """A moment in [start, end] to the second."""
    return start + dt.timedelta(seconds=rng.randint(0, max(0, int((end - start).total_seconds()))))


def office_moment(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    """A moment in [start, end] moved into office hours (08–17 Berlin time, weekdays) where that stays inside."""
    moment = between(rng, start, end).astimezone(DISPLAY_TZ)
    moment = moment.replace(hour=rng.randint(8, 16), minute=rng.randint(0, 59))
    moment -= DAY * max(0, moment.weekday() - 4)
    shifted = moment.astimezone(dt.timezone.utc)
    return shifted if start <= shifted <= end else between(rng, start, end)


def ip_address(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return f"2003:e6:{rng.getrandbits(16):x}:{rng.getrandbits(16):x}::{rng.getrandbits(16):x}"
    return f"{rng.choice(IP_PREFIXES)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def local(moment: dt.datetime, pattern: str) -> str:
    return moment.astimezone(DISPLAY_TZ).strftime(pattern)


# ---------------------------------------------------------------------------------------- the stories


def free_purpose(
    rng: random.Random, purposes: Weighted[str], ids: dict[str, int], channel: str, used: set[tuple[str, int]]
) -> int | None:
    """A purpose id for `channel` not used by this contact yet (None when all are)."""
    for _ in range(4):
        purpose_id = ids[purposes.draw(rng)]
        if (channel, purpose_id) not in used:
            return purpose_id
    return next((ids[key] for key in purposes.items if (channel, ids[key]) not in used), None)


def doi_story(ctx: ConsentContext, contact: ContactInfo, variant: str, used: set[tuple[str, int]]) -> list[Planned]:
    """E-mail double opt-in: requested, then confirmed (perhaps withdrawn later), expired or still pending."""
    rng, reference = ctx.rng, ctx.reference
    assert contact.email is not None
    purpose_id = free_purpose(rng, DOI_PURPOSES, ctx.purposes, "email", used)
    if purpose_id is None:
        return []
    if variant == "pending":
        start, end = max(contact.earliest, reference - PENDING_WINDOW), reference - 5 * MINUTE
    else:
        start, end = contact.earliest, reference - (4 * DAY if variant == "revoked" else ctx.ttl + 2 * HOUR)
    if start >= end:
        return []
    used.add(("email", purpose_id))
    source = DOI_SOURCES.draw(rng)
    actor = {"webform": PUBLIC_ACTOR, "sales": contact.seller}.get(source, ctx.marketing)
    web = source == "webform"
    requested = between(rng, start, end) if web else office_moment(rng, start, end)
    text = ctx.text(purpose_id, "en" if rng.random() < ENGLISH_SHARE else "de")
    doi = DoiPlan(
        contact_id=contact.id,
        purpose_id=purpose_id,
        text=text,
        address=contact.email,
        source=source,
        actor=actor,
        requested_at=requested,
        expires_at=requested + ctx.ttl,
        status="pending",
        last_sent_at=requested,
        ip=ip_address(rng) if web else None,
        user_agent=rng.choice(USER_AGENTS) if web else None,
        nonce=f"{rng.getrandbits(128):032x}",
    )
    ctx.doi_count += 1
    common = {"contact_id": contact.id, "channel": "email", "purpose_id": purpose_id, "legal_basis": "consent"}
    entries = [
        Planned(
            requested, **common, action="requested", source=source, actor=actor, text=text, doi=doi,
            address=contact.email, ip=doi.ip, user_agent=doi.user_agent,
        )
    ]
    if variant == "pending":
        resent = requested + dt.timedelta(minutes=rng.randint(15, 600))
        if rng.random() < 0.2 and resent < reference:
            doi.last_sent_at, doi.send_count, doi.expires_at = resent, 2, resent + ctx.ttl
        return entries
    if variant == "expired":
        expired = doi.expires_at + dt.timedelta(minutes=rng.randint(1, 59))
        doi.status, doi.closed_at = "expired", expired
        entries.append(
            Planned(
                expired, **common, action="expired", source="system", actor=SYSTEM, text=text, with_text_hash=False,
                doi=doi,
            )
        )
        return entries
    delay = min(math.exp(rng.gauss(math.log(20), 1.6)), ctx.ttl / MINUTE - 30)
    confirmed = requested + dt.timedelta(minutes=max(1.0, delay))
    doi.status, doi.confirmed_at, doi.closed_at = "confirmed", confirmed, confirmed
    ip, agent = ip_address(rng), rng.choice(USER_AGENTS)
    entries.append(
        Planned(
            confirmed, **common, action="confirmed", source=source, actor=PUBLIC_ACTOR, text=text, doi=doi,
            address=contact.email, ip=ip, user_agent=agent,
        )
    )
    if variant == "revoked":
        entries.append(revocation(ctx, contact, "email", purpose_id, "consent", start=confirmed + HOUR))
    return entries


def revocation(
    ctx: ConsentContext, contact: ContactInfo, channel: str, purpose_id: int, basis: str, *, start: dt.datetime
) -> Planned:
    """Withdrawal as the services record it: unsubscribe link, preference centre (both public) or a call."""
    rng = ctx.rng
    source = REVOKE_SOURCES.draw(rng) if channel == "email" else "phone"
    address = contact_address_of(contact, channel)
    common = {"contact_id": contact.id, "channel": channel, "purpose_id": purpose_id, "legal_basis": basis}
    if source == "phone":
        at = office_moment(rng, start, ctx.reference - MINUTE)
        reason = rng.choice(PHONE_REVOKE_REASONS)
        return Planned(
            at, **common, action="revoked", source="phone", actor=contact.seller, address=address, reason=reason
        )
    at = between(rng, start, ctx.reference - MINUTE)
    reason = "Abmeldelink" if source == "unsubscribe" else "Präferenzcenter"
    return Planned(
        at, **common, action="revoked", source=source, actor=PUBLIC_ACTOR, address=address,
        ip=ip_address(rng), user_agent=rng.choice(USER_AGENTS), reason=reason,
    )


def contact_address_of(contact: ContactInfo, channel: str) -> str | None:
    return {"email": contact.email, "sms": contact.mobile, "phone": contact.phone, "post": contact.post}[channel]


def phone_story(ctx: ConsentContext, contact: ContactInfo, variant: str, used: set[tuple[str, int]]) -> list[Planned]:
    """Consent given in a call (§ 7a UWG: the call is documented as evidence); some withdrawn by phone later."""
    rng, reference = ctx.rng, ctx.reference
    purpose_id = free_purpose(rng, PHONE_PURPOSES, ctx.purposes, "phone", used)
    end = reference - (3 * DAY if variant == "revoked" else HOUR)
    if purpose_id is None or contact.earliest >= end:
        return []
    used.add(("phone", purpose_id))
    at = office_moment(rng, contact.earliest, end)
    user = ctx.display_names.get(contact.seller.name, contact.seller.name)
    evidence = rng.choice(PHONE_EVIDENCE).format(date=local(at, "%d.%m.%Y"), time=local(at, "%H:%M"), user=user)
    entries = [
        Planned(
            at, contact.id, "phone", purpose_id, "granted", "consent", "phone", contact.seller,
            text=ctx.text(purpose_id), address=contact.phone, evidence=evidence,
        )
    ]
    if variant == "revoked":
        entries.append(revocation(ctx, contact, "phone", purpose_id, "consent", start=at + DAY))
    return entries


def post_story(ctx: ConsentContext, contact: ContactInfo, variant: str, used: set[tuple[str, int]]) -> list[Planned]:
    """Post on legitimate interest (Art. 6(1)(f)), recorded by sales; a few objected to later."""
    rng, reference = ctx.rng, ctx.reference
    purpose_id = free_purpose(rng, POST_PURPOSES, ctx.purposes, "post", used)
    end = reference - (3 * DAY if variant == "revoked" else HOUR)
    if purpose_id is None or contact.earliest >= end:
        return []
    used.add(("post", purpose_id))
    at = office_moment(rng, contact.earliest, end)
    common = {
        "contact_id": contact.id, "channel": "post", "purpose_id": purpose_id, "legal_basis": "legitimate_interest"
    }
    entries = [Planned(at, **common, action="granted", source="sales", actor=contact.seller, address=contact.post)]
    if variant == "revoked":
        revoked = office_moment(rng, at + DAY, reference - MINUTE)
        entries.append(
            Planned(
                revoked, **common, action="revoked", source="sales", actor=contact.seller, address=contact.post,
                reason=rng.choice(POST_REVOKE_REASONS),
            )
        )
    return entries


def customer_story(
    ctx: ConsentContext, contact: ContactInfo, variant: str, used: set[tuple[str, int]]
) -> list[Planned]:
    """E-mail about similar products to an existing customer (§ 7(3) UWG), naming the order; some unsubscribe."""
    rng, reference = ctx.rng, ctx.reference
    purpose_id = ctx.purposes["produktinformationen"]
    orders = ctx.orders.get(contact.account_id or 0, [])
    if ("email", purpose_id) in used or not orders or contact.email is None:
        return []
    order = rng.choice(orders)
    start = max(contact.earliest, order.created_at + HOUR)
    end = min(start + 10 * DAY, reference - (3 * DAY if variant == "revoked" else HOUR))
    if start >= end:
        return []
    used.add(("email", purpose_id))
    at = office_moment(rng, start, end)
    entries = [
        Planned(
            at, contact.id, "email", purpose_id, "granted", "existing_customer", "sales", contact.seller,
            order_id=order.id, address=contact.email,
        )
    ]
    if variant == "revoked":
        entries.append(revocation(ctx, contact, "email", purpose_id, "existing_customer", start=at + DAY))
    return entries


def event_story(ctx: ConsentContext, contact: ContactInfo, variant: str, used: set[tuple[str, int]]) -> list[Planned]:
    """Consent to event invitations given at an event, valid for a year."""
    rng, reference = ctx.rng, ctx.reference
    purpose_id = ctx.purposes["veranstaltungen"]
    channels = [c for c in (EVENT_CHANNELS.draw(rng), *EVENT_CHANNELS.items) if contact_address_of(contact, c)]
    channel = next((c for c in channels if (c, purpose_id) not in used), None)
    if channel is None:
        return []
    if rng.random() < EXPIRING_SHARE:
        valid_until = between(rng, reference + DAY, reference + 30 * DAY)
        start, end = valid_until - EVENT_VALIDITY - 12 * HOUR, valid_until - EVENT_VALIDITY
    else:
        start, end = contact.earliest, reference - HOUR
    if start < contact.earliest or start >= end:
        return []
    used.add((channel, purpose_id))
    at = office_moment(rng, start, end)
    event = rng.choice(EVENTS).format(city=contact.city or "Köln")
    evidence = rng.choice(EVENT_EVIDENCE).format(event=event, date=local(at, "%d.%m.%Y"))
    return [
        Planned(
            at, contact.id, channel, purpose_id, "granted", "consent", "event", ctx.marketing,
            text=ctx.text(purpose_id), valid_until=at + EVENT_VALIDITY, address=contact_address_of(contact, channel),
            evidence=evidence,
        )
    ]


def tracking_grant(ctx: ConsentContext, contact: ContactInfo, confirmed: Planned) -> Planned | None:
    """A newsletter reader who also allows open/click tracking in the preference centre."""
    rng = ctx.rng
    purpose_id = ctx.purposes["tracking"]
    start, end = confirmed.at + HOUR, min(confirmed.at + 60 * DAY, ctx.reference - MINUTE)
    if start >= end:
        return None
    assert confirmed.text is not None
    return Planned(
        between(rng, start, end), contact.id, "email", purpose_id, "granted", "consent", "preference_centre",
        PUBLIC_ACTOR, text=ctx.text(purpose_id, confirmed.text.language), address=contact.email,
        ip=ip_address(rng), user_agent=rng.choice(USER_AGENTS),
    )


# kind → (weight, story, variants (name, entries, weight), who qualifies)
KINDS: dict[str, tuple[float, Story, tuple[Variant, ...], Callable[[ContactInfo, ConsentContext], bool]]] = {
    "doi": (
        50,
        doi_story,
        (Variant("confirmed", 2, 68), Variant("revoked", 3, 14), Variant("expired", 2, 12), Variant("pending", 1, 1)),
        lambda c, ctx: c.email is not None,
    ),
    "phone": (
        12, phone_story, (Variant("granted", 1, 88), Variant("revoked", 2, 12)), lambda c, ctx: c.phone is not None
    ),
    "post": (9, post_story, (Variant("granted", 1, 95), Variant("revoked", 2, 5)), lambda c, ctx: c.post is not None),
    "customer": (
        40,
        customer_story,
        (Variant("granted", 1, 90), Variant("revoked", 2, 10)),
        lambda c, ctx: c.email is not None and bool(ctx.orders.get(c.account_id or 0)),
    ),
    "event": (8, event_story, (Variant("granted", 1, 1),), lambda c, ctx: True),
}


def choose(ctx: ConsentContext, contact: ContactInfo, budget: int) -> tuple[Story, str] | None:
    """A story kind and variant that fit the remaining entries; a kind weighs as much as its fitting variants."""
    qualified = tuple(qualifies(contact, ctx) for _, _, _, qualifies in KINDS.values())
    if (qualified, budget) not in ctx.choices:
        weights: dict[tuple[Story, str], float] = {}
        for (weight, story, variants, _), ok in zip(KINDS.values(), qualified):
            total = sum(v.weight for v in variants)
            for variant in variants:
                if ok and variant.entries <= budget:
                    weights[(story, variant.name)] = weight * variant.weight / total
        ctx.choices[(qualified, budget)] = Weighted(weights) if weights else None
    options = ctx.choices[(qualified, budget)]
    return options.draw(ctx.rng) if options else None


def plan_contact(ctx: ConsentContext, contact: ContactInfo) -> list[Planned]:
    """1–3 ledger entries for one contact, in up to three channel × purpose cells."""
    rng = ctx.rng
    budget = ENTRY_BUDGET.draw(rng)
    used: set[tuple[str, int]] = set()
    planned: list[Planned] = []
    for _ in range(4):
        if budget <= 0:
            break
        chosen = choose(ctx, contact, budget)
        if chosen is None:
            break
        story, variant = chosen
        entries = story(ctx, contact, variant, used)
        planned += entries
        budget -= len(entries)
        newsletter = ctx.purposes["newsletter"]
        confirmed = next((e for e in entries if e.action == "confirmed" and e.purpose_id == newsletter), None)
        if confirmed and budget > 0 and len(entries) == 2 and rng.random() < TRACKING_SHARE:
            extra = tracking_grant(ctx, contact, confirmed)
            if extra is not None:
                planned.append(extra)
                budget -= 1
    return planned


# ---------------------------------------------------------------------------------------- loading the run


def _context(run: DemoRun, rng: random.Random) -> ConsentContext:
    session = run.session
    purposes = dict(session.execute(select(ConsentPurpose.key, ConsentPurpose.id)).tuples().all())
    texts = {}
    for purpose_id in purposes.values():
        for language in ("de", "en"):
            text = current_text(session, purpose_id, language)
            texts[(purpose_id, language)] = Text(text.id, text.sha256, text.language)
    return ConsentContext(
        rng=rng,
        reference=run.reference,
        ttl=dt.timedelta(hours=ttl_hours(session)),
        purposes=purposes,
        texts=texts,
        orders=_orders(session),
        marketing=run.actor(MARKETING),
        display_names={name: user.display_name for name, user in run.users.items()},
    )


def _orders(session: Session) -> dict[int, list[Order]]:
    """Live orders per company: an existing-customer consent names one of them."""
    orders: dict[int, list[Order]] = {}
    stmt = select(SalesOrder.account_id, SalesOrder.id, SalesOrder.created_at).where(SalesOrder.cancelled_at.is_(None))
    for account_id, order_id, created_at in session.execute(stmt.order_by(SalesOrder.id)):
        orders.setdefault(account_id, []).append(Order(order_id, created_at))
    return orders


def _contacts(run: DemoRun, sellers: dict[int, Actor]) -> Iterator[ContactInfo]:
    """The run's demo contacts in id order, with their addresses per channel."""
    ids = run.created.get("contact", [])
    if not ids:
        return
    window_start = run.reference - WINDOW
    stmt = (
        select(
            Contact.id, Contact.account_id, Contact.email, Contact.phone, Contact.mobile, Contact.postcode,
            Contact.city, Contact.owner_id, Contact.created_at,
        )
        .where(Contact.id.between(ids[0], ids[-1]), Contact.external_id.like("CON-%"))
        .order_by(Contact.id)
    )
    manager = run.actor(MANAGER)
    for row in run.session.execute(stmt.execution_options(yield_per=CHUNK)):
        yield ContactInfo(
            id=row.id,
            account_id=row.account_id,
            email=row.email,
            phone=contact_address(row, "phone"),  # type: ignore[arg-type]  # a row with the contact's columns
            mobile=row.mobile,
            post=contact_address(row, "post"),  # type: ignore[arg-type]
            seller=sellers.get(row.owner_id, manager),
            city=row.city,
            earliest=max(window_start, row.created_at + HOUR),
        )


def plan_entries(run: DemoRun, ctx: ConsentContext) -> list[Planned]:
    """Every planned entry of the run in ledger order: by time (ties keep the order they were planned in)."""
    sellers = {run.users[name].id: run.actor(name) for reps in REPS_BY_REGION.values() for name in reps}
    sellers[run.users[MANAGER].id] = run.actor(MANAGER)
    planned: list[Planned] = []
    for contact in _contacts(run, sellers):
        if ctx.rng.random() < CONSENT_SHARE:
            planned += plan_contact(ctx, contact)
    planned.sort(key=lambda entry: entry.at)
    return planned


# ---------------------------------------------------------------------------------------- writing the ledger


def encrypt_with(fernet: Fernet, plaintext: str) -> str:
    """core.subject_keys.encrypt with the person's Fernet kept for all of their entries."""
    return CIPHER_PREFIX + fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")


@dataclass
class LedgerWriter:
    """Gives planned entries their place in the consent chain and writes them chunk by chunk, with the
    person keys they need and the double opt-in requests they start."""

    session: Session
    head: LedgerHead  # locked until the transaction ends
    keys: dict[int, tuple[int, Fernet]]
    written: int = 0

    def write(self, planned: Sequence[Planned], doi_count: int) -> None:
        """`planned` in ledger order; `doi_count` of them start a double opt-in (ids in request order)."""
        doi_ids = iter(reserve_ids(self.session, DoiRequest, doi_count))
        for chunk in batched(planned, CHUNK):
            self._write_chunk(chunk, doi_ids)

    def _write_chunk(self, chunk: Sequence[Planned], doi_ids: Iterator[int]) -> None:
        session, head = self.session, self.head
        new_keys = self._new_keys(chunk)
        rows: list[LedgerRow] = []
        hashes: list[tuple[str, str]] = []
        requests: list[dict[str, Any]] = []
        prev = head.last_hash
        for number, entry in enumerate(chunk, start=head.last_id + 1):
            if entry.action == "requested" and entry.doi is not None:
                entry.doi.id = next(doi_ids)
                requests.append(_request_row(entry.doi))
            row = self._row(number, entry)
            digest = ledger.chain_hash(prev, payload(row))  # type: ignore[arg-type]  # reads the same attributes
            hashes.append((prev, digest))
            rows.append(row)
            prev = digest
        if new_keys:
            insert_rows(session, PersonKey, new_keys)
        insert_rows(session, DoiRequest, requests)
        columns: dict[str, Sequence[Any]] = dict(zip(LedgerRow._fields, zip(*rows)))
        columns["prev_hash"] = [p for p, _ in hashes]
        columns["hash"] = [h for _, h in hashes]
        insert_columns(session, ConsentEntry, columns, len(rows))
        head.last_id = rows[-1].id
        head.last_hash = prev
        head.entries += len(rows)
        self.written += len(rows)

    def _new_keys(self, chunk: Sequence[Planned]) -> list[dict[str, Any]]:
        """Keys for the people who appear with personal proof for the first time (created at that entry)."""
        first: dict[int, dt.datetime] = {}
        for entry in chunk:
            if entry.contact_id not in self.keys and entry.contact_id not in first and any(entry.proof):
                first[entry.contact_id] = entry.at
        ids = reserve_ids(self.session, PersonKey, len(first))
        rows = []
        for key_id, (contact_id, created_at) in zip(ids, first.items()):
            material = Fernet.generate_key()
            self.keys[contact_id] = (key_id, Fernet(material))
            rows.append({
                "id": key_id, "subject_type": "contact", "subject_id": str(contact_id), "key": material,
                "created_at": created_at, "shredded_at": None,
            })
        return rows

    def _row(self, number: int, entry: Planned) -> LedgerRow:
        personal = entry.proof
        key_id: int | None = None
        if any(personal):
            key_id, fernet = self.keys[entry.contact_id]
            personal = tuple(None if value is None else encrypt_with(fernet, value) for value in personal)
        doi, text = entry.doi, entry.text
        return LedgerRow(
            number,
            entry.at,
            entry.contact_id,
            entry.channel,
            entry.purpose_id,
            entry.action,
            ACTIONS[entry.action],
            entry.legal_basis,
            entry.source,
            text.id if text else None,
            text.sha256 if text and entry.with_text_hash else None,
            entry.order_id,
            doi.id if doi else None,
            doi.requested_at if doi else None,
            doi.confirmed_at if doi and entry.action == "confirmed" else None,
            entry.valid_until,
            *personal,
            entry.actor.user_id,
            entry.actor.name,
            key_id,
        )


def _request_row(doi: DoiPlan) -> dict[str, Any]:
    return {
        "id": doi.id,
        "contact_id": doi.contact_id,
        "channel": "email",
        "purpose_id": doi.purpose_id,
        "text_id": doi.text.id,
        "language": doi.text.language,
        "address": doi.address,
        "source": doi.source,
        "nonce": doi.nonce,
        "status": doi.status,
        "requested_at": doi.requested_at,
        "expires_at": doi.expires_at,
        "last_sent_at": doi.last_sent_at,
        "send_count": doi.send_count,
        "confirmed_at": doi.confirmed_at,
        "closed_at": doi.closed_at,
        "request_ip": doi.ip,
        "request_user_agent": doi.user_agent,
        "actor_id": doi.actor.user_id,
        "actor_name": doi.actor.name,
        "email_message_id": None,
    }


def _existing_keys(session: Session) -> dict[int, tuple[int, Fernet]]:
    """Contacts that already have a key (e.g. from an earlier seed's change history) keep it."""
    stmt = select(PersonKey.subject_id, PersonKey.id, PersonKey.key).where(
        PersonKey.subject_type == "contact", PersonKey.key.is_not(None)
    )
    return {int(subject): (key_id, Fernet(key)) for subject, key_id, key in session.execute(stmt)}


# ---------------------------------------------------------------------------------------- suppression list


def suppression_rows(run: DemoRun, rng: random.Random) -> list[dict[str, Any]]:
    """A few of the run's e-mail addresses and phone numbers, and one address of an erased person (addresses
    already on the list, e.g. from an earlier seed, stay as they are)."""
    ids = run.created["contact"]
    wanted = max(MIN_SUPPRESSED, round(len(ids) * SUPPRESSED_SHARE))
    # Drawn from twice as many contacts: not everybody has an e-mail address.
    candidates = sorted(rng.sample(ids, min(len(ids), 2 * wanted)))
    people = [
        person
        for chunk in batched(candidates, 900)
        for person in run.session.execute(
            select(Contact.email, Contact.phone)
            .where(Contact.id.in_(chunk), Contact.external_id.like("CON-%"), Contact.email.is_not(None))
            .order_by(Contact.id)
        )
    ]
    rows: dict[str, dict[str, Any]] = {}

    def add(digest: str | None, kind: str, reason: str, note: str, by: str) -> None:
        if digest is not None and digest not in rows:
            at = between(rng, run.reference - WINDOW / 2, run.reference - HOUR)
            rows[digest] = {"digest": digest, "kind": kind, "reason": reason, "note": note, "created_at": at,
                            "created_by": by}

    for email, phone in rng.sample(people, min(len(people), wanted)):
        reason = SUPPRESSION_REASONS.draw(rng)
        by = COMPLIANCE if reason == "manual" else "system"
        add(email_digest(email), "email", reason, SUPPRESSION_NOTES[reason], by)
        if reason == "manual" and phone:
            add(phone_digest(phone), "phone", "manual", "Sperrvermerk: keine Werbeanrufe", COMPLIANCE)
    add(email_digest(ERASED_ADDRESS), "email", "erased", "Löschung nach Art. 17 DSGVO", COMPLIANCE)
    listed = set(run.session.scalars(select(Suppression.digest).where(Suppression.digest.in_(list(rows)))))
    return sorted((row for digest, row in rows.items() if digest not in listed), key=lambda row: row["created_at"])


# ---------------------------------------------------------------------------------------- the steps


def contact_range(run: DemoRun) -> tuple[str, str]:
    """First and last external id of the run's demo contacts: consent rows are named by the people they concern."""
    ids = run.created["contact"]
    stmt = select(func.min(Contact.external_id), func.max(Contact.external_id)).where(
        Contact.id.between(ids[0], ids[-1]), Contact.external_id.like("CON-%")
    )
    first, last = run.session.execute(stmt).one()
    return first or "", last or ""


@register_demo_step("consent", Phase.BULK)
def load_consent(run: DemoRun) -> None:
    if not run.created.get("contact"):
        return
    session = run.session
    first, last = contact_range(run)
    ctx = _context(run, run.rng(f"consent:{first}"))
    planned = plan_entries(run, ctx)
    if not planned:
        return
    writer = LedgerWriter(session, ledger.lock_head(session, CHAIN), _existing_keys(session))
    with larger_page_cache(session):
        writer.write(planned, ctx.doi_count)
        suppressions = suppression_rows(run, run.rng(f"consent-suppressions:{first}"))
        insert_rows(session, Suppression, suppressions)
    run.counts[LABEL_ENTRIES] = writer.written
    run.counts[LABEL_DOI] = ctx.doi_count
    run.counts[LABEL_SUPPRESSIONS] = len(suppressions)
    run.bulk_imports += [
        BulkImport("consent_entry", "consent_entries", LABEL_ENTRIES, writer.written, first, last),
        BulkImport("doi_request", "doi_requests", LABEL_DOI, ctx.doi_count, first, last),
        BulkImport("suppression", "suppressions", LABEL_SUPPRESSIONS, len(suppressions), first, last),
    ]


@register_demo_step("consent_restrictions", Phase.HISTORY)
def restrict_processing(run: DemoRun) -> None:
    """One restriction (Art. 18) and one objection (Art. 21), recorded by the data protection officer
    for contacts who could be written to until then."""
    ids = run.created.get("contact", [])
    if not ids or COMPLIANCE not in run.users or not run.counts.get(LABEL_ENTRIES):
        return
    audience = select(Contact.id).where(Contact.id.between(ids[0], ids[-1]), Contact.external_id.like("CON-%"))
    cases = (
        ("restriction", "newsletter", 12, "Antrag vom {date}: Richtigkeit der gespeicherten Daten bestritten "
         "(Art. 18 Abs. 1 lit. a DSGVO), Verarbeitung bis zur Prüfung eingeschränkt."),
        ("objection", "produktinformationen", 35, "Widerspruch gegen Direktwerbung per E-Mail vom {date} "
         "(Art. 21 Abs. 2 DSGVO)."),
    )
    taken: set[int] = set()
    for kind, purpose, days, reason in cases:
        at = run.reference - days * DAY + 9 * HOUR
        with run.factory() as session:
            allowed = reachable(session, channel="email", purpose=purpose, at=at, audience=audience).subquery()
            first = session.scalars(select(allowed.c.contact_id).order_by(allowed.c.contact_id).limit(20))
            candidates = [contact_id for contact_id in first if contact_id not in taken]
        if not candidates:
            continue
        contact_id = run.rng(f"consent-{kind}").choice(candidates)
        taken.add(contact_id)
        stated = reason.format(date=local(at, "%d.%m.%Y"))
        add_restriction(run.uow(COMPLIANCE, at), contact_id=contact_id, kind=kind, reason=stated)
    if taken:
        run.counts[LABEL_RESTRICTIONS] = len(taken)


def add_consent_history(factory: sessionmaker[Session], *, seed: int = 42, clock: Clock = utc_now) -> DemoReport:
    """The consent steps alone, for demo data seeded before consent existed (an upgraded installation, the
    benchmark databases): every demo contact is a candidate. Nothing happens when the ledger has entries."""
    return demo.supplement_demo(
        factory,
        name="consent",
        present=ConsentEntry,
        skipped="Der Consent-Ledger enthält bereits {count} Einträge.",
        bulk=load_consent,
        history=restrict_processing,
        seed=seed,
        clock=clock,
    )
