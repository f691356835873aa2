"""The Art. 15 access report (Auskunft) as PDF, and the page layout the three GDPR documents share.

`access_report_pdf(report)` writes, in German: the letterhead with the controller and its data-protection officer,
the request (number, type, date), the information Art. 15(1)(a)–(h) and (2) requires — purposes, categories of
data, recipients, storage period, the rights of Art. 16, 17, 18 and 21, the right to complain (Art. 77), source,
automated decision-making — a note on Art. 20 for portability requests, an overview of the data sets and then the
copy of the data (Art. 15(3)): one section per data set, each row as "field: value" lines. Very large data sets show
their first `ROWS_PER_DATASET` rows and say how many there are; every row is in data.json and the CSV files.

The layout helpers below (`render`, `letterhead`, `facts`, `data_table`, `bullets`, …) are also used by
exports/pdf/gdpr_certificate.py and exports/pdf/gdpr_record.py: A4 portrait, DejaVu Sans (umlauts and
non-Latin-1 names), controller and DPO in the letterhead and footer, "Seite x von y" on every page.

Pure functions of exports/gdpr_models.py values: no database, no clock.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    HRFlowable,
    KeepTogether,
    LongTable,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from exports.gdpr_models import AccessReport, Controller, DataSetInfo
from exports.pdf.quote import ACCENT, FONT, FONT_BOLD, MUTED, RULE, date
from exports.pdf.table import _NumberedCanvas

PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT = 22 * mm
RIGHT = 20 * mm
TOP = 20 * mm
BOTTOM = 24 * mm
TEXT_WIDTH = PAGE_WIDTH - LEFT - RIGHT
ZEBRA = colors.HexColor("#F3F6FA")
OK_GREEN = colors.HexColor("#1A7F37")
ALERT_RED = colors.HexColor("#B42318")
BERLIN = ZoneInfo("Europe/Berlin")

ROWS_PER_DATASET = 25
VALUE_CHARS = 1_500
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


class Styles:
    title = ParagraphStyle("gdpr_title", fontName=FONT_BOLD, fontSize=15, leading=19, textColor=ACCENT)
    h1 = ParagraphStyle(
        "gdpr_h1", fontName=FONT_BOLD, fontSize=11.5, leading=15, textColor=ACCENT, spaceBefore=9, spaceAfter=4,
        keepWithNext=1,
    )
    h2 = ParagraphStyle(
        "gdpr_h2", fontName=FONT_BOLD, fontSize=9.5, leading=13, spaceBefore=7, spaceAfter=2, keepWithNext=1
    )
    body = ParagraphStyle("gdpr_body", fontName=FONT, fontSize=9.5, leading=13.2, spaceAfter=3)
    bullet = ParagraphStyle("gdpr_bullet", parent=body, leftIndent=11, bulletIndent=2, spaceAfter=2)
    note = ParagraphStyle("gdpr_note", fontName=FONT, fontSize=8, leading=10.5, textColor=MUTED, spaceAfter=2)
    small = ParagraphStyle("gdpr_small", fontName=FONT, fontSize=8, leading=10.5)
    cell = ParagraphStyle("gdpr_cell", fontName=FONT, fontSize=8.5, leading=10.8)
    cell_right = ParagraphStyle("gdpr_cell_right", parent=cell, alignment=TA_RIGHT)
    cell_bullet = ParagraphStyle("gdpr_cell_bullet", parent=cell, leftIndent=9, bulletIndent=0)
    label = ParagraphStyle("gdpr_label", fontName=FONT_BOLD, fontSize=8, leading=10.8, textColor=MUTED)
    head = ParagraphStyle("gdpr_head", fontName=FONT_BOLD, fontSize=8.5, leading=10.8, textColor=colors.white)
    head_right = ParagraphStyle("gdpr_head_right", parent=head, alignment=TA_RIGHT)
    sender = ParagraphStyle("gdpr_sender", fontName=FONT, fontSize=8.5, leading=11, alignment=TA_RIGHT)
    sender_name = ParagraphStyle(
        "gdpr_sender_name", fontName=FONT_BOLD, fontSize=12, leading=15, textColor=ACCENT, alignment=TA_RIGHT
    )
    footer = ParagraphStyle("gdpr_footer", fontName=FONT, fontSize=6.8, leading=8.6, textColor=MUTED)


# ---------------------------------------------------------------------------------------------------------------
# Shared layout
# ---------------------------------------------------------------------------------------------------------------


def text(value: str) -> str:
    """Plain text for a Paragraph: escaped, line breaks kept."""
    return escape(value).replace("\n", "<br/>")


def local(value: dt.datetime) -> dt.datetime:
    """A moment in German local time (naive values are UTC, as the suite stores them)."""
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(BERLIN)


def moment(value: dt.datetime) -> str:
    """25.11.2026, 10:00 Uhr"""
    shown = local(value)
    return f"{shown:%d.%m.%Y}, {shown:%H:%M} Uhr"


def day(value: dt.datetime) -> str:
    """25.11.2026 — the calendar day of a moment in German local time."""
    return date(local(value).date())


def count(value: int) -> str:
    """1.234 — thousands separated the German way."""
    return format_decimal(value, format="#,##0", locale="de_DE")


def entries(number: int) -> str:
    """1 Eintrag, 1.234 Einträge"""
    return f"{count(number)} {'Eintrag' if number == 1 else 'Einträge'}"


def address_lines(controller: Controller) -> list[str]:
    return [line.strip() for line in controller.address.splitlines() if line.strip()]


def paragraph(value: str, style: ParagraphStyle = Styles.body) -> Paragraph:
    return Paragraph(text(value), style)


def bullets(items: Iterable[str], style: ParagraphStyle = Styles.bullet) -> list[Flowable]:
    return [Paragraph(text(item), style, bulletText="•") for item in items]


def letterhead(controller: Controller, title: str, subtitle: str) -> list[Flowable]:
    """Page 1 head: the controller and its DPO top right, a rule, then the document title and subtitle."""
    dpo_label = ParagraphStyle("gdpr_dpo_label", parent=Styles.note, alignment=TA_RIGHT, spaceAfter=0)
    return [
        Paragraph(text(controller.name), Styles.sender_name),
        *[Paragraph(text(line), Styles.sender) for line in [*address_lines(controller), controller.email]],
        Spacer(1, 1.5 * mm),
        Paragraph("Datenschutzbeauftragte(r)", dpo_label),
        Paragraph(text(controller.dpo), Styles.sender),
        Spacer(1, 3 * mm),
        HRFlowable(width="100%", thickness=0.8, color=ACCENT, spaceAfter=5 * mm),
        Paragraph(text(title), Styles.title),
        Paragraph(text(subtitle), Styles.note),
        Spacer(1, 3 * mm),
    ]


def facts(pairs: Sequence[tuple[str, str | Sequence[Flowable]]], *, label_width: float = 46 * mm) -> Table:
    """Label/value lines (the value may be text or flowables), a thin rule under each."""
    rows = [
        [Paragraph(text(label), Styles.label), Paragraph(text(value), Styles.cell) if isinstance(value, str) else value]
        for label, value in pairs
    ]
    table = Table(rows, colWidths=[label_width, TEXT_WIDTH - label_width])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
            ]
        )
    )
    return table


def data_table(header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float], *,
               right: Iterable[int] = ()) -> LongTable:
    """A table with an accent header row repeated on every page and zebra rows; `right` columns are numbers."""
    numeric = set(right)
    cells: list[list[Any]] = [
        [Paragraph(text(h), Styles.head_right if i in numeric else Styles.head) for i, h in enumerate(header)]
    ]
    cells += [
        [Paragraph(text(v), Styles.cell_right if i in numeric else Styles.cell) for i, v in enumerate(row)]
        for row in rows
    ]
    table = LongTable(cells, colWidths=list(widths), repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), ACCENT),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, ZEBRA]),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def result_box(lines: Sequence[str], *, ok: bool) -> Table:
    """A framed, coloured statement (first line bold): green when `ok`, red otherwise."""
    color = OK_GREEN if ok else ALERT_RED
    bold = ParagraphStyle("result_bold", parent=Styles.body, fontName=FONT_BOLD, fontSize=10.5, textColor=color)
    cells = [[Paragraph(text(lines[0]), bold)]] + [[Paragraph(text(line), Styles.body)] for line in lines[1:]]
    table = Table(cells, colWidths=[TEXT_WIDTH])
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.2, color),
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#F0F9F2" if ok else "#FDF1F0")),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _page_canvas(controller: Controller, running_title: str) -> type[_NumberedCanvas]:
    """Numbered canvas that adds the running head (pages 2+) and the controller/DPO footer."""
    footer_lines = [
        " · ".join([controller.name, *address_lines(controller), controller.email]),
        f"Datenschutzbeauftragte(r): {controller.dpo}",
    ]

    class GdprCanvas(_NumberedCanvas):
        def _draw_footer(self, total: int) -> None:
            page = self._pageNumber
            self.saveState()
            if page > 1:
                self.setFont(FONT, 8)
                self.setFillColor(MUTED)
                self.drawString(LEFT, PAGE_HEIGHT - 12 * mm, running_title)
                self.setFont(FONT_BOLD, 8)
                self.setFillColor(ACCENT)
                self.drawRightString(PAGE_WIDTH - RIGHT, PAGE_HEIGHT - 12 * mm, controller.name)
                self.setStrokeColor(RULE)
                self.line(LEFT, PAGE_HEIGHT - 14 * mm, PAGE_WIDTH - RIGHT, PAGE_HEIGHT - 14 * mm)
            self.setStrokeColor(RULE)
            self.line(LEFT, BOTTOM - 6 * mm, PAGE_WIDTH - RIGHT, BOTTOM - 6 * mm)
            footer = Paragraph("<br/>".join(escape(line) for line in footer_lines), Styles.footer)
            _, height = footer.wrapOn(self, TEXT_WIDTH - 30 * mm, BOTTOM)
            footer.drawOn(self, LEFT, BOTTOM - 7.5 * mm - height)
            self.setFont(FONT, 8)
            self.setFillColor(MUTED)
            self.drawRightString(PAGE_WIDTH - RIGHT, BOTTOM - 7.5 * mm - 8, f"Seite {page} von {total}")
            self.restoreState()

    return GdprCanvas


def render(story: list[Flowable], *, controller: Controller, title: str, running_title: str, subject: str) -> bytes:
    """The story on A4 portrait pages with running head, footer and page numbers, as PDF bytes."""
    buffer = io.BytesIO()
    document = BaseDocTemplate(
        buffer, pagesize=A4, title=title, author=controller.name, subject=subject,
        leftMargin=LEFT, rightMargin=RIGHT, topMargin=TOP, bottomMargin=BOTTOM,
    )
    frame = Frame(LEFT, BOTTOM, TEXT_WIDTH, PAGE_HEIGHT - TOP - BOTTOM, id="body", leftPadding=0, rightPadding=0)
    document.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    document.build(story, canvasmaker=_page_canvas(controller, running_title))
    return buffer.getvalue()


def grouped(datasets: Sequence[DataSetInfo], attribute: str) -> list[tuple[str, list[str]]]:
    """Distinct values of one attribute with the labels of the data sets that share it, in first-seen order."""
    groups: dict[str, list[str]] = {}
    for dataset in datasets:
        groups.setdefault(getattr(dataset, attribute), []).append(dataset.label)
    return list(groups.items())


# ---------------------------------------------------------------------------------------------------------------
# The access report
# ---------------------------------------------------------------------------------------------------------------


def _iso_text(value: str) -> str | None:
    """A date or timestamp in ISO form (as data.json holds them) in German, else None."""
    try:
        if ISO_DATE.match(value):
            return date(dt.date.fromisoformat(value))
        if ISO_MOMENT.match(value):
            return moment(dt.datetime.fromisoformat(value))
    except ValueError:
        return None
    return None


def value_text(value: Any) -> str:
    """One field of a row as the person reads it: dates in German, nested values as JSON, long values cut."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, (dict, list)):
        shown = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    else:
        shown = (isinstance(value, str) and _iso_text(value)) or str(value)
    if len(shown) > VALUE_CHARS:
        return shown[:VALUE_CHARS] + " … (gekürzt; vollständig in data.json)"
    return shown


def _request_facts(report: AccessReport) -> Table:
    request = report.request
    return facts(
        [
            ("Anfrage-Nr.", str(request.id)),
            ("Art der Anfrage", request.type_label),
            ("Eingegangen am", moment(request.received_at)),
            ("Betroffene Person", report.subject_label),
            ("Erstellt am", moment(report.generated_at)),
            ("Bearbeitet von", request.handled_by),
        ]
    )


def _grouped_section(heading: str, intro: str, pairs: list[tuple[str, list[str]]]) -> list[Flowable]:
    """Heading, intro and one bullet per distinct value naming the data sets it applies to."""
    items = bullets(f"{value}\n(betrifft: {', '.join(labels)})" for value, labels in pairs)
    return [KeepTogether([Paragraph(text(heading), Styles.h2), paragraph(intro), *items[:1]]), *items[1:]]


def _categories(datasets: Sequence[DataSetInfo]) -> list[tuple[str, list[str]]]:
    groups: dict[str, list[str]] = {}
    for dataset in datasets:
        for category in dataset.categories:
            groups.setdefault(category, []).append(dataset.label)
    return list(groups.items())


def _legal_bases(datasets: Sequence[DataSetInfo], purpose: str) -> str:
    return "; ".join(dict.fromkeys(d.legal_basis for d in datasets if d.purpose == purpose))


def _information(report: AccessReport) -> list[Flowable]:
    """Art. 15(1)(a)–(h) and (2), and Art. 20 for portability requests."""
    c = report.controller
    datasets = report.datasets
    purposes = [
        (f"{purpose}\nRechtsgrundlage: {_legal_bases(datasets, purpose)}", labels)
        for purpose, labels in grouped(datasets, "purpose")
    ]
    story: list[Flowable] = [Paragraph("1. Informationen nach Art. 15 Abs. 1 und 2 DSGVO", Styles.h1)]
    story += _grouped_section(
        "a) Zwecke der Verarbeitung", "Wir verarbeiten Ihre Daten zu folgenden Zwecken:", purposes
    )
    story += _grouped_section(
        "b) Kategorien personenbezogener Daten", "Folgende Kategorien von Daten über Sie sind gespeichert:",
        _categories(datasets),
    )
    story += _grouped_section(
        "c) Empfänger oder Kategorien von Empfängern", "Ihre Daten erhalten oder können erhalten:",
        grouped(datasets, "recipients"),
    )
    story += _grouped_section(
        "d) Speicherdauer oder Kriterien für ihre Festlegung", "Wir speichern Ihre Daten wie folgt:",
        grouped(datasets, "retention"),
    )
    story += [
        Paragraph("e) Ihre Rechte auf Berichtigung, Löschung, Einschränkung und Widerspruch", Styles.h2),
        paragraph("Sie können von uns verlangen:"),
        *bullets(
            [
                "die Berichtigung unrichtiger und die Vervollständigung unvollständiger Daten (Art. 16 DSGVO)",
                "die Löschung Ihrer Daten, soweit keine gesetzliche Aufbewahrungspflicht entgegensteht (Art. 17 DSGVO)",
                "die Einschränkung der Verarbeitung (Art. 18 DSGVO)",
            ]
        ),
        paragraph(
            "Außerdem können Sie der Verarbeitung aus Gründen, die sich aus Ihrer besonderen Situation ergeben, "
            "widersprechen, soweit sie auf einem berechtigten Interesse beruht, und der Verarbeitung zu Zwecken der "
            "Direktwerbung jederzeit ohne Angabe von Gründen widersprechen (Art. 21 DSGVO). Eine erteilte "
            f"Einwilligung können Sie jederzeit für die Zukunft widerrufen (Art. 7 Abs. 3 DSGVO). Schreiben Sie uns "
            f"dazu an {c.email}."
        ),
        Paragraph("f) Beschwerderecht bei einer Aufsichtsbehörde", Styles.h2),
        paragraph(
            "Sie haben das Recht, sich bei einer Datenschutz-Aufsichtsbehörde zu beschweren (Art. 77 DSGVO), "
            "insbesondere in dem Mitgliedstaat Ihres Aufenthaltsorts oder Arbeitsplatzes. Für uns zuständig ist:"
        ),
        paragraph(c.authority),
    ]
    story += _grouped_section(
        "g) Herkunft der Daten", "Soweit wir die Daten nicht bei Ihnen selbst erhoben haben, stammen sie aus:",
        grouped(datasets, "source"),
    )
    story += [
        Paragraph("h) Automatisierte Entscheidungsfindung einschließlich Profiling (Art. 22 DSGVO)", Styles.h2),
        paragraph(report.automated_decisions),
        Paragraph("Übermittlung in Drittländer (Art. 15 Abs. 2 DSGVO)", Styles.h2),
        paragraph(
            "Ihre Daten werden nicht in ein Drittland außerhalb der EU/des EWR und nicht an eine internationale "
            "Organisation übermittelt."
        ),
    ]
    if report.portability:
        story += [
            Paragraph("Recht auf Datenübertragbarkeit (Art. 20 DSGVO)", Styles.h2),
            paragraph(
                "Die Dateien data.json und die CSV-Dateien enthalten die Daten, die Sie uns selbst bereitgestellt "
                "haben, in einem strukturierten, gängigen und maschinenlesbaren Format. Sie dürfen sie einem anderen "
                "Verantwortlichen übermitteln; auf Wunsch übermitteln wir sie direkt, soweit das technisch machbar ist."
            ),
        ]
    return story


def _overview(report: AccessReport) -> list[Flowable]:
    rows = [[d.label, d.module, count(len(report.rows.get(d.key, [])))] for d in report.datasets]
    widths = [TEXT_WIDTH * 0.55, TEXT_WIDTH * 0.30, TEXT_WIDTH * 0.15]
    return [
        CondPageBreak(45 * mm),
        Paragraph("2. Übersicht der gespeicherten Daten", Styles.h1),
        data_table(["Datenbestand", "Bereich", "Einträge"], rows, widths, right=[2]),
    ]


def _row_table(number: int, row: dict[str, Any]) -> Table:
    label_width = 42 * mm
    cells: list[list[Any]] = [[Paragraph(f"Eintrag {number}", Styles.head), ""]]
    cells += [[Paragraph(text(str(key)), Styles.label), Paragraph(text(value_text(value)), Styles.cell)]
              for key, value in row.items()]
    table = Table(cells, colWidths=[label_width, TEXT_WIDTH - label_width], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("SPAN", (0, 0), (-1, 0)),
                ("BACKGROUND", (0, 0), (-1, 0), ACCENT),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, ZEBRA]),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.8),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.8),
            ]
        )
    )
    return table


def _copy(report: AccessReport) -> list[Flowable]:
    """Art. 15(3): the data itself, one section per data set."""
    story: list[Flowable] = [
        CondPageBreak(60 * mm),
        Paragraph("3. Kopie Ihrer Daten (Art. 15 Abs. 3 DSGVO)", Styles.h1),
        paragraph(
            "Alle Einträge stehen vollständig und maschinenlesbar in den beigefügten Dateien data.json und "
            "<Datenbestand>.csv (siehe LIESMICH.txt)."
        ),
    ]
    if report.portability:
        story.append(
            paragraph("Diese Ausgabe enthält nach Art. 20 DSGVO nur die Daten, die Sie selbst bereitgestellt haben.")
        )
    for number, dataset in enumerate(report.datasets, start=1):
        rows = report.rows.get(dataset.key, [])
        heading = Paragraph(text(f"3.{number} {dataset.label}"), Styles.h2)
        if not rows:
            story.append(KeepTogether([heading, paragraph("Keine Einträge.", Styles.note)]))
            continue
        summary = f"{entries(len(rows))} · Bereich {dataset.module}"
        if len(rows) > ROWS_PER_DATASET:
            summary += (
                f" · gezeigt werden die ersten {ROWS_PER_DATASET}; alle {count(len(rows))} Einträge stehen in "
                f"data.json und {dataset.key}.csv"
            )
        story.append(KeepTogether([heading, paragraph(summary, Styles.note), _row_table(1, rows[0])]))
        for index, row in enumerate(rows[1:ROWS_PER_DATASET], start=2):
            story += [Spacer(1, 2 * mm), _row_table(index, row)]
    return story


def _closing(report: AccessReport) -> list[Flowable]:
    c = report.controller
    return [
        Spacer(1, 6 * mm),
        KeepTogether(
            [
                paragraph(
                    f"Bei Fragen zu dieser Auskunft erreichen Sie uns unter {c.email}, unsere(n) "
                    f"Datenschutzbeauftragte(n) unter: {c.dpo}."
                ),
                Spacer(1, 3 * mm),
                paragraph("Mit freundlichen Grüßen"),
                paragraph(report.request.handled_by),
                paragraph(c.name, Styles.note),
            ]
        ),
    ]


def access_report_pdf(report: AccessReport) -> bytes:
    """The Auskunft nach Art. 15 DSGVO (with the copy of the data) as PDF bytes."""
    request = report.request
    title = "Auskunft nach Art. 15 DSGVO"
    story: list[Flowable] = letterhead(
        report.controller, title, f"Anfrage Nr. {request.id} vom {day(request.received_at)}"
    )
    story += [
        _request_facts(report),
        Spacer(1, 4 * mm),
        paragraph(
            f"Zu Ihrer Anfrage „{request.type_label}“ vom {day(request.received_at)} erhalten Sie "
            "nachfolgend die Informationen nach Art. 15 Abs. 1 und 2 DSGVO, eine Übersicht der über Sie gespeicherten "
            "Daten und eine Kopie dieser Daten (Art. 15 Abs. 3 DSGVO)."
        ),
    ]
    story += _information(report) + _overview(report) + _copy(report) + _closing(report)
    return render(
        story,
        controller=report.controller,
        title=f"{title} – Anfrage Nr. {request.id}",
        running_title=f"{title} · Anfrage Nr. {request.id}",
        subject=f"Auskunft für {report.subject_label}",
    )
