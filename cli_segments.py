"""`python manage.py segments …`: segments from the command line (wired into manage.py).

schema · count · create · recalc · members · list. The CLI acts as the system actor. Rule files are JSON in the
format of docs/segments.md (`-` reads standard input). Exit codes: 0 success, 1 error (one line on stderr),
2 wrong usage.
"""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from collections.abc import Iterator

    from core.segments.service import MemberRow
    from core.uow import UnitOfWork

segments_app = typer.Typer(
    no_args_is_help=True, help="Segmente: Regel-Schema, Vorschau, Anlegen, Neuberechnung, Mitglieder."
)

MEMBER_COLUMNS = ("contact_id", "name", "email", "company", "joined_at")


class MemberFormat(StrEnum):
    table = "table"
    csv = "csv"


def _system_uow() -> UnitOfWork:
    from core.database import session_factory
    from core.permissions import SYSTEM
    from core.settings import get_settings
    from core.uow import UnitOfWork

    return UnitOfWork(session_factory(get_settings().database_url), actor=SYSTEM)


def _read_rules(path: str) -> Any:
    """The JSON document of a rules file (or of stdin for `-`); unreadable input ends in one line."""
    from manage import fail

    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        fail(f"Regeldatei {path}: {exc.strerror or exc}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"Regeldatei {path}: kein gültiges JSON (Zeile {exc.lineno}, Spalte {exc.colno}: {exc.msg})")


@segments_app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the rule format (every catalogue field and operator)."""
    from core.segments.rules import schema

    typer.echo(json.dumps(schema(), ensure_ascii=False, indent=2))


@segments_app.command("count")
def count_command(
    rules_file: str = typer.Option(..., "--rules-file", help="JSON-Datei mit der Regel (- = stdin)"),
) -> None:
    """Print the number of contacts the rules match now."""
    from core.segments.service import count_preview
    from manage import one_line_errors, require_migrated

    rules = _read_rules(rules_file)
    with one_line_errors():
        require_migrated()
        typer.echo(count_preview(_system_uow(), rules))


@segments_app.command("create")
def create_command(
    name: str = typer.Argument(..., help="Name des Segments (eindeutig)"),
    rules_file: str | None = typer.Option(None, "--rules-file", help="JSON-Datei mit der Regel (- = stdin)"),
    static: bool = typer.Option(False, "--static", help="statisches Segment (Mitglieder von Hand oder per Datei)"),
    members_file: Path | None = typer.Option(
        None, "--members-file", help="nur mit --static: CSV mit einer Spalte „E-Mail“ oder „Kontakt-ID“"
    ),
    description: str | None = typer.Option(None, help="Beschreibung"),
) -> None:
    """Create a segment and fill it (dynamic: computed now; static: the members file); prints only its id on
    stdout, the size on stderr."""
    from core.segments.recalc import recalculate
    from core.segments.service import create_segment, import_static_members
    from manage import fail, one_line_errors, require_migrated

    if static and rules_file is not None:
        fail("Ein statisches Segment hat keine Regel: --rules-file weglassen oder --static weglassen.")
    if not static and rules_file is None:
        fail("--rules-file fehlt (oder --static für ein statisches Segment).")
    if members_file is not None and not static:
        fail("--members-file gibt es nur für statische Segmente (--static).")
    rules = None if rules_file is None else _read_rules(rules_file)
    with one_line_errors():
        require_migrated()
        kind = "static" if static else "dynamic"
        segment = create_segment(_system_uow(), name=name, kind=kind, rules=rules, description=description)
        typer.echo(segment.id)
        if members_file is not None:
            result = import_static_members(
                _system_uow(), segment.id, members_file.read_bytes(), file_name=members_file.name
            )
            typer.echo(f"Segment {segment.id}: {result.added} Kontakte aufgenommen.", err=True)
            for problem in result.problems:
                typer.echo(f"  {problem}", err=True)
        elif not static:
            run = recalculate(_system_uow(), segment.id, reason="created")
            typer.echo(f"Segment {segment.id}: {run.size} Mitglieder.", err=True)


@segments_app.command("recalc")
def recalc_command(
    all_: bool = typer.Option(False, "--all", help="alle Segmente in Abhängigkeitsreihenfolge"),
    segment: int | None = typer.Option(None, "--segment", help="nur dieses Segment"),
    incremental: bool = typer.Option(False, "--incremental", help="nur Kontakte mit Ereignissen seit dem letzten Lauf"),
) -> None:
    """Recalculate membership (the same run as `python -m jobs.recalc_segments`, under the same lease)."""
    from jobs.recalc_segments import run
    from manage import fail, one_line_errors, require_migrated

    if sum((all_, segment is not None, incremental)) != 1:
        fail("Genau eine Auswahl angeben: --all, --segment ID oder --incremental.", code=2)
    with one_line_errors():
        require_migrated()
        code = run(segment_id=segment, incremental=incremental)
    raise typer.Exit(code)


def _member_rows(segment_id: int) -> Iterator[MemberRow]:
    from core.segments.service import MAX_PAGE, members_page

    after: int | None = None
    while True:
        page, after = members_page(_system_uow(), segment_id, after_contact_id=after, limit=MAX_PAGE)
        yield from page
        if after is None:
            return


@segments_app.command("members")
def members_command(
    segment_id: int = typer.Argument(..., help="Nummer des Segments"),
    format: MemberFormat = typer.Option(MemberFormat.table, "--format", help="table oder csv"),
) -> None:
    """The members (by contact id): as a table, or as CSV with the columns contact_id,name,email,company,joined_at."""
    from core.formatting import fmt_datetime
    from manage import one_line_errors, require_migrated

    with one_line_errors():
        require_migrated()
        rows = list(_member_rows(segment_id))
    if format is MemberFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(MEMBER_COLUMNS)
        for r in rows:
            writer.writerow((r.contact_id, r.name, r.email or "", r.company or "", r.joined_at.isoformat()))
        return
    if not rows:
        typer.echo("Keine Mitglieder.")
        return
    for r in rows:
        company = f" ({r.company})" if r.company else ""
        typer.echo(f"{r.contact_id:>8}  {r.name}{company}  {r.email or '–'}  seit {fmt_datetime(r.joined_at)}")


@segments_app.command("list")
def list_command() -> None:
    """Segments by name: number, kind, size, last refresh, trend of the last runs."""
    from core.formatting import fmt_datetime, fmt_number
    from core.segments.service import KINDS, list_segments
    from manage import one_line_errors, require_migrated

    with one_line_errors():
        require_migrated()
        frame = list_segments(_system_uow())
    if frame.empty:
        typer.echo("Keine Segmente.")
        return
    rows = [("Nr.", "Name", "Art", "Mitglieder", "Aktualisiert", "Verlauf")]
    for r in frame.itertuples():
        refreshed = f"Fehler: {r.refresh_error}" if r.refresh_error else fmt_datetime(r.last_refreshed_at) or "nie"
        trend = " → ".join(fmt_number(size) for size in r.trend)
        rows.append((str(r.id), r.name, KINDS[r.kind][0], fmt_number(r.size), refreshed, trend))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
