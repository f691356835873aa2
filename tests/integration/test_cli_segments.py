"""`python manage.py segments …` (in this process, through `manage.main`) and `python -m jobs.recalc_segments` (a real subprocess) against SQLite and
PostgreSQL: the issue's CLI contract (schema, count, create, recalc, members as CSV), list, static segments from a
file, one-line errors, and the job's lease held by another process."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

from core.contacts import create_contact
from core.permissions import SYSTEM
from core.segments.recalc import claim_lease, current_lease, release_lease
from core.uow import UnitOfWork
from tests.integration.test_cli import (  # noqa: F401 - fixtures
    REPO_ROOT,
    Bootstrapped,
    Cli,
    database,
    one_line_error,
    open_factory,
    postgres_db,
    sqlite_db,
)


def add_contact(cli: Cli, first: str, last: str, city: str) -> int:
    values = {"first_name": first, "last_name": last, "email": f"{first}.{last}@kunde.example".lower(), "city": city}
    with open_factory(cli.url) as factory:
        return create_contact(UnitOfWork(factory, actor=SYSTEM), values).id


def rules_file(tmp_path: Path, name: str, city: str) -> Path:
    path = tmp_path / name
    rules = {
        "type": "group",
        "op": "and",
        "children": [{"type": "condition", "field": "contact.city", "operator": "eq", "value": city}],
    }
    path.write_text(json.dumps(rules), encoding="utf-8")
    return path


def job(cli: Cli, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobs.recalc_segments", *args],
        cwd=REPO_ROOT,
        env=cli.env | {"CRM_DATABASE_URL": cli.url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_schema_prints_the_json_schema_of_the_rule_format(database: Bootstrapped) -> None:
    result = database.cli("segments", "schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema["title"] == "Segmentregel"
    condition = schema["$defs"]["Condition"]["properties"]
    assert {"contact.city", "segment", "consent"} <= set(condition["field"]["enum"])


def test_count_create_recalc_and_members_as_csv(database: Bootstrapped, tmp_path: Path) -> None:
    cli = database.cli
    anna, bert = add_contact(cli, "Anna", "Zander", "Zwickau"), add_contact(cli, "Bert", "Zorn", "Zwickau")
    add_contact(cli, "Cora", "Zuse", "Zittau")
    rules = rules_file(tmp_path, "zwickau.json", "Zwickau")

    counted = cli("segments", "count", "--rules-file", str(rules))
    assert (counted.returncode, counted.stdout) == (0, "2\n"), counted.stderr

    created = cli("segments", "create", "Zwickau", "--rules-file", str(rules))
    assert created.returncode == 0, created.stderr
    assert re.fullmatch(r"\d+\n", created.stdout), "stdout holds only the segment id"
    segment_id = int(created.stdout)
    assert created.stderr == f"Segment {segment_id}: 2 Mitglieder.\n"

    members = cli("segments", "members", str(segment_id), "--format", "csv")
    assert members.returncode == 0, members.stderr
    rows = list(csv.reader(io.StringIO(members.stdout)))
    assert rows[0] == ["contact_id", "name", "email", "company", "joined_at"]
    assert [(int(r[0]), r[1], r[2]) for r in rows[1:]] == [
        (anna, "Anna Zander", "anna.zander@kunde.example"),
        (bert, "Bert Zorn", "bert.zorn@kunde.example"),
    ]

    add_contact(cli, "Dora", "Zech", "Zwickau")
    single = cli("segments", "recalc", "--segment", str(segment_id))
    assert single.returncode == 0, single.stderr
    expected = f"Segment {segment_id} „Zwickau“ neu berechnet: 3 Mitglieder (1 eingetreten, 0 ausgetreten).\n"
    assert single.stdout == expected
    everything = cli("segments", "recalc", "--all")
    assert everything.returncode == 0, everything.stderr
    assert re.fullmatch(r"\d+ Segment\(e\) neu berechnet \(0 eingetreten, 0 ausgetreten\)\.\n", everything.stdout)

    listed = cli("segments", "list")
    assert listed.returncode == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines() if "Zwickau" in line)
    assert re.search(r"Dynamisch\s+3\s+\d\d\.\d\d\.\d{4} \d\d:\d\d\s+2 → 3 → 3$", line), line


def test_a_static_segment_from_a_members_file(database: Bootstrapped, tmp_path: Path) -> None:
    cli = database.cli
    anna = add_contact(cli, "Anna", "Statisch", "Stade")
    members = tmp_path / "messe.csv"
    members.write_text("E-Mail\nanna.statisch@kunde.example\nunbekannt@kunde.example\n", encoding="utf-8")

    created = cli("segments", "create", "Messe Stade", "--static", "--members-file", str(members))

    assert created.returncode == 0, created.stderr
    segment_id = int(created.stdout)
    assert created.stderr.splitlines() == [
        f"Segment {segment_id}: 1 Kontakte aufgenommen.",
        "  Zeile 3: kein Kontakt mit der E-Mail-Adresse unbekannt@kunde.example",
    ]
    table = cli("segments", "members", str(segment_id))
    assert table.stdout.startswith(f"{anna:>8}  Anna Statisch  anna.statisch@kunde.example  seit ")


def test_errors_are_one_line(database: Bootstrapped, tmp_path: Path) -> None:
    cli = database.cli
    broken = tmp_path / "kaputt.json"
    broken.write_text('{"type": "group", "children": [', encoding="utf-8")
    assert one_line_error(cli("segments", "count", "--rules-file", str(broken))).startswith(
        f"Fehler: Regeldatei {broken}: kein gültiges JSON (Zeile 1"
    )
    invalid = tmp_path / "ungueltig.json"
    unknown_field = {"type": "condition", "field": "x", "operator": "eq"}
    invalid.write_text(json.dumps({"type": "group", "children": [unknown_field]}), encoding="utf-8")
    assert one_line_error(cli("segments", "count", "--rules-file", str(invalid))) == (
        "Fehler: Bedingung 1: unbekanntes Feld „x“"
    )
    assert one_line_error(cli("segments", "members", "999999")) == "Fehler: Segment 999999 gibt es nicht."
    assert one_line_error(cli("segments", "recalc", "--segment", "999999")) == (
        "Fehler: Segment 999999: Segment 999999 gibt es nicht."
    )
    assert one_line_error(cli("segments", "create", "Ohne")) == (
        "Fehler: --rules-file fehlt (oder --static für ein statisches Segment)."
    )
    both = cli("segments", "recalc", "--all", "--segment", "1")
    assert both.returncode == 2 and both.stderr.startswith("Fehler: Genau eine Auswahl angeben")


def test_the_job_exits_without_work_while_another_process_holds_the_lease(database: Bootstrapped) -> None:
    cli = database.cli
    with open_factory(cli.url) as factory:
        assert claim_lease(UnitOfWork(factory, actor=SYSTEM), holder="anderer-lauf").holder == "anderer-lauf"
    try:
        waiting = job(cli, "--all")
        via_cli = cli("segments", "recalc", "--all")
    finally:
        with open_factory(cli.url) as factory:
            release_lease(UnitOfWork(factory, actor=SYSTEM), holder="anderer-lauf")
    for result in (waiting, via_cli):
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("Neuberechnung der Segmente läuft bereits (anderer-lauf, Sperre bis ")

    done = job(cli, "--incremental")
    assert done.returncode == 0, done.stderr
    assert "neu berechnet" in done.stdout or done.stdout.startswith("Inkrementell: ")
    with open_factory(cli.url) as factory, factory() as session:
        assert current_lease(session).holder is None
    usage = job(cli, "--all", "--segment", "1")
    assert usage.returncode == 2 and "not allowed with argument" in usage.stderr
