"""The operator CLI (`python manage.py ...`) run against SQLite and PostgreSQL (in this process; the bootstrap as a real subprocess).

The migrated databases are shared per module (the bootstrap runs `db upgrade` twice as real processes); the one
test that tampers with the audit log restores the row and the append-only triggers afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest.mock import patch

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

import manage
from core import audit, digests
from core.apikeys import authenticate_api_key
from core.permissions import Role
from core.database import session_factory
from core.settings import get_settings
from core.users import authenticate
from db.append_only import append_only_ddl, drop_append_only_ddl
from db.session import create_db_engine, make_session_factory
from tests.conftest import postgres_url

REPO_ROOT = Path(__file__).resolve().parents[2]
# Per test process: with pytest-xdist two CLI test modules run at once and must not drop each other's database.
CLI_PG_DATABASE = f"crm_cli_test_{os.getpid()}"
PASSWORD_LINE = re.compile(r"Passwort \(wird nur jetzt angezeigt\): (\S+)")


@dataclass(frozen=True)
class Cli:
    """`manage.py` on one database: in this process (Typer's runner, a tenth of a second per call) or, for the
    bootstrap, as a real subprocess (about a second, but it proves the entry point itself)."""

    url: str
    env: dict[str, str]

    def __call__(self, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        settings = {k: v for k, v in (self.env | {"CRM_DATABASE_URL": self.url} | env).items() if k.startswith("CRM_")}
        unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("CRM_") and k not in settings}
        crash = ""
        with process_state_reset(), CliRunner().isolation(input=stdin, env=settings | unset) as (out, err, _):
            with patch.object(sys, "argv", ["manage.py", *args]):
                try:
                    manage.main()
                    code = 0
                except SystemExit as stop:
                    code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
                except Exception:  # what the real process would print before dying
                    code, crash = 1, traceback.format_exc()
            sys.stdout.flush()  # print() without flush still sits in the text layer over these byte buffers
            sys.stderr.flush()
            stdout, stderr = out.getvalue().decode(), err.getvalue().decode() + crash
        return subprocess.CompletedProcess(["manage.py", *args], code, stdout, stderr)

    def real_process(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO_ROOT,
            env=self.env | {"CRM_DATABASE_URL": self.url},
            capture_output=True,
            text=True,
            timeout=120,
        )


@contextmanager
def process_state_reset() -> Iterator[None]:
    """What a fresh process would not remember: the settings, the secret-derived digest key and the engines
    (disposed, so a test may drop its PostgreSQL database afterwards)."""
    caches = (get_settings, digests._key, session_factory)
    engines: list[Engine] = []

    def recorded(url: str, **options: Any) -> Engine:
        engines.append(create_db_engine(url, **options))
        return engines[-1]

    for cached in caches:
        cached.cache_clear()
    try:
        with patch("core.database.create_db_engine", recorded):
            yield
    finally:
        for cached in caches:
            cached.cache_clear()
        for engine in engines:
            engine.dispose()


@dataclass(frozen=True)
class Bootstrapped:
    """A database after `db upgrade` ran twice, with both outputs."""

    cli: Cli
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]


def cli_env(tmp: Path) -> dict[str, str]:
    """The test's environment without any CRM_ settings of its own, plus a secret for the run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    return env | {"CRM_SECRET_KEY": "test-secret-" + "x" * 40, "CRM_SECRET_KEY_FILE": str(tmp / "secret.key")}


def bootstrap(cli: Cli) -> Bootstrapped:
    return Bootstrapped(cli, cli.real_process("db", "upgrade"), cli.real_process("db", "upgrade"))


@contextmanager
def open_factory(url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_db_engine(url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """A failure: exit code 1 and exactly one line on stderr, no traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Fehler: "), result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> Bootstrapped:
    tmp = tmp_path_factory.mktemp("cli-sqlite")
    return bootstrap(Cli(f"sqlite:///{tmp / 'crm.db'}", cli_env(tmp)))


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """Our own database on the test server (never the shared `test` database), dropped afterwards."""
    server = make_url(server_url)
    admin = server.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    drop = f"DROP DATABASE IF EXISTS {CLI_PG_DATABASE} WITH (FORCE)"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(drop)
        conn.execute(f"CREATE DATABASE {CLI_PG_DATABASE}")
    try:
        yield server.set(database=CLI_PG_DATABASE).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(drop)


@pytest.fixture(scope="module")
def postgres_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bootstrapped]:
    server_url = postgres_url()
    if server_url is None:
        pytest.skip("PostgreSQL is not reachable (set CRM_TEST_POSTGRES_URL)")
    with fresh_postgres_database(server_url) as url:
        yield bootstrap(Cli(url, cli_env(tmp_path_factory.mktemp("cli-pg"))))


@pytest.fixture(params=["sqlite_db", "postgres_db"])
def database(request: pytest.FixtureRequest) -> Bootstrapped:
    db: Bootstrapped = request.getfixturevalue(request.param)
    return db


def test_db_upgrade_is_idempotent_and_shows_the_admin_password_once(database: Bootstrapped) -> None:
    first, second = database.first, database.second
    assert first.returncode == 0 and second.returncode == 0, (first.stderr, second.stderr)
    match = PASSWORD_LINE.search(first.stdout)
    assert match, first.stdout
    assert "Passwort" not in second.stdout and match.group(1) not in second.stdout + second.stderr
    assert "Datenbank ist auf dem neuesten Stand." in second.stdout
    with open_factory(database.cli.url) as factory:
        admin = authenticate(factory, "admin", match.group(1))
    assert admin.role is Role.ADMIN


def test_admin_password_from_the_environment_is_used_and_not_printed(tmp_path: Path) -> None:
    cli = Cli(f"sqlite:///{tmp_path / 'crm.db'}", cli_env(tmp_path))
    result = cli("db", "upgrade", CRM_ADMIN_PASSWORD="vom-betrieb-gesetzt-2026")
    assert result.returncode == 0, result.stderr
    assert "Passwort" not in result.stdout and "vom-betrieb-gesetzt-2026" not in result.stdout
    with open_factory(cli.url) as factory:
        assert authenticate(factory, "admin", "vom-betrieb-gesetzt-2026").username == "admin"


def test_users_create_reads_the_password_from_stdin(sqlite_db: Bootstrapped) -> None:
    cli = sqlite_db.cli
    created = cli(
        "users", "create", "vertrieb.koeln", "--role", "sales_rep", "--password-stdin", stdin="ein-langes-passwort\n"
    )
    assert created.returncode == 0, created.stderr
    assert re.fullmatch(r"Benutzer vertrieb\.koeln \(ID \d+, Rolle sales_rep\) angelegt\.\n", created.stdout)
    with open_factory(cli.url) as factory:
        assert authenticate(factory, "vertrieb.koeln", "ein-langes-passwort").role is Role.SALES_REP

    too_short = cli("users", "create", "kurz.passwort", "--role", "viewer", "--password-stdin", stdin="kurz\n")
    assert one_line_error(too_short) == "Fehler: password: mindestens 10 Zeichen"
    bad_role = cli(
        "users", "create", "rolle.falsch", "--role", "chef", "--password-stdin", stdin="ein-langes-passwort\n"
    )
    assert one_line_error(bad_role).startswith("Fehler: role: ungültiger Wert")
    assert "'sales_rep'" in bad_role.stderr


def test_apikeys_create_prints_the_key_once(sqlite_db: Bootstrapped) -> None:
    cli = sqlite_db.cli
    result = cli("apikeys", "create", "ERP-Anbindung", "--scopes", "accounts.read,contacts.write")
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert re.fullmatch(r"crm_[0-9a-f]{8}_\S+", key)
    assert "wird nur jetzt angezeigt" in result.stderr and key not in result.stderr
    with open_factory(cli.url) as factory, factory() as session:
        actor = authenticate_api_key(session, key, now=dt.datetime.now(dt.timezone.utc))
    assert actor.name == "api:ERP-Anbindung"
    assert actor.scopes == frozenset({"accounts.read", "contacts.write"})

    unknown = one_line_error(cli("apikeys", "create", "Falsch", "--scopes", "accounts.read,konten.lesen"))
    assert unknown.startswith("Fehler: scopes: unbekannt: konten.lesen; erlaubt: ")


def test_audit_verify_names_the_first_tampered_entry(database: Bootstrapped) -> None:
    cli = database.cli
    intact = cli("audit", "verify")
    assert intact.returncode == 0, intact.stderr
    assert re.fullmatch(r"Kette intakt: \d+ Einträge geprüft\.\n", intact.stdout)

    with tampered_audit_entry(cli.url, entry_id=2):
        broken = cli("audit", "verify")
    assert one_line_error(broken) == "Fehler: Kette gebrochen bei Eintrag 2: Inhalt wurde nachträglich verändert."
    with open_factory(cli.url) as factory, factory() as session:
        assert audit.verify_chain(session).ok


@contextmanager
def tampered_audit_entry(url: str, *, entry_id: int) -> Iterator[None]:
    """Change one audit row behind the application's back, then restore row and triggers."""
    engine = create_db_engine(url)
    dialect = engine.dialect.name
    try:
        with engine.begin() as conn:
            for statement in drop_append_only_ddl("audit_entries", dialect):
                conn.execute(text(statement))
            original = conn.scalar(text("SELECT reason FROM audit_entries WHERE id = :id"), {"id": entry_id})
            conn.execute(text("UPDATE audit_entries SET reason = 'nachträglich' WHERE id = :id"), {"id": entry_id})
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_entries SET reason = :r WHERE id = :id"), {"r": original, "id": entry_id})
            for statement in append_only_ddl("audit_entries", dialect):
                conn.execute(text(statement))
        engine.dispose()


def test_events_tail_and_dispatch(sqlite_db: Bootstrapped) -> None:
    cli = sqlite_db.cli
    tail = cli("events", "tail", "--name", "crm.user", "--limit", "5")
    assert tail.returncode == 0, tail.stderr
    first = tail.stdout.splitlines()[0]
    assert re.search(r"^\s+\d+\s+\S+.*crm\.user\.created\s+user#1\s+\{", first), tail.stdout
    assert '"username": "admin"' in first

    none = cli("events", "tail", "--name", "crm.nichts")
    assert none.returncode == 0 and none.stdout == "Keine Ereignisse.\n"
    dispatched = cli("events", "dispatch")
    assert dispatched.returncode == 0, dispatched.stderr
    assert re.fullmatch(r"\d+ Zustellung\(en\)\.\n", dispatched.stdout)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://root@127.0.0.1:1/crm", "Fehler: Datenbank: connection failed"),
        ("keine-url", "Fehler: Datenbank: Could not parse SQLAlchemy URL"),
    ],
)
def test_a_bad_database_url_is_one_line(tmp_path: Path, url: str, message: str) -> None:
    result = Cli(url, cli_env(tmp_path))("db", "upgrade")
    assert one_line_error(result).startswith(message)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("users", "create"), "Fehler: Missing argument 'username'."),
        (("events", "tail", "--limit", "0"), "Fehler: Invalid value for '--limit'"),
        (("audit", "verfiy"), "Fehler: No such command 'verfiy'."),
    ],
)
def test_usage_errors_are_one_line(sqlite_db: Bootstrapped, args: tuple[str, ...], message: str) -> None:
    result = sqlite_db.cli(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr


def test_read_only_commands_refuse_an_unmigrated_database(tmp_path: Path) -> None:
    cli = Cli(f"sqlite:///{tmp_path / 'leer.db'}", cli_env(tmp_path))
    for args in (("audit", "verify"), ("events", "tail")):
        assert "python manage.py db upgrade" in one_line_error(cli(*args))
