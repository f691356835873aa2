"""Statutory deadlines of data-subject requests (Art. 12(3) DSGVO), computed by Regulation (EEC, Euratom)
No 1182/71 on periods, dates and time limits:

- Art. 3(1): the day on which the request arrives does not count; the period runs from it.
- Art. 3(2)(c): a period of months ends on the day of the last month with the same date as the day the period
  runs from; where that date does not exist in the last month, on the month's last day (31 Jan + 1 month =
  28/29 Feb).
- Art. 3(4): a period whose last day is a Saturday, Sunday or public holiday ends on the next working day.

The extension by "two further months" is read as one period of three months from receipt (Art. 12(3)
sentence 2), again moved past weekends and holidays. Public holidays are Germany's, plus those of the
controller's Bundesland when one is configured. The received date is the calendar day in Europe/Berlin.
"""

from __future__ import annotations

import calendar
import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

BERLIN = ZoneInfo("Europe/Berlin")
RESPONSE_MONTHS = 1
MAX_EXTENSION_MONTHS = 2
DUE_SOON_DAYS = 7


def add_months(day: dt.date, months: int) -> dt.date:
    """Same date `months` later, or the last day of that month where the date does not exist."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@lru_cache(maxsize=64)
def _holidays(year: int, state: str | None) -> holidays.HolidayBase:
    return holidays.country_holidays("DE", subdiv=state, years=year)


def is_working_day(day: dt.date, state: str | None = None) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year, state)


def next_working_day(day: dt.date, state: str | None = None) -> dt.date:
    while not is_working_day(day, state):
        day += dt.timedelta(days=1)
    return day


def received_on(received_at: dt.datetime) -> dt.date:
    """The calendar day of receipt where the controller sits."""
    return received_at.astimezone(BERLIN).date()


def period_end(start: dt.date, months: int, state: str | None = None) -> dt.date:
    return next_working_day(add_months(start, months), state)


def due_date(received_at: dt.datetime, *, extension_months: int = 0, state: str | None = None) -> dt.date:
    if not 0 <= extension_months <= MAX_EXTENSION_MONTHS:
        raise ValueError(f"extension must be 0 to {MAX_EXTENSION_MONTHS} months")
    return period_end(received_on(received_at), RESPONSE_MONTHS + extension_months, state)


def extension_still_possible(received_at: dt.datetime, now: dt.datetime, state: str | None = None) -> bool:
    """An extension must be decided (and the person told) within the first month (Art. 12(3))."""
    return received_on(now) <= due_date(received_at, state=state)


def traffic_light(due_on: dt.date, today: dt.date) -> str:
    """green: more than a week left; yellow: due within 7 days; red: overdue."""
    if today > due_on:
        return "red"
    if (due_on - today).days <= DUE_SOON_DAYS:
        return "yellow"
    return "green"
