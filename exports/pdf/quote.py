"""The quote letter (Angebot) as PDF: a German business letter after DIN 5008, form B.

Page 1: letterhead, the sender line above the address window (DIN window at 45 mm from the top,
20 mm from the left), the recipient's address, the info block on the right (Angebotsnummer,
Datum, gültig bis, Ansprechpartner), subject, salutation and introduction. Then the line table
(header row repeated on every page), the totals block with VAT per rate, the terms, and on every
page a footer with the company's legal data (Geschäftsführer, Registergericht, USt-IdNr.,
Bankverbindung) and "Seite X von Y". Money as German text: 1.234,56 €.

Pure function of its input: `quote_pdf(document, company=letterhead)` → bytes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    KeepTogether,
    LongTable,
    NextPageTemplate,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

LOCALE = "de_DE"
PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT = 25 * mm
RIGHT = 20 * mm
FOOTER_TOP = 32 * mm
TEXT_WIDTH = PAGE_WIDTH - LEFT - RIGHT
# DIN 5008 form B: address field 45–90 mm from the top; info block right of it.
ADDRESS_TOP = 45 * mm
ADDRESS_LEFT = 20 * mm
INFO_LEFT = 125 * mm
FIRST_PAGE_BODY_TOP = 103.4 * mm
ACCENT = colors.HexColor("#1F4E79")
RULE = colors.HexColor("#B7C4D1")
MUTED = colors.HexColor("#57606A")
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


def _fonts() -> tuple[str, str]:
    """DejaVu Sans when installed (covers names such as „Łukasz“ or „Dvořák“), else Helvetica (Latin-1)."""
    regular, bold = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
    if not (regular.exists() and bold.exists()):
        return "Helvetica", "Helvetica-Bold"
    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(regular)))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(bold)))
    return "DejaVuSans", "DejaVuSans-Bold"


FONT, FONT_BOLD = _fonts()


@dataclass(frozen=True)
class CompanyLetterhead:
    """The selling company as printed in the letterhead, sender line and footer."""

    name: str
    street: str
    postcode: str
    city: str
    managing_directors: str
    register_court: str
    vat_id: str
    bank_name: str
    iban: str
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    bic: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class QuoteDocumentLine:
    position: int
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    discount_percent: Decimal
    vat_rate: Decimal
    net_amount: Decimal


@dataclass(frozen=True)
class TaxLine:
    rate: Decimal
    net: Decimal
    vat: Decimal


@dataclass(frozen=True)
class QuoteDocument:
    number: str
    status: str
    quote_date: dt.date
    valid_until: dt.date
    currency: str
    recipient_name: str
    recipient_contact: str | None
    street: str | None
    postcode: str | None
    city: str | None
    country: str
    salutation: str
    seller_name: str | None
    seller_email: str | None
    introduction: str | None
    terms: str | None
    lines: tuple[QuoteDocumentLine, ...]
    lines_net: Decimal
    discount_percent: Decimal
    discount: Decimal
    net: Decimal
    taxes: tuple[TaxLine, ...]
    gross: Decimal


def money(value: Decimal, currency: str) -> str:
    return format_currency(value, currency, locale=LOCALE)


def number(value: Decimal, *, max_places: int = 3) -> str:
    """1.234,5 — as many decimals as the value needs (up to `max_places`)."""
    pattern = "#,##0" + ("." + "#" * max_places if max_places else "")
    return format_decimal(value, format=pattern, locale=LOCALE)


def percent(value: Decimal) -> str:
    return f"{number(value, max_places=2)} %"


def date(value: dt.date) -> str:
    return format_date(value, format="dd.MM.yyyy", locale=LOCALE)


def _text(value: str) -> str:
    """Plain text for a Paragraph: escaped, line breaks kept."""
    return escape(value).replace("\n", "<br/>")


class _Styles:
    body = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=13.5)
    small = ParagraphStyle("small", fontName=FONT, fontSize=8, leading=10)
    footer = ParagraphStyle("footer", fontName=FONT, fontSize=6.5, leading=8.2, textColor=MUTED)
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=9, leading=11)
    cell_right = ParagraphStyle("cell_right", parent=cell, alignment=TA_RIGHT)
    head = ParagraphStyle("head", fontName=FONT_BOLD, fontSize=9, leading=11, textColor=colors.white)
    head_right = ParagraphStyle("head_right", parent=head, alignment=TA_RIGHT)
    subject = ParagraphStyle("subject", fontName=FONT_BOLD, fontSize=12, leading=15)


def _recipient_lines(doc: QuoteDocument) -> list[str]:
    place = " ".join(p for p in (doc.postcode, doc.city) if p)
    lines = [doc.recipient_name]
    if doc.recipient_contact:
        lines.append(doc.recipient_contact)
    lines += [p for p in (doc.street, place) if p]
    if doc.country and doc.country != "DE":
        lines.append(Locale.parse(LOCALE).territories.get(doc.country, doc.country).upper())
    return lines


def _footer_columns(company: CompanyLetterhead) -> list[list[str]]:
    contact = [company.name, company.street, f"{company.postcode} {company.city}"]
    reach = [p for p in (f"Tel. {company.phone}" if company.phone else None, company.email, company.website) if p]
    legal = [f"Geschäftsführer: {company.managing_directors}", company.register_court, f"USt-IdNr. {company.vat_id}"]
    bank = [company.bank_name, f"IBAN {company.iban}"] + ([f"BIC {company.bic}"] if company.bic else [])
    return [contact, reach, legal, bank]


def _footer_table(company: CompanyLetterhead) -> Table:
    cells = [
        [Paragraph("<br/>".join(escape(line) for line in lines), _Styles.footer) for lines in _footer_columns(company)]
    ]
    table = Table(cells, colWidths=[TEXT_WIDTH * share for share in (0.21, 0.24, 0.27, 0.28)])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def _canvas_class(doc: QuoteDocument, company: CompanyLetterhead) -> type[Canvas]:
    """A canvas that buffers pages so each page can print "Seite X von Y", letterhead and footer."""

    class QuoteCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab API
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._decorate(total)
                super().showPage()
            super().save()

        def _decorate(self, total: int) -> None:
            page = self._pageNumber
            self.saveState()
            self.setFillColor(ACCENT)
            self.setFont(FONT_BOLD, 16 if page == 1 else 11)
            self.drawRightString(PAGE_WIDTH - RIGHT, PAGE_HEIGHT - (22 if page == 1 else 14) * mm, company.name)
            if page > 1:
                self.setFont(FONT, 9)
                self.setFillColor(MUTED)
                self.drawString(LEFT, PAGE_HEIGHT - 14 * mm, f"Angebot {doc.number} vom {date(doc.quote_date)}")
                self.setStrokeColor(RULE)
                self.line(LEFT, PAGE_HEIGHT - 16.5 * mm, PAGE_WIDTH - RIGHT, PAGE_HEIGHT - 16.5 * mm)
            self.restoreState()
            self._footer(page, total)

        def _footer(self, page: int, total: int) -> None:
            self.saveState()
            self.setStrokeColor(RULE)
            self.line(LEFT, FOOTER_TOP - 3 * mm, PAGE_WIDTH - RIGHT, FOOTER_TOP - 3 * mm)
            footer = _footer_table(company)
            _, height = footer.wrapOn(self, TEXT_WIDTH, FOOTER_TOP)
            footer.drawOn(self, LEFT, FOOTER_TOP - 4 * mm - height)
            self.setFont(FONT, 8)
            self.setFillColor(MUTED)
            self.drawRightString(PAGE_WIDTH - RIGHT, 8 * mm, f"Seite {page} von {total}")
            self.restoreState()

    return QuoteCanvas


def _first_page(doc: QuoteDocument, company: CompanyLetterhead) -> Any:
    """Sender line, address window and info block of page 1 (drawn, not flowed)."""

    def draw(canvas: Canvas, _template: Any) -> None:
        canvas.saveState()
        top = PAGE_HEIGHT - ADDRESS_TOP
        sender = f"{company.name} · {company.street} · {company.postcode} {company.city}"
        canvas.setFont(FONT, 7)
        canvas.setFillColor(MUTED)
        canvas.drawString(ADDRESS_LEFT + 5 * mm, top - 5 * mm, sender)
        canvas.setStrokeColor(RULE)
        canvas.line(ADDRESS_LEFT + 5 * mm, top - 6 * mm, ADDRESS_LEFT + 85 * mm, top - 6 * mm)
        canvas.setFillColor(colors.black)
        canvas.setFont(FONT, 10)
        y = top - 17.7 * mm
        for line in _recipient_lines(doc):
            canvas.drawString(ADDRESS_LEFT + 5 * mm, y, line[:60])
            y -= 4.6 * mm
        info = [
            ("Angebotsnummer", doc.number),
            ("Datum", date(doc.quote_date)),
            ("Gültig bis", date(doc.valid_until)),
        ]
        if doc.seller_name:
            info.append(("Ansprechpartner", doc.seller_name))
        if doc.seller_email:
            info.append(("E-Mail", doc.seller_email))
        if company.phone:
            info.append(("Telefon", company.phone))
        if doc.status == "entwurf":
            info.append(("Status", "Entwurf (nicht versendet)"))
        y = top - 5 * mm
        for label, value in info:
            canvas.setFont(FONT, 8)
            canvas.setFillColor(MUTED)
            canvas.drawString(INFO_LEFT, y, label)
            canvas.setFont(FONT, 9)
            canvas.setFillColor(colors.black)
            canvas.drawString(INFO_LEFT + 28 * mm, y, value[:40])
            y -= 4.6 * mm
        canvas.restoreState()

    return draw


def _line_table(doc: QuoteDocument) -> LongTable:
    s = _Styles
    header = ["Pos.", "Bezeichnung", "Menge", "Einheit", "Einzelpreis", "Rabatt", "Gesamt"]
    right = {0, 2, 4, 5, 6}
    rows: list[list[Any]] = [[Paragraph(h, s.head_right if i in right else s.head) for i, h in enumerate(header)]]
    for line in doc.lines:
        rows.append(
            [
                Paragraph(str(line.position), s.cell_right),
                Paragraph(_text(line.description), s.cell),
                Paragraph(number(line.quantity), s.cell_right),
                Paragraph(escape(line.unit), s.cell),
                Paragraph(money(line.unit_price, doc.currency), s.cell_right),
                Paragraph(percent(line.discount_percent) if line.discount_percent else "", s.cell_right),
                Paragraph(money(line.net_amount, doc.currency), s.cell_right),
            ]
        )
    widths = [11 * mm, 57 * mm, 15 * mm, 17 * mm, 26 * mm, 16 * mm, 23 * mm]
    table = LongTable(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), ACCENT),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _totals_table(doc: QuoteDocument) -> Table:
    s = _Styles
    rows: list[tuple[str, str]] = []
    if doc.discount:
        rows.append(("Summe der Positionen", money(doc.lines_net, doc.currency)))
        rows.append((f"Rabatt {percent(doc.discount_percent)}", "-" + money(doc.discount, doc.currency)))
    rows.append(("Nettobetrag", money(doc.net, doc.currency)))
    for tax in doc.taxes:
        rows.append((f"USt {percent(tax.rate)} auf {money(tax.net, doc.currency)}", money(tax.vat, doc.currency)))
    rows.append(("Gesamtbetrag", money(doc.gross, doc.currency)))
    bold = ParagraphStyle("total_bold", parent=s.cell, fontName=FONT_BOLD, fontSize=10)
    bold_right = ParagraphStyle("total_bold_right", parent=bold, alignment=TA_RIGHT)
    last = len(rows) - 1
    data = [
        [
            Paragraph(escape(label), bold if i == last else s.cell),
            Paragraph(escape(value), bold_right if i == last else s.cell_right),
        ]
        for i, (label, value) in enumerate(rows)
    ]
    table = Table(data, colWidths=[60 * mm, 32 * mm], hAlign="RIGHT")
    table.setStyle(
        TableStyle(
            [
                ("LINEABOVE", (0, last), (-1, last), 0.8, ACCENT),
                ("LINEBELOW", (0, last), (-1, last), 0.8, ACCENT),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def quote_pdf(quote: QuoteDocument, *, company: CompanyLetterhead) -> bytes:
    """The quote letter as PDF bytes (A4, as many pages as the lines need)."""
    s = _Styles
    buffer = io.BytesIO()
    document = BaseDocTemplate(
        buffer,
        pagesize=A4,
        title=f"Angebot {quote.number}",
        author=company.name,
        subject=f"Angebot {quote.number} für {quote.recipient_name}",
    )
    first = Frame(
        LEFT, FOOTER_TOP, TEXT_WIDTH, PAGE_HEIGHT - FIRST_PAGE_BODY_TOP - FOOTER_TOP, id="first", showBoundary=0
    )
    later = Frame(LEFT, FOOTER_TOP, TEXT_WIDTH, PAGE_HEIGHT - 22 * mm - FOOTER_TOP, id="later", showBoundary=0)
    document.addPageTemplates(
        [
            PageTemplate(id="first", frames=[first], onPage=_first_page(quote, company)),
            PageTemplate(id="later", frames=[later]),
        ]
    )
    story: list[Any] = [
        NextPageTemplate("later"),
        Paragraph(escape(f"Angebot {quote.number}"), s.subject),
        Spacer(1, 6 * mm),
        Paragraph(escape(quote.salutation), s.body),
        Spacer(1, 3 * mm),
    ]
    if quote.introduction:
        story += [Paragraph(_text(quote.introduction), s.body), Spacer(1, 5 * mm)]
    story += [_line_table(quote), Spacer(1, 4 * mm), KeepTogether([_totals_table(quote)]), Spacer(1, 7 * mm)]
    closing = [Paragraph(escape(f"Dieses Angebot ist gültig bis zum {date(quote.valid_until)}."), s.body)]
    if quote.terms:
        closing += [Spacer(1, 3 * mm), Paragraph(_text(quote.terms), s.body)]
    closing += [Spacer(1, 6 * mm), Paragraph("Mit freundlichen Grüßen", s.body), Spacer(1, 3 * mm)]
    closing.append(Paragraph(escape(quote.seller_name or company.name), s.body))
    if quote.seller_name:
        closing.append(Paragraph(escape(company.name), s.small))
    story.append(KeepTogether(closing))
    document.build(story, canvasmaker=_canvas_class(quote, company))
    return buffer.getvalue()
