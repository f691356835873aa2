"""The Zusammenführen wizard: two companies are merged step by step, confirmed, and undone again."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.accounts import AccountView, create_account, get_account
from core.contacts import create_contact, get_contact
from core.database import session_factory
from core.permissions import Role
from core.uow import UnitOfWork
from tests.app.conftest import AppData, LoggedIn

PAGE = "pages/zusammenfuehren.py"


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def make_pair(app_data: AppData, suffix: str) -> tuple[AccountView, AccountView, int]:
    factory = session_factory(app_data.url)
    actor = app_data.users[Role.SALES_MANAGER].actor()
    survivor = create_account(
        UnitOfWork(factory, actor=actor), {"name": f"Nordwind Spedition {suffix}", "postcode": "24103", "city": "Kiel"}
    )
    merged = create_account(
        UnitOfWork(factory, actor=actor),
        {"name": f"Nordwind Spedition GmbH {suffix}", "postcode": "23552", "city": "Lübeck", "employees": 40},
    )
    contact = create_contact(
        UnitOfWork(factory, actor=actor), {"first_name": "Hauke", "last_name": "Petersen", "account_id": merged.id}
    )
    return survivor, merged, contact.id


def test_wizard_merges_two_companies_and_undoes_the_merge(logged_in: LoggedIn, app_data: AppData) -> None:
    survivor, merged, contact_id = make_pair(app_data, "Nord")
    factory = session_factory(app_data.url)
    manager = app_data.users[Role.SALES_MANAGER].actor()
    at = logged_in(Role.SALES_MANAGER)
    at.switch_page(PAGE).run()
    assert_clean(at)
    assert "Zusammenführen" in at.title[0].value

    at.selectbox(key="merge__f__entity").set_value("account")
    at.number_input(key="merge__f__id_a").set_value(survivor.id)
    at.number_input(key="merge__f__id_b").set_value(merged.id)
    at.button(key="merge__next").click().run()
    assert_clean(at)
    assert at.selectbox(key="merge__f__survivor").options == [
        f"Nr. {survivor.id} – Nordwind Spedition Nord",
        f"Nr. {merged.id} – Nordwind Spedition GmbH Nord",
    ]
    at.selectbox(key="merge__f__survivor").set_value(survivor.id)
    at.button(key="merge__next").click().run()
    assert_clean(at)

    assert at.selectbox(key="merge__f__keep__employees").value == merged.id, "an empty value is filled from the other"
    assert at.selectbox(key="merge__f__keep__city").value == survivor.id
    at.selectbox(key="merge__f__keep__city").set_value(merged.id)
    at.selectbox(key="merge__f__keep__postcode").set_value(merged.id)
    at.button(key="merge__next").click().run()
    assert_clean(at)
    assert any("Kontakte: **1**" in md.value for md in at.markdown), "the review says what will be moved"

    at.button(key="merge__finish").click().run()
    assert_clean(at)
    assert any("zusammengeführt und danach gelöscht" in md.value for md in at.markdown), "a dialog asks first"
    assert get_account(UnitOfWork(factory, actor=manager), merged.id).id == merged.id, (
        "nothing merged before confirming"
    )
    at.button(key="merge__confirm__yes").click().run()
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    assert any("wurde mit" in s.value for s in at.success)

    now = get_account(UnitOfWork(factory, actor=manager), merged.id)
    assert (now.id, now.name, now.city, now.employees) == (survivor.id, "Nordwind Spedition Nord", "Lübeck", 40)
    assert get_contact(UnitOfWork(factory, actor=manager), contact_id).account_id == survivor.id

    at.button(key="merge__undo_last").click().run()
    assert_clean(at)
    at.button(key="merge__undo__yes").click().run()
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    back = get_account(UnitOfWork(factory, actor=manager), merged.id)
    assert (back.id, back.city, back.contact_count) == (merged.id, "Lübeck", 1)
    assert get_account(UnitOfWork(factory, actor=manager), survivor.id).city == "Kiel"
    assert not at.success, "the result is gone after the undo"


def test_pair_from_the_dubletten_page_starts_at_the_survivor_step(logged_in: LoggedIn, app_data: AppData) -> None:
    survivor, merged, _ = make_pair(app_data, "Süd")
    at = logged_in(Role.ADMIN)
    at.session_state["merge__pair"] = ("account", survivor.id, merged.id)
    at.switch_page(PAGE).run()
    assert_clean(at)
    assert at.selectbox(key="merge__f__survivor").value == survivor.id
    assert "Schritt 2 von 4" in at.get("progress")[0].proto.text


def test_dubletten_page_hands_a_pair_to_the_merge_wizard(logged_in: LoggedIn, app_data: AppData) -> None:
    import datetime as dt

    from db.models import DuplicateCandidate

    first, second, _ = make_pair(app_data, "Süd")
    factory = session_factory(app_data.url)
    with factory() as session:
        candidate = DuplicateCandidate(
            entity="account",
            id_a=min(first.id, second.id),
            id_b=max(first.id, second.id),
            score=0.93,
            details={},
            status="offen",
            found_at=dt.datetime.now(dt.timezone.utc),
        )
        session.add(candidate)
        session.commit()
        candidate_id = candidate.id
    at = logged_in(Role.SALES_MANAGER)
    at.switch_page("pages/dubletten.py")
    at.session_state["dubletten__entity"] = "account"
    at.session_state["dubletten__selected"] = candidate_id
    at.run()
    assert_clean(at)
    at.button(key="dubletten__merge").click().run()
    assert_clean(at)
    assert any("Zusammenführen" in title.value for title in at.title)
    low, high = min(first.id, second.id), max(first.id, second.id)
    data = at.session_state["merge__data"]
    assert (data["entity"], data["id_a"], data["id_b"], data["survivor"]) == ("account", low, high, low)
    assert at.session_state["merge__step"] == 1, "the wizard starts at choosing the survivor"
