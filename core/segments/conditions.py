"""The built-in segment conditions: contact and company fields, tags, deals, won revenue, activities, campaigns,
events, consent (the consent gate's decision) and membership of another segment.

Every condition is a two-valued SQL test on `contacts.id` (docs/segments.md lists the semantics):

- Empty values — NULL, and '' for text — satisfy only „ist leer“; every other operator, „ist nicht“ and „≠“
  included, does not match them. A contact without a company has every company field empty.
- Text comparisons ignore case for A–Z and Ä, Ö, Ü (the same folding on SQLite and PostgreSQL); choices
  (country, salutation, industry, …) and tags compare exactly.
- Relative periods count from the evaluation moment `at`: timestamps from `at` back (or on) by N days or
  months; calendar dates (birth dates, close dates) from today in Europe/Berlin. Activities after `at` do not
  count.
- Related data are `contacts.id IN (SELECT contact_id …)` (or NOT IN) over indexed columns, so the database
  builds each set once from an index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, distinct, func, not_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.accounts import INDUSTRIES, LEGAL_FORMS, REVENUE_CLASSES
from core.consent.gate import reachable
from core.consent.vocabulary import CHANNELS
from core.contacts import SALUTATIONS
from core.gdpr.deadlines import add_months
from core.sales.funnel import local_day_start
from core.segments.catalogue import Choice, CompileContext, ConditionSpec, RuleError, parse_text, register_condition
from core.segments.rules import Condition
from db.models import (
    Account,
    Activity,
    ConsentPurpose,
    Contact,
    ContactTag,
    Opportunity,
    OpportunityContact,
    Pipeline,
    PipelineStage,
    Segment,
    SegmentMember,
)

Column = InstrumentedAttribute[Any]
Predicate = Callable[[CompileContext, Condition], ColumnElement[bool]]

ACTIVITY_TYPES: dict[str, tuple[str, str]] = {
    "email_open": ("E-Mail geöffnet", "E-mail opened"),
    "email_click": ("Link in E-Mail geklickt", "E-mail link clicked"),
    "call": ("Anruf", "Call"),
    "meeting": ("Termin", "Meeting"),
    "web_visit": ("Website-Besuch", "Website visit"),
    "form": ("Formular ausgefüllt", "Form submitted"),
    "event_registration": ("Veranstaltung angemeldet", "Event registration"),
    "event_attendance": ("Veranstaltung besucht", "Event attendance"),
}
"""Activity types; a module that records new kinds of activity adds them with `register_activity_type`."""

DEAL_STATUSES = (("open", "offen"), ("won", "gewonnen"), ("lost", "verloren"))


def register_activity_type(key: str, label_de: str, label_en: str) -> None:
    ACTIVITY_TYPES[key] = (label_de, label_en)


# --- text folding: identical on both databases -------------------------------------------------------------------

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜ"
_LOWER = "abcdefghijklmnopqrstuvwxyzäöü"
_FOLD = str.maketrans(_UPPER, _LOWER)
_UMLAUT_WILDCARD = str.maketrans({"ä": "_", "ö": "_", "ü": "_"})
MAX_PREFILTER_VALUES = 20
_LIKE_TEMPLATES = {"eq": "{}", "contains": "%{}%", "starts_with": "{}%"}


def fold(text: str) -> str:
    """The folding the database applies to text columns: A–Z and Ä, Ö, Ü to lower case, nothing else."""
    return text.translate(_FOLD)


def folded(ctx: CompileContext, column: Any) -> ColumnElement[str]:
    """`fold` in SQL: lower() where it folds A–Z only — SQLite's, and PostgreSQL's under the C collation (by locale
    it would fold more) — and the three umlauts replaced, so both databases fold exactly the same letters.
    PostgreSQL's translate() did the same four to five times slower (1.9 s over a million job titles)."""
    expression = func.lower(column if ctx.dialect == "sqlite" else column.collate("C"))
    for upper, lower in zip("ÄÖÜ", "äöü"):
        expression = func.replace(expression, upper, lower)
    return expression


def _not_empty(column: Column, *, text: bool) -> ColumnElement[bool]:
    return and_(column.is_not(None), column != "") if text else column.is_not(None)


def _empty(column: Column, *, text: bool) -> ColumnElement[bool]:
    return or_(column.is_(None), column == "") if text else column.is_(None)


# --- field conditions (a column of the contact or, through `on_account`, of its company) --------------------------


def text_test(ctx: CompileContext, column: Column, c: Condition) -> ColumnElement[bool]:
    if c.operator in ("empty", "not_empty"):
        return (_empty if c.operator == "empty" else _not_empty)(column, text=True)
    prefilter = _text_prefilter(ctx, column, c)
    if prefilter and _prefilter_is_exact(c):
        return and_(_not_empty(column, text=True), *prefilter)
    value = folded(ctx, column)
    if c.operator == "in":
        test: ColumnElement[bool] = value.in_([fold(v) for v in c.value])
    elif c.operator == "contains":
        position = func.instr if ctx.dialect == "sqlite" else func.strpos
        test = position(value, fold(c.value)) > 0
    elif c.operator == "starts_with":
        test = func.substr(value, 1, len(c.value)) == fold(c.value)
    elif c.operator == "ne":
        test = value != fold(c.value)
    else:
        test = value == fold(c.value)
    return and_(_not_empty(column, text=True), *prefilter, test)


def _prefilter_is_exact(c: Condition) -> bool:
    """Whether the prefilter's LIKE already decides: it folds A–Z like `fold` and compares every other character
    exactly, so only an umlaut in the searched text (a `_` in the pattern) needs the folding test after it. Over a
    million job titles the folding test cost SQLite 490 ms of 800 for „enthält leit“."""
    terms = c.value if c.operator == "in" else [c.value]
    return not any(umlaut in fold(term) for term in terms for umlaut in "äöü")


def _text_prefilter(ctx: CompileContext, column: Column, c: Condition) -> list[ColumnElement[bool]]:
    """A cheap LIKE that lets through at least every match, tested before the folding functions (which cost four
    times as much per row: 660 → 170 ms for „enthält“ over a million contacts). The LIKE ignores the case of A–Z;
    each umlaut becomes `_` (any one character), so Ä/ä, Ö/ö, Ü/ü all pass."""
    if c.operator == "in" and len(c.value) <= MAX_PREFILTER_VALUES:
        patterns = [like_pattern(v) for v in c.value]
    elif c.operator in _LIKE_TEMPLATES:
        patterns = [_LIKE_TEMPLATES[c.operator].format(like_pattern(c.value))]
    else:
        return []
    # SQLite's LIKE ignores the case of A–Z; on PostgreSQL lower() under the C collation does the same (ILIKE,
    # which folds by locale, costs twice as much per row).
    subject = column if ctx.dialect == "sqlite" else func.lower(column.collate("C"))
    return [or_(*(subject.like(pattern, escape="\\") for pattern in patterns))]


def like_pattern(term: str) -> str:
    """`term` folded, LIKE's special characters escaped, umlauts as `_`."""
    escaped = fold(term).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.translate(_UMLAUT_WILDCARD)


def choice_test(column: Column, c: Condition) -> ColumnElement[bool]:
    if c.operator in ("empty", "not_empty"):
        return (_empty if c.operator == "empty" else _not_empty)(column, text=True)
    if c.operator == "in":
        return and_(column.is_not(None), column.in_(c.value))
    if c.operator == "ne":
        return and_(_not_empty(column, text=True), column != c.value)
    return and_(column.is_not(None), column == c.value)


def compare(expression: Any, c: Condition, convert: Callable[[Any], Any] = lambda v: v) -> ColumnElement[bool]:
    """=, ≠, <, >, zwischen (both ends included) on a value that is never NULL where this is called."""
    value = convert(c.value)
    if c.operator == "between":
        return and_(expression >= value, expression <= convert(c.value2))
    return {
        "eq": lambda: expression == value,
        "ne": lambda: expression != value,
        "lt": lambda: expression < value,
        "gt": lambda: expression > value,
    }[c.operator]()


def holds(c: Condition, number: Decimal) -> bool:
    """The comparison of `c` applied to a number in Python (used for the value of an empty sum)."""
    value = Decimal(str(c.value))
    if c.operator == "between":
        return value <= number <= Decimal(str(c.value2))
    return {"eq": number == value, "ne": number != value, "lt": number < value, "gt": number > value}[c.operator]


def number_test(column: Column, c: Condition) -> ColumnElement[bool]:
    if c.operator in ("empty", "not_empty"):
        return (_empty if c.operator == "empty" else _not_empty)(column, text=False)
    return and_(column.is_not(None), compare(column, c))


def shift(moment: dt.datetime | dt.date, amount: int, unit: str | None) -> Any:
    """`moment` moved by `amount` days or months (negative: back); month ends are clamped
    (31.03. − 1 Monat = 28./29.02.)."""
    if unit == "days":
        return moment + dt.timedelta(days=amount)
    if isinstance(moment, dt.datetime):
        day = add_months(moment.date(), amount)
        return dt.datetime.combine(day, moment.timetz())
    return add_months(moment, amount)


def date_test(ctx: CompileContext, column: Column, c: Condition, *, timestamp: bool) -> ColumnElement[bool]:
    """Date operators on a DATE column or, with `timestamp`, on a UTC timestamp column (calendar days of
    Europe/Berlin for fixed dates, the exact moment `at` for relative periods)."""
    if c.operator in ("empty", "not_empty"):
        return (_empty if c.operator == "empty" else _not_empty)(column, text=False)
    if c.operator == "anniversary_next":
        return and_(column.is_not(None), _month_day(ctx, column).in_(anniversary_days(ctx.today, c.amount or 0)))
    low, high, high_included = _date_range(ctx, c, timestamp=timestamp)
    parts = [column.is_not(None)]
    if low is not None:
        parts.append(column >= low)
    if high is not None:
        parts.append(column <= high if high_included else column < high)
    return and_(*parts)


def _date_range(ctx: CompileContext, c: Condition, *, timestamp: bool) -> tuple[Any, Any, bool]:
    """(lowest match, highest match or first non-match, whether the high end matches)."""
    if c.operator in ("in_last", "in_next"):
        origin: Any = ctx.at if timestamp else ctx.today
        other = shift(origin, (c.amount or 0) * (-1 if c.operator == "in_last" else 1), c.unit)
        return (other, origin, True) if c.operator == "in_last" else (origin, other, True)
    first = dt.date.fromisoformat(c.value)
    last = dt.date.fromisoformat(c.value2) if c.operator == "between" else first
    day = dt.timedelta(days=1)
    if timestamp:
        start = local_day_start
        moments = {
            "before": (None, start(first)),
            "after": (start(first + day), None),
            "on": (start(first), start(first + day)),
            "between": (start(first), start(last + day)),
        }
        return (*moments[c.operator], False)
    days = {"before": (None, first - day), "after": (first + day, None), "on": (first, first), "between": (first, last)}
    return (*days[c.operator], True)


def anniversary_days(today: dt.date, days: int) -> list[str]:
    """ "MM-DD" of every day from today to today + `days`; 29 February is celebrated on 28 February in other years."""
    result = []
    for offset in range(days + 1):
        day = today + dt.timedelta(days=offset)
        result.append(day.strftime("%m-%d"))
        if day.month == 2 and day.day == 28 and not _is_leap(day.year):
            result.append("02-29")
    return sorted(set(result))


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _month_day(ctx: CompileContext, column: Column) -> ColumnElement[str]:
    if ctx.dialect == "sqlite":
        return func.substr(column, 6, 5)  # dates are stored as YYYY-MM-DD text
    return func.to_char(column, "MM-DD")


def on_account(predicate: Predicate) -> Predicate:
    """A company-field test for the contact: its company matches. A contact without a company matches
    „ist leer“ only."""

    def compile_(ctx: CompileContext, c: Condition) -> ColumnElement[bool]:
        companies = scoped_companies(ctx, select(Account.id).where(predicate(ctx, c)), Account.id).correlate(None)
        matched = and_(Contact.account_id.is_not(None), Contact.account_id.in_(companies))
        return or_(Contact.account_id.is_(None), matched) if c.operator == "empty" else matched

    return compile_


# --- related data ------------------------------------------------------------------------------------------------


def member_of(ctx: CompileContext, ids: Select[Any], inside: bool) -> ColumnElement[bool]:
    """contacts.id IN / NOT IN a set of contact ids (`ids` never yields NULL), built within the caller's scope."""
    if ctx.scope is not None:
        ids = ids.where(ids.selected_columns[0].in_(select(Contact.id).where(ctx.scope).correlate(None)))
    test = Contact.id.in_(ids.correlate(None))
    return test if inside else not_(test)


def scoped_companies(ctx: CompileContext, companies: Select[Any], column: Column) -> Select[Any]:
    """A set of company ids built only for the companies of the caller's scope (see CompileContext.scope)."""
    if ctx.scope is None:
        return companies
    return companies.where(column.in_(select(Contact.account_id).where(ctx.scope).correlate(None)))


def tags_test(ctx: CompileContext, c: Condition) -> ColumnElement[bool]:
    having = select(ContactTag.contact_id).where(ContactTag.tag.in_(c.value))
    if c.operator == "all_of":
        return member_of(ctx, having.group_by(ContactTag.contact_id).having(func.count() == len(c.value)), True)
    return member_of(ctx, having, c.operator == "any_of")


def deals_test(column: Column) -> Predicate:
    """The contact plays a role (opportunity_contacts) in at least one / no deal whose `column` is in the list."""

    def compile_(ctx: CompileContext, c: Condition) -> ColumnElement[bool]:
        return member_of(ctx, _deal_contacts(column.in_(c.value)), c.operator == "any_in")

    return compile_


def _deal_contacts(condition: ColumnElement[bool]) -> Select[Any]:
    return (
        select(OpportunityContact.contact_id)
        .join(Opportunity, Opportunity.id == OpportunityContact.opportunity_id)
        .where(condition)
    )


def expected_close_test(ctx: CompileContext, c: Condition) -> ColumnElement[bool]:
    """An open deal of the contact (contact role) whose expected close date matches."""
    on_date = date_test(ctx, Opportunity.expected_close_date, c, timestamp=False)
    return member_of(ctx, _deal_contacts(and_(Opportunity.status == "open", on_date)), True)


def won_revenue_test(ctx: CompileContext, c: Condition) -> ColumnElement[bool]:
    """The sum of the won deals of the contact's company closed in the period (today back by N days or months,
    in the condition's currency) compared with the amount. A company without such deals has the sum 0; a contact
    without a company matches nothing."""
    since = shift(ctx.today, -(c.amount or 0), c.unit)
    won = select(Opportunity.account_id).where(
        Opportunity.status == "won",
        Opportunity.currency == (c.currency or "EUR"),
        Opportunity.closed_date >= since,
        Opportunity.closed_date <= ctx.today,
    )
    per_company = scoped_companies(ctx, won, Opportunity.account_id).group_by(Opportunity.account_id)
    total = func.sum(Opportunity.amount)
    has_company = Contact.account_id.is_not(None)
    if holds(c, Decimal(0)):
        others = per_company.having(not_(compare(total, c, Decimal))).correlate(None)
        return and_(has_company, not_(Contact.account_id.in_(others)))
    return and_(has_company, Contact.account_id.in_(per_company.having(compare(total, c, Decimal)).correlate(None)))


def activity_test(activity_type: str | None, *, keyed: bool) -> Predicate:
    """At least one activity (of `activity_type`, or of the type in the value; for a campaign or event of the key in
    the value) up to `at`: ever / never / in the last N days or months / not in the last N."""

    def compile_(ctx: CompileContext, c: Condition) -> ColumnElement[bool]:
        ids = select(Activity.contact_id).where(
            Activity.type == (activity_type or c.value), Activity.occurred_at <= ctx.at
        )
        if keyed:
            ids = ids.where(Activity.campaign_key == c.value)
        if c.operator in ("within", "not_within"):
            ids = ids.where(Activity.occurred_at >= shift(ctx.at, -(c.amount or 0), c.unit))
        return member_of(ctx, ids, c.operator in ("ever", "within"))

    return compile_


def consent_test(ctx: CompileContext, c: Condition) -> ColumnElement[bool]:
    """The consent gate allows (or refuses) channel (value) × purpose (value2) at `at`: restricted, objecting,
    suppressed contacts and those without an address never count as allowed. The gate decides only for the
    audience of the other conditions (a million decisions cost about a second)."""
    allowed = reachable(ctx.session, channel=c.value, purpose=c.value2, at=ctx.at, among=ctx.audience)
    return member_of(ctx, allowed, c.operator == "allowed")


def segment_test(ctx: CompileContext, c: Condition) -> ColumnElement[bool]:
    """Stored membership of another segment (as of its last recalculation)."""
    ids = select(SegmentMember.contact_id).where(SegmentMember.segment_id == c.value)
    return member_of(ctx, ids, c.operator == "member")


def has_account_test(ctx: CompileContext, c: Condition) -> ColumnElement[bool]:
    return Contact.account_id.is_not(None) if c.operator == "is_true" else Contact.account_id.is_(None)


# --- value parsers and choices ------------------------------------------------------------------------------------


def parse_channel(raw: Any) -> str:
    if raw not in CHANNELS:
        raise RuleError(f"unbekannter Kanal „{raw}“ (erlaubt: {', '.join(CHANNELS)})")
    return str(raw)


def parse_activity_type(raw: Any) -> str:
    if raw not in ACTIVITY_TYPES:
        raise RuleError(f"unbekannte Aktivität „{raw}“ (erlaubt: {', '.join(ACTIVITY_TYPES)})")
    return str(raw)


def _distinct(column: Column, *where: ColumnElement[bool], limit: int = 500) -> Callable[[Session], list[Choice]]:
    def load(session: Session) -> list[Choice]:
        stmt = select(distinct(column)).where(column.is_not(None), *where).order_by(column).limit(limit)
        return [(value, str(value)) for value in session.scalars(stmt)]

    return load


def _stages(session: Session) -> list[Choice]:
    rows = session.execute(
        select(PipelineStage.id, Pipeline.name, PipelineStage.name)
        .join(Pipeline, Pipeline.id == PipelineStage.pipeline_id)
        .order_by(Pipeline.position, Pipeline.name, PipelineStage.position)
    )
    return [(stage_id, f"{pipeline} · {stage}") for stage_id, pipeline, stage in rows]


def _pipelines(session: Session) -> list[Choice]:
    return [(p.id, p.name) for p in session.scalars(select(Pipeline).order_by(Pipeline.position, Pipeline.name))]


def _purposes(session: Session) -> list[Choice]:
    rows = session.scalars(select(ConsentPurpose).order_by(ConsentPurpose.position))
    return [(p.key, p.name_de) for p in rows]


def _segments(session: Session) -> list[Choice]:
    return [(s.id, s.name) for s in session.scalars(select(Segment).order_by(Segment.name))]


def _campaigns(*types: str) -> Callable[[Session], list[Choice]]:
    return _distinct(Activity.campaign_key, Activity.type.in_(types))


def _industries(session: Session) -> list[Choice]:
    stored = [value for value, _ in _distinct(Account.industry)(session)]
    return [(value, value) for value in sorted({*INDUSTRIES, *stored})]


# --- the catalogue ------------------------------------------------------------------------------------------------

CONTACT, COMPANY = ("Kontakt", "Contact"), ("Firma", "Company")


def _field(
    key: str,
    label: tuple[str, str],
    group: tuple[str, str],
    kind: str,
    compile_: Predicate,
    **options: Any,
) -> None:
    register_condition(
        ConditionSpec(
            key=key,
            label_de=label[0],
            label_en=label[1],
            group_label=group[0],
            group_label_en=group[1],
            value_kind=kind,
            compile=compile_,
            **options,
        )
    )


def _text(column: Column) -> Predicate:
    return lambda ctx, c: text_test(ctx, column, c)


def _choice(column: Column) -> Predicate:
    return lambda ctx, c: choice_test(column, c)


def _number(column: Column) -> Predicate:
    return lambda ctx, c: number_test(column, c)


def _date(column: Column, *, timestamp: bool) -> Predicate:
    return lambda ctx, c: date_test(ctx, column, c, timestamp=timestamp)


def _static(values: tuple[str, ...]) -> tuple[Choice, ...]:
    return tuple((value, value) for value in values)


REQUIRED_TEXT = ("eq", "ne", "contains", "starts_with", "in")  # names are never empty
for _key, _label, _column in (
    ("first_name", ("Vorname", "First name"), Contact.first_name),
    ("last_name", ("Nachname", "Last name"), Contact.last_name),
):
    _field(f"contact.{_key}", _label, CONTACT, "text", _text(_column), operators=REQUIRED_TEXT)
for _key, _label, _column in (
    ("email", ("E-Mail", "E-mail"), Contact.email),
    ("city", ("Ort", "City"), Contact.city),
    ("postcode", ("PLZ", "Postcode"), Contact.postcode),
    ("job_title", ("Position", "Job title"), Contact.job_title),
):
    _field(f"contact.{_key}", _label, CONTACT, "text", _text(_column))
_field(
    "contact.country",
    ("Land", "Country"),
    CONTACT,
    "choice",
    _choice(Contact.country),
    operators=("eq", "ne", "in"),
    choices_loader=_distinct(Contact.country),
)
_field(
    "contact.salutation",
    ("Anrede", "Salutation"),
    CONTACT,
    "choice",
    _choice(Contact.salutation),
    choices=_static(SALUTATIONS),
)
_field(
    "contact.birth_date",
    ("Geburtsdatum", "Date of birth"),
    CONTACT,
    "date",
    _date(Contact.birth_date, timestamp=False),
    operators=("before", "after", "on", "between", "anniversary_next", "empty", "not_empty"),
)
_field(
    "contact.created_at",
    ("Angelegt", "Created"),
    CONTACT,
    "date",
    _date(Contact.created_at, timestamp=True),
    operators=("before", "after", "on", "between", "in_last"),
)
_field("contact.has_account", ("Hat eine Firma", "Has a company"), CONTACT, "bool", has_account_test)

_field(
    "account.industry",
    ("Branche", "Industry"),
    COMPANY,
    "choice",
    on_account(_choice(Account.industry)),
    choices_loader=_industries,
)
_field("account.employees", ("Mitarbeitende", "Employees"), COMPANY, "number", on_account(_number(Account.employees)))
_field(
    "account.revenue_class",
    ("Umsatzklasse", "Revenue class"),
    COMPANY,
    "choice",
    on_account(_choice(Account.revenue_class)),
    choices=_static(REVENUE_CLASSES),
)
_field("account.city", ("Ort der Firma", "Company city"), COMPANY, "text", on_account(_text(Account.city)))
_field(
    "account.country",
    ("Land der Firma", "Company country"),
    COMPANY,
    "choice",
    on_account(_choice(Account.country)),
    choices_loader=_distinct(Account.country),
)
_field(
    "account.legal_form",
    ("Rechtsform", "Legal form"),
    COMPANY,
    "choice",
    on_account(_choice(Account.legal_form)),
    choices=_static(LEGAL_FORMS),
)

_field(
    "contact.tags",
    ("Schlagworte", "Tags"),
    ("Schlagworte", "Tags"),
    "tags",
    tags_test,
    choices_loader=_distinct(ContactTag.tag),
)

DEALS = ("Verkaufschancen", "Opportunities")
_field(
    "opportunity.stage",
    ("Verkaufschance in Phase", "Opportunity in stage"),
    DEALS,
    "related",
    deals_test(Opportunity.stage_id),
    choices_loader=_stages,
)
_field(
    "opportunity.pipeline",
    ("Verkaufschance in Pipeline", "Opportunity in pipeline"),
    DEALS,
    "related",
    deals_test(Opportunity.pipeline_id),
    choices_loader=_pipelines,
)
_field(
    "opportunity.status",
    ("Verkaufschance mit Status", "Opportunity with status"),
    DEALS,
    "related",
    deals_test(Opportunity.status),
    choices=DEAL_STATUSES,
)
_field(
    "opportunity.expected_close",
    ("Offene Verkaufschance, erwarteter Abschluss", "Open opportunity, expected close"),
    DEALS,
    "date",
    expected_close_test,
    operators=("before", "after", "on", "between", "in_last", "in_next"),
)
_field(
    "revenue.won",
    ("Gewonnener Umsatz der Firma", "Won revenue of the company"),
    DEALS,
    "money",
    won_revenue_test,
    period_required=True,
)

_field(
    "activity.type",
    ("Aktivität", "Activity"),
    ("Aktivitäten", "Activities"),
    "behaviour",
    activity_test(None, keyed=False),
    value_parser=parse_activity_type,
    choices_loader=lambda session: [(key, de) for key, (de, _) in ACTIVITY_TYPES.items()],
)
CAMPAIGNS, EVENTS = ("Kampagnen", "Campaigns"), ("Veranstaltungen", "Events")
_field(
    "campaign.opened",
    ("Kampagne geöffnet", "Opened campaign"),
    CAMPAIGNS,
    "behaviour",
    activity_test("email_open", keyed=True),
    choices_loader=_campaigns("email_open", "email_click"),
)
_field(
    "campaign.clicked",
    ("Kampagne geklickt", "Clicked campaign"),
    CAMPAIGNS,
    "behaviour",
    activity_test("email_click", keyed=True),
    choices_loader=_campaigns("email_open", "email_click"),
)
_field(
    "event.registered",
    ("Zu Veranstaltung angemeldet", "Registered for event"),
    EVENTS,
    "behaviour",
    activity_test("event_registration", keyed=True),
    choices_loader=_campaigns("event_registration", "event_attendance"),
)
_field(
    "event.attended",
    ("Veranstaltung besucht", "Attended event"),
    EVENTS,
    "behaviour",
    activity_test("event_attendance", keyed=True),
    choices_loader=_campaigns("event_registration", "event_attendance"),
)

_field(
    "consent",
    ("Einwilligung (Kanal × Zweck)", "Consent (channel × purpose)"),
    ("Einwilligung", "Consent"),
    "consent",
    consent_test,
    value_parser=parse_channel,
    value2_parser=parse_text,
    choices_loader=_purposes,
    narrows=True,
    confined=("allowed",),
)
_field("segment", ("Segment", "Segment"), ("Segmente", "Segments"), "segment", segment_test, choices_loader=_segments)

__all__ = ["ACTIVITY_TYPES", "fold", "register_activity_type"]
