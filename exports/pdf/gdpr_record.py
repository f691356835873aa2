"""The record of processing activities (Verzeichnis von Verarbeitungstätigkeiten, Art. 30 Abs. 1 DSGVO) as PDF.

Controller, data-protection officer and supervisory authority; an index of the activities; then one block per data
set with personal data, ordered by module and name — purposes, legal basis, categories of data subjects and of
personal data, recipients, third-country transfers, erasure deadlines and what an erasure does, source — and finally
the technical and organisational measures (Art. 32). Data sets without personal data are named at the end, so the
record shows that every table was considered.
"""

from __future__ import annotations

import unicodedata

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, Paragraph, Spacer

from exports.gdpr_models import DataSetInfo, ProcessingRecord
from exports.pdf.gdpr_access import (
    TEXT_WIDTH,
    Styles,
    bullets,
    data_table,
    day,
    facts,
    letterhead,
    paragraph,
    render,
    text,
)


def _sort_key(value: str) -> str:
    """German dictionary order (DIN 5007-1): Ä sorts as A."""
    return "".join(ch for ch in unicodedata.normalize("NFD", value.casefold()) if not unicodedata.combining(ch))


def _activity(number: int, dataset: DataSetInfo) -> list[Flowable]:
    heading = Paragraph(text(f"2.{number} {dataset.label}"), Styles.h2)
    note = paragraph(f"Bereich: {dataset.module} · Kennung: {dataset.key}", Styles.note)
    block = facts(
        [
            ("Zwecke der Verarbeitung", dataset.purpose),
            ("Rechtsgrundlage", dataset.legal_basis),
            ("Kategorien betroffener Personen", dataset.subjects),
            ("Kategorien personenbezogener Daten", bullets(dataset.categories, Styles.cell_bullet)),
            ("Empfänger", dataset.recipients),
            ("Übermittlung in Drittländer", "keine"),
            ("Löschfristen", dataset.retention),
            ("Löschung auf Antrag (Art. 17)", dataset.erasure),
            ("Herkunft der Daten", dataset.source),
        ],
        label_width=58 * mm,
    )
    return [KeepTogether([heading, note, block]), Spacer(1, 3 * mm)]


def processing_record_pdf(record: ProcessingRecord) -> bytes:
    """The Verzeichnis von Verarbeitungstätigkeiten as PDF bytes."""
    c = record.controller
    title = "Verzeichnis von Verarbeitungstätigkeiten (Art. 30 Abs. 1 DSGVO)"
    activities = sorted(
        (d for d in record.datasets if d.categories), key=lambda d: (_sort_key(d.module), _sort_key(d.label))
    )
    without = [d for d in record.datasets if not d.categories]
    story: list[Flowable] = letterhead(c, title, f"Stand {day(record.generated_at)}")
    story += [
        Paragraph("1. Verantwortlicher", Styles.h1),
        facts(
            [
                ("Verantwortlicher", "\n".join([c.name, c.address])),
                ("E-Mail", c.email),
                ("Datenschutzbeauftragte(r)", c.dpo),
                ("Zuständige Aufsichtsbehörde", c.authority),
            ],
            label_width=58 * mm,
        ),
        Paragraph("Übersicht der Verarbeitungstätigkeiten", Styles.h2),
        data_table(
            ["Nr.", "Verarbeitungstätigkeit", "Bereich", "Rechtsgrundlage"],
            [[f"2.{n}", d.label, d.module, d.legal_basis] for n, d in enumerate(activities, start=1)],
            [TEXT_WIDTH * 0.08, TEXT_WIDTH * 0.30, TEXT_WIDTH * 0.17, TEXT_WIDTH * 0.45],
        ),
        CondPageBreak(80 * mm),
        Paragraph("2. Verarbeitungstätigkeiten", Styles.h1),
    ]
    for number, dataset in enumerate(activities, start=1):
        story += _activity(number, dataset)
    if without:
        story += [
            Paragraph("Datenbestände ohne personenbezogene Daten", Styles.h2),
            paragraph(", ".join(f"{d.label} ({d.module})" for d in without)),
        ]
    story += [
        CondPageBreak(40 * mm),
        Paragraph("3. Technische und organisatorische Maßnahmen (Art. 32 Abs. 1 DSGVO)", Styles.h1),
        *bullets(record.security_measures),
    ]
    return render(
        story,
        controller=c,
        title=title,
        running_title=f"{title} · Stand {day(record.generated_at)}",
        subject=f"Verzeichnis von Verarbeitungstätigkeiten von {c.name}",
    )
