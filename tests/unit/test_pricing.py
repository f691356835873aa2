"""Quote arithmetic: line amounts, quote discount split over the VAT rates, VAT per rate, gross."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from core.sales.pricing import (
    PricedLine,
    decimal_input,
    line_net,
    percent_input,
    quantity_input,
    quote_totals,
    round_cents,
    to_decimal,
    vat_rate,
)

D = Decimal


def test_line_net_is_rounded_half_up_to_cents() -> None:
    assert line_net(D(3), D("19.99")) == D("59.97")
    assert line_net(D("0.5"), D("0.05")) == D("0.03"), "0.025 rounds up (commercial), not to even"
    assert line_net(D("1.5"), D("3.33")) == D("5.00")
    assert line_net(D(10), D("99.99"), D("12.5")) == D("874.91"), "999.90 × 0.875 = 874.9125"
    assert line_net(D(2), D("100"), D(100)) == D("0.00")
    assert round_cents(D("-0.005")) == D("-0.01")


def test_quote_discount_is_split_over_the_rates_and_vat_is_per_rate() -> None:
    totals = quote_totals(
        [
            PricedLine(D(2), D("100.00"), D(19)),
            PricedLine(D(3), D("33.33"), D(7)),
            PricedLine(D(1), D("50.00"), D(0)),
        ],
        D(10),
    )
    assert totals.lines_net == D("349.99")
    assert totals.net == D("314.99"), "349.99 × 0.9 = 314.991"
    assert totals.discount == D("35.00")
    by_rate = {r.rate: r for r in totals.per_rate}
    assert [r.rate for r in totals.per_rate] == [D(19), D(7), D(0)]
    # 35.00 split by share: 20.0006 / 9.9991 / 5.0001 → 20.00 / 9.99 / 5.00, the last cent to the largest remainder.
    assert [(r.discount, r.net) for r in totals.per_rate] == [
        (D("20.00"), D("180.00")),
        (D("10.00"), D("89.99")),
        (D("5.00"), D("45.00")),
    ]
    assert by_rate[D(19)].vat == D("34.20")
    assert by_rate[D(7)].vat == D("6.30"), "89.99 × 0.07 = 6.2993"
    assert by_rate[D(0)].vat == D("0.00")
    assert totals.vat_total == D("40.50")
    assert totals.gross == D("355.49")


def test_vat_is_rounded_once_per_rate_not_per_line() -> None:
    totals = quote_totals([PricedLine(D(1), D("0.03"), D(19))] * 3)
    assert totals.net == D("0.09")
    assert totals.vat_total == D("0.02"), "0.09 × 0.19 = 0.0171 (per line it would be 3 × 0.01)"
    assert quote_totals([PricedLine(D(1), D("0.50"), D(7))]).vat_total == D("0.04"), "0.035 rounds up"


def test_empty_quote_and_full_discount() -> None:
    empty = quote_totals([], D(10))
    assert (empty.net, empty.vat_total, empty.gross, empty.per_rate) == (D(0), D(0), D(0), ())
    free = quote_totals([PricedLine(D(1), D("99.99"), D(19))], D(100))
    assert (free.net, free.discount, free.gross) == (D("0.00"), D("99.99"), D("0.00"))


def test_random_quotes_keep_the_invariants() -> None:
    """Property check over many random quotes (seeded, so a failure is reproducible)."""
    rng = random.Random(20261125)
    cent = D("0.01")
    for _ in range(2_000):
        lines = [
            PricedLine(
                quantity=D(rng.randint(1, 5_000)) / D(rng.choice((1, 10, 1000))),
                unit_price=D(rng.randint(0, 1_000_000)) / 100,
                vat_rate=D(rng.choice((19, 7, 0))),
                discount_percent=D(rng.choice((0, 0, 5, 12.5, 33.33, 100))).quantize(cent),
            )
            for _ in range(rng.randint(0, 12))
        ]
        discount = D(rng.choice((0, 3, 7.5, 10, 33.33, 99.99, 100))).quantize(cent)
        totals = quote_totals(lines, discount)
        assert totals.gross == totals.net + totals.vat_total
        assert totals.vat_total == sum((r.vat for r in totals.per_rate), D(0))
        assert sum((r.net for r in totals.per_rate), D(0)) == totals.net
        assert totals.lines_net == sum((line.net for line in lines), D(0))
        assert abs(totals.net - totals.lines_net * (100 - discount) / 100) <= D("0.005")
        for rate in totals.per_rate:
            assert abs(rate.vat - rate.net * rate.rate / 100) <= D("0.005"), "VAT off by at most half a cent"
            exact_share = rate.lines_net * discount / 100
            assert abs(rate.discount - exact_share) < D("0.02"), "discount share within a cent per rate"
            assert rate.net >= 0


def test_german_number_input() -> None:
    assert to_decimal("1.234,56") == D("1234.56")
    assert to_decimal("1,234.56") == D("1234.56"), "English input: the last separator is the decimal mark"
    assert to_decimal("12,5") == D("12.5") and to_decimal("12.5") == D("12.5")
    assert to_decimal("19 %") == D(19)
    assert to_decimal("12.500") == D(12500) and to_decimal("1.250.000") == D(1250000), "German thousands"
    assert to_decimal("12.50") == D("12.5") and to_decimal("0.500") == D("0.5")
    assert to_decimal(2.5) == D("2.5")
    assert decimal_input("12,5", places=2) == D("12.50")
    assert quantity_input("1,125") == D("1.125")
    assert percent_input("7,5 %") == D("7.50")
    assert vat_rate("7") == D("7.00")
    for call, text in (
        (lambda: decimal_input("zwölf", places=2), "keine gültige Zahl"),
        (lambda: decimal_input("1,234", places=2), "höchstens 2 Nachkommastellen"),
        (lambda: percent_input("101"), "zwischen 0 und 100"),
        (lambda: quantity_input("0"), "größer als 0"),
        (lambda: vat_rate(16), "19, 7 oder 0"),
    ):
        with pytest.raises(ValueError, match=text):
            call()
