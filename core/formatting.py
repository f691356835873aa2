"""Locale-aware formatting of numbers, money and dates (babel), shared by pages, exports and e-mails."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.numbers import format_currency, format_decimal

LOCALES = {"de": "de_DE", "en": "en_GB"}
DISPLAY_TZ = ZoneInfo("Europe/Berlin")


def babel_locale(lang: str) -> str:
    return LOCALES.get(lang, "de_DE")


def fmt_number(value: float | int | Decimal | None, lang: str = "de", digits: int = 0) -> str:
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=babel_locale(lang))


def fmt_money(value: float | int | Decimal | None, lang: str = "de", currency: str = "EUR") -> str:
    if value is None:
        return ""
    return format_currency(value, currency, locale=babel_locale(lang))


def fmt_date(value: dt.date | dt.datetime | None, lang: str = "de") -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(DISPLAY_TZ).date()
    return _format_date(value, format="medium" if lang == "en" else "dd.MM.yyyy", locale=babel_locale(lang))


def fmt_datetime(value: dt.datetime | None, lang: str = "de") -> str:
    if value is None:
        return ""
    local = value.astimezone(DISPLAY_TZ)
    pattern = "dd.MM.yyyy HH:mm" if lang == "de" else "d MMM yyyy, HH:mm"
    return _format_datetime(local, format=pattern, locale=babel_locale(lang))
