"""The segment list and the segment page: who sees them and what they may do, the list's rows with reach per
channel and the trend, opening a segment, every section (rules in plain German, members with paging and "Warum
Mitglied?", history, reach recomputed on request, usage, performance), recalculation, static members by hand, and
deletion through the confirmation dialog (refused while another segment uses the segment)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
import streamlit as st
from sqlalchemy import update
from streamlit.components.v1 import component_arrow
from streamlit.testing.v1 import AppTest

from app.components.navigation import Section, visible_sections
from core.consent.service import grant_consent
from core.contacts import create_contact
from core.database import session_factory
from core.errors import NotFound
from core.permissions import PERMISSIONS, Permission, Role
from core.segments.insights import reach, refresh_reach
from core.segments.recalc import recalculate
from core.segments.service import create_segment, get_segment
from core.uow import UnitOfWork
from db.models import Segment
from tests.app.conftest import AppData, LoggedIn
from tests.conftest import FrozenClock

LIST = "pages/segmente_liste.py"
DETAIL = "pages/segment_detail.py"
_seq = itertools.count(1)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def uow(app_data: AppData, clock: FrozenClock, role: Role = Role.MARKETING) -> UnitOfWork:
    return UnitOfWork(session_factory(app_data.url), actor=app_data.users[role].actor(), clock=clock)


def group(*children: dict[str, Any], op: str = "and") -> dict[str, Any]:
    return {"type": "group", "op": op, "negate": False, "children": list(children)}


def city_is(city: str) -> dict[str, Any]:
    return {"type": "condition", "field": "contact.city", "operator": "eq", "value": city}


@dataclass(frozen=True)
class Town:
    """A dynamic segment of the contacts in a town of its own (the app database is shared by all tests)."""

    segment_id: int
    name: str
    city: str
    contact_ids: tuple[int, ...]


def town(app_data: AppData, clock: FrozenClock, people: int = 3) -> Town:
    n = next(_seq)
    city = f"Teststadt{n}"
    admin = UnitOfWork(session_factory(app_data.url), actor=app_data.users[Role.ADMIN].actor(), clock=clock)
    ids = []
    for i in range(people):
        values = {"first_name": "Greta", "last_name": f"Segment{n}x{i}", "email": f"g{n}x{i}@example.de", "city": city}
        contact = create_contact(admin, values)
        ids.append(contact.id)
    name = f"Stadt {n}"
    segment = create_segment(uow(app_data, clock), name=name, rules=group(city_is(city)))
    recalculate(uow(app_data, clock), segment.id)
    return Town(segment.id, name, city, tuple(ids))


def open_page(logged_in: LoggedIn, page: str, role: Role = Role.MARKETING, **state: object) -> AppTest:
    st.cache_data.clear()  # the tests write through the services: no cached read may hide that
    at = logged_in(role)
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(page).run()
    assert_clean(at)
    return at


def open_segment(logged_in: LoggedIn, segment_id: int, role: Role = Role.MARKETING) -> AppTest:
    return open_page(logged_in, DETAIL, role, segment_detail__id=segment_id)


def row_labels(at: AppTest) -> list[str]:
    return list(next(m for m in at.multiselect if m.label == "Auswahl").options)


def texts(at: AppTest) -> str:
    """Markdown and captions as they read (the page escapes user text for markdown)."""
    return re.sub(r"\\(.)", r"\1", "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption]))


def errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


def grid(at: AppTest) -> pd.DataFrame:
    """The rows the list's grid shows (a custom component: its data travels as an Arrow table)."""
    instance = next(c for c in at.get("component_instance") if "seg_list__grid_" in c.proto.id)
    data = next(arg for arg in instance.proto.special_args if arg.key == "data")
    frame = component_arrow.arrow_proto_to_dataframe(data.arrow_dataframe.data)
    frame.columns = [c[0] if isinstance(c, tuple) else c for c in frame.columns]  # one-level column tuples
    return frame


def frame_with(at: AppTest, column: str) -> Any:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def keys(at: AppTest) -> set[str]:
    return {b.key for b in at.button if b.key}


# Who sees the pages ----------------------------------------------------------------------------------------------
def test_every_role_sees_the_list_and_only_writers_get_the_actions(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    place = town(app_data, app_clock)
    for role in Role:
        marketing = [p.url_path for p in visible_sections(app_data.users[role].actor()).get(Section.MARKETING, [])]
        assert "segmente-liste" in marketing and "segment-detail" not in marketing, role
    viewer = open_page(logged_in, LIST, Role.VIEWER)
    assert viewer.title[0].value.endswith("Segmente")
    assert "seg_list__new" not in keys(viewer) and "seg_list__bulk_recalc" not in keys(viewer)
    writer = open_page(logged_in, LIST, Role.MARKETING)
    assert {"seg_list__new", "seg_list__bulk_recalc"} <= keys(writer)

    page = open_segment(logged_in, place.segment_id, Role.VIEWER)
    assert page.title[0].value.endswith(place.name)
    assert not {"seg_obj__edit", "seg_obj__recalc", "seg_obj__delete"} & keys(page), "viewers only read"
    assert "seg_obj__reach_refresh" in keys(page), "recounting reach is a read"


@pytest.fixture
def no_reading_for_viewers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A configuration in which viewers lack `segments.read` (every built-in role has it)."""
    granted = PERMISSIONS["segments.read"]
    grants = {role: scope for role, scope in granted.grants.items() if role is not Role.VIEWER}
    monkeypatch.setitem(PERMISSIONS, "segments.read", Permission(granted.name, granted.description, grants))
    yield


def test_a_role_without_segments_read_gets_neither_menu_entry_nor_page(
    no_reading_for_viewers: None, logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    place = town(app_data, app_clock, people=1)
    listed = {p.url_path for pages in visible_sections(app_data.users[Role.VIEWER].actor()).values() for p in pages}
    assert not {"segmente-liste", "segment-detail", "segment-builder"} & listed
    for page, state in ((LIST, {}), (DETAIL, {"segment_detail__id": place.segment_id})):
        at = open_page(logged_in, page, Role.VIEWER, **state)
        assert not at.title and any("Keine Berechtigung" in e.value for e in at.error)


# The list --------------------------------------------------------------------------------------------------------
def test_list_shows_segments_with_kind_and_opens_the_selected_one(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    place = town(app_data, app_clock)
    static = create_segment(uow(app_data, app_clock), name=f"Messe {next(_seq)}", kind="static")
    at = open_page(logged_in, LIST)
    labels = row_labels(at)
    assert f"{place.name} (Dynamisch)" in labels and f"{static.name} (Statisch)" in labels

    at.text_input(key="seg_list__search").input(place.name).run()
    assert row_labels(at) == [f"{place.name} (Dynamisch)"]
    at.text_input(key="seg_list__search").input("").run()
    at.selectbox(key="seg_list__filter_kind").set_value("static").run()
    statics = row_labels(at)
    assert all(label.endswith("(Statisch)") for label in statics) and f"{static.name} (Statisch)" in statics
    at.selectbox(key="seg_list__filter_kind").set_value(None).run()

    pick = next(m for m in at.multiselect if m.key and m.key.startswith("seg_list__pick_"))
    pick.select(place.segment_id).run()
    at.button(key="seg_list__open").click().run()
    assert_clean(at)
    assert at.title[0].value.endswith(place.name)


def test_list_rows_carry_reach_per_channel_status_and_trend(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    place = town(app_data, app_clock)
    grant_consent(
        uow(app_data, app_clock, Role.ADMIN), contact_id=place.contact_ids[0], channel="email", purpose="newsletter",
        source="sales", evidence="Formular vom 20.11.",
    )
    refresh_reach(uow(app_data, app_clock), place.segment_id)
    admin = UnitOfWork(session_factory(app_data.url), actor=app_data.users[Role.ADMIN].actor(), clock=app_clock)
    create_contact(admin, {"first_name": "Neu", "last_name": "Zuzug", "city": place.city})
    recalculate(uow(app_data, app_clock), place.segment_id)
    steady = town(app_data, app_clock, people=2)
    recalculate(uow(app_data, app_clock), steady.segment_id)
    once = town(app_data, app_clock, people=1)
    broken = create_segment(uow(app_data, app_clock), name=f"Kaputt {next(_seq)}", kind="static")
    with session_factory(app_data.url)() as session:
        session.execute(update(Segment).where(Segment.id == broken.id).values(refresh_error="Datenbank: gesperrt"))
        session.commit()

    at = open_page(logged_in, LIST)
    rows = grid(at).set_index("Name")
    row = rows.loc[place.name]
    channels = ["E-Mail", "SMS", "Telefon", "Post"]  # members reachable on the channel
    assert (row["Art"], row["Größe"], *row[channels]) == ("Dynamisch", "4", "1", "0", "0", "0")
    assert (row["Letzte Berechnung"], row["Status"]) == ("25.11.2026 10:00", "aktuell")
    assert row["Verlauf"] == "▁█ +1", "3 then 4 members"
    assert rows.loc[steady.name, "Verlauf"] == "▄▄ ±0", "unchanged: a level line, not the floor"
    assert rows.loc[once.name, "Verlauf"] == "", "one run: no trend yet"
    assert rows.loc[broken.name, "Status"] == "⚠ Fehler: Datenbank: gesperrt"
    assert rows.loc[broken.name, "E-Mail"] == "", "no snapshot yet: empty, not 0"


# The segment page ------------------------------------------------------------------------------------------------
def test_segment_page_shows_header_and_every_section(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    place = town(app_data, app_clock)
    user = create_segment(uow(app_data, app_clock), name=f"Nutzt {place.name}", rules=group(
        {"type": "condition", "field": "segment", "operator": "member", "value": place.segment_id}
    ))
    at = open_segment(logged_in, place.segment_id)
    assert [tab.label for tab in at.tabs] == [
        "Definition", "Mitglieder", "Verlauf", "Erreichbarkeit", "Verwendung", "Performance",
    ]
    facts = texts(at)
    assert "**3**" in facts and "**Dynamisch**" in facts and "**25.11.2026 10:00**" in facts, facts
    assert f"- Ort ist „{place.city}“" in facts, "the rule in plain German"
    members = frame_with(at, "Mitglied seit")
    assert list(members["Nr."]) == sorted(place.contact_ids)
    assert len(at.get("vega_lite_chart")) == 1, "size history chart"
    runs = frame_with(at, "Anlass")
    assert list(runs["Größe"]) == [3] and list(runs["Anlass"]) == ["von Hand"]
    changes = frame_with(at, "Änderung")
    assert set(changes["Änderung"]) == {"eingetreten"} and len(changes) == 3
    assert any("noch nicht berechnet" in i.value for i in at.info), "no reach snapshot yet"
    assert "**noch nicht berechnet**" in facts, "the header says so too, instead of a dash"
    usage = frame_with(at, "Art")
    assert list(usage["Name"]) == [user.name]
    assert any("Noch keine Kampagnen an dieses Segment versendet" in i.value for i in at.info)
    assert any("keiner offenen" in i.value for i in at.info), "no deals"


def test_reach_is_computed_on_request_and_shown_per_channel_and_purpose(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    place = town(app_data, app_clock)
    for contact_id in place.contact_ids[:2]:
        grant_consent(
            uow(app_data, app_clock, Role.ADMIN), contact_id=contact_id, channel="email", purpose="newsletter",
            source="sales", evidence="Formular vom 20.11.",
        )
    at = open_segment(logged_in, place.segment_id, Role.VIEWER)
    at.button(key="seg_obj__reach_refresh").click().run()
    assert_clean(at)
    assert reach(uow(app_data, app_clock), place.segment_id).computed_at == app_clock()
    assert any("Erreichbarkeit neu berechnet." in toast.value for toast in at.toast)
    assert "**2**" in texts(at), "reachable by e-mail in the header"
    channels = frame_with(at, "Erreichbar (mind. ein Zweck)")
    assert list(channels["Kanal"]) == ["E-Mail", "SMS", "Telefon", "Post"]
    assert list(channels["Erreichbar (mind. ein Zweck)"]) == ["2", "0", "0", "0"]
    assert channels["Anteil"].iloc[0] == "66,7 %"
    matrix = frame_with(at, "Zweck")
    newsletter = matrix[matrix["Zweck"] == "Newsletter"].iloc[0]
    assert newsletter["E-Mail"] == "2 (66,7 %)" and newsletter["Post"] == "0 (0,0 %)"
    assert any(e.label == "E-Mail: warum nicht erreichbar" for e in at.expander)


def test_members_are_paged_by_cursor_and_why_member_answers_in_german(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    place = town(app_data, app_clock, people=27)
    at = open_segment(logged_in, place.segment_id)
    at.selectbox(key="seg_obj__page_size").set_value(25).run()
    first = list(frame_with(at, "Mitglied seit")["Nr."])
    assert first == sorted(place.contact_ids)[:25] and at.button(key="seg_obj__prev").disabled
    at.button(key="seg_obj__next").click().run()
    assert_clean(at)
    assert list(frame_with(at, "Mitglied seit")["Nr."]) == sorted(place.contact_ids)[25:]
    assert at.button(key="seg_obj__next").disabled and "Seite 2" in texts(at)

    last = max(place.contact_ids)
    at.selectbox(key="seg_obj__why_contact").set_value(last).run()
    at.button(key="seg_obj__why_go").click().run()
    assert_clean(at)
    assert f"- Ort ist „{place.city}“." in texts(at)
    at.button(key="seg_obj__prev").click().run()
    assert list(frame_with(at, "Mitglied seit")["Nr."]) == first


def test_recalculate_button_updates_size_and_history(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    place = town(app_data, app_clock, people=2)
    at = open_segment(logged_in, place.segment_id)
    admin = UnitOfWork(session_factory(app_data.url), actor=app_data.users[Role.ADMIN].actor(), clock=app_clock)
    create_contact(admin, {"first_name": "Neu", "last_name": "Zugezogen", "city": place.city})
    at.button(key="seg_obj__recalc").click().run()
    assert_clean(at)
    assert any("Neu berechnet: 3 Mitglieder (1 eingetreten, 0 ausgetreten)." in t.value for t in at.toast)
    assert get_segment(uow(app_data, app_clock), place.segment_id).member_count == 3
    assert "**3**" in texts(at)
    assert list(frame_with(at, "Anlass")["Größe"]) == [3, 2], "newest run first"
    email = reach(uow(app_data, app_clock), place.segment_id).channel("email")
    assert email is not None and email.members == 3, "a small segment's reach is counted with the recalculation"


def test_static_members_are_added_by_search_and_removed_from_the_page(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    segment = create_segment(uow(app_data, app_clock), name=f"Handverlesen {next(_seq)}", kind="static")
    at = open_segment(logged_in, segment.id)
    assert any("Statisches Segment" in i.value for i in at.info)
    at.text_input(key="seg_obj_add__q").input("Weiß").run()
    at.multiselect(key="seg_obj_add__ids").select(app_data.contact.id).run()
    at.button(key="seg_obj_add__go").click().run()
    assert_clean(at)
    assert any("1 Kontakt(e) aufgenommen." in t.value for t in at.toast)
    assert get_segment(uow(app_data, app_clock), segment.id).member_count == 1
    at.selectbox(key="seg_obj__why_contact").set_value(app_data.contact.id).run()
    at.button(key="seg_obj__why_go").click().run()
    assert "Von Hand oder per Datei aufgenommen am 25.11.2026" in texts(at)

    at.multiselect(key="seg_obj__remove_ids").select(app_data.contact.id).run()
    at.button(key="seg_obj__remove_go").click().run()
    assert_clean(at)
    assert get_segment(uow(app_data, app_clock), segment.id).member_count == 0
    assert any("keine Mitglieder" in i.value for i in at.info)


def test_delete_asks_first_and_is_refused_while_another_segment_uses_it(
    logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock
) -> None:
    place = town(app_data, app_clock, people=1)
    user = create_segment(uow(app_data, app_clock), name=f"Abhängig {next(_seq)}", rules=group(
        {"type": "condition", "field": "segment", "operator": "member", "value": place.segment_id}
    ))
    at = open_segment(logged_in, place.segment_id)
    at.button(key="seg_obj__delete").click().run()
    assert any(f"Segment **{place.name}** mit 1 Mitgliedern" in m.value for m in at.markdown), "the dialog asks"
    assert get_segment(uow(app_data, app_clock), place.segment_id).id == place.segment_id, "nothing deleted yet"
    at.button(key="seg_obj__delete_yes").click().run()
    assert_clean(at)
    assert f"wird von Segment „{user.name}“ verwendet und kann nicht gelöscht werden" in errors(at)
    assert get_segment(uow(app_data, app_clock), place.segment_id).id == place.segment_id

    at = open_segment(logged_in, user.id)
    at.button(key="seg_obj__delete").click().run()
    at.button(key="seg_obj__delete_yes").click().run()
    assert_clean(at)
    with pytest.raises(NotFound):
        get_segment(uow(app_data, app_clock), user.id)
    assert at.title[0].value.endswith("Segmente"), "back on the list"


def test_english_labels(logged_in: LoggedIn, app_data: AppData, app_clock: FrozenClock) -> None:
    place = town(app_data, app_clock, people=1)
    st.cache_data.clear()
    at = logged_in(Role.MARKETING, lang="en")
    at.session_state["segment_detail__id"] = place.segment_id
    at.switch_page(DETAIL).run()
    assert_clean(at)
    assert [tab.label for tab in at.tabs] == ["Definition", "Members", "History", "Reach", "Usage", "Performance"]
    assert any("No campaigns sent to this segment yet." in i.value for i in at.info)
    assert f"- City is “{place.city}”" in texts(at), "the definition speaks the UI's language"
    at.selectbox(key="seg_obj__why_contact").set_value(place.contact_ids[0]).run()
    at.button(key="seg_obj__why_go").click().run()
    assert_clean(at)
    assert f"- City is “{place.city}”." in texts(at)
