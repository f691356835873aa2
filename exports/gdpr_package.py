"""The Art. 15 / Art. 20 download: one ZIP with the person's data, machine-readable and as a letter.

Contents:
- `data.json` — everything in one document, described by docs/gdpr-export.schema.json (`data_json`, `validate`);
- `data.schema.json` — that schema, so a recipient (Art. 20) can check and read the file without us;
- `<data set>.csv` — one file per data set with rows: UTF-8 with BOM, ";" as separator (German Excel), header =
  every field in first-seen order, nested values as compact JSON;
- `auskunft.pdf` — the Auskunft nach Art. 15 DSGVO (exports/pdf/gdpr_access.py);
- `LIESMICH.txt` — what each file is, in German.

Rows are written exactly as given: the caller already made them JSON-safe and, for portability, restricted them to
the fields the person provided.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from exports.gdpr_models import AccessReport, DataSetInfo
from exports.pdf.gdpr_access import access_report_pdf, address_lines, entries, local, moment

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "docs" / "gdpr-export.schema.json"
PDF_NAME = "auskunft.pdf"
README_NAME = "LIESMICH.txt"


@functools.cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def validate(data: dict[str, Any]) -> None:
    """Raise `jsonschema.ValidationError` (the first problem found) unless `data` matches the data.json schema."""
    _validator().validate(data)


def data_json(report: AccessReport) -> dict[str, Any]:
    """The content of data.json: request, controller, the data sets with their Art. 15 information, the rows."""
    unknown = sorted(set(report.rows) - {d.key for d in report.datasets})
    if unknown:
        raise ValueError(f"rows for data sets that are not described: {', '.join(unknown)}")
    controller = report.controller
    return {
        "schema_version": report.schema_version,
        "generated_at": report.generated_at.isoformat(),
        "request": {
            "id": report.request.id,
            "type": report.request.type_label,
            "received_at": report.request.received_at.isoformat(),
        },
        "controller": {
            "name": controller.name,
            "address": controller.address,
            "email": controller.email,
            "dpo": controller.dpo,
            "authority": controller.authority,
        },
        "portability": report.portability,
        "datasets": [
            {
                "key": d.key,
                "label": d.label,
                "purpose": d.purpose,
                "legal_basis": d.legal_basis,
                "retention": d.retention,
                "recipients": d.recipients,
                "source": d.source,
                "categories": list(d.categories),
                "count": d.count,
            }
            for d in report.datasets
        ],
        "records": {d.key: report.rows.get(d.key, []) for d in report.datasets},
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list, bool)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    """Rows as CSV for German Excel: UTF-8 with BOM, ";" separated, header = union of the rows' fields."""
    header = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(header)
    writer.writerows([_cell(row.get(key)) for key in header] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def _readme(report: AccessReport, with_rows: list[DataSetInfo]) -> str:
    c = report.controller
    lines = [
        f"Ihre Daten bei {c.name}",
        "=" * len(f"Ihre Daten bei {c.name}"),
        "",
        f"Anfrage Nr. {report.request.id} ({report.request.type_label}), "
        f"eingegangen am {moment(report.request.received_at)}",
        f"Erstellt am {moment(report.generated_at)} für: {report.subject_label}",
        "",
    ]
    if report.portability:
        lines += [
            "Datenübertragbarkeit (Art. 20 DSGVO): Dieses Paket enthält die Daten, die Sie uns selbst bereitgestellt",
            "haben, in strukturierter, gängiger und maschinenlesbarer Form. Sie dürfen es an einen anderen",
            "Verantwortlichen weitergeben.",
            "",
        ]
    lines += [
        "Inhalt",
        "------",
        "",
        f"{PDF_NAME}",
        "    Die Auskunft nach Art. 15 DSGVO zum Lesen und Ausdrucken: Zwecke, Kategorien, Empfänger,",
        "    Speicherdauer, Ihre Rechte, Herkunft der Daten und eine Kopie Ihrer Daten.",
        "",
        "data.json",
        "    Alle Daten in einer Datei (JSON, UTF-8). \"datasets\" beschreibt jeden Datenbestand (Zweck,",
        "    Rechtsgrundlage, Speicherdauer, Empfänger, Herkunft, Kategorien, Anzahl), \"records\" enthält je",
        "    Datenbestand alle Einträge. Zeitangaben im Format ISO 8601 mit Zeitzone.",
        "",
        "data.schema.json",
        "    Die genaue Beschreibung des Aufbaus von data.json (JSON Schema, Entwurf 2020-12).",
        "",
    ]
    if with_rows:
        lines += [
            "CSV-Dateien (eine je Datenbestand)",
            "    Tabellen für Excel oder LibreOffice: UTF-8, Trennzeichen Semikolon, erste Zeile = Feldnamen.",
            "    Verschachtelte Werte stehen als JSON in der Zelle.",
            "",
            *[f"    {d.key + '.csv':<34} {d.label} ({entries(len(report.rows[d.key]))})" for d in with_rows],
            "",
        ]
    empty = [d.label for d in report.datasets if not report.rows.get(d.key)]
    if empty:
        lines += ["Ohne Einträge (keine CSV-Datei): " + ", ".join(empty), ""]
    lines += [
        "Fragen",
        "------",
        ", ".join([c.name, *address_lines(c)]),
        f"E-Mail: {c.email}",
        f"Datenschutzbeauftragte(r): {c.dpo}",
        f"Zuständige Aufsichtsbehörde: {c.authority}",
        "",
    ]
    return "\r\n".join(lines)


def build_package(report: AccessReport) -> bytes:
    """The ZIP (bytes) with data.json, its schema, one CSV per data set with rows, auskunft.pdf and LIESMICH.txt."""
    data = data_json(report)
    validate(data)
    with_rows = [d for d in report.datasets if report.rows.get(d.key)]
    stamp = local(report.generated_at).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:

        def add(name: str, content: bytes) -> None:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)

        add(README_NAME, _readme(report, with_rows).encode("utf-8"))
        add(PDF_NAME, access_report_pdf(report))
        add("data.json", json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"))
        add("data.schema.json", SCHEMA_PATH.read_bytes())
        for dataset in with_rows:
            add(f"{dataset.key}.csv", csv_bytes(report.rows[dataset.key]))
    return buffer.getvalue()
