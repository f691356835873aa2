"""`python manage.py import contacts|accounts FILE …`: CSV/Excel import from the command line (wired into manage.py).

Runs as the system actor (records get no owner). Prints the counts; exits 1 with a one-line summary when
the file was rejected (all-or-nothing with faulty rows, or no valid row at all) and on any bad input.
"""

from __future__ import annotations

from pathlib import Path

import typer


def import_command(
    entity: str = typer.Argument(..., help="contacts (Kontakte) oder accounts (Firmen)"),
    file: str = typer.Argument(..., help="CSV- oder XLSX-Datei"),
    mode: str = typer.Option("all-or-nothing", help="all-or-nothing oder valid-rows"),
    mapping: str = typer.Option("", help="Zuordnung Spalte=Feld,… (ergänzt die automatische Zuordnung)"),
    delimiter: str = typer.Option("", help="Trennzeichen der CSV-Datei (Standard: erkannt, ; oder ,)"),
    encoding: str = typer.Option("", help="Zeichenkodierung (Standard: UTF-8, sonst Windows-1252)"),
    report: Path | None = typer.Option(None, help="Fehlerbericht als CSV (Zeile;Spalte;Wert;Grund) hierhin schreiben"),
) -> None:
    """Import contacts or accounts; the same external_id again updates instead of duplicating."""
    from core.database import session_factory
    from core.imports import (
        REJECTED,
        auto_mapping,
        entity_spec,
        parse_mapping_option,
        read_file,
        report_csv,
        run_import,
    )
    from core.permissions import SYSTEM
    from core.uow import UnitOfWork
    from manage import database_url, fail, one_line_errors, require_migrated

    with one_line_errors():
        spec = entity_spec(entity)
        path = Path(file)
        if not path.is_file():
            fail(f"Datei nicht gefunden: {file}")
        table = read_file(path.read_bytes(), path.name, delimiter=delimiter or None, encoding=encoding or None)
        chosen = auto_mapping(spec, table.columns) | parse_mapping_option(mapping)
        require_migrated()
        result = run_import(UnitOfWork(session_factory(database_url()), actor=SYSTEM), table, entity=spec.name, mode=mode, mapping=chosen)
        if report is not None:
            report.write_bytes(report_csv(result.issues))
    for note in result.notes:
        typer.echo(f"Hinweis: {note}", err=True)
    for issue in result.issues[:10]:
        typer.echo(f"  Zeile {issue.row}, Spalte „{issue.column}“: {issue.reason} (Wert: „{issue.value}“)", err=True)
    if len(result.issues) > 10:
        typer.echo(f"  … {len(result.issues) - 10} weitere Fehler" + (f" im Bericht {report}" if report else " (--report schreibt alle)"), err=True)
    if result.status == REJECTED:
        fail(result.summary())
    typer.echo(result.summary())
