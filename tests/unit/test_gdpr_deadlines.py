"""Deadlines of data-subject requests (Art. 12(3) DSGVO) computed by Regulation 1182/71: the day of receipt
does not count, a month ends on the same date (or the month's last day), weekends and public holidays move
the end to the next working day; the receipt day is the calendar day in Berlin."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.gdpr.deadlines import (
    add_months,
    due_date,
    extension_still_possible,
    is_working_day,
    next_working_day,
    received_on,
    traffic_light,
)

UTC = dt.timezone.utc


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("received", "due", "weekday"),
    [
        # 31 Jan + 1 month = 28 Feb 2026, a Saturday: the period ends on Monday, 2 March.
        (at(2026, 1, 31), dt.date(2026, 3, 2), "Mon"),
        # Leap year: 29 Feb 2024 exists and is a Thursday.
        (at(2024, 1, 31), dt.date(2024, 2, 29), "Thu"),
        (at(2023, 1, 30), dt.date(2023, 2, 28), "Tue"),
        (at(2026, 3, 15), dt.date(2026, 4, 15), "Wed"),
        # 1 Jan 2027 (Neujahr) is a Friday, followed by the weekend.
        (at(2026, 12, 1), dt.date(2027, 1, 4), "Mon"),
        # 26 Dec 2025 (2. Weihnachtsfeiertag) is a Friday.
        (at(2025, 11, 26), dt.date(2025, 12, 29), "Mon"),
        # 25 Dec 2025 is a Thursday: both Christmas days and the weekend pass.
        (at(2025, 11, 25), dt.date(2025, 12, 29), "Mon"),
        # Good Friday 2026 is 3 April, Easter Monday 6 April.
        (at(2026, 3, 3), dt.date(2026, 4, 7), "Tue"),
    ],
)
def test_one_month_by_regulation_1182_71(received: dt.datetime, due: dt.date, weekday: str) -> None:
    assert due_date(received) == due
    assert due.strftime("%a") == weekday
    assert is_working_day(due)


def test_the_period_ends_on_the_same_date_when_that_is_a_working_day() -> None:
    assert add_months(dt.date(2026, 3, 15), 1) == dt.date(2026, 4, 15)
    assert add_months(dt.date(2026, 12, 31), 2) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2024, 3, 31), -1) == dt.date(2024, 2, 29)


def test_state_holidays_count_only_with_the_controllers_bundesland() -> None:
    # 6 Jan 2026 (Heilige Drei Könige, Tuesday) is a holiday in Bavaria, not nationwide.
    assert due_date(at(2025, 12, 6)) == dt.date(2026, 1, 6)
    assert due_date(at(2025, 12, 6), state="BY") == dt.date(2026, 1, 7)
    # Fronleichnam, Thursday 4 June 2026.
    assert due_date(at(2026, 5, 4)) == dt.date(2026, 6, 4)
    assert due_date(at(2026, 5, 4), state="BY") == dt.date(2026, 6, 5)
    # Mariä Himmelfahrt (Friday, 15 Aug 2025) is a statewide holiday in the Saarland; in Bavaria only in
    # predominantly Catholic municipalities, so not for a Bavarian controller as a whole.
    assert due_date(at(2025, 7, 15), state="SL") == dt.date(2025, 8, 18)
    assert due_date(at(2025, 7, 15), state="BY") == dt.date(2025, 8, 15)
    assert not is_working_day(dt.date(2025, 8, 15), "SL") and is_working_day(dt.date(2025, 8, 15))


def test_the_receipt_day_is_the_calendar_day_in_berlin() -> None:
    late = at(2026, 3, 14, 23, 30)  # 00:30 on 15 March in Berlin (CET)
    assert received_on(late) == dt.date(2026, 3, 15)
    assert due_date(late) == dt.date(2026, 4, 15)
    assert due_date(at(2026, 3, 14, 22, 30)) == dt.date(2026, 4, 14)  # 23:30 in Berlin: still the 14th
    summer = at(2026, 6, 30, 22, 30)  # 00:30 on 1 July (CEST, UTC+2)
    assert received_on(summer) == dt.date(2026, 7, 1)
    assert due_date(summer) == dt.date(2026, 8, 3)  # 1 Aug 2026 is a Saturday


def test_an_extension_makes_three_months_from_receipt() -> None:
    received = at(2026, 1, 31)
    assert due_date(received, extension_months=1) == dt.date(2026, 3, 31)
    assert due_date(received, extension_months=2) == dt.date(2026, 4, 30)
    assert dt.date(2026, 4, 30).strftime("%a") == "Thu"
    for months in (-1, 3):
        with pytest.raises(ValueError, match="0 to 2 months"):
            due_date(received, extension_months=months)


def test_an_extension_is_possible_only_within_the_first_month() -> None:
    received = at(2026, 1, 31)  # first month ends Monday, 2 March
    assert extension_still_possible(received, at(2026, 2, 10))
    assert extension_still_possible(received, at(2026, 3, 2, 22, 59))  # 23:59 in Berlin
    assert not extension_still_possible(received, at(2026, 3, 2, 23, 30))  # already 3 March in Berlin
    assert not extension_still_possible(received, at(2026, 3, 3, 9))
    assert extension_still_possible(at(2025, 12, 6), at(2026, 1, 7), "BY")
    assert not extension_still_possible(at(2025, 12, 6), at(2026, 1, 7))


def test_traffic_light() -> None:
    due = dt.date(2026, 3, 2)
    assert traffic_light(due, dt.date(2026, 2, 20)) == "green"  # 10 days left
    assert traffic_light(due, dt.date(2026, 2, 22)) == "green"  # 8 days left
    assert traffic_light(due, dt.date(2026, 2, 23)) == "yellow"  # 7 days left
    assert traffic_light(due, due) == "yellow"
    assert traffic_light(due, dt.date(2026, 3, 3)) == "red"


def test_next_working_day_skips_weekends_and_holidays() -> None:
    assert next_working_day(dt.date(2026, 4, 3)) == dt.date(2026, 4, 7)  # Good Friday → Tuesday after Easter
    assert next_working_day(dt.date(2026, 4, 8)) == dt.date(2026, 4, 8)
    assert next_working_day(dt.date(2026, 10, 3)) == dt.date(2026, 10, 5)  # Unity Day on a Saturday


receipts = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 12, 31), timezones=st.just(UTC))
states = st.sampled_from([None, "BY", "BW", "NW", "SN", "SL", "BE"])


@given(receipts, states, st.integers(min_value=0, max_value=2))
def test_due_date_is_a_working_day_at_most_four_days_after_the_calendar_end(
    received: dt.datetime, state: str | None, extension: int
) -> None:
    due = due_date(received, extension_months=extension, state=state)
    calendar_end = add_months(received_on(received), 1 + extension)
    assert is_working_day(due, state)
    assert calendar_end <= due <= calendar_end + dt.timedelta(days=4)


@given(receipts, states)
def test_due_date_is_never_before_the_same_date_next_month(received: dt.datetime, state: str | None) -> None:
    day = received_on(received)
    due = due_date(received, state=state)
    next_month = (day.month % 12) + 1
    year = day.year + (day.month == 12)
    assert due > day and (due.year, due.month) >= (year, next_month)
    if day.day <= 28:
        assert due >= dt.date(year, next_month, day.day)


@given(receipts, receipts, states)
def test_due_date_is_monotone_in_the_receipt(first: dt.datetime, second: dt.datetime, state: str | None) -> None:
    earlier, later = sorted((first, second))
    assert due_date(earlier, state=state) <= due_date(later, state=state)
    assert due_date(later, state=state) <= due_date(later, extension_months=1, state=state)


@given(receipts, states)
def test_extension_is_possible_on_receipt_and_never_five_weeks_later(received: dt.datetime, state: str | None) -> None:
    assert extension_still_possible(received, received, state)
    assert not extension_still_possible(received, received + dt.timedelta(days=36), state)
