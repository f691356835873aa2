"""Demo data-subject requests: eight requests of demo contacts over the last two months, recorded by the
data protection officer through the request services (so every step is in the hash-chained request log).

History step after the consent restrictions. Access, rectification, portability and erasure requests by
e-mail, letter, phone and web form, in every state, with deadlines relative to the seed day: open ones with
plenty of time, one due within the week and one overdue; an access request answered, a rectification carried
out (the sales manager corrects the contact) and closed, an erasure request rejected because the caller's
identity was not confirmed, and one access request extended by two months with its reason. No demo contact
is erased. Nothing happens when requests exist already (a second seed, or an installation in use).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import func, select

from core.contacts import get_contact, update_contact
from core.demo import MANAGER, DemoRun, Phase, mobile_number, register_demo_step
from core.demo_consent import COMPLIANCE
from core.demo_vocabulary import JOB_TITLES
from core.formatting import fmt_number
from core.gdpr.deadlines import BERLIN, received_on
from core.gdpr.requests import (
    assign,
    complete,
    confirm_subject,
    extend,
    receive_request,
    record_identity,
    reject,
)
from core.uow import UnitOfWork
from db.models import Contact, GdprRequest, ProcessingRestriction

LABEL_REQUESTS = "Betroffenenanfragen (DSGVO)"
CANDIDATES = 400
MIN_CONTACT_AGE = dt.timedelta(days=120)


class Person(NamedTuple):
    contact_id: int
    name: str
    email: str
    phone: str | None


# A step after receipt: (request id, the person, the demo run, the moment) → a service call.
Action = Callable[[int, Person, DemoRun, dt.datetime], object]


@dataclass(frozen=True)
class Step:
    after: dt.timedelta
    action: Action


@dataclass(frozen=True)
class Story:
    type: str
    channel: str
    days_ago: int
    time: dt.time
    description: str
    steps: tuple[Step, ...] = ()
    assigned: bool = False
    foreign_phone: bool = False  # the caller's number is not the one on file


def _officer(run: DemoRun, at: dt.datetime) -> UnitOfWork:
    return run.uow(COMPLIANCE, at)


def identity(method: str, result: str = "confirmed", note: str | None = None) -> Action:
    def act(request_id: int, person: Person, run: DemoRun, at: dt.datetime) -> object:
        return record_identity(_officer(run, at), request_id, method=method, result=result, note=note)

    return act


def subject() -> Action:
    def act(request_id: int, person: Person, run: DemoRun, at: dt.datetime) -> object:
        return confirm_subject(_officer(run, at), request_id, contact_ids=[person.contact_id])

    return act


def to_officer() -> Action:
    def act(request_id: int, person: Person, run: DemoRun, at: dt.datetime) -> object:
        return assign(_officer(run, at), request_id, assignee_id=run.users[COMPLIANCE].id)

    return act


def extension(months: int, reason: str) -> Action:
    def act(request_id: int, person: Person, run: DemoRun, at: dt.datetime) -> object:
        return extend(_officer(run, at), request_id, months=months, reason=reason)

    return act


def completion(outcome: str) -> Action:
    def act(request_id: int, person: Person, run: DemoRun, at: dt.datetime) -> object:
        stated = outcome.format(date=at.astimezone(BERLIN).strftime("%d.%m.%Y"))
        return complete(_officer(run, at), request_id, outcome=stated)

    return act


def rejection(reason: str) -> Action:
    def act(request_id: int, person: Person, run: DemoRun, at: dt.datetime) -> object:
        return reject(_officer(run, at), request_id, reason=reason)

    return act


def corrected_job_title() -> Action:
    """The sales manager corrects the position the person disputed (Art. 16), through the audited service."""

    def act(request_id: int, person: Person, run: DemoRun, at: dt.datetime) -> object:
        contact = get_contact(run.uow(MANAGER, at), person.contact_id)
        forms = [t for t in JOB_TITLES if contact.job_title not in t]
        form = {"Herr": 0, "Frau": 1}.get(contact.salutation or "", 2)
        title = run.rng("gdpr-rectification").choice(forms)[form]
        return update_contact(
            run.uow(MANAGER, at), contact.id, {"job_title": title}, expected_version=contact.version,
            reason=f"Berichtigung nach Art. 16 DSGVO (Betroffenenanfrage {request_id})",
        )

    return act


H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
MIN = dt.timedelta(minutes=1)

STORIES: tuple[Story, ...] = (
    Story(
        "erasure", "phone", 60, dt.time(14, 20),
        "Anrufer verlangt die Löschung aller Daten und keine weiteren Anrufe des Vertriebs.",
        (
            Step(D, identity("callback", "failed", "Rückruf unter der hinterlegten Nummer: Die Person dort hat keine "
                                                   "Löschung verlangt und kennt die Anfrage nicht.")),
            Step(D + 2 * H, rejection("Identität nicht bestätigt (Art. 12 Abs. 6 DSGVO): Der Rückruf unter der "
                                      "hinterlegten Nummer bestätigte die Anfrage nicht. Der Anrufer wurde gebeten, "
                                      "die Löschung von der hinterlegten E-Mail-Adresse aus zu verlangen.")),
        ),
        foreign_phone=True,
    ),
    Story(
        "access", "email", 50, dt.time(9, 5),
        "Bitte um vollständige Auskunft nach Art. 15 DSGVO einschließlich der Herkunft meiner Daten und aller "
        "Empfänger.",
        (
            Step(4 * H, identity("known_address")),
            Step(5 * H, subject()),
            Step(20 * D, extension(2, "Die Daten liegen in mehreren Systemen (Vertrieb, Marketing, Buchhaltung) und "
                                      "die Person hat zwei weitere Anträge gestellt; Verlängerung um zwei Monate, "
                                      "der Person am selben Tag mit Begründung mitgeteilt (Art. 12 Abs. 3 DSGVO).")),
        ),
        assigned=True,
    ),
    Story(
        "access", "email", 45, dt.time(10, 12),
        "Welche Daten speichern Sie über mich und woher haben Sie meine Adresse?",
        (
            Step(3 * H, identity("known_address")),
            Step(3 * H + 10 * MIN, subject()),
            Step(9 * D + 4 * H, completion("Auskunft am {date} als verschlüsseltes ZIP-Archiv an die hinterlegte "
                                           "E-Mail-Adresse übermittelt, Passwort telefonisch mitgeteilt.")),
        ),
    ),
    Story(
        "access", "phone", 40, dt.time(11, 40),
        "Telefonische Bitte um Auskunft über gespeicherte Daten und Werbeeinwilligungen.",
        (Step(2 * H, identity("callback")), Step(3 * H, subject())),
        assigned=True,
    ),
    Story(
        "portability", "web_form", 28, dt.time(16, 5),
        "Bitte stellen Sie mir meine Kontakt- und Einwilligungsdaten in einem maschinenlesbaren Format bereit.",
        (Step(D, identity("confirmation_link")), Step(D + H, subject()), Step(2 * D, to_officer())),
    ),
    Story(
        "rectification", "email", 15, dt.time(8, 50),
        "Meine Position ist bei Ihnen falsch gespeichert; bitte korrigieren.",
        (
            Step(H, identity("known_address")),
            Step(H + 15 * MIN, subject()),
            Step(D, corrected_job_title()),
            Step(D + H, completion("Position berichtigt (Art. 16 DSGVO); der Person am {date} per E-Mail "
                                   "bestätigt.")),
        ),
    ),
    Story(
        "rectification", "letter", 6, dt.time(11, 30),
        "Brief: Bitte berichtigen Sie meine Anschrift und meine Telefonnummer.",
        (
            Step(D, identity("callback", "doubtful", "Unterschrift und Absender weichen von den gespeicherten Daten "
                                                     "ab; Rückruf nicht erreicht, Bestätigung von der hinterlegten "
                                                     "E-Mail-Adresse angefordert.")),
        ),
    ),
    Story(
        "erasure", "email", 2, dt.time(8, 47),
        "Bitte löschen Sie alle meine Daten, ich wünsche keinen Kontakt mehr.",
    ),
)


def _received(day: dt.date, days_ago: int, time: dt.time) -> dt.datetime:
    local = dt.datetime.combine(day - dt.timedelta(days=days_ago), time, tzinfo=BERLIN)
    return local.astimezone(dt.timezone.utc)


def _people(run: DemoRun, rng: random.Random, count: int) -> list[Person]:
    """Demo contacts with an e-mail address, known for a while and not restricted (Art. 18 refuses edits),
    drawn without repeats."""
    ids = run.created["contact"]
    restricted = select(ProcessingRestriction.contact_id)
    with run.factory() as session:
        rows = session.execute(
            select(Contact.id, Contact.first_name, Contact.last_name, Contact.email, Contact.phone, Contact.mobile)
            .where(
                Contact.id.between(ids[0], ids[-1]), Contact.external_id.like("CON-%"), Contact.email.is_not(None),
                Contact.created_at < run.reference - MIN_CONTACT_AGE, Contact.id.not_in(restricted),
            )
            .order_by(Contact.id)
            .limit(CANDIDATES)
        ).all()
    chosen = rng.sample(rows, min(count, len(rows)))
    return [Person(r.id, f"{r.first_name} {r.last_name}", r.email, r.phone or r.mobile) for r in chosen]


@register_demo_step("gdpr_requests", Phase.HISTORY)
def record_gdpr_requests(run: DemoRun) -> None:
    """The demo's data-subject requests, each step at its moment and in time order across requests."""
    if not run.created.get("contact") or COMPLIANCE not in run.users:
        return
    with run.factory() as session:
        existing = session.scalar(select(func.count()).select_from(GdprRequest)) or 0
    if existing:
        run.notes.append(f"Es gibt bereits {fmt_number(existing)} Betroffenenanfragen; keine Demo-Anfragen erzeugt.")
        return
    rng = run.rng("gdpr-requests")
    people = _people(run, rng, len(STORIES))
    today = received_on(run.started)
    moments: list[tuple[dt.datetime, int, int]] = []  # (when, story, step: -1 = receipt)
    for index, story in enumerate(STORIES[: len(people)]):
        received = _received(today, story.days_ago, story.time)
        moments.append((received, index, -1))
        moments += [(received + step.after, index, number) for number, step in enumerate(story.steps)]
    request_ids: dict[int, int] = {}
    for at, index, number in sorted(moments):
        story, person = STORIES[index], people[index]
        if number >= 0:
            story.steps[number].action(request_ids[index], person, run, at)
            continue
        phone = mobile_number(rng) if story.foreign_phone else person.phone
        view = receive_request(
            _officer(run, at), type=story.type, channel=story.channel, requester_name=person.name,
            requester_email=person.email if story.channel != "phone" else None,
            requester_phone=phone if story.channel == "phone" else None, description=story.description,
            received_at=at, assignee_id=run.users[COMPLIANCE].id if story.assigned else None,
        )
        request_ids[index] = view.id
    run.counts[LABEL_REQUESTS] = len(request_ids)
