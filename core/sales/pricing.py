"""Quote arithmetic on Decimal: line amounts, quote discount, VAT per rate, gross. Pure, no database.

German invoice practice (§ 14 Abs. 4 Nr. 8 UStG): the net amount and the VAT are stated per tax rate,
and the VAT is computed once per rate on that rate's (discounted) net, rounded commercially to cents.
A quote discount applies to the sum of the lines; the discount in euros is split over the rates in
proportion to their nets (largest remainder, so the per-rate nets add up to the quote net exactly).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
VAT_RATES: tuple[Decimal, ...] = (Decimal(19), Decimal(7), Decimal(0))
GERMAN_THOUSANDS = re.compile(r"-?[1-9]\d{0,2}(\.\d{3})+")


def round_cents(value: Decimal) -> Decimal:
    """Commercial rounding (half up) to cents: 0.005 → 0.01."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_decimal(value: Any) -> Any:
    """Typed numbers as Decimal: "1.234,56", "1,234.56", "12,5", "12.500", "19 %"; other values pass through.

    With both separators the last one is the decimal mark; a lone comma is the German decimal comma;
    dots in groups of three without a comma ("12.500", "1.250.000") are German thousands separators.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(str(value))
    if not isinstance(value, str):
        return value
    text = value.strip().removesuffix("%").removesuffix("€").strip().replace(" ", "").replace("\xa0", "")
    if GERMAN_THOUSANDS.fullmatch(text):
        text = text.replace(".", "")
    elif "," in text and text.rfind(",") > text.rfind("."):
        text = text.replace(".", "").replace(",", ".")
    else:
        text = text.replace(",", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return value


def decimal_input(value: Any, *, places: int, limit: Decimal = Decimal("1e12")) -> Decimal:
    """A number from a form or the API with at most `places` decimals, below `limit` (German messages)."""
    number = to_decimal(value)
    if not isinstance(number, Decimal) or not number.is_finite():
        raise ValueError("keine gültige Zahl")
    if number.as_tuple().exponent < -places and number != number.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(f"höchstens {places} Nachkommastellen")
    if abs(number) >= limit:
        raise ValueError("Zahl ist zu groß")
    return number.quantize(Decimal(1).scaleb(-places))


def money_input(value: Any) -> Decimal:
    return decimal_input(value, places=2)


def percent_input(value: Any) -> Decimal:
    number = decimal_input(value, places=2, limit=Decimal(1000))
    if not 0 <= number <= 100:
        raise ValueError("muss zwischen 0 und 100 % liegen")
    return number


def quantity_input(value: Any) -> Decimal:
    number = decimal_input(value, places=3, limit=Decimal("1e9"))
    if number <= 0:
        raise ValueError("muss größer als 0 sein")
    return number


def vat_rate(value: Any) -> Decimal:
    """One of the German rates 19, 7 or 0 (ValueError with a German message otherwise)."""
    rate = to_decimal(value)
    if not isinstance(rate, Decimal) or rate not in VAT_RATES:
        raise ValueError("Umsatzsteuersatz muss 19, 7 oder 0 % sein")
    return rate.quantize(CENT)


def line_net(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal = Decimal(0)) -> Decimal:
    """quantity × unit price × (1 − discount %), rounded half up to cents."""
    return round_cents(quantity * unit_price * (HUNDRED - discount_percent) / HUNDRED)


@dataclass(frozen=True)
class PricedLine:
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal
    discount_percent: Decimal = Decimal(0)

    @property
    def net(self) -> Decimal:
        return line_net(self.quantity, self.unit_price, self.discount_percent)


@dataclass(frozen=True)
class VatAmount:
    """One tax rate of a quote: the lines' net at this rate, its share of the quote discount, base and VAT."""

    rate: Decimal
    lines_net: Decimal
    discount: Decimal
    net: Decimal
    vat: Decimal


@dataclass(frozen=True)
class QuoteTotals:
    lines_net: Decimal
    discount_percent: Decimal
    discount: Decimal
    net: Decimal
    vat_total: Decimal
    gross: Decimal
    per_rate: tuple[VatAmount, ...]


def _split_discount(discount: Decimal, bases: Sequence[Decimal]) -> list[Decimal]:
    """Split `discount` over `bases` in proportion, to the cent, summing exactly (largest remainder)."""
    total = sum(bases, Decimal(0))
    if not total or not discount:
        return [Decimal(0) for _ in bases]
    exact = [discount * base / total for base in bases]
    shares = [share.quantize(CENT, rounding=ROUND_DOWN) for share in exact]
    left = int((discount - sum(shares, Decimal(0))) / CENT)
    by_remainder = sorted(range(len(bases)), key=lambda i: (exact[i] - shares[i], bases[i]), reverse=True)
    for i in by_remainder[:left]:
        shares[i] += CENT
    return shares


def quote_totals(lines: Iterable[PricedLine], discount_percent: Decimal = Decimal(0)) -> QuoteTotals:
    """Net, VAT per rate and gross of a quote; the quote discount reduces every rate's base.

    net = sum(line nets) × (1 − discount %) rounded to cents; VAT per rate = rate × that rate's
    discounted net, rounded per rate; gross = net + sum of VAT.
    """
    by_rate: dict[Decimal, Decimal] = {}
    for line in lines:
        rate = line.vat_rate.quantize(CENT)
        by_rate[rate] = by_rate.get(rate, Decimal(0)) + line.net
    rates = sorted(by_rate, reverse=True)
    lines_net = sum(by_rate.values(), Decimal("0.00"))
    net = round_cents(lines_net * (HUNDRED - discount_percent) / HUNDRED)
    discount = lines_net - net
    shares = _split_discount(discount, [by_rate[r] for r in rates])
    per_rate = tuple(
        VatAmount(
            rate=rate,
            lines_net=by_rate[rate],
            discount=share,
            net=by_rate[rate] - share,
            vat=round_cents((by_rate[rate] - share) * rate / HUNDRED),
        )
        for rate, share in zip(rates, shares)
    )
    vat_total = sum((r.vat for r in per_rate), Decimal("0.00"))
    return QuoteTotals(
        lines_net=lines_net,
        discount_percent=discount_percent,
        discount=discount,
        net=net,
        vat_total=vat_total,
        gross=net + vat_total,
        per_rate=per_rate,
    )
