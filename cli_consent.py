"""`python manage.py consent …` and `python manage.py mail …` (wired into manage.py).

consent request-doi · show · verify · may-contact · expire-doi; mail send. Contacts are found by their
e-mail address (canonical form: case and +tags do not matter); several matches are named, not guessed.
Exit codes: 0 success / allowed, 1 error or broken chain, 3 refused by the consent gate.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import typer

consent_app = typer.Typer(no_args_is_help=True, help="Einwilligungen (Ledger, Double-Opt-in, Consent-Gate).")
mail_app = typer.Typer(no_args_is_help=True, help="E-Mail-Versand (Postausgang).")

REFUSED_EXIT = 3


def _contact_ids(email: str) -> list[int]:
    from sqlalchemy import select

    from core.database import session_factory
    from core.dedupe.normalize import canonical_email
    from core.settings import get_settings
    from db.models import Contact

    canonical = canonical_email(email)
    if canonical is None:
        raise typer.BadParameter(f"„{email}“ ist keine E-Mail-Adresse.", param_hint="--email")
    with session_factory(get_settings().database_url)() as session:
        return list(session.scalars(select(Contact.id).where(Contact.match_email == canonical).order_by(Contact.id)))


def _one_contact(email: str, contact_id: int | None) -> int:
    from manage import fail

    if contact_id is not None:
        return contact_id
    ids = _contact_ids(email)
    if not ids:
        fail(f"Kein Kontakt mit der E-Mail-Adresse {email}. Legen Sie ihn an oder geben Sie --first-name/--last-name an.")
    if len(ids) > 1:
        fail(f"{len(ids)} Kontakte haben diese Adresse (Nummern {', '.join(map(str, ids))}); bitte --contact-id angeben.")
    return ids[0]


def _system_uow() -> Any:
    from core.database import session_factory
    from core.permissions import SYSTEM
    from core.settings import get_settings
    from core.uow import UnitOfWork

    return UnitOfWork(session_factory(get_settings().database_url), actor=SYSTEM)


@consent_app.command("request-doi")
def request_doi_command(
    email: str = typer.Option(..., help="E-Mail-Adresse des Kontakts"),
    channel: str = typer.Option("email", help="Kanal (Double-Opt-in gibt es für email)"),
    purpose: str = typer.Option(..., help="Zweck, z. B. newsletter"),
    language: str = typer.Option("de", help="Sprache der Bestätigungs-E-Mail: de oder en"),
    contact_id: int | None = typer.Option(None, help="Kontaktnummer, wenn mehrere Kontakte die Adresse haben"),
    first_name: str | None = typer.Option(None, help="Vorname: legt den Kontakt an, falls es ihn nicht gibt"),
    last_name: str | None = typer.Option(None, help="Nachname: legt den Kontakt an, falls es ihn nicht gibt"),
) -> None:
    """Send the double opt-in confirmation mail through the configured mail settings (CRM_SMTP_HOST, …)."""
    from core.consent.doi import mask_address, request_doi
    from core.contacts import create_contact
    from core.database import session_factory
    from core.email.delivery import backend_from_settings, deliver_message
    from core.formatting import fmt_datetime
    from core.settings import get_settings
    from core.uow import utc_now
    from manage import fail, one_line_errors, require_migrated

    if channel != "email":
        fail("Double-Opt-in gibt es nur per E-Mail (--channel email).")
    with one_line_errors():
        require_migrated()
        if contact_id is None and not _contact_ids(email) and (first_name or last_name):
            contact_id = create_contact(
                _system_uow(), {"first_name": first_name or "", "last_name": last_name or email.split("@")[0], "email": email}
            ).id
        target = _one_contact(email, contact_id)
        sent = request_doi(_system_uow(), contact_id=target, purpose=purpose, source="import", language=language)
        settings = get_settings()
        status = deliver_message(
            session_factory(settings.database_url), sent.email_message_id, now=utc_now(), backend=backend_from_settings(settings)
        )
    verb = "erneut gesendet" if sent.resent else "gesendet"
    if status == "sent":
        typer.echo(
            f"Bestätigungs-E-Mail an {mask_address(email)} {verb} (Anfrage {sent.request_id}, "
            f"gültig bis {fmt_datetime(sent.expires_at)})."
        )
    else:
        fail(
            f"Anfrage {sent.request_id} angelegt, aber die E-Mail wurde noch nicht zugestellt (Status {status}); "
            "sie bleibt im Postausgang und wird mit „manage.py mail send“ erneut versucht."
        )


@consent_app.command("show")
def show_command(
    email: str = typer.Option(..., help="E-Mail-Adresse des Kontakts"),
    contact_id: int | None = typer.Option(None, help="Kontaktnummer, wenn mehrere Kontakte die Adresse haben"),
    as_json: bool = typer.Option(False, "--json", help="als JSON ausgeben"),
) -> None:
    """Current state per channel × purpose with legal basis and proof (from the ledger)."""
    from core.consent.service import consent_matrix
    from core.consent.vocabulary import CHANNELS, LEGAL_BASES, SOURCES, STATUSES, label
    from core.formatting import fmt_datetime
    from manage import one_line_errors, require_migrated

    with one_line_errors():
        require_migrated()
        target = _one_contact(email, contact_id)
        cells = consent_matrix(_system_uow(), target)
    if as_json:
        typer.echo(json.dumps({"contact_id": target, "consents": [_cell_json(c) for c in cells]}, ensure_ascii=False, indent=2))
        return
    typer.echo(f"Kontakt {target}:")
    for cell in cells:
        entry = cell.entry
        head = f"  {label(CHANNELS, cell.channel):<8} {cell.purpose_key:<22}"
        if entry is None:
            typer.echo(f"{head} keine Einwilligung erfasst")
            continue
        proof = [f"seit {fmt_datetime(entry.occurred_at)}", label(SOURCES, entry.source), f"durch {entry.actor_name}"]
        if entry.text_version:
            proof.append(f"Text v{entry.text_version}")
        if entry.doi_confirmed_at:
            proof.append(f"DOI bestätigt {fmt_datetime(entry.doi_confirmed_at)}")
        if entry.ip:
            proof.append(f"IP {entry.ip}")
        typer.echo(f"{head} {label(STATUSES, entry.status)} · {label(LEGAL_BASES, entry.legal_basis)} · {', '.join(proof)}")


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _cell_json(cell: Any) -> dict[str, Any]:
    entry = cell.entry
    data: dict[str, Any] = {"channel": cell.channel, "purpose": cell.purpose_key, "status": cell.status}
    if entry is not None:
        data |= {
            "entry_id": entry.id,
            "since": _iso(entry.occurred_at),
            "legal_basis": entry.legal_basis,
            "source": entry.source,
            "text_version": entry.text_version,
            "text_sha256": entry.text_sha256,
            "order_id": entry.order_id,
            "doi_requested_at": _iso(entry.doi_requested_at),
            "doi_confirmed_at": _iso(entry.doi_confirmed_at),
            "valid_until": _iso(entry.valid_until),
            "ip": entry.ip,
            "user_agent": entry.user_agent,
            "evidence": entry.evidence,
            "actor": entry.actor_name,
        }
    return data


@consent_app.command("verify")
def verify_command() -> None:
    """Walk the consent ledger's hash chain: exit 0 intact, 1 with the first broken entry named."""
    from core.consent.ledger import verify_ledger
    from core.database import session_factory
    from core.settings import get_settings
    from manage import fail, one_line_errors, require_migrated

    with one_line_errors():
        require_migrated()
        with session_factory(get_settings().database_url)() as session:
            result = verify_ledger(session)
    if not result.ok:
        fail(f"Einwilligungs-Ledger: {result.describe()}")
    typer.echo(f"Einwilligungs-Ledger: {result.describe()}")


@consent_app.command("may-contact")
def may_contact_command(
    email: str = typer.Option(..., help="E-Mail-Adresse des Kontakts"),
    channel: str = typer.Option(..., help="email, sms, phone oder post"),
    purpose: str = typer.Option(..., help="Zweck, z. B. newsletter"),
    contact_id: int | None = typer.Option(None, help="Kontaktnummer, wenn mehrere Kontakte die Adresse haben"),
) -> None:
    """The consent gate's decision now: exit 0 allowed, 3 refused (the reason is printed)."""
    from core.consent.gate import check_channel, may_contact
    from core.consent.suppression import is_suppressed
    from core.database import session_factory
    from core.settings import get_settings
    from core.uow import utc_now
    from manage import fail, one_line_errors, require_migrated

    with one_line_errors():
        require_migrated()
        check_channel(channel)
        with session_factory(get_settings().database_url)() as session:
            ids = [contact_id] if contact_id is not None else _contact_ids(email)
            if len(ids) > 1:
                fail(f"{len(ids)} Kontakte haben diese Adresse (Nummern {', '.join(map(str, ids))}); bitte --contact-id angeben.")
            if not ids:
                reason = "Adresse steht auf der Sperrliste" if is_suppressed(session, email) else "kein Kontakt mit dieser Adresse"
                typer.echo(f"NICHT ERLAUBT: {reason}")
                raise typer.Exit(REFUSED_EXIT)
            decision = may_contact(session, ids[0], channel, purpose, utc_now())
    if decision.allowed:
        typer.echo(f"ERLAUBT: {decision.describe()} (Kontakt {decision.contact_id}, {channel}, {decision.purpose_key})")
        return
    typer.echo(f"NICHT ERLAUBT: {decision.describe()} (Kontakt {decision.contact_id}, {channel}, {decision.purpose_key})")
    raise typer.Exit(REFUSED_EXIT)


@consent_app.command("expire-doi")
def expire_doi_command(loop: bool = typer.Option(False, help="Weiterlaufen und alle 5 Minuten prüfen")) -> None:
    """Mark double opt-in requests past their expiry as abgelaufen (ledger entry + event)."""
    from jobs.expire_doi import run
    from manage import one_line_errors, require_migrated

    with one_line_errors():
        require_migrated()
        run(loop=loop)


@mail_app.command("send")
def mail_send_command(loop: bool = typer.Option(False, help="Weiterlaufen und laufend zustellen")) -> None:
    """Deliver queued e-mails (retries with backoff; marketing mails pass the consent gate again)."""
    from jobs.send_mail import run
    from manage import one_line_errors, require_migrated

    with one_line_errors():
        require_migrated()
        run(loop=loop)
