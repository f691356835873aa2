"""The page registry, the text catalogues and the timeout rule (no Streamlit run needed)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from app.components.i18n import DE, EN, default_lang
from app.components.navigation import PAGES, Section, visible_sections
from app.components.session import session_expired
from core.permissions import Actor, Role

APP = Path(__file__).resolve().parents[2] / "app"


def sections_of(role: Role) -> dict[Section | None, list[str]]:
    actor = Actor(user_id=1, name="x", role=role)
    return {section: [p.url_path for p in pages] for section, pages in visible_sections(actor).items()}


def test_every_page_is_declared_once_with_a_file_and_a_hyphenated_url() -> None:
    assert len({p.url_path for p in PAGES}) == len(PAGES)
    for page in PAGES:
        assert (APP / page.script).is_file(), page.script
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", page.url_path), page.url_path
        assert page.title_key in DE


def test_navigation_shows_only_what_the_role_may_open_and_omits_empty_sections() -> None:
    sales = ["opportunities-liste", "pipeline-kanban", "produkte"]
    reports = ["stammdaten-bericht", "funnel-report", "forecast-report"]
    consent = ["consent-management", "consent-history", "consent-uebersicht"]
    gdpr = ["gdpr-requests", "gdpr-export", "datenschutz-cockpit"]
    consent_admin = ["admin-einwilligungstexte", "admin-postausgang"]
    segments = ["segmente-liste", "segment-builder"]  # the builder needs segments.write
    assert sections_of(Role.ADMIN) == {
        None: ["start"],
        Section.SALES: sales,
        Section.MARKETING: segments,
        Section.COMPLIANCE: ["audit-protokoll", *consent, *gdpr],
        Section.REPORTS: reports,
        Section.MASTER_DATA: ["firmen-liste", "kontakte-liste", "dubletten", "zusammenfuehren", "import-assistent"],
        Section.ADMIN: ["admin-benutzer", "admin-api-schluessel", "ereignisse", "admin-dubletten", "admin-vertrieb", *consent_admin],
    }
    assert sections_of(Role.COMPLIANCE) == {
        None: ["start"],
        Section.SALES: sales,
        Section.MARKETING: segments[:1],
        Section.COMPLIANCE: ["audit-protokoll", *consent, *gdpr],
        Section.MASTER_DATA: ["firmen-liste", "kontakte-liste"],
        Section.ADMIN: consent_admin,
    }
    assert sections_of(Role.SALES_REP) == {
        None: ["start"],
        Section.SALES: sales,
        Section.MARKETING: segments[:1],
        Section.COMPLIANCE: consent,
        Section.REPORTS: reports,
        Section.MASTER_DATA: ["firmen-liste", "kontakte-liste", "import-assistent"],
    }
    for role in Role:
        listed = [url for urls in sections_of(role).values() for url in urls]
        assert not {"kunden-stamm", "kontakt-detail", "opportunity-detail", "gdpr-request-detail", "segment-detail"} & set(listed), "object pages open from lists"


def test_catalogues_have_the_same_keys_and_placeholders() -> None:
    assert set(DE) == set(EN)
    for key, text in DE.items():
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", EN[key])), key


def test_every_text_key_used_in_the_app_exists() -> None:
    used = set()
    for path in APP.rglob("*.py"):
        used |= set(re.findall(r'\bt\(\s*"([a-z_]+\.[a-z_.]+)"', path.read_text()))
    assert used and used <= set(DE), sorted(used - set(DE))


def test_default_language_follows_the_browser_and_falls_back_to_german() -> None:
    assert default_lang("en-US") == "en"
    assert default_lang("de-DE") == "de"
    assert default_lang("fr-FR") == "de"
    assert default_lang(None) == "de"


def test_session_expires_after_the_timeout_since_last_activity() -> None:
    last = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone.utc)
    assert not session_expired(last, last + dt.timedelta(minutes=29, seconds=59), 30)
    assert session_expired(last, last + dt.timedelta(minutes=30), 30)
    assert session_expired(None, last, 30)


def test_delete_action_deletes_each_selected_row_with_the_catalogue_reason() -> None:
    from app.components.list_report import delete_action

    deleted: list[tuple[int, str]] = []
    action = delete_action("contacts", lambda record_id, reason: deleted.append((record_id, reason)))
    assert action.run([4, 7]) == "2 Kontakt(e) gelöscht."
    assert deleted == [(4, "Sammellöschung aus der Kontaktliste"), (7, "Sammellöschung aus der Kontaktliste")]
    assert action.confirm_title == "Kontakte löschen?"
