"""Pipeline board and sales settings in AppTest: lanes with counts, moving cards with the buttons (the keyboard
alternative to drag and drop), the reason dialog for Verloren, conflicts, own-deal rights, the admin page
(stages, reasons, "Angebote & Aufträge": win on order, letterhead with its preview PDF)."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from core.database import session_factory
from core.permissions import Role
from core.sales.opportunities import OpportunityView, create_opportunity, get_opportunity, update_opportunity
from core.sales.orders import get_win_on_order, set_win_on_order
from core.sales.pipelines import list_pipelines, list_reasons, update_reason, update_stage
from core.sales.quotes import company_letterhead, set_company_letterhead
from core.uow import UnitOfWork
from tests.app.conftest import AppData, LoggedIn

PAGE = "pages/pipeline_kanban.py"
ADMIN_PAGE = "pages/admin_vertrieb.py"
NS = "pipeline_kanban"
_tags = itertools.count(1)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def uow(app_data: AppData, role: Role = Role.SALES_MANAGER) -> UnitOfWork:
    return UnitOfWork(session_factory(app_data.url), actor=app_data.users[role].actor())


def stages(app_data: AppData, pipeline: str = "Neugeschäft") -> dict[str, int]:
    found = {p.name: p for p in list_pipelines(uow(app_data))}[pipeline]
    return {s.name: s.id for s in found.stages}


def deal(
    app_data: AppData, tag: str, name: str, *, role: Role = Role.SALES_MANAGER, **values: object
) -> OpportunityView:
    data = {"name": f"{tag} {name}", "account_id": app_data.account.id, "amount": "10000"} | values
    return create_opportunity(uow(app_data, role), data)


def fresh(app_data: AppData, opportunity_id: int) -> OpportunityView:
    return get_opportunity(uow(app_data), opportunity_id)


def open_board(logged_in: LoggedIn, role: Role, tag: str) -> AppTest:
    """The board searched for this test's own deals (the app database is shared by all app tests)."""
    at = logged_in(role)
    at.switch_page(PAGE).run()
    assert_clean(at)
    at.text_input(key=f"{NS}__search").input(tag).run()
    assert_clean(at)
    return at


def plain(text: str) -> str:
    return text.replace("\xa0", " ")  # babel puts a no-break space before the currency sign


def captions(at: AppTest) -> list[str]:
    return [plain(c.value) for c in at.caption]


def lane_titles(at: AppTest) -> list[str]:
    return [md.value for md in at.markdown if md.value.startswith("**") and "-badge[" in md.value]


@pytest.fixture
def tag() -> str:
    return f"KBT{next(_tags)}x"


def test_board_shows_a_lane_per_stage_with_count_and_sums(logged_in: LoggedIn, app_data: AppData, tag: str) -> None:
    ids = stages(app_data)
    deal(app_data, tag, "Fräse", amount="40000")
    deal(app_data, tag, "Drehbank", amount="2500,50")
    deal(app_data, tag, "Roboter", amount="20000", stage_id=ids["Angebot"], probability_override=80)

    at = open_board(logged_in, Role.SALES_MANAGER, tag)

    assert lane_titles(at) == [
        "**Qualifizierung** :gray-badge[2]",
        "**Bedarfsanalyse** :gray-badge[0]",
        "**Angebot** :gray-badge[1]",
        "**Verhandlung** :gray-badge[0]",
        "**Gewonnen** :green-badge[0]",
        "**Verloren** :red-badge[0]",
    ]
    shown = captions(at)
    assert "**42.500,50 €**  \ngewichtet 4.250,05 €" in shown
    assert "**20.000,00 €**  \ngewichtet 16.000,00 €" in shown, "the override weighs the card"
    assert any(c.startswith("3 offene Verkaufschancen · 62.500,50 € (gewichtet 20.250,05 €)") for c in shown)
    links = [link.label for link in at.get("page_link")]
    assert f"**{tag} Fräse**" in links and f"**{tag} Roboter**" in links


def test_buttons_move_a_card_through_the_service(logged_in: LoggedIn, app_data: AppData, tag: str) -> None:
    ids = stages(app_data)
    opp = deal(app_data, tag, "Lagerhalle")
    at = open_board(logged_in, Role.SALES_MANAGER, tag)

    at.button(key=f"{NS}__forward-{opp.id}").click().run()
    assert_clean(at)
    assert fresh(app_data, opp.id).stage_name == "Bedarfsanalyse"
    assert any("steht jetzt in „Bedarfsanalyse“" in toast.value for toast in at.toast)
    assert "**Bedarfsanalyse** :gray-badge[1]" in lane_titles(at), "the board shows the move at once"

    at.pills(key=f"{NS}__to-{opp.id}").set_value(ids["Verhandlung"]).run()
    assert_clean(at)
    assert fresh(app_data, opp.id).stage_name == "Verhandlung"

    at.button(key=f"{NS}__back-{opp.id}").click().run()
    assert_clean(at)
    assert fresh(app_data, opp.id).stage_name == "Angebot"


def test_move_to_lost_asks_for_the_reason_first(logged_in: LoggedIn, app_data: AppData, tag: str) -> None:
    ids = stages(app_data)
    opp = deal(app_data, tag, "Stapler")
    at = open_board(logged_in, Role.SALES_MANAGER, tag)

    at.pills(key=f"{NS}__to-{opp.id}").set_value(ids["Verloren"]).run()
    assert_clean(at)
    assert any("wird als verloren abgeschlossen" in md.value for md in at.markdown), "a dialog asks first"
    assert fresh(app_data, opp.id).status == "open"

    at.button(key=f"{NS}__confirm").click().run()
    assert_clean(at)
    assert any("Verlustgrund" in e.value and "Bitte einen Verlustgrund wählen" in e.value for e in at.error)
    assert fresh(app_data, opp.id).status == "open", "no move without a reason"

    reasons = {r.label: r.id for r in list_reasons(uow(app_data), "lost")}
    at.selectbox(key=f"{NS}__close_{opp.id}__reason").set_value(reasons["Sonstiges"]).run()
    at.button(key=f"{NS}__confirm").click().run()
    assert any("Sonstiges" in e.value for e in at.error), "„Sonstiges“ needs a text"
    at.text_area(key=f"{NS}__close_{opp.id}__reason_text").input("Projekt gestoppt").run()
    at.button(key=f"{NS}__confirm").click().run()
    assert_clean(at)

    lost = fresh(app_data, opp.id)
    assert (lost.status, lost.close_reason, lost.close_reason_text) == ("lost", "Sonstiges", "Projekt gestoppt")
    assert "**Verloren** :red-badge[1]" in lane_titles(at)
    assert any("steht jetzt in „Verloren“" in toast.value for toast in at.toast)


def test_cancelled_dialog_moves_nothing(logged_in: LoggedIn, app_data: AppData, tag: str) -> None:
    ids = stages(app_data)
    opp = deal(app_data, tag, "Kran")
    at = open_board(logged_in, Role.SALES_MANAGER, tag)
    at.pills(key=f"{NS}__to-{opp.id}").set_value(ids["Gewonnen"]).run()
    assert any("wird als gewonnen abgeschlossen" in md.value for md in at.markdown)
    at.button(key=f"{NS}__cancel").click().run()
    assert_clean(at)
    assert not any("wird als gewonnen abgeschlossen" in md.value for md in at.markdown)
    assert fresh(app_data, opp.id).status == "open"


def test_stale_card_gets_the_conflict_message_and_the_board_reloads(
    logged_in: LoggedIn, app_data: AppData, tag: str
) -> None:
    opp = deal(app_data, tag, "Förderband")
    at = open_board(logged_in, Role.SALES_MANAGER, tag)
    update_opportunity(uow(app_data), opp.id, {"amount": "12000"}, expected_version=opp.version)  # someone else

    at.button(key=f"{NS}__forward-{opp.id}").click().run()
    assert_clean(at)
    assert any("inzwischen von jemand anderem geändert" in e.value for e in at.error)
    assert fresh(app_data, opp.id).stage_name == "Qualifizierung"
    assert any("12.000,00 €" in plain(md.value) for md in at.markdown), "the board shows the current amount"

    at.button(key=f"{NS}__forward-{opp.id}").click().run()
    assert fresh(app_data, opp.id).stage_name == "Bedarfsanalyse", "after the reload the move works"


def test_sales_rep_moves_only_own_deals_and_viewer_none(logged_in: LoggedIn, app_data: AppData, tag: str) -> None:
    own = deal(app_data, tag, "Eigenes", role=Role.SALES_REP, account_id=app_data.account.id)
    other = deal(app_data, tag, "Fremdes")

    at = open_board(logged_in, Role.SALES_REP, tag)
    keys = {b.key for b in at.button}
    assert f"{NS}__forward-{own.id}" in keys
    assert f"{NS}__forward-{other.id}" not in keys
    assert any("eigenen Verkaufschancen" in c for c in captions(at))

    at = open_board(logged_in, Role.VIEWER, tag)
    assert not [b for b in at.button if (b.key or "").startswith(f"{NS}__")]
    assert any("aber keine Verkaufschancen verschieben" in c for c in captions(at))


def test_admin_edits_stale_days_and_adds_a_reason(logged_in: LoggedIn, app_data: AppData, tag: str) -> None:
    stage_id = stages(app_data, "Bestandskunden")["Angebot"]
    before = next(s for p in list_pipelines(uow(app_data)) for s in p.stages if s.id == stage_id)
    at = logged_in(Role.ADMIN)
    at.switch_page(ADMIN_PAGE).run()
    assert_clean(at)
    try:
        at.number_input(key=f"admin_vertrieb__stale_{stage_id}").set_value(14)
        pipeline_id = before.pipeline_id
        at.button(key=f"FormSubmitter:admin_vertrieb__stages_{pipeline_id}-Phasen speichern").click().run()
        assert_clean(at)
        after = next(s for p in list_pipelines(uow(app_data)) for s in p.stages if s.id == stage_id)
        assert after.stale_after_days == 14
        assert any("1 Phase(n) gespeichert." in toast.value for toast in at.toast)

        label = f"{tag} Budget gestrichen"
        at.text_input(key="admin_vertrieb__new_lost__label").input(label)
        at.checkbox(key="admin_vertrieb__new_lost__needs_text").check()
        at.button(key="FormSubmitter:admin_vertrieb__new_lost-Hinzufügen").click().run()
        assert_clean(at)
        added = next(r for r in list_reasons(uow(app_data), "lost") if r.label == label)
        assert added.needs_text and added.is_active
        assert at.text_input(key=f"admin_vertrieb__reason_{added.id}").value == label, "listed for editing"
    finally:
        update_stage(
            uow(app_data, Role.ADMIN), stage_id, {"stale_after_days": before.stale_after_days}, expected_version=None
        )
        for reason in list_reasons(uow(app_data), "lost"):
            if reason.label.startswith(tag):
                update_reason(uow(app_data, Role.ADMIN), reason.id, {"is_active": False})


@pytest.mark.parametrize("role", [Role.SALES_MANAGER, Role.SALES_REP, Role.VIEWER])
def test_only_admins_open_the_sales_settings(logged_in: LoggedIn, role: Role) -> None:
    at = logged_in(role)
    at.switch_page(ADMIN_PAGE).run()
    assert_clean(at)
    assert any("Keine Berechtigung" in e.value for e in at.error)
    assert not at.title


LETTERHEAD = "admin_vertrieb_letterhead"
SAVE_LETTERHEAD = f"FormSubmitter:{LETTERHEAD}__form-Briefkopf speichern"
PREVIEW = "Angebot_Vorschau.pdf"
DeferredDownloads = dict[str, Callable[[], Any]]


def open_sales_settings(logged_in: LoggedIn) -> AppTest:
    at = logged_in(Role.ADMIN)
    at.switch_page(ADMIN_PAGE).run()
    assert_clean(at)
    return at


def letterhead_input(at: AppTest, field: str) -> Any:
    return at.text_input(key=f"{LETTERHEAD}__f__{field}")


def field_messages(at: AppTest, field: str) -> list[str]:
    """The messages drawn in the same form column as the field (EditForm puts them right under it)."""
    key = f"{LETTERHEAD}__f__{field}"
    column = next(c for c in at.columns if any(w.key == key for w in c.text_input))
    return [md.value for md in column.markdown]


def pdf_text(data: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    result = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
    return result.stdout.decode().replace("\xa0", " ")


@pytest.fixture
def deferred_downloads(monkeypatch: pytest.MonkeyPatch) -> DeferredDownloads:
    """The callables of deferred download buttons by file name. The test calls one the way the server does
    after a click: on another thread, without the script's session state."""
    captured: DeferredDownloads = {}
    register = MediaFileManager.add_deferred

    def spy(self: MediaFileManager, data_callable: Any, mimetype: Any, coordinates: str, **kwargs: Any) -> str:
        captured[kwargs.get("file_name") or coordinates] = data_callable
        return register(self, data_callable, mimetype, coordinates, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return captured


def test_admin_switches_win_on_order_off_and_on(logged_in: LoggedIn, app_data: AppData) -> None:
    admin = Role.ADMIN
    before = get_win_on_order(uow(app_data, admin))
    at = open_sales_settings(logged_in)
    toggle = at.toggle(key="admin_vertrieb__win_on_order_value")
    assert toggle.label == "Verkaufschance bei Auftrag automatisch gewinnen" and toggle.value is before
    assert any("in die Phase „Gewonnen“" in c.value for c in at.caption), "the setting is explained"
    save = "FormSubmitter:admin_vertrieb__win_on_order-Einstellung speichern"
    try:
        toggle.set_value(not before)
        at.button(key=save).click().run()
        assert_clean(at)
        assert get_win_on_order(uow(app_data)) is (not before)
        off = "Aufträge lassen ihre Verkaufschance jetzt offen."
        on = "Aufträge gewinnen ihre Verkaufschance jetzt automatisch."
        assert any((on if not before else off) in toast.value for toast in at.toast)

        at.toggle(key="admin_vertrieb__win_on_order_value").set_value(before)
        at.button(key=save).click().run()
        assert_clean(at)
        assert get_win_on_order(uow(app_data)) is before
        assert at.toggle(key="admin_vertrieb__win_on_order_value").value is before
    finally:
        set_win_on_order(uow(app_data, admin), before)


def test_admin_saves_the_letterhead_and_previews_it(
    logged_in: LoggedIn, app_data: AppData, deferred_downloads: DeferredDownloads
) -> None:
    before = company_letterhead(uow(app_data, Role.ADMIN))
    at = open_sales_settings(logged_in)
    assert letterhead_input(at, "name").value == before.name, "the form shows the stored letterhead"
    assert letterhead_input(at, "name").label == "Firmenname *"
    try:
        letterhead_input(at, "name").input("Beispiel Werkzeugbau GmbH")
        letterhead_input(at, "vat_id").input("DE987654321")
        letterhead_input(at, "iban").input("DE02 1203 0000 0000 2020 51")
        letterhead_input(at, "bic").input("")
        letterhead_input(at, "email").input("  angebote@Beispiel-Werkzeugbau.DE ")
        at.button(key=SAVE_LETTERHEAD).click().run()
        assert_clean(at)

        saved = company_letterhead(uow(app_data))
        assert (saved.name, saved.vat_id, saved.iban, saved.bic) == (
            "Beispiel Werkzeugbau GmbH",
            "DE987654321",
            "DE02 1203 0000 0000 2020 51",
            None,
        )
        assert saved.email == "angebote@beispiel-werkzeugbau.de"
        assert (saved.street, saved.city) == (before.street, before.city), "untouched fields stay"
        assert any("Gespeichert." in toast.value for toast in at.toast)
        assert letterhead_input(at, "email").value == saved.email, "the form shows what was stored"

        preview = deferred_downloads[PREVIEW]()
        assert preview.startswith(b"%PDF")
        text = pdf_text(preview)
        for expected in (
            "Beispiel Werkzeugbau GmbH · " + f"{before.street} · {before.postcode} {before.city}",
            "USt-IdNr. DE987654321",
            "IBAN DE02 1203 0000 0000 2020 51",
            "Entwurf (nicht versendet)",
            "Beratung und Konzeption",
            "USt 19 %",
            "USt 7 %",
            "Gesamtbetrag",
            "Erika Admin",
        ):
            assert expected in text, expected
    finally:
        set_company_letterhead(uow(app_data, Role.ADMIN), before.as_dict())


def test_invalid_letterhead_shows_the_message_at_the_field_and_saves_nothing(
    logged_in: LoggedIn, app_data: AppData
) -> None:
    before = company_letterhead(uow(app_data, Role.ADMIN))
    at = open_sales_settings(logged_in)

    letterhead_input(at, "name").input("")
    at.button(key=SAVE_LETTERHEAD).click().run()
    assert_clean(at)
    assert any("Pflichtfeld" in message for message in field_messages(at, "name"))
    assert any("Bitte prüfen Sie Ihre Eingaben" in e.value for e in at.error)
    assert company_letterhead(uow(app_data)) == before

    letterhead_input(at, "name").input("Beispiel Werkzeugbau GmbH")
    letterhead_input(at, "iban").input("DE12")
    letterhead_input(at, "email").input("kein-at-zeichen")
    at.button(key=SAVE_LETTERHEAD).click().run()
    assert_clean(at)
    assert any("zu kurz (mindestens 15 Zeichen)" in message for message in field_messages(at, "iban"))
    assert any("keine gültige E-Mail-Adresse" in message for message in field_messages(at, "email"))
    assert not any("Pflichtfeld" in message for message in field_messages(at, "name"))
    assert company_letterhead(uow(app_data)) == before, "nothing saved"
    assert letterhead_input(at, "iban").value == "DE12", "the input is kept for correcting"
    assert not at.toast
