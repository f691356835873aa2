"""CSV/Excel import of contacts and accounts (core.imports) on SQLite and PostgreSQL, plus the CLI."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
import xlsxwriter
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.accounts import AccountInput
from core.contacts import ContactInput
from core.errors import PermissionDenied, ValidationFailed
from core.imports import (
    ACCOUNTS,
    CONTACTS,
    auto_mapping,
    check_mapping,
    plan_import,
    read_file,
    report_csv,
    run_import,
)
from core.imports.rows import check_rows
from core.permissions import Role
from core.uow import UnitOfWork
from core.validation import parse
from db.models import Account, Address, AuditEntry, Contact, ImportRun, OutboxEvent
from tests.conftest import FrozenClock
from tests.factories.crm import make_account
from tests.factories.identity import make_user

REPO_ROOT = Path(__file__).resolve().parents[2]
HEADER = "Externe ID;Anrede;Vorname;Nachname;Geburtsdatum;E-Mail;Telefon;Firma;Straße;Hausnummer;PLZ;Ort;Land"


def csv_bytes(*rows: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return "\r\n".join((header, *rows)).encode(encoding)


def uow_for(factory: sessionmaker[Session], clock: FrozenClock, role: Role = Role.ADMIN) -> UnitOfWork:
    user = make_user(factory, role, clock=clock)
    return UnitOfWork(factory, actor=user.actor(), clock=clock)


def count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


GOOD = "K-1;Herr;Jürgen;Weiß;1970-05-17;j.weiss@example.de;+49 221 12345;Müller Maschinenbau GmbH;Hauptstraße;5a;50667;Köln;DE"
GOOD2 = "K-2;Frau;Erika;Mustermann;03.02.1985;erika@example.de;;Neue Firma AG;;;;;"
BAD = "K-3;Herrn;Max;;31.02.1990;kein-at-zeichen;;;;;1234;Berlin;DE"


# ---------------------------------------------------------------------------------------------- reading, mapping


def test_german_headers_are_mapped_and_unknown_columns_ignored() -> None:
    columns = ["Externe ID", "Vorname", "Nachname", "E-Mail", "Telefon", "Firma", "Straße", "Hausnummer", "PLZ", "Ort",
               "Land", "Geburtsdatum", "Anrede", "Titel", "Bundesland", "Adresszusatz", "Lieblingsfarbe"]
    mapping = auto_mapping(CONTACTS, columns)
    assert mapping == {
        "Externe ID": "external_id", "Vorname": "first_name", "Nachname": "last_name", "E-Mail": "email",
        "Telefon": "phone", "Firma": "company", "Straße": "street", "Hausnummer": "house_number", "PLZ": "postcode",
        "Ort": "city", "Land": "country", "Geburtsdatum": "birth_date", "Anrede": "salutation", "Titel": "title",
        "Bundesland": "state", "Adresszusatz": "address_line2", "Lieblingsfarbe": None,
    }
    canonical = ["external_id", "first_name", "last_name", "birth_date", "house_number", "address_line2"]
    assert auto_mapping(CONTACTS, canonical) == {c: c for c in canonical}


def test_bad_mappings_are_named() -> None:
    with pytest.raises(ValidationFailed) as exc:
        check_mapping(CONTACTS, ["A", "B"], {"A": "first_name", "B": "first_name", "C": "email"})
    message = exc.value.fields["mapping"]
    assert "Spalte „C“ gibt es in der Datei nicht" in message
    assert "Feld „Vorname“ ist mehreren Spalten zugeordnet" in message
    assert "Pflichtfeld ohne Spalte: Nachname" in message


def test_semicolon_csv_in_cp1252_is_read_with_a_note() -> None:
    table = read_file(csv_bytes(GOOD, encoding="cp1252"), "kontakte.csv")
    assert table.columns[7] == "Firma" and table.rows[0][3] == "Weiß"
    assert any("Windows-1252" in note for note in table.notes)
    bom = read_file(b"\xef\xbb\xbf" + "Vorname,Nachname\r\nÄnne,Öz\r\n".encode(), "k.csv")
    assert bom.columns == ["Vorname", "Nachname"] and bom.rows == [["Änne", "Öz"]] and not bom.notes


def test_unreadable_files_get_a_clear_error() -> None:
    with pytest.raises(ValidationFailed, match="wird nicht unterstützt"):
        read_file(b"%PDF", "kontakte.pdf")
    with pytest.raises(ValidationFailed, match="keine gültige Excel-Datei"):
        read_file(b"not a zip", "kontakte.xlsx")
    with pytest.raises(ValidationFailed, match="nur die Kopfzeile"):
        read_file(b"Vorname;Nachname\r\n", "k.csv")


def test_all_three_date_formats_and_german_reasons_with_file_row_numbers() -> None:
    rows = [
        "A;;Anna;Alt;1980-01-31;;;;;;;;",
        "B;;Bea;Bolt;31.01.1980;;;;;;;;",
        "",  # blank line: skipped, but row numbers keep counting
        "C;;Cem;Cay;19800131;;;;;;;;",
        BAD,
        "A;;Doppelt;Da;;;;;;;;;",
    ]
    table = read_file(csv_bytes(*rows), "k.csv")
    clean, issues = check_rows(table, CONTACTS, auto_mapping(CONTACTS, table.columns))  # type: ignore[arg-type]
    assert [r.values["birth_date"].isoformat() for r in clean] == ["1980-01-31"] * 3
    assert [(i.row, i.column, i.value, i.reason) for i in issues] == [
        (6, "Anrede", "Herrn", "ungültiger Wert (erlaubt: Herr, Frau, Divers)"),
        (6, "Nachname", "", "Pflichtfeld"),
        (6, "Geburtsdatum", "31.02.1990", "kein gültiges Datum: 31.02.1990 gibt es nicht"),
        (6, "E-Mail", "kein-at-zeichen", "keine gültige E-Mail-Adresse"),
        (6, "PLZ", "1234", "deutsche Postleitzahl hat fünf Ziffern"),
        (7, "Externe ID", "A", "Externe ID kommt mehrfach vor (zuerst in Zeile 2)"),
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("salutation", "Herrn"),
        ("first_name", "x" * 101),
        ("email", "kein-at-zeichen"),
        ("email", "a@b"),
        ("phone", "abc"),
        ("birth_date", "2999-01-01"),
        ("birth_date", "1990-02-30"),
        ("country", "Deutschland-Nord"),
        ("postcode", "1234"),
        ("postcode", "ABCDE"),
    ],
)
def test_fast_checks_reject_what_the_contact_service_rejects(field: str, value: str) -> None:
    values = {"first_name": "Max", "last_name": "Muster", field: value}
    with pytest.raises(ValidationFailed):
        parse(ContactInput, values)
    table = read_file(csv_bytes(";".join(values.values()), header=";".join(values)), "k.csv")
    clean, issues = check_rows(table, CONTACTS, {k: k for k in values})
    assert not clean and issues


@pytest.mark.parametrize(("field", "value"), [("name", "X"), ("legal_form", "Gmbh & Co"), ("employees", "-3"), ("employees", "viele")])
def test_fast_checks_reject_what_the_account_service_rejects(field: str, value: str) -> None:
    values = {"name": "Beispiel AG", field: value}
    with pytest.raises(ValidationFailed):
        parse(AccountInput, values)
    table = read_file(csv_bytes(";".join(values.values()), header=";".join(values)), "f.csv")
    assert not check_rows(table, ACCOUNTS, {k: k for k in values})[0]


def test_good_values_pass_both() -> None:
    values = {"first_name": "Max", "last_name": "Muster", "email": "M.Muster@Example.DE", "phone": "+49 (30) 123-45",
              "postcode": "01067", "country": "de", "salutation": "Frau"}
    data = parse(ContactInput, values)
    table = read_file(csv_bytes(";".join(values.values()), header=";".join(values)), "k.csv")
    clean, issues = check_rows(table, CONTACTS, {k: k for k in values})
    assert not issues
    assert {k: clean[0].values[k] for k in values} == {k: getattr(data, k) for k in values}


# ---------------------------------------------------------------------------------------------- writing


def test_all_or_nothing_writes_nothing_and_records_the_rejected_attempt(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    uow = uow_for(factory, clock)
    before = (count(factory, Contact), count(factory, Account), count(factory, AuditEntry), count(factory, Address))
    result = run_import(uow, read_file(csv_bytes(GOOD, GOOD2, BAD), "k.csv"), entity="contacts")
    assert result.status == "abgelehnt" and result.created == 0 and result.rejected_rows == 1
    assert "1 von 3 Zeilen fehlerhaft, nichts wurde gespeichert" in result.summary()
    assert (count(factory, Contact), count(factory, Account), count(factory, AuditEntry), count(factory, Address)) == before
    with factory() as session:
        run = session.get(ImportRun, result.run_id)
        assert run is not None and run.status == "abgelehnt" and run.rows_rejected == 1 and run.rows_created == 0
        assert {e["row"] for e in run.report} == {4}
        assert session.scalar(select(OutboxEvent.name).order_by(OutboxEvent.id.desc()).limit(1)) == "crm.import.rejected"


def test_valid_rows_mode_writes_the_rest_with_company_address_and_audit(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    uow = uow_for(factory, clock)
    existing = make_account(factory, uow.actor, clock=clock, name="Müller Maschinenbau GmbH")
    result = run_import(uow, read_file(csv_bytes(GOOD, GOOD2, BAD), "k.csv"), entity="contacts", mode="valid-rows")
    assert (result.status, result.created, result.rejected_rows, result.companies_created) == ("teilweise", 2, 1, 1)
    with factory() as session:
        weiss = session.scalars(select(Contact).where(Contact.external_id == "K-1")).one()
        assert weiss.account_id == existing.id, "linked to the existing company"
        assert (weiss.postcode, weiss.city, weiss.country, weiss.owner_id) == ("50667", "Köln", "DE", uow.actor.user_id)
        assert weiss.match_name, "duplicate-check keys are filled like on every save"
        address = session.scalars(select(Address).where(Address.contact_id == weiss.id)).one()
        assert (address.type, address.street, address.house_number, address.postcode, address.is_primary) == (
            "post", "Hauptstraße", "5a", "50667", True)
        erika = session.scalars(select(Contact).where(Contact.external_id == "K-2")).one()
        new_company = session.get(Account, erika.account_id)
        assert new_company is not None and new_company.name == "Neue Firma AG"
        assert session.scalar(select(func.count()).select_from(Address).where(Address.contact_id == erika.id)) == 0
        trail = audit.trail(session, entity="contact", entity_id=weiss.id)
        assert list(trail["action"]) == ["imported"] and list(trail["reason"]) == [f"Import #{result.run_id}"]
        assert audit.verify_chain(session).ok
        event = session.scalars(select(OutboxEvent).where(OutboxEvent.name == "crm.import.completed")).one()
        assert event.payload["rows_created"] == 2 and event.payload["companies_created"] == 1
        run = session.get(ImportRun, result.run_id)
        assert run is not None and (run.status, run.rows_created, run.rows_rejected, run.mode) == ("teilweise", 2, 1, "valid-rows")


def test_reimport_updates_by_external_id_and_audits_the_change(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    uow = uow_for(factory, clock)
    run_import(uow, read_file(csv_bytes(GOOD), "k.csv"), entity="contacts")
    clock.advance(days=1)
    changed = GOOD.replace("j.weiss@example.de", "juergen.weiss@example.de").replace("Hauptstraße;5a", "Ringstraße;7")
    result = run_import(uow, read_file(csv_bytes(changed, GOOD2), "k.csv"), entity="contacts")
    assert (result.created, result.updated, result.unchanged) == (1, 1, 0)
    again = run_import(uow, read_file(csv_bytes(changed), "k.csv"), entity="contacts")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    with factory() as session:
        weiss = session.scalars(select(Contact).where(Contact.external_id == "K-1")).one()
        assert weiss.email == "juergen.weiss@example.de" and weiss.version == 2
        assert session.scalar(select(func.count()).select_from(Contact).where(Contact.external_id == "K-1")) == 1
        trail = audit.trail(session, entity="contact", entity_id=weiss.id)
        change = trail[trail["field"] == "email"].iloc[0]
        assert (change["old_value"], change["new_value"], change["reason"]) == (
            "j.weiss@example.de", "juergen.weiss@example.de", f"Import #{result.run_id}")
        address = session.scalars(select(Address).where(Address.contact_id == weiss.id)).one()
        assert (address.street, address.house_number) == ("Ringstraße", "7")
        assert audit.verify_chain(session).ok


def test_accounts_import_from_xlsx(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("Firmen")
    sheet.write_row(0, 0, ["Kundennummer", "Firmenname", "Rechtsform", "Mitarbeiter", "Straße", "Hausnummer", "PLZ", "Ort"])
    sheet.write_row(1, 0, ["F-1", "Beispiel Technik", "gmbh", 120, "Industriestraße", 12, "70173", "Stuttgart"])
    sheet.write_row(2, 0, ["F-2", "Zweite AG", "AG", 4, "", "", 80331, "München"])
    workbook.close()
    uow = uow_for(factory, clock)
    result = run_import(uow, read_file(buffer.getvalue(), "firmen.xlsx"), entity="accounts")
    assert (result.status, result.created) == ("abgeschlossen", 2)
    with factory() as session:
        account = session.scalars(select(Account).where(Account.external_id == "F-1")).one()
        assert (account.legal_form, account.employees, account.street, account.postcode) == ("GmbH", 120, "Industriestraße 12", "70173")
        address = session.scalars(select(Address).where(Address.account_id == account.id)).one()
        assert (address.type, address.house_number, address.city) == ("besuch", "12", "Stuttgart")
        assert session.scalars(select(Account.postcode).where(Account.external_id == "F-2")).one() == "80331"


def test_permission_is_checked_first_and_own_scope_protects_other_records(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    table = read_file(csv_bytes(GOOD), "k.csv")
    viewer = uow_for(factory, clock, Role.VIEWER)
    with pytest.raises(PermissionDenied):
        plan_import(viewer, table, entity="contacts")
    with pytest.raises(PermissionDenied):
        run_import(viewer, table, entity="contacts")
    run_import(uow_for(factory, clock), table, entity="contacts")
    with factory() as session:
        contact_id = session.scalars(select(Contact.id).where(Contact.external_id == "K-1")).one()
    rep = uow_for(factory, clock, Role.SALES_REP)
    plan = plan_import(rep, table, entity="contacts")
    assert [(i.row, i.column, i.reason) for i in plan.issues] == [
        (2, "Externe ID", f"Datensatz {contact_id} gehört jemand anderem; Sie dürfen nur eigene Datensätze ändern")
    ]
    marketing = uow_for(factory, clock, Role.MARKETING)
    plan = plan_import(marketing, read_file(csv_bytes(GOOD2), "k.csv"), entity="contacts")
    assert [(i.column, i.reason) for i in plan.issues] == [("Firma", "Firma gibt es nicht, und Sie dürfen keine Firmen anlegen")]


def test_report_csv_opens_in_german_excel() -> None:
    table = read_file(csv_bytes(BAD), "k.csv")
    _, issues = check_rows(table, CONTACTS, auto_mapping(CONTACTS, table.columns))  # type: ignore[arg-type]
    text = report_csv(issues).decode("utf-8-sig").splitlines()
    assert text[0] == "Zeile;Spalte;Wert;Grund" and text[1] == "2;Anrede;Herrn;ungültiger Wert (erlaubt: Herr, Frau, Divers)"


# ---------------------------------------------------------------------------------------------- CLI


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "CRM_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "CRM_SECRET_KEY": "test-secret-" + "x" * 40, "CRM_SECRET_KEY_FILE": str(tmp_path / "secret.key")}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_cli_import_exit_codes_and_one_line_errors(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "db", "upgrade").returncode == 0
    good, bad = tmp_path / "gut.csv", tmp_path / "fehler.csv"
    good.write_bytes(csv_bytes(GOOD, GOOD2, encoding="cp1252"))
    bad.write_bytes(csv_bytes(GOOD, BAD))
    ok = run_cli(tmp_path, "import", "contacts", str(good))
    assert ok.returncode == 0, ok.stderr
    assert "2 Kontakte angelegt" in ok.stdout and "Windows-1252" in ok.stderr
    report = tmp_path / "bericht.csv"
    rejected = run_cli(tmp_path, "import", "contacts", str(bad), "--report", str(report))
    assert rejected.returncode == 1
    assert rejected.stderr.strip().splitlines()[-1].startswith("Fehler: Import #2 abgelehnt: 1 von 2 Zeilen fehlerhaft")
    assert "Zeile;Spalte;Wert;Grund" in report.read_text(encoding="utf-8-sig")
    partial = run_cli(tmp_path, "import", "kontakte", str(bad), "--mode", "valid-rows")
    assert partial.returncode == 0 and "0 Kontakte angelegt, 0 geändert, 1 unverändert, 1 abgelehnt" in partial.stdout
    for args, message in (
        (("import", "contacts", str(tmp_path / "fehlt.csv")), "Fehler: Datei nicht gefunden:"),
        (("import", "kunden", str(good)), "Fehler: entity: unbekannter Datentyp „kunden“"),
        (("import", "contacts", str(good), "--mapping", "Firma=chef"), "Fehler: mapping: unbekanntes Feld „chef“"),
        (("import", "contacts", str(good), "--mapping", "Firma"), "Fehler: mapping: „Firma“ hat nicht die Form Spalte=Feld"),
        (("import", "contacts", str(good), "--mode", "halb"), "Fehler: mode: unbekannter Modus „halb“"),
    ):
        failed = run_cli(tmp_path, *args)
        assert failed.returncode == 1, args
        assert len(failed.stderr.strip().splitlines()) == 1 and failed.stderr.startswith(message), failed.stderr


def test_imported_records_never_reuse_the_id_of_a_deleted_one(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    from core.contacts import delete_contact
    from tests.factories.crm import make_contact

    admin = make_user(factory, Role.ADMIN, clock=clock).actor()
    gone = make_contact(factory, admin, clock=clock, email="weg@example.de")
    delete_contact(UnitOfWork(factory, actor=admin, clock=clock), gone.id, expected_version=1)
    run_import(uow_for(factory, clock), read_file(csv_bytes(GOOD), "k.csv"), entity="contacts")
    with factory() as session:
        assert session.scalar(select(func.min(Contact.id))) > gone.id


def test_repeated_values_are_checked_once_but_reported_in_every_row() -> None:
    rows = [
        "R-1;Herrn;Anna;Alt;31.02.1990;;;;;;1234;Berlin;DE",
        "R-2;Herrn;Bea;Bolt;31.02.1990;;;;;;1234;Berlin;DE",
        "R-3;Frau;Cem;Cay;1980-01-31;;;;;;10115;Berlin;DE;zu viel",
        "R-4;Frau;Dana;Dorn;1980-01-31;;;;;;10115;Berlin;DE",
    ]
    table = read_file(csv_bytes(*rows), "k.csv")
    clean, issues = check_rows(table, CONTACTS, auto_mapping(CONTACTS, table.columns))  # type: ignore[arg-type]
    assert [r.values["external_id"] for r in clean] == ["R-4"]
    assert [(i.row, i.column, i.value) for i in issues] == [
        (2, "Anrede", "Herrn"),
        (2, "Geburtsdatum", "31.02.1990"),
        (2, "PLZ", "1234"),
        (3, "Anrede", "Herrn"),
        (3, "Geburtsdatum", "31.02.1990"),
        (3, "PLZ", "1234"),
        (4, "–", ""),
    ]


def test_bulk_created_records_have_the_same_keys_and_chain_as_single_saves(
    factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    import gc

    from core.dedupe.keys import match_keys_for_contact
    from core.ledger import chain_hash

    rows = [
        f"B-{n};Frau;Erika;Müller-{n % 3};01.02.1985;erika.{n}+tag@googlemail.com;0221 {741200 + n};Firma {n % 4} GmbH;"
        f"Ring;{n};5066{n % 10};Köln;{'DE' if n % 2 else ''}"
        for n in range(1, 41)
    ]
    result = run_import(uow_for(factory, clock), read_file(csv_bytes(*rows), "k.csv"), entity="contacts")
    assert (result.created, result.companies_created) == (40, 4)
    assert gc.isenabled(), "the garbage collector is on again after the import"
    with factory() as session:
        contacts = session.scalars(select(Contact).where(Contact.external_id.like("B-%"))).all()
        assert len(contacts) == 40
        for contact in contacts:
            expected = match_keys_for_contact({c.key: getattr(contact, c.key) for c in Contact.__table__.columns})
            assert (contact.match_name, contact.match_phone, contact.match_email) == (
                expected["match_name"], expected["match_phone"], expected["match_email"])
            assert contact.country == "DE"
        assert session.scalar(select(func.count()).select_from(Address).where(Address.contact_id.in_([c.id for c in contacts]))) == 40
        entries = session.scalars(select(AuditEntry).where(AuditEntry.reason == f"Import #{result.run_id}").order_by(AuditEntry.id)).all()
        assert len(entries) == 44 and {e.action for e in entries} == {"imported"}
        for entry in entries:
            assert entry.hash == chain_hash(entry.prev_hash, audit._payload(entry))  # noqa: SLF001
        assert audit.verify_chain(session).ok
