"""Opportunity list and detail pages: filters, saved views, bulk actions, the create form, header values,
stage actions, lost without a reason, and what sales reps and viewers may do."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from streamlit.testing.v1 import AppTest

from core.database import session_factory
from core.listing import ListQuery
from core.permissions import Role
from core.sales.contact_roles import add_contact_role
from core.saved_views import list_views
from core.sales.opportunities import (
    OpportunityView,
    create_opportunity,
    get_opportunity,
    list_opportunities,
    win_opportunity,
)
from core.sales.pipelines import list_pipelines, list_reasons
from core.uow import UnitOfWork
from tests.app.conftest import AppData, LoggedIn

LIST = "pages/opportunities_liste.py"
DETAIL = "pages/opportunity_detail.py"
_seq = itertools.count(1)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def uow(app_data: AppData, role: Role) -> UnitOfWork:
    return UnitOfWork(session_factory(app_data.url), actor=app_data.users[role].actor())


def stages(app_data: AppData, pipeline: str = "Neugeschäft") -> dict[str, int]:
    found = {p.name: p for p in list_pipelines(uow(app_data, Role.ADMIN))}
    return {s.name: s.id for s in found[pipeline].stages}


def deal(app_data: AppData, role: Role, **values: Any) -> OpportunityView:
    """A deal of its own for one test (the app database is shared by all tests)."""
    data = {"name": f"Deal {next(_seq)}", "account_id": app_data.account.id, "amount": "48000"} | values
    return create_opportunity(uow(app_data, role), data)


def fetch(app_data: AppData, opportunity_id: int) -> OpportunityView:
    return get_opportunity(uow(app_data, Role.ADMIN), opportunity_id)


def open_list(logged_in: LoggedIn, role: Role) -> AppTest:
    at = logged_in(role)
    at.switch_page(LIST).run()
    assert_clean(at)
    return at


def open_detail(logged_in: LoggedIn, role: Role, opportunity_id: int) -> AppTest:
    at = logged_in(role)
    at.session_state["opportunity_detail__id"] = opportunity_id
    at.switch_page(DETAIL).run()
    assert_clean(at)
    return at


def rows_shown(at: AppTest) -> list[str]:
    """The labels of the rows on the current page (the "Auswahl" picker lists exactly those)."""
    return list(next(m for m in at.multiselect if m.label == "Auswahl").options)


def count_line(at: AppTest) -> str:
    return next(c.value for c in at.caption if "Verkaufschance" in c.value and "Seite" in c.value)


def texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_list_shows_deals_and_applies_filters(logged_in: LoggedIn, app_data: AppData) -> None:
    token = f"Filtertest{next(_seq)}"
    s = stages(app_data)
    small = deal(app_data, Role.SALES_REP, name=f"{token} Wartung", amount="9.500,00", lead_source="Messe")
    big = deal(app_data, Role.SALES_MANAGER, name=f"{token} Anlage", amount="250000", stage_id=s["Angebot"],
               account_id=app_data.other_account.id, expected_close_date="2027-03-31", lead_source="Website")
    at = open_list(logged_in, Role.SALES_MANAGER)
    at.text_input(key="opp_list__search").input(token).run()
    assert count_line(at) == "2 Verkaufschancen · Seite 1 von 1"
    assert sorted(rows_shown(at)) == [f"{big.name} · Schulz Logistik", f"{small.name} · Müller Maschinenbau"]

    at.multiselect(key="opp_list__filter_stage_id").set_value([s["Angebot"]]).run()
    assert rows_shown(at) == [f"{big.name} · Schulz Logistik"]
    at.multiselect(key="opp_list__filter_stage_id").set_value([]).run()
    at.number_input(key="opp_list__filter_amount_min").set_value(10000.0).run()
    assert rows_shown(at) == [f"{big.name} · Schulz Logistik"]
    at.number_input(key="opp_list__filter_amount_min").set_value(None).run()
    at.multiselect(key="opp_list__filter_lead_source").set_value(["Messe"]).run()
    assert rows_shown(at) == [f"{small.name} · Müller Maschinenbau"]
    at.multiselect(key="opp_list__filter_lead_source").set_value([]).run()
    at.multiselect(key="opp_list__filter_status").set_value(["won"]).run()
    assert_clean(at)
    assert any("Keine Treffer" in i.value for i in at.info)

    # Stages offered follow the chosen pipeline.
    bestand = stages(app_data, "Bestandskunden")
    pipeline_id = next(p.id for p in list_pipelines(uow(app_data, Role.ADMIN)) if p.name == "Bestandskunden")
    at.multiselect(key="opp_list__filter_pipeline_id").set_value([pipeline_id]).run()
    assert set(at.multiselect(key="opp_list__filter_stage_id").options) == set(bestand)


def test_saved_view_restores_filters_and_the_default_opens_first(logged_in: LoggedIn, app_data: AppData) -> None:
    at = open_list(logged_in, Role.MARKETING)
    at.text_input(key="opp_list__search").input("Anlage")
    at.multiselect(key="opp_list__filter_status").set_value(["open", "won"]).run()
    at.text_input(key="opp_list__view_name").input("Offen und gewonnen")
    at.checkbox(key="opp_list__view_default").check()
    at.button(key="opp_list__view_save").click().run()
    assert_clean(at)
    views = list_views(uow(app_data, Role.MARKETING), "opp_list")
    assert [(v.name, v.is_default) for v in views] == [("Offen und gewonnen", True)]
    assert views[0].state["filters"] == {"status": ["open", "won"]} and views[0].state["search"] == "Anlage"

    again = open_list(logged_in, Role.MARKETING)  # a new session: the default view applies
    assert again.text_input(key="opp_list__search").value == "Anlage"
    assert again.multiselect(key="opp_list__filter_status").value == ["open", "won"]
    again.selectbox(key="opp_list__view").set_value(None).run()
    assert again.text_input(key="opp_list__search").value == ""
    assert again.multiselect(key="opp_list__filter_status").value == ["open"], "back to the list's default"
    viewer = open_list(logged_in, Role.VIEWER)
    assert viewer.selectbox(key="opp_list__view").options == ["– Standard: offene Verkaufschancen –"]


def test_the_list_opens_on_the_open_deals(logged_in: LoggedIn, app_data: AppData) -> None:
    """Like HubSpot's and Salesforce's deal lists: closed deals only when the status filter asks for them."""
    token = f"Statustest{next(_seq)}"
    still_open = deal(app_data, Role.SALES_MANAGER, name=f"{token} offen")
    won = deal(app_data, Role.SALES_MANAGER, name=f"{token} gewonnen")
    reason = list_reasons(uow(app_data, Role.ADMIN), "won")[0]
    win_opportunity(uow(app_data, Role.SALES_MANAGER), won.id, expected_version=won.version, reason_id=reason.id)
    at = open_list(logged_in, Role.SALES_MANAGER)
    assert at.multiselect(key="opp_list__filter_status").value == ["open"]
    at.text_input(key="opp_list__search").input(token).run()
    assert rows_shown(at) == [f"{still_open.name} · Müller Maschinenbau"]
    at.multiselect(key="opp_list__filter_status").set_value([]).run()
    assert sorted(rows_shown(at)) == [f"{won.name} · Müller Maschinenbau", f"{still_open.name} · Müller Maschinenbau"]


def test_bulk_stage_change_reports_failed_rows_and_moves_the_others(logged_in: LoggedIn, app_data: AppData) -> None:
    token = f"Bulktest{next(_seq)}"
    mine = deal(app_data, Role.SALES_REP, name=f"{token} eigen")
    foreign = deal(app_data, Role.SALES_MANAGER, name=f"{token} fremd")
    s = stages(app_data)
    at = open_list(logged_in, Role.SALES_REP)
    at.text_input(key="opp_list__search").input(token).run()
    picker = next(m for m in at.multiselect if m.label == "Auswahl")
    picker.set_value([mine.id, foreign.id]).run()
    at.button(key="opp_list__bulk_move").click().run()
    at.selectbox(key="opp_list__bulk_move_form__stage").set_value(s["Verloren"]).run()
    at.button(key="opp_list__bulk_move_go").click().run()
    assert_clean(at)
    assert any("Verlustgrund" in e for e in errors(at)), "lost needs a reason; nothing was moved"
    assert fetch(app_data, mine.id).status == "open"

    reason = next(r for r in list_reasons(uow(app_data, Role.ADMIN), "lost") if not r.needs_text)
    at.selectbox(key="opp_list__bulk_move_form__reason").set_value(reason.id).run()
    at.button(key="opp_list__bulk_move_go").click().run()
    assert_clean(at)
    assert (fetch(app_data, mine.id).status, fetch(app_data, mine.id).close_reason) == ("lost", reason.label)
    assert fetch(app_data, foreign.id).status == "open"
    warning = next(w.value for w in at.warning if "nicht geändert" in w.value)
    assert f"**{foreign.name} · Müller Maschinenbau**: Sie dürfen nur eigene Datensätze bearbeiten." in warning


def test_bulk_owner_change_goes_through_the_service(logged_in: LoggedIn, app_data: AppData) -> None:
    token = f"Ownertest{next(_seq)}"
    first = deal(app_data, Role.SALES_MANAGER, name=f"{token} A")
    second = deal(app_data, Role.SALES_MANAGER, name=f"{token} B")
    rep = app_data.users[Role.SALES_REP]
    at = open_list(logged_in, Role.SALES_MANAGER)
    at.text_input(key="opp_list__search").input(token).run()
    next(m for m in at.multiselect if m.label == "Auswahl").set_value([first.id, second.id]).run()
    at.button(key="opp_list__bulk_owner").click().run()
    at.selectbox(key="opp_list__bulk_owner_form__owner").set_value(rep.id).run()
    at.button(key="opp_list__bulk_owner_go").click().run()
    assert_clean(at)
    assert [fetch(app_data, o.id).owner_id for o in (first, second)] == [rep.id, rep.id]


def test_create_form_opens_the_new_deal(logged_in: LoggedIn, app_data: AppData) -> None:
    at = open_list(logged_in, Role.SALES_REP)
    at.button(key="opp_list__new").click().run()
    ns = "opp_new__f__"
    at.text_input(key=f"{ns}name").input("Neue Linie Köln")
    at.text_input(key=f"{ns}account_id__q").input("müller").run()
    at.selectbox(key=f"{ns}account_id").set_value(app_data.account.id)
    at.text_input(key=f"{ns}amount").input("12.500")
    bestand = stages(app_data, "Bestandskunden")
    pipeline_id = next(p.id for p in list_pipelines(uow(app_data, Role.ADMIN)) if p.name == "Bestandskunden")
    at.selectbox(key=f"{ns}pipeline_id").set_value(pipeline_id).run()
    assert set(at.selectbox(key=f"{ns}stage_id").options) == set(bestand)
    at.selectbox(key=f"{ns}stage_id").set_value(bestand["Angebot"])
    at.button(key="opp_new__submit").click().run()
    assert_clean(at)
    assert "Neue Linie Köln" in at.title[0].value, "the new deal's page is open"
    found = list_opportunities(uow(app_data, Role.ADMIN), ListQuery(search="Neue Linie Köln")).rows
    assert list(found["amount"]) == [Decimal("12500.00")], "12.500 means twelve thousand five hundred"
    assert list(found["stage_name"]) == ["Angebot"]


def test_detail_header_shows_the_deal(logged_in: LoggedIn, app_data: AppData) -> None:
    opp = deal(app_data, Role.SALES_MANAGER, amount="48.000,00", expected_close_date="2027-01-31", probability_override=35)
    at = open_detail(logged_in, Role.VIEWER, opp.id)
    assert opp.name in at.title[0].value
    shown = texts(at)
    for value in ("Müller Maschinenbau", "48.000,00\xa0€", "16.800,00\xa0€", "35 % (manuell)", "31.01.2027", "Pipeline"):
        assert value in shown, value
    assert "Qualifizierung ✓" in shown and "opp-path" in shown, "the stage path marks the current stage"
    assert [tab.label for tab in at.tabs] == [
        "Übersicht", "Kontakte", "Positionen", "Angebote & Aufträge", "Phasenverlauf", "Änderungsprotokoll"
    ]


def test_stage_button_moves_the_deal(logged_in: LoggedIn, app_data: AppData) -> None:
    opp = deal(app_data, Role.SALES_REP)
    s = stages(app_data)
    at = open_detail(logged_in, Role.SALES_REP, opp.id)
    at.button(key=f"opp_obj__move_{s['Angebot']}").click().run()
    assert_clean(at)
    moved = fetch(app_data, opp.id)
    assert (moved.stage_name, moved.probability) == ("Angebot", 50)
    assert "Angebot ✓" in texts(at)


def test_lost_without_reason_is_refused_with_a_message(logged_in: LoggedIn, app_data: AppData) -> None:
    opp = deal(app_data, Role.SALES_REP)
    at = open_detail(logged_in, Role.SALES_REP, opp.id)
    at.button(key="opp_obj__lose").click().run()
    at.button(key="opp_obj_lost__go").click().run()
    assert_clean(at)
    assert any("Verlustgrund" in e and "Bitte einen Verlustgrund wählen." in e for e in errors(at))
    assert fetch(app_data, opp.id).status == "open"

    other = next(r for r in list_reasons(uow(app_data, Role.ADMIN), "lost") if r.needs_text)
    at.selectbox(key="opp_obj_lost__reason").set_value(other.id).run()
    at.button(key="opp_obj_lost__go").click().run()
    assert any("bitte den Grund beschreiben" in e for e in errors(at)), "Sonstiges needs a text"
    at.text_area(key="opp_obj_lost__reason_text").input("Projekt intern gestoppt").run()
    at.button(key="opp_obj_lost__go").click().run()
    assert_clean(at)
    lost = fetch(app_data, opp.id)
    assert (lost.status, lost.close_reason, lost.close_reason_text) == ("lost", other.label, "Projekt intern gestoppt")
    assert at.button(key="opp_obj__reopen"), "a closed deal can be reopened"


def test_sales_rep_sees_no_delete(logged_in: LoggedIn, app_data: AppData) -> None:
    opp = deal(app_data, Role.SALES_REP)
    rep = open_detail(logged_in, Role.SALES_REP, opp.id)
    keys = {b.key for b in rep.button}
    assert "opp_obj__delete" not in keys
    assert "opp_obj__win" in keys, "but edits and moves the own deal"
    manager = open_detail(logged_in, Role.SALES_MANAGER, opp.id)
    assert "opp_obj__delete" in {b.key for b in manager.button}


def test_viewer_sees_no_edit_controls(logged_in: LoggedIn, app_data: AppData) -> None:
    opp = deal(app_data, Role.SALES_MANAGER)
    at = open_detail(logged_in, Role.VIEWER, opp.id)
    keys = {b.key for b in at.button}
    for hidden in ("opp_obj__win", "opp_obj__lose", "opp_obj_roles__add", "opp_obj__delete"):
        assert hidden not in keys, hidden
    assert not any(k.startswith("opp_obj__move_") for k in keys if k)
    assert at.text_input(key="opp_obj_edit__f__name").disabled
    assert any("nicht bearbeiten" in i.value for i in at.info)
    listing = open_list(logged_in, Role.VIEWER)
    assert "opp_list__new" not in {b.key for b in listing.button}
    assert "opp_list__bulk_move" not in {b.key for b in listing.button}


def test_board_link_opens_the_list_filtered_to_a_stage(logged_in: LoggedIn, app_data: AppData) -> None:
    s = stages(app_data)
    in_stage = deal(app_data, Role.SALES_MANAGER, name=f"Linktest {next(_seq)}", stage_id=s["Verhandlung"])
    at = logged_in(Role.SALES_MANAGER)
    at.query_params["stage_id"] = str(s["Verhandlung"])
    at.switch_page(LIST).run()
    assert_clean(at)
    assert at.multiselect(key="opp_list__filter_stage_id").value == [s["Verhandlung"]]
    assert f"{in_stage.name} · Müller Maschinenbau" in rows_shown(at)

    won = deal(app_data, Role.SALES_MANAGER, name=f"Linktest {next(_seq)}")
    reason = list_reasons(uow(app_data, Role.ADMIN), "won")[0]
    win_opportunity(uow(app_data, Role.SALES_MANAGER), won.id, expected_version=won.version, reason_id=reason.id)
    won_stage = fetch(app_data, won.id).stage_id
    at.query_params["stage_id"] = str(won_stage)
    at.switch_page(LIST).run()
    assert at.multiselect(key="opp_list__filter_status").value == [], "the won lane's deals are not open"
    assert f"{won.name} · Müller Maschinenbau" in rows_shown(at)


def test_account_and_contact_pages_show_their_deals(logged_in: LoggedIn, app_data: AppData) -> None:
    token = f"Slottest{next(_seq)}"
    opp = deal(app_data, Role.SALES_REP, name=f"{token} Wartung", amount="12.000,00")
    add_contact_role(uow(app_data, Role.SALES_REP), opp.id, contact_id=app_data.contact.id, role="Einkauf", is_primary=True)
    at = logged_in(Role.SALES_REP)
    at.session_state["kunden_stamm__id"] = app_data.account.id
    at.switch_page("pages/kunden_stamm.py").run()
    assert_clean(at)
    assert "Verkaufschancen" in [tab.label for tab in at.tabs]
    assert any("Offene Pipeline" in c.value for c in at.caption), "the header facet"
    names = {str(n) for df in at.dataframe if "Bezeichnung" in df.value.columns for n in df.value["Bezeichnung"]}
    assert opp.name in names

    at.button(key="acc_obj_opp__new").click().run()
    assert_clean(at)
    assert at.selectbox(key="opp_new__f__account_id").value == app_data.account.id, "the company is preset"

    contact_page = logged_in(Role.VIEWER)
    contact_page.session_state["kontakt_detail__id"] = app_data.contact.id
    contact_page.switch_page("pages/kontakt_detail.py").run()
    assert_clean(contact_page)
    table = next(df.value for df in contact_page.dataframe if "Rolle" in df.value.columns)
    assert list(table.loc[table["Bezeichnung"] == opp.name, "Rolle"]) == ["Einkauf ★"]
