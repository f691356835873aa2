"""Duplicate check on a real database (SQLite and PostgreSQL): keys on save, scan, hints, review, settings, CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.contacts import update_contact
from core.dedupe.hints import duplicate_hints
from core.dedupe.review import dismiss_candidate, get_candidate, list_candidates
from core.dedupe.scan import scan_duplicates
from core.dedupe.settings import DEFAULT_THRESHOLDS, get_threshold, set_threshold
from core.demo import seed_demo
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.listing import ListQuery
from core.permissions import SYSTEM, Role
from core.uow import UnitOfWork
from db.migrate import upgrade
from db.models import Account, Contact, DuplicateCandidate
from tests.conftest import FrozenClock
from tests.factories.crm import make_account, make_contact
from tests.factories.identity import make_user

REPO_ROOT = Path(__file__).resolve().parents[2]


def uow(factory: sessionmaker[Session]) -> UnitOfWork:
    return UnitOfWork(factory, actor=SYSTEM)


def seed_people(factory: sessionmaker[Session]) -> dict[str, int]:
    """An original, a near-duplicate with a surname typo (same e-mail), and two unrelated people."""
    people = {
        "original": dict(
            first_name="Jürgen",
            last_name="Weiß",
            email="j.weiss@kraemer-bau.de",
            phone="+49 221 1234560",
            postcode="50667",
            city="Köln",
            external_id="CON-1",
            birth_date=dt.date(1975, 3, 4),
        ),
        "duplicate": dict(
            first_name="Juergen",
            last_name="Weis",
            email="J.Weiss@Kraemer-Bau.de",
            phone="0221 1234560",
            postcode="50667",
            city="Koeln",
            external_id="CON-2",
            birth_date=dt.date(1975, 4, 3),
        ),
        "colleague": dict(
            first_name="Anna",
            last_name="Weiß",
            email="a.weiss@kraemer-bau.de",
            phone="+49 221 1234570",
            postcode="50667",
            city="Köln",
            external_id="CON-3",
        ),
        "stranger": dict(
            first_name="Petra",
            last_name="Nowak",
            email="p.nowak@example.de",
            postcode="10115",
            city="Berlin",
            external_id="CON-4",
        ),
    }
    return {key: make_contact(factory, SYSTEM, **values).id for key, values in people.items()}


def test_saving_fills_the_match_keys(factory: sessionmaker[Session]) -> None:
    ids = seed_people(factory)
    with factory() as session:
        row = session.get(Contact, ids["duplicate"])
        assert (row.match_name, row.match_phone, row.match_email) == ("38", "+492211234560", "j.weiss@kraemer-bau.de")
        version = row.version
    update_contact(
        uow(factory),
        ids["duplicate"],
        {"last_name": "Müller", "phone": None, "mobile": "0171 7654321"},
        expected_version=version,
    )
    with factory() as session:
        row = session.get(Contact, ids["duplicate"])
        assert (row.match_name, row.match_phone, row.version) == ("657", "+491717654321", version + 1)
    account = make_account(factory, SYSTEM, name="Krämer Bau GmbH & Co. KG", phone="0221 123450")
    with factory() as session:
        from db.models import Account

        stored = session.get(Account, account.id)
        assert (stored.match_name, stored.match_phone) == ("4767", "+49221123450")


def test_scan_writes_ordered_pairs_and_stores_them_for_review(factory: sessionmaker[Session]) -> None:
    ids = seed_people(factory)
    out = io.StringIO()
    report = scan_duplicates(uow(factory), entity="contacts", out=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(int(r["id_a"]), int(r["id_b"])) for r in rows] == [(ids["original"], ids["duplicate"])]
    assert rows[0]["external_id_a"] == "CON-1" and rows[0]["external_id_b"] == "CON-2"
    assert float(rows[0]["score"]) >= DEFAULT_THRESHOLDS["contact"]
    assert report.found == report.stored == 1 and report.records == 4
    with factory() as session:
        stored = session.scalars(select(DuplicateCandidate)).all()
    assert [(c.entity, c.id_a, c.id_b, c.status) for c in stored] == [
        ("contact", ids["original"], ids["duplicate"], "offen")
    ]
    assert stored[0].details["fields"]["birth_date"]["note"] == "Tag/Monat vertauscht"


def test_rescan_replaces_open_candidates_but_keeps_dismissed_ones(factory: sessionmaker[Session]) -> None:
    seed_people(factory)
    scan_duplicates(uow(factory), entity="contacts")
    page = list_candidates(uow(factory), "contacts", ListQuery())
    assert page.total == 1 and page.rows.loc[0, "name_a"] == "Jürgen Weiß"
    candidate_id = int(page.rows.loc[0, "id"])
    pair = get_candidate(uow(factory), candidate_id)
    assert pair.record_a["last_name"] == "Weiß" and pair.record_b["last_name"] == "Weis"
    assert {f.field for f in pair.fields} >= {"last_name", "first_name", "email", "birth_date"}
    dismiss_candidate(uow(factory), candidate_id, reason="Vater und Sohn")
    with pytest.raises(Conflict):
        dismiss_candidate(uow(factory), candidate_id)
    report = scan_duplicates(uow(factory), entity="contacts", threshold=0.3)
    assert report.stored == report.found - 1
    assert list_candidates(uow(factory), "contacts", ListQuery(filters={"status": "keine_dublette"})).total == 1


def test_account_scan_finds_company_written_differently(factory: sessionmaker[Session]) -> None:
    a = make_account(
        factory,
        SYSTEM,
        name="Krämer Bau GmbH & Co. KG",
        street="Hauptstraße 12a",
        postcode="50667",
        city="Köln",
        phone="+49 221 123450",
        website="https://www.kraemer-bau.de",
        external_id="ACC-1",
    )
    b = make_account(
        factory,
        SYSTEM,
        name="Kraemer Bau GmbH",
        street="Hauptstr. 12 a",
        postcode="50667",
        city="Köln",
        phone="0221 123450",
        external_id="ACC-2",
    )
    make_account(factory, SYSTEM, name="Schulte Logistik AG", postcode="50667", city="Köln", external_id="ACC-3")
    out = io.StringIO()
    scan_duplicates(uow(factory), entity="accounts", out=out)
    assert out.getvalue().splitlines()[1].startswith(f"{a.id},{b.id},ACC-1,ACC-2,")


def test_moved_company_is_found_by_its_own_domain_but_not_a_namesake(factory: sessionmaker[Session]) -> None:
    common = dict(name="Meister Ingenieurbau GmbH", legal_form="GmbH")
    a = make_account(
        factory,
        SYSTEM,
        **common,
        street="Hauptstraße 12",
        postcode="12578",
        city="Berlin",
        phone="+49 30 1234560",
        website="https://www.meister-ingenieurbau.de",
        external_id="ACC-1",
    )
    moved = make_account(
        factory,
        SYSTEM,
        **common,
        street="Lindenallee 7",
        postcode="80331",
        city="München",
        email="office@meister-ingenieurbau.de",
        external_id="ACC-2",
    )
    make_account(
        factory,
        SYSTEM,
        **common,
        street="Gartenweg 3",
        postcode="20095",
        city="Hamburg",
        phone="+49 40 5554440",
        website="https://www.meister-ingenieurbau-hamburg.de",
        external_id="ACC-3",
    )
    out = io.StringIO()
    report = scan_duplicates(uow(factory), entity="accounts", out=out)
    assert report.found == 1
    assert out.getvalue().splitlines()[1].startswith(f"{a.id},{moved.id},ACC-1,ACC-2,")


def test_demo_companies_get_distinct_domains_also_when_seeded_twice(
    factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    for seed in (5, 5):
        # Without planted duplicates: a derived copy shares its original's web domain on purpose.
        seed_demo(factory, seed=seed, clock=clock, size="tiny", accounts=300, contacts=10, history=0, duplicates=False)
    with factory() as session:
        websites = [w for w in session.scalars(select(Account.website)) if w]
        names = list(session.scalars(select(Account.name)))
    assert len(names) == 600 and len(set(names)) < len(names), "the generator makes namesakes"
    assert len(websites) > 500 and len(set(websites)) == len(websites)


def test_hints_return_the_near_duplicate_with_field_scores(factory: sessionmaker[Session]) -> None:
    ids = seed_people(factory)
    typed = {"first_name": "Jürgen", "last_name": "Weihs", "postcode": "50667", "email": "j.weiss@kraemer-bau.de"}
    hints = duplicate_hints(uow(factory), "contacts", typed)
    assert {h.id for h in hints} == {ids["original"], ids["duplicate"]}
    original = next(h for h in hints if h.id == ids["original"])
    fields = {f.field: f for f in original.fields}
    assert fields["email"].similarity == 1.0 and 0.8 < fields["last_name"].similarity < 1.0
    assert original.label == "Jürgen Weiß 50667 Köln"
    assert duplicate_hints(uow(factory), "contacts", typed, exclude_id=ids["original"])[0].id == ids["duplicate"]
    assert duplicate_hints(uow(factory), "contacts", {"first_name": "Petra", "last_name": "Nowak"}) == []


def test_threshold_comes_from_the_settings(factory: sessionmaker[Session]) -> None:
    seed_people(factory)
    admin = make_user(factory, Role.ADMIN).actor()
    manager = make_user(factory, Role.SALES_MANAGER, username="vertriebsleitung").actor()
    assert get_threshold(uow(factory), "contacts") == DEFAULT_THRESHOLDS["contact"]
    with pytest.raises(PermissionDenied):
        set_threshold(UnitOfWork(factory, actor=manager), "contacts", 0.5)
    with pytest.raises(ValidationFailed):
        set_threshold(UnitOfWork(factory, actor=admin), "contacts", 1.2)
    pair_score = scan_duplicates(uow(factory), entity="contacts", threshold=0.3)
    set_threshold(UnitOfWork(factory, actor=admin), "contacts", 0.3)
    assert get_threshold(uow(factory), "contact") == 0.3
    found = scan_duplicates(uow(factory), entity="contacts")
    assert (found.threshold, found.found) == (0.3, pair_score.found) and found.found >= 1
    out = io.StringIO()
    scan_duplicates(uow(factory), entity="contacts", out=out)
    best = max(float(row["score"]) for row in csv.DictReader(io.StringIO(out.getvalue())))
    set_threshold(UnitOfWork(factory, actor=admin), "contacts", (best + 1) / 2)
    assert scan_duplicates(uow(factory), entity="contacts").found == 0


def test_sales_rep_may_not_review(factory: sessionmaker[Session]) -> None:
    rep = make_user(factory, Role.SALES_REP, username="vertrieb").actor()
    with pytest.raises(PermissionDenied):
        list_candidates(UnitOfWork(factory, actor=rep), "contacts", ListQuery())


def cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "dedupe", "scan", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={"CRM_DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
        timeout=120,
    )


def test_cli_one_line_errors_and_csv(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    unknown = cli("--entity", "kunden", url=url)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "Fehler: entity: unbekannt: 'kunden' (erlaubt: contacts, accounts)"
    bad = cli("--entity", "contacts", "--threshold", "1.5", url=url)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1 and "zwischen 0 und 1" in bad.stderr
    upgrade(url)
    out = tmp_path / "pairs.csv"
    done = cli("--entity", "accounts", "--out", str(out), url=url)
    assert done.returncode == 0, done.stderr
    assert out.read_text().splitlines() == ["id_a,id_b,external_id_a,external_id_b,score"]
