"""The deletion certificate (Löschprotokoll nach Art. 17 DSGVO) of one erasure request as PDF.

It says what was done and proves it was checked: the request, the result (no personal data findable any more, or
the residues found), what was deleted, anonymised or crypto-shredded per data set, the records kept under a
statutory retention duty with their legal ground and release date, the keys shredded and suppression entries, and
the verification — identifiers searched for (masked, with fingerprint and hit counts), tables, columns, files,
bytes and full-text indexes searched, hash-chain checks. Everything printed comes from the `Certificate`; nothing
about the person is shown in clear.
"""

from __future__ import annotations

from typing import Any

from babel.numbers import format_decimal
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, Paragraph, Spacer

from exports.gdpr_models import Certificate
from exports.pdf.gdpr_access import (
    TEXT_WIDTH,
    Styles,
    bullets,
    count,
    data_table,
    day,
    entries,
    facts,
    letterhead,
    moment,
    paragraph,
    render,
    result_box,
)
from exports.pdf.quote import date

CLEAN = "Ergebnis: Keine personenbezogenen Daten mehr auffindbar."
RESIDUES = "Ergebnis: RESTE GEFUNDEN"


def byte_size(value: int) -> str:
    """1,2 GB (1.234.567.890 Bytes)"""
    exact = f"{count(value)} {'Byte' if value == 1 else 'Bytes'}"
    if value < 1000:
        return exact
    size = float(value)
    for unit in ("KB", "MB", "GB", "TB"):
        size /= 1000
        if size < 1000:
            break
    return f"{format_decimal(size, format='#,##0.0', locale='de_DE')} {unit} ({exact})"


def _result(cert: Certificate) -> Flowable:
    lines = [RESIDUES if cert.residues else CLEAN]
    lines += [f"Fundstelle: {residue}" for residue in cert.residues]
    lines += [f"Protokollkette „{c.name}“ fehlerhaft: {c.message}" for c in cert.chains if not c.ok]
    lines.append(f"Nachprüfung am {moment(cert.verified_at)}.")
    return result_box(lines, ok=cert.complete)


def _request(cert: Certificate) -> Flowable:
    r = cert.request
    return facts(
        [
            ("Anfrage-Nr.", str(r.id)),
            ("Art der Anfrage", r.type_label),
            ("Status", r.status_label),
            ("Eingang", f"{moment(r.received_at)} ({r.channel_label})"),
            ("Frist", date(r.due_on)),
            ("Antragsteller(in)", r.requester or "–"),
            ("Identitätsprüfung", r.identity or "–"),
            ("Bearbeitet von", r.handled_by),
            ("Löschung durchgeführt", moment(cert.erased_at)),
            ("Nachprüfung", moment(cert.verified_at)),
        ]
    )


def _erased(cert: Certificate) -> list[Flowable]:
    story: list[Flowable] = [Paragraph("2. Gelöschte, anonymisierte und geschwärzte Daten", Styles.h1)]
    if not cert.erased:
        return [*story, paragraph("Es waren keine Daten zu löschen.")]
    rows = [[e.label, e.action, count(e.count)] for e in cert.erased]
    widths = [TEXT_WIDTH * 0.36, TEXT_WIDTH * 0.50, TEXT_WIDTH * 0.14]
    story.append(data_table(["Datenbestand", "Maßnahme", "Einträge"], rows, widths, right=[2]))
    total = sum(e.count for e in cert.erased)
    story.append(paragraph(f"Insgesamt {entries(total)} bearbeitet.", Styles.note))
    return story


def _holds(cert: Certificate) -> list[Flowable]:
    story: list[Flowable] = [
        CondPageBreak(35 * mm),
        Paragraph("3. Aufbewahrte Datensätze (Aufbewahrungspflicht, Art. 17 Abs. 3 lit. b DSGVO)", Styles.h1),
    ]
    if not cert.holds:
        return [*story, paragraph("Keine – es bestand keine Aufbewahrungspflicht.")]
    story.append(
        paragraph(
            "Diese Datensätze unterliegen einer gesetzlichen Aufbewahrungspflicht und bleiben bis zum Freigabedatum "
            "gespeichert."
        )
    )
    rows = [[h.label, str(h.record_id), h.legal_ground, date(h.release_on)] for h in cert.holds]
    widths = [TEXT_WIDTH * 0.27, TEXT_WIDTH * 0.10, TEXT_WIDTH * 0.47, TEXT_WIDTH * 0.16]
    story.append(data_table(["Datenbestand", "Nr.", "Rechtsgrundlage", "Freigabe am"], rows, widths, right=[1]))
    return story


def _shredding(cert: Certificate) -> list[Flowable]:
    section = [
        Paragraph("4. Krypto-Löschung und Sperrliste", Styles.h1),
        facts(
            [
                ("Vernichtete Schlüssel", count(cert.shredded_keys)),
                ("Sperrlisteneinträge", count(cert.suppressed)),
            ]
        ),
        paragraph(
            "Mit der Vernichtung der Schlüssel sind die verschlüsselten Werte der Person in Protokollen unlesbar; "
            "die Kette bleibt prüfbar. Die Sperrliste enthält nur eine verschlüsselte Prüfsumme, damit die Person "
            "nie wieder Werbung erhält.",
            Styles.note,
        ),
    ]
    return [KeepTogether(section)]


def _verification(cert: Certificate) -> list[Flowable]:
    story: list[Flowable] = [
        CondPageBreak(45 * mm),
        Paragraph("5. Nachprüfung", Styles.h1),
        paragraph(
            f"Am {day(cert.verified_at)} wurde nach der Löschung erneut nach den Kennungen der Person gesucht. "
            "Die Suchbegriffe sind maskiert und mit einem Fingerabdruck angegeben, nie im Klartext."
        ),
        Paragraph("Suchbegriffe", Styles.h2),
    ]
    if cert.probes:
        rows = [[p.kind, p.masked, p.fingerprint, count(p.database_hits), count(p.file_hits)] for p in cert.probes]
        widths = [TEXT_WIDTH * 0.16, TEXT_WIDTH * 0.26, TEXT_WIDTH * 0.28, TEXT_WIDTH * 0.15, TEXT_WIDTH * 0.15]
        header = ["Art", "Wert (maskiert)", "Fingerabdruck", "Treffer Datenbank", "Treffer Dateien"]
        story.append(data_table(header, rows, widths, right=[3, 4]))
    else:
        story.append(paragraph("Keine Suchbegriffe."))
    searched: list[tuple[str, Any]] = [
        *([("Umfang", cert.scope)] if cert.scope else []),
        ("Datenbank", f"{count(cert.tables_searched)} Tabellen, {count(cert.columns_searched)} Spalten durchsucht"),
        ("Dateien", f"{count(len(cert.files_scanned))} Dateien, {byte_size(cert.bytes_scanned)} durchsucht"),
        ("Volltextindizes", ", ".join(cert.full_text_indexes) or "keine"),
    ]
    story += [Spacer(1, 2 * mm), Paragraph("Durchsucht", Styles.h2), facts(searched)]
    if cert.files_scanned:
        story += [Paragraph("Durchsuchte Dateien", Styles.h2), *bullets(cert.files_scanned, Styles.small)]
    story.append(Paragraph("Protokollketten", Styles.h2))
    if cert.chains:
        rows = [[c.name, count(c.checked), "in Ordnung" if c.ok else "FEHLER", c.message] for c in cert.chains]
        widths = [TEXT_WIDTH * 0.2, TEXT_WIDTH * 0.16, TEXT_WIDTH * 0.16, TEXT_WIDTH * 0.48]
        story.append(data_table(["Kette", "Geprüfte Einträge", "Ergebnis", "Meldung"], rows, widths, right=[1]))
    else:
        story.append(paragraph("Keine Kettenprüfung."))
    return story


def _residues(cert: Certificate) -> list[Flowable]:
    if not cert.residues:
        return []
    return [
        CondPageBreak(30 * mm),
        Paragraph("6. Gefundene Reste", Styles.h1),
        paragraph("Diese Fundstellen enthalten noch Daten der Person und müssen bereinigt werden:"),
        *bullets(cert.residues),
    ]


def certificate_pdf(cert: Certificate) -> bytes:
    """The Löschprotokoll nach Art. 17 DSGVO as PDF bytes."""
    title = "Löschprotokoll nach Art. 17 DSGVO"
    story: list[Flowable] = letterhead(
        cert.controller, title, f"Anfrage Nr. {cert.request.id} · Löschung vom {day(cert.erased_at)}"
    )
    story += [_result(cert), Spacer(1, 2 * mm), Paragraph("1. Anfrage", Styles.h1), _request(cert)]
    story += _erased(cert) + _holds(cert) + _shredding(cert) + _verification(cert) + _residues(cert)
    return render(
        story,
        controller=cert.controller,
        title=f"{title} – Anfrage Nr. {cert.request.id}",
        running_title=f"{title} · Anfrage Nr. {cert.request.id}",
        subject=f"Löschprotokoll der Anfrage Nr. {cert.request.id}",
    )
