"""The GDPR documents: the Art. 15/20 ZIP (data.json against its schema, CSV, PDF, LIESMICH), the Art. 17
deletion certificate and the Art. 30 record, read back with zipfile, json, csv and pypdf."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import zipfile
from typing import Any

import pypdf
import pytest
from jsonschema import ValidationError

from exports.gdpr_models import (
    AccessReport,
    Certificate,
    ChainCheck,
    Controller,
    DataSetInfo,
    ErasedSet,
    Hold,
    Probe,
    ProcessingRecord,
    RequestInfo,
)
from exports.gdpr_package import build_package, csv_bytes, data_json, validate
from exports.pdf.gdpr_access import ROWS_PER_DATASET, access_report_pdf
from exports.pdf.gdpr_certificate import CLEAN, RESIDUES, certificate_pdf
from exports.pdf.gdpr_record import processing_record_pdf

UTC = dt.UTC
CONTROLLER = Controller(
    name="Nordlicht Vertrieb GmbH",
    address="Große Elbstraße 145\n22767 Hamburg",
    email="datenschutz@nordlicht-vertrieb.example",
    dpo="Dr. Jörg Weiß, dsb@nordlicht-vertrieb.example",
    authority="Der Hamburgische Beauftragte für Datenschutz und Informationsfreiheit, Ludwig-Erhard-Straße 22, "
    "20459 Hamburg",
)
CRM_PURPOSE = "Kundenbeziehungsmanagement: Ansprechpartner bei Kunden und Interessenten betreuen"
CRM_BASIS = "Art. 6 Abs. 1 lit. b DSGVO (Vertrag und Vertragsanbahnung)"
LOG_PURPOSE = "Nachweis und Revisionssicherheit (Art. 5 Abs. 2 DSGVO)"


def dataset(key: str, label: str, categories: list[str], count: int, **overrides: str) -> DataSetInfo:
    values = {
        "module": "Stammdaten",
        "purpose": CRM_PURPOSE,
        "legal_basis": CRM_BASIS,
        "retention": "Bis zum Ende der Geschäftsbeziehung zuzüglich 3 Jahren (§ 195 BGB)",
        "recipients": "Vertrieb und Kundenservice; Hosting-Dienstleister als Auftragsverarbeiter (Art. 28)",
        "source": "Angaben der Person selbst, Visitenkarten und Messen",
        "erasure": "Löschen",
    } | overrides
    return DataSetInfo(key=key, label=label, categories=categories, count=count, **values)


DATASETS = [
    dataset("contacts", "Kontakte", ["Identitätsdaten (Name, Anrede, Titel, Geburtsdatum)",
                                      "Kontaktdaten (E-Mail, Telefon, Anschrift)"], 1),
    dataset("addresses", "Anschriften", ["Kontaktdaten (E-Mail, Telefon, Anschrift)"], 2),
    dataset("audit_entries", "Änderungsprotokoll", ["Protokoll- und Ereigniskopien der Daten"], 40,
            module="Revision", purpose=LOG_PURPOSE, legal_basis="Art. 6 Abs. 1 lit. c DSGVO",
            retention="10 Jahre (Rechenschaftspflicht)", source="Vom System bei jeder Änderung erzeugt"),
    dataset("outbox_events", "Ereignisse (Outbox)", ["Protokoll- und Ereigniskopien der Daten"], 1,
            module="Integration", purpose="Technischer Betrieb der Anwendung"),
    dataset("duplicate_candidates", "Dublettenvorschläge", ["Abgeleitete Suchschlüssel (Dublettenprüfung)"], 0),
]
ROWS: dict[str, list[dict[str, Any]]] = {
    "contacts": [
        {
            "id": 4711,
            "salutation": "Herr",
            "first_name": "Jürgen",
            "last_name": "Müller-Lüdenscheidt",
            "email": "juergen.mueller@example.de",
            "phone": "+49 221 123456",
            "birth_date": "1978-04-12",
            "city": "Köln",
            "notes": "Möchte Angebote nur per Post; Ansprechpartner für Großkunden in Nordrhein-Westfalen. " * 6,
            "newsletter": True,
            "created_at": "2025-03-01T09:15:00+00:00",
        }
    ],
    "addresses": [
        {"id": 1, "kind": "Rechnung", "street": "Schäl Sick 3", "postcode": "50679", "city": "Köln"},
        {"id": 2, "kind": "Lieferung", "street": "Hohe Straße 12", "postcode": "50667", "city": "Köln",
         "note": None},
    ],
    "audit_entries": [
        {"id": n, "entity": "contact", "field": "city", "old": "Bonn", "new": "Köln",
         "created_at": f"2025-04-{n % 28 + 1:02d}T08:00:00+00:00"}
        for n in range(1, 41)
    ],
    "outbox_events": [
        {"id": 9, "name": "crm.contact.updated",
         "payload": {"before": {"city": "Bonn"}, "after": {"city": "Köln"}, "fields": ["city"]}}
    ],
}
REQUEST = RequestInfo(
    id=42,
    type_label="Auskunft (Art. 15)",
    status_label="In Bearbeitung",
    channel_label="E-Mail",
    received_at=dt.datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
    due_on=dt.date(2026, 12, 2),
    requester="Jürgen Müller-Lüdenscheidt <juergen.mueller@example.de>",
    identity="Anfrage von der hinterlegten E-Mail-Adresse – Bestätigt",
    handled_by="Ömer Şahin",
)
AUTOMATED = "Eine automatisierte Entscheidungsfindung einschließlich Profiling (Art. 22 DSGVO) findet nicht statt."


def access_report(*, portability: bool = False, rows: dict[str, list[dict[str, Any]]] | None = None) -> AccessReport:
    return AccessReport(
        controller=CONTROLLER,
        request=REQUEST,
        generated_at=dt.datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
        subject_label="Jürgen Müller-Lüdenscheidt",
        datasets=DATASETS,
        rows=ROWS if rows is None else rows,
        portability=portability,
        automated_decisions=AUTOMATED,
    )


def pdf_text(pdf: bytes) -> tuple[int, str]:
    """Page count and the whole text with whitespace collapsed (lines wrap anywhere)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return len(reader.pages), " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def csv_rows(raw: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))


@pytest.fixture(scope="module")
def package() -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(build_package(access_report())))


# --- the ZIP ----------------------------------------------------------------------------------------------------


def test_package_holds_data_json_schema_csv_per_data_set_with_rows_pdf_and_readme(package: zipfile.ZipFile) -> None:
    assert package.testzip() is None
    assert set(package.namelist()) == {
        "data.json", "data.schema.json", "auskunft.pdf", "LIESMICH.txt",
        "contacts.csv", "addresses.csv", "audit_entries.csv", "outbox_events.csv",
    }


def test_data_json_validates_and_holds_every_row_as_given(package: zipfile.ZipFile) -> None:
    data = json.loads(package.read("data.json").decode("utf-8"))
    validate(data)
    assert data == data_json(access_report())
    assert data["schema_version"] == 1
    assert data["generated_at"] == "2026-11-25T10:00:00+00:00"
    assert data["request"] == {"id": 42, "type": "Auskunft (Art. 15)", "received_at": "2026-11-02T09:30:00+00:00"}
    assert data["controller"]["dpo"] == CONTROLLER.dpo
    assert data["portability"] is False
    assert [d["key"] for d in data["datasets"]] == [d.key for d in DATASETS]
    assert data["datasets"][2]["count"] == 40
    assert data["datasets"][0]["categories"] == DATASETS[0].categories
    assert {key: rows for key, rows in data["records"].items() if rows} == ROWS
    assert data["records"]["duplicate_candidates"] == []


@pytest.mark.parametrize(
    "break_it",
    [
        lambda d: d.pop("records"),
        lambda d: d.pop("controller"),
        lambda d: d["request"].pop("id"),
        lambda d: d["datasets"][0].pop("legal_basis"),
        lambda d: d.update(portability="ja"),
        lambda d: d["records"].update(contacts={"id": 1}),
        lambda d: d["records"].update({"Kontakte!": []}),
        lambda d: d.update(generated_at="25.11.2026"),
        lambda d: d.update(extra=1),
    ],
    ids=["no records", "no controller", "no request id", "no legal basis", "portability not bool",
         "records not a list", "bad data set key", "date not ISO", "unknown key"],
)
def test_broken_data_json_fails_validation(break_it: Any) -> None:
    data = copy.deepcopy(data_json(access_report()))
    break_it(data)
    with pytest.raises(ValidationError):
        validate(data)


def test_rows_of_an_undescribed_data_set_are_refused() -> None:
    with pytest.raises(ValueError, match="deals"):
        data_json(access_report(rows={**ROWS, "deals": [{"id": 1}]}))


def test_csv_opens_in_german_excel_and_parses_back(package: zipfile.ZipFile) -> None:
    raw = package.read("addresses.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    # header = union of the rows' fields in first-seen order; a missing or empty value is an empty cell
    assert rows == [
        ["id", "kind", "street", "postcode", "city", "note"],
        ["1", "Rechnung", "Schäl Sick 3", "50679", "Köln", ""],
        ["2", "Lieferung", "Hohe Straße 12", "50667", "Köln", ""],
    ]
    contacts = csv_rows(package.read("contacts.csv"))
    assert contacts[0]["last_name"] == "Müller-Lüdenscheidt"
    assert contacts[0]["notes"] == ROWS["contacts"][0]["notes"]
    assert contacts[0]["newsletter"] == "true"
    events = csv_rows(package.read("outbox_events.csv"))
    assert json.loads(events[0]["payload"]) == ROWS["outbox_events"][0]["payload"]
    assert '"before":{"city":"Bonn"}' in events[0]["payload"]  # compact JSON
    assert [int(row["id"]) for row in csv_rows(package.read("audit_entries.csv"))] == list(range(1, 41))


def test_csv_quotes_separators_and_line_breaks() -> None:
    rows = [{"name": "Weiß; Jörg", "note": 'sagt "Moin"\nzweite Zeile'}]
    assert csv_rows(csv_bytes(rows)) == rows


def test_readme_explains_every_file_in_german(package: zipfile.ZipFile) -> None:
    readme = package.read("LIESMICH.txt").decode("utf-8")
    for name in ("auskunft.pdf", "data.json", "data.schema.json", "contacts.csv", "audit_entries.csv"):
        assert name in readme
    assert "Semikolon" in readme
    assert "Änderungsprotokoll (40 Einträge)" in readme
    assert "Ohne Einträge (keine CSV-Datei): Dublettenvorschläge" in readme
    assert "Anfrage Nr. 42" in readme
    assert CONTROLLER.authority in readme
    assert "Art. 20" not in readme


def test_portability_package_says_so_in_json_pdf_and_readme() -> None:
    provided = {"contacts": [{"first_name": "Jürgen", "last_name": "Müller-Lüdenscheidt", "city": "Köln"}]}
    archive = zipfile.ZipFile(io.BytesIO(build_package(access_report(portability=True, rows=provided))))
    data = json.loads(archive.read("data.json"))
    assert data["portability"] is True
    assert data["records"]["contacts"] == provided["contacts"]
    assert {n for n in archive.namelist() if n.endswith(".csv")} == {"contacts.csv"}
    assert "Datenübertragbarkeit (Art. 20 DSGVO)" in archive.read("LIESMICH.txt").decode("utf-8")
    _, text = pdf_text(archive.read("auskunft.pdf"))
    assert "Recht auf Datenübertragbarkeit (Art. 20 DSGVO)" in text
    assert "nur die Daten, die Sie selbst bereitgestellt haben" in text


# --- the Art. 15 letter -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def access_text() -> tuple[int, str]:
    return pdf_text(access_report_pdf(access_report()))


def test_access_pdf_gives_every_art_15_item(access_text: tuple[int, str]) -> None:
    _, text = access_text
    for heading in (
        "Auskunft nach Art. 15 DSGVO",
        "a) Zwecke der Verarbeitung",
        "b) Kategorien personenbezogener Daten",
        "c) Empfänger oder Kategorien von Empfängern",
        "d) Speicherdauer oder Kriterien für ihre Festlegung",
        "e) Ihre Rechte auf Berichtigung, Löschung, Einschränkung und Widerspruch",
        "f) Beschwerderecht bei einer Aufsichtsbehörde",
        "g) Herkunft der Daten",
        "h) Automatisierte Entscheidungsfindung einschließlich Profiling",
        "Übermittlung in Drittländer (Art. 15 Abs. 2 DSGVO)",
        "Kopie Ihrer Daten (Art. 15 Abs. 3 DSGVO)",
    ):
        assert heading in text
    for article in ("Art. 16 DSGVO", "Art. 17 DSGVO", "Art. 18 DSGVO", "Art. 21 DSGVO", "Art. 77 DSGVO"):
        assert article in text
    assert CRM_PURPOSE in text and LOG_PURPOSE in text
    assert CRM_BASIS in text
    assert "Identitätsdaten (Name, Anrede, Titel, Geburtsdatum)" in text
    assert "Hosting-Dienstleister als Auftragsverarbeiter" in text
    assert "10 Jahre (Rechenschaftspflicht)" in text
    assert CONTROLLER.authority in text
    assert "Vom System bei jeder Änderung erzeugt" in text
    assert AUTOMATED in text
    assert "Recht auf Datenübertragbarkeit" not in text


def test_access_pdf_names_request_controller_and_dpo(access_text: tuple[int, str]) -> None:
    _, text = access_text
    assert "Anfrage Nr. 42 vom 02.11.2026" in text
    assert "Eingegangen am 02.11.2026, 10:30 Uhr" in text  # local time (CET)
    assert "Betroffene Person Jürgen Müller-Lüdenscheidt" in text
    assert "Nordlicht Vertrieb GmbH" in text and "Große Elbstraße 145" in text
    assert "Dr. Jörg Weiß, dsb@nordlicht-vertrieb.example" in text
    assert "Ömer Şahin" in text


def test_access_pdf_copies_the_persons_rows_and_caps_large_data_sets(access_text: tuple[int, str]) -> None:
    pages, text = access_text
    for value in ("Jürgen", "Müller-Lüdenscheidt", "juergen.mueller@example.de", "+49 221 123456", "Schäl Sick 3"):
        assert value in text
    assert "birth_date 12.04.1978" in text
    assert "created_at 01.03.2025, 10:15 Uhr" in text
    assert "newsletter ja" in text
    assert '"after": {"city": "Köln"}' in text
    assert f"Eintrag {ROWS_PER_DATASET}" in text and f"Eintrag {ROWS_PER_DATASET + 1}" not in text
    assert "40 Einträge" in text
    cap = f"gezeigt werden die ersten {ROWS_PER_DATASET}; alle 40 Einträge stehen in data.json und audit_entries.csv"
    assert cap in text
    assert "Dublettenvorschläge Keine Einträge." in text
    assert pages > 2
    assert "Seite 1 von" in text and f"Seite {pages} von {pages}" in text


# --- the deletion certificate -----------------------------------------------------------------------------------


def certificate(*, residues: list[str] | None = None, chain_ok: bool = True) -> Certificate:
    return Certificate(
        controller=CONTROLLER,
        request=RequestInfo(
            id=57, type_label="Löschung (Art. 17)", status_label="Abgeschlossen", channel_label="Brief",
            received_at=dt.datetime(2026, 10, 5, 8, 0, tzinfo=UTC), due_on=dt.date(2026, 11, 5),
            requester="Jürgen Müller-Lüdenscheidt", identity="Rückruf unter der hinterlegten Nummer – Bestätigt",
            handled_by="Ömer Şahin",
        ),
        erased_at=dt.datetime(2026, 10, 20, 13, 5, tzinfo=UTC),
        verified_at=dt.datetime(2026, 10, 20, 13, 6, tzinfo=UTC),
        erased=[
            ErasedSet("Kontakte", "Löschen", 1),
            ErasedSet("Anschriften", "Löschen", 2),
            ErasedSet("Aufträge", "Anonymisieren (Personenbezug entfernen, Geschäftszahlen bleiben)", 3),
            ErasedSet("Änderungsprotokoll", "Krypto-Löschung (Schlüssel vernichtet, Kette bleibt prüfbar)", 40),
        ],
        holds=[Hold("Firmen (Einzelunternehmen)", 815, "§ 147 Abs. 1 Nr. 4 AO, § 257 Abs. 1 Nr. 4 HGB",
                    dt.date(2034, 12, 31))],
        shredded_keys=2,
        suppressed=1,
        probes=[
            Probe("E-Mail", "j******@e******.de", "sha256:3f9a1c0b", 0, 0),
            Probe("Telefon", "+49 221 ****56", "sha256:77d2e4aa", 0 if residues is None else 1, 0),
        ],
        residues=residues or [],
        tables_searched=48,
        columns_searched=512,
        files_scanned=["backups/crm-2026-10-19.sql.gz", "exports/kontakte-2026-09.xlsx"],
        bytes_scanned=1_234_567_890,
        full_text_indexes=["contacts_search", "notes_search"],
        chains=[ChainCheck("audit", True, 12_840, "Kette intakt"),
                ChainCheck("gdpr", chain_ok, 311, "Kette intakt" if chain_ok else "Eintrag 17 wurde verändert")],
    )


def test_clean_certificate_states_the_result_and_everything_done() -> None:
    pages, text = pdf_text(certificate_pdf(certificate()))
    assert "Löschprotokoll nach Art. 17 DSGVO" in text
    assert CLEAN in text and RESIDUES not in text
    assert "Anfrage-Nr. 57" in text and "Löschung (Art. 17)" in text
    assert "Löschung durchgeführt 20.10.2026, 15:05 Uhr" in text
    assert "Anonymisieren (Personenbezug entfernen, Geschäftszahlen bleiben)" in text
    assert "Insgesamt 46 Einträge bearbeitet." in text
    assert "Firmen (Einzelunternehmen) 815 § 147 Abs. 1 Nr. 4 AO, § 257 Abs. 1 Nr. 4 HGB 31.12.2034" in text
    assert "Vernichtete Schlüssel 2" in text and "Sperrlisteneinträge 1" in text
    assert "j******@e******.de sha256:3f9a1c0b" in text
    assert "48 Tabellen, 512 Spalten durchsucht" in text
    assert "2 Dateien, 1,2 GB (1.234.567.890 Bytes) durchsucht" in text
    assert "backups/crm-2026-10-19.sql.gz" in text
    assert "contacts_search, notes_search" in text
    assert "audit 12.840 in Ordnung" in text
    assert "Gefundene Reste" not in text
    assert f"Seite {pages} von {pages}" in text


def test_certificate_with_residues_lists_them() -> None:
    residue = "import_runs #12: report enthält die Telefonnummer"
    _, text = pdf_text(certificate_pdf(certificate(residues=[residue])))
    assert RESIDUES in text and CLEAN not in text
    assert f"Fundstelle: {residue}" in text
    assert "6. Gefundene Reste" in text


def test_certificate_reports_a_broken_chain() -> None:
    _, text = pdf_text(certificate_pdf(certificate(chain_ok=False)))
    assert "Protokollkette „gdpr“ fehlerhaft: Eintrag 17 wurde verändert" in text
    assert "gdpr 311 FEHLER Eintrag 17 wurde verändert" in text


# --- the Art. 30 record -----------------------------------------------------------------------------------------


def test_processing_record_lists_every_data_set_and_the_measures() -> None:
    users = dataset("users", "Benutzerkonten", ["Beschäftigtendaten (Benutzerkonten)"], 0, module="Verwaltung",
                    subjects="Beschäftigte (Benutzerkonten)")
    settings = dataset("app_settings", "Einstellungen", [], 0, module="Verwaltung")
    record = ProcessingRecord(
        controller=CONTROLLER,
        generated_at=dt.datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
        datasets=[*DATASETS, users, settings],
        security_measures=[
            "Verschlüsselung personenbezogener Werte in Protokollen mit einem Schlüssel je Person",
            "Rollen- und Berechtigungskonzept; Anmeldung mit Argon2-gehashten Passwörtern",
            "Revisionssichere Protokolle (Hash-Kette), tägliche Prüfung",
        ],
    )
    pages, text = pdf_text(processing_record_pdf(record))
    assert "Verzeichnis von Verarbeitungstätigkeiten" in text and "Art. 30 Abs. 1 DSGVO" in text
    assert "Stand 25.11.2026" in text
    order = ["Ereignisse (Outbox)", "Änderungsprotokoll", "Anschriften", "Dublettenvorschläge", "Kontakte",
             "Benutzerkonten"]  # by module (Integration, Revision, Stammdaten, Verwaltung), then name
    for number, label in enumerate(order, start=1):
        assert f"2.{number} {label}" in text
    assert "Datenbestände ohne personenbezogene Daten Einstellungen (Verwaltung)" in text
    assert "Kategorien betroffener Personen Beschäftigte (Benutzerkonten)" in text
    assert "Kategorien betroffener Personen Kunden und Interessenten sowie deren Ansprechpartner" in text
    assert text.count("Übermittlung in Drittländer keine") == len(DATASETS) + 1
    assert "Bis zum Ende der Geschäftsbeziehung zuzüglich 3 Jahren (§ 195 BGB)" in text
    for measure in record.security_measures:
        assert measure in text
    assert CONTROLLER.authority in text and CONTROLLER.dpo in text
    assert f"Seite {pages} von {pages}" in text
