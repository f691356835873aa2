"""The quote letter: a multi-page PDF read back with pdftotext (poppler-utils)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from decimal import Decimal

import pytest

from core.sales.pricing import PricedLine, quote_totals
from core.sales.quotes import DEMO_LETTERHEAD
from exports.pdf.quote import QuoteDocument, QuoteDocumentLine, TaxLine, money, quote_pdf

D = Decimal


def document(line_count: int, *, status: str = "versendet") -> QuoteDocument:
    """Lines alternating 19 % and 7 %, every fifth with 10 % line discount, 3 % quote discount."""
    priced: list[PricedLine] = []
    lines: list[QuoteDocumentLine] = []
    for n in range(1, line_count + 1):
        line = PricedLine(D(n % 4 + 1), D("1249.90") + n, D(7) if n % 2 else D(19), D(10) if n % 5 == 0 else D(0))
        priced.append(line)
        lines.append(
            QuoteDocumentLine(
                n,
                f"Ersatzteil {n:02d}\nLieferung frei Haus",
                line.quantity,
                "Stück",
                line.unit_price,
                line.discount_percent,
                line.vat_rate,
                line.net,
            )
        )
    totals = quote_totals(priced, D(3))
    return QuoteDocument(
        number="AN-2026-00042",
        status=status,
        quote_date=dt.date(2026, 11, 25),
        valid_until=dt.date(2026, 12, 25),
        currency="EUR",
        recipient_name="Müller Maschinenbau GmbH",
        recipient_contact="Herr Łukasz Wójcik",
        street="Hohe Straße 12",
        postcode="50667",
        city="Köln",
        country="DE",
        salutation="Sehr geehrter Herr Wójcik,",
        seller_name="Erika Vertrieb",
        seller_email="erika.vertrieb@example.de",
        introduction="vielen Dank für Ihre Anfrage.",
        terms="Zahlbar innerhalb von 14 Tagen ohne Abzug.",
        lines=tuple(lines),
        lines_net=totals.lines_net,
        discount_percent=totals.discount_percent,
        discount=totals.discount,
        net=totals.net,
        taxes=tuple(TaxLine(r.rate, r.net, r.vat) for r in totals.per_rate),
        gross=totals.gross,
    )


def pdf_text(data: bytes, *, page: int | None = None) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    pages = ["-f", str(page), "-l", str(page)] if page else []
    result = subprocess.run(["pdftotext", *pages, "-", "-"], input=data, capture_output=True, check=True)
    return result.stdout.decode().replace("\xa0", " ")


def test_sixty_lines_run_over_several_pages_with_header_totals_and_footer() -> None:
    doc = document(60)
    data = quote_pdf(doc, company=DEMO_LETTERHEAD)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    pages = text.count("Seite ")
    assert pages >= 3 and f"Seite {pages} von {pages}" in text
    assert "Seite 2 von" in text
    for expected in (
        "Angebot AN-2026-00042",
        "Musterfirma Vertriebs GmbH · Hansaring 12 · 50670 Köln",  # sender line above the address
        "Müller Maschinenbau GmbH",
        "Herr Łukasz Wójcik",
        "50667 Köln",
        "Angebotsnummer",
        "25.11.2026",
        "Gültig bis",
        "25.12.2026",
        "Ansprechpartner",
        "Erika Vertrieb",
        "Sehr geehrter Herr Wójcik,",
        "Ersatzteil 60",
        "Nettobetrag",
        "Rabatt 3 %",
        "USt 19 %",
        "USt 7 %",
        "Gesamtbetrag",
        "Geschäftsführer: Dr. Maria Beispiel",
        "Amtsgericht Köln, HRB 123456",
        "USt-IdNr. DE123456789",
        "IBAN DE12 3705 0198 0001 2345 67",
        "Zahlbar innerhalb von 14 Tagen",
    ):
        assert expected in text, expected
    assert money(doc.gross, "EUR").replace("\xa0", " ") in text
    assert money(doc.net, "EUR").replace("\xa0", " ") in text
    for tax in doc.taxes:
        assert money(tax.vat, "EUR").replace("\xa0", " ") in text
    assert "." in money(doc.gross, "EUR") and "," in money(doc.gross, "EUR"), "German format: 1.234,56 €"

    second = pdf_text(data, page=2)
    assert "Pos." in second and "Bezeichnung" in second and "Einzelpreis" in second, "header row repeated"
    assert "Angebot AN-2026-00042 vom 25.11.2026" in second, "running head on later pages"
    assert "Seite 2 von" in second and "USt-IdNr. DE123456789" in second, "footer on every page"


def test_short_quote_fits_one_page_and_marks_a_draft() -> None:
    text = pdf_text(quote_pdf(document(2, status="entwurf"), company=DEMO_LETTERHEAD))
    assert "Seite 1 von 1" in text
    assert "Entwurf (nicht versendet)" in text
    assert "Rabatt 3 %" in text and "Summe der Positionen" in text
