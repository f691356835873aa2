"""Opportunities: lifecycle (create, edit, move, win, lose, reopen, delete), probability and forecast category
overrides, stage history, permissions, audit and events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import Connection, event, select, text
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.events import recent_events
from core.listing import ListQuery
from core.permissions import Actor, Role
from core.sales.contact_roles import add_contact_role, contact_roles, remove_contact_role
from core.sales.history import stage_history
from core.sales.opportunities import (
    delete_opportunity,
    get_opportunity,
    list_opportunities,
    list_opportunities_after,
    lose_opportunity,
    move_stage,
    reopen_opportunity,
    update_opportunity,
    win_opportunity,
)
from core.sales.pipelines import list_reasons
from core.uow import UnitOfWork
from db.models import OpportunityStageEvent
from tests.conftest import FrozenClock
from tests.factories.crm import make_account, make_contact
from tests.factories.identity import make_user
from tests.factories.sales import make_opportunity, stage_ids


@pytest.fixture
def admin(factory: sessionmaker[Session]) -> Actor:
    return make_user(factory, Role.ADMIN).actor()


def uow(factory: sessionmaker[Session], actor: Actor, clock: FrozenClock) -> UnitOfWork:
    return UnitOfWork(factory, actor=actor, clock=clock)


def event_names(factory: sessionmaker[Session], actor: Actor, entity_id: int) -> list[str]:
    with factory() as session:
        events = recent_events(session, limit=200)
    rows = events[(events["entity"] == "opportunity") & (events["entity_id"] == str(entity_id))]
    return list(reversed(rows["name"].tolist()))


def reason_id(factory: sessionmaker[Session], actor: Actor, kind: str, label: str) -> int:
    return next(r.id for r in list_reasons(UnitOfWork(factory, actor=actor), kind) if r.label == label)  # type: ignore[arg-type]


def test_lifecycle_is_audited_evented_and_kept_in_the_stage_history(
    factory: sessionmaker[Session], admin: Actor, clock: FrozenClock
) -> None:
    stages = stage_ids(factory, admin)
    account = make_account(factory, admin, clock=clock)
    opp = make_opportunity(factory, admin, account_id=account.id, clock=clock, expected_close_date=dt.date(2027, 1, 31))
    assert (opp.stage_name, opp.status, opp.probability, opp.forecast_category) == ("Qualifizierung", "open", 10, "pipeline")
    assert opp.weighted_amount == Decimal("4800.00")

    clock.advance(days=3)
    opp = update_opportunity(
        uow(factory, admin, clock), opp.id, {"amount": "52.000,00", "next_step": "Demo"}, expected_version=opp.version
    )
    assert opp.amount == Decimal("52000.00")
    clock.advance(days=4)
    opp = move_stage(uow(factory, admin, clock), opp.id, stage_id=stages["Angebot"], expected_version=opp.version)
    assert (opp.probability, opp.forecast_category, opp.days_in_stage) == (50, "best_case", 0)
    clock.advance(days=2)
    opp = move_stage(uow(factory, admin, clock), opp.id, stage_id=stages["Bedarfsanalyse"], expected_version=opp.version)
    with pytest.raises(ValidationFailed) as missing:
        lose_opportunity(uow(factory, admin, clock), opp.id, expected_version=opp.version, reason_id=None)
    assert "lost_reason_id" in missing.value.fields
    other = reason_id(factory, admin, "lost", "Sonstiges")
    with pytest.raises(ValidationFailed) as no_text:
        lose_opportunity(uow(factory, admin, clock), opp.id, expected_version=opp.version, reason_id=other)
    assert "close_reason_text" in no_text.value.fields
    clock.advance(days=5)
    opp = lose_opportunity(
        uow(factory, admin, clock), opp.id, expected_version=opp.version, reason_id=other, reason_text="Insolvenz"
    )
    assert (opp.status, opp.stage_name, opp.probability, opp.close_reason, opp.closed_date) == (
        "lost",
        "Verloren",
        0,
        "Sonstiges",
        clock().date(),
    )
    clock.advance(days=1)
    opp = reopen_opportunity(uow(factory, admin, clock), opp.id, expected_version=opp.version)
    assert (opp.status, opp.stage_name, opp.closed_date, opp.lost_reason_id) == ("open", "Bedarfsanalyse", None, None)
    opp = win_opportunity(
        uow(factory, admin, clock), opp.id, expected_version=opp.version, reason_id=reason_id(factory, admin, "won", "Referenzen")
    )
    assert (opp.status, opp.probability, opp.forecast_category) == ("won", 100, "closed")

    assert event_names(factory, admin, opp.id) == [
        "crm.opportunity.created",
        "crm.opportunity.updated",
        "crm.opportunity.stage_changed",
        "crm.opportunity.stage_changed",
        "crm.opportunity.lost",
        "crm.opportunity.reopened",
        "crm.opportunity.won",
    ]
    history = stage_history(uow(factory, admin, clock), opp.id)
    assert history["kind"].tolist() == ["created", "revised", "moved", "moved", "lost", "reopened", "won"]
    assert history["backward"].tolist() == [False, False, False, True, False, False, False]
    assert history["days"].dropna().tolist() == [7, 2, 5, 1, 0, 0]
    assert history["amount"].tolist()[:2] == [Decimal("48000.00"), Decimal("52000.00")]
    with factory() as session:
        trail = audit.trail(session, entity="opportunity", entity_id=opp.id)
    assert {"created", "updated", "stage_changed", "lost", "reopened", "won"} <= set(trail["action"])

    with pytest.raises(Conflict):
        delete_opportunity(uow(factory, admin, clock), opp.id, expected_version=opp.version - 1)
    delete_opportunity(uow(factory, admin, clock), opp.id, expected_version=opp.version)
    assert event_names(factory, admin, opp.id)[-1] == "crm.opportunity.deleted"
    assert len(stage_history(uow(factory, admin, clock), opp.id)) == 7


def test_probability_override_survives_stage_moves_until_closed(
    factory: sessionmaker[Session], admin: Actor, clock: FrozenClock
) -> None:
    stages = stage_ids(factory, admin)
    account = make_account(factory, admin, clock=clock)
    opp = make_opportunity(factory, admin, account_id=account.id, clock=clock, probability_override=35)
    assert (opp.probability, opp.probability_is_override) == (35, True)
    opp = move_stage(uow(factory, admin, clock), opp.id, stage_id=stages["Verhandlung"], expected_version=opp.version)
    assert (opp.probability, opp.probability_is_override, opp.forecast_category) == (35, True, "commit")
    opp = update_opportunity(
        uow(factory, admin, clock), opp.id, {"forecast_category_override": "best_case"}, expected_version=opp.version
    )
    assert (opp.forecast_category, opp.forecast_category_system) == ("best_case", "commit")
    opp = win_opportunity(uow(factory, admin, clock), opp.id, expected_version=opp.version)
    assert (opp.probability, opp.forecast_category, opp.probability_override) == (100, "closed", 35)
    opp = reopen_opportunity(uow(factory, admin, clock), opp.id, expected_version=opp.version)
    assert (opp.stage_name, opp.probability) == ("Verhandlung", 35)


def test_update_with_a_new_stage_moves_and_closes_in_one_transaction(
    factory: sessionmaker[Session], admin: Actor, clock: FrozenClock
) -> None:
    stages = stage_ids(factory, admin)
    account = make_account(factory, admin, clock=clock)
    opp = make_opportunity(factory, admin, account_id=account.id, clock=clock)
    with pytest.raises(ValidationFailed):
        update_opportunity(
            uow(factory, admin, clock), opp.id, {"stage_id": stages["Verloren"], "name": "Neu"}, expected_version=opp.version
        )
    assert get_opportunity(uow(factory, admin, clock), opp.id).name == opp.name  # nothing half-written
    lost = reason_id(factory, admin, "lost", "Kein Budget")
    opp = update_opportunity(
        uow(factory, admin, clock),
        opp.id,
        {"stage_id": stages["Verloren"], "lost_reason_id": lost, "name": "Neu"},
        expected_version=opp.version,
    )
    assert (opp.name, opp.status, opp.close_reason) == ("Neu", "lost", "Kein Budget")


def test_sales_rep_edits_only_own_deals_and_cannot_delete(
    factory: sessionmaker[Session], admin: Actor, clock: FrozenClock
) -> None:
    rep = make_user(factory, Role.SALES_REP).actor()
    other_rep = make_user(factory, Role.SALES_REP).actor()
    account = make_account(factory, admin, clock=clock)
    own = make_opportunity(factory, rep, account_id=account.id, clock=clock)
    assert own.owner_id == rep.user_id
    with pytest.raises(PermissionDenied):
        update_opportunity(uow(factory, other_rep, clock), own.id, {"name": "Fremd"}, expected_version=own.version)
    with pytest.raises(PermissionDenied):
        make_opportunity(factory, rep, account_id=account.id, clock=clock, owner_id=other_rep.user_id)
    with pytest.raises(PermissionDenied):
        delete_opportunity(uow(factory, rep, clock), own.id, expected_version=own.version)
    viewer = make_user(factory, Role.VIEWER).actor()
    assert get_opportunity(uow(factory, viewer, clock), own.id).id == own.id
    with pytest.raises(PermissionDenied):
        move_stage(uow(factory, viewer, clock), own.id, stage_id=own.stage_id + 1, expected_version=own.version)


def test_validation_names_the_fields(factory: sessionmaker[Session], admin: Actor, clock: FrozenClock) -> None:
    account = make_account(factory, admin, clock=clock)
    with pytest.raises(ValidationFailed) as error:
        make_opportunity(factory, admin, account_id=account.id + 999, clock=clock, amount="-5", currency="XYZ", name="")
    assert {"account_id", "amount", "currency", "name"} <= set(error.value.fields) or {"amount", "currency", "name"} <= set(
        error.value.fields
    )
    with pytest.raises(ValidationFailed) as error:
        make_opportunity(factory, admin, account_id=account.id + 999, clock=clock)
    assert "account_id" in error.value.fields


def test_contact_roles_with_one_primary(factory: sessionmaker[Session], admin: Actor, clock: FrozenClock) -> None:
    account = make_account(factory, admin, clock=clock)
    first = make_contact(factory, admin, clock=clock, account_id=account.id)
    second = make_contact(factory, admin, clock=clock, account_id=account.id, email="b@example.de", last_name="Bauer")
    opp = make_opportunity(factory, admin, account_id=account.id, clock=clock)
    add_contact_role(uow(factory, admin, clock), opp.id, contact_id=first.id, role="Entscheider", is_primary=True)
    roles = add_contact_role(uow(factory, admin, clock), opp.id, contact_id=second.id, role="Einkauf", is_primary=True)
    assert [(r.contact_id, r.is_primary) for r in roles] == [(second.id, True), (first.id, False)]
    with pytest.raises(ValidationFailed):
        add_contact_role(uow(factory, admin, clock), opp.id, contact_id=first.id, role="Technik")
    with pytest.raises(ValidationFailed):
        add_contact_role(uow(factory, admin, clock), opp.id, contact_id=first.id, role="Chef")
    roles = remove_contact_role(uow(factory, admin, clock), roles[0].id)
    assert [r.contact_id for r in contact_roles(uow(factory, admin, clock), opp.id)] == [first.id]


def test_list_filters_and_search(factory: sessionmaker[Session], admin: Actor, clock: FrozenClock) -> None:
    stages = stage_ids(factory, admin)
    account = make_account(factory, admin, clock=clock, name="Zeppelin Werke")
    small = make_opportunity(factory, admin, account_id=account.id, clock=clock, amount="1000", name="Klein")
    big = make_opportunity(
        factory, admin, account_id=account.id, clock=clock, amount="90000", name="Groß", expected_close_date=dt.date(2027, 3, 1)
    )
    move_stage(uow(factory, admin, clock), big.id, stage_id=stages["Angebot"], expected_version=big.version)

    def ids(**filters: object) -> set[int]:
        page = list_opportunities(uow(factory, admin, clock), ListQuery(filters=filters, page_size=100))
        return set(page.rows["id"]) & {small.id, big.id}

    assert ids(amount_min="50000") == {big.id}
    assert ids(stage_id=stages["Angebot"]) == {big.id}
    assert ids(close_from=dt.date(2027, 1, 1), close_to=dt.date(2027, 12, 31)) == {big.id}
    assert ids(status="open") == {small.id, big.id}
    page = list_opportunities(uow(factory, admin, clock), ListQuery(search="zeppelin", sort="amount", descending=True))
    assert page.rows["id"].tolist()[:2] == [big.id, small.id]
    assert page.rows.loc[page.rows["id"] == big.id, "probability"].item() == 50


def test_list_opens_by_close_date_like_the_page(
    factory: sessionmaker[Session], admin: Actor, clock: FrozenClock
) -> None:
    """Without a sort the service orders as the list page opens: next close date first, then id."""
    account = make_account(factory, admin, clock=clock, name="Reihenfolge AG")
    dates = [dt.date(2027, 5, 1), dt.date(2027, 2, 1), dt.date(2027, 5, 1), dt.date(2027, 3, 1)]
    made = [
        make_opportunity(factory, admin, account_id=account.id, clock=clock, name=f"Reihe {i}", expected_close_date=day)
        for i, day in enumerate(dates)
    ]
    page = list_opportunities(uow(factory, admin, clock), ListQuery(search="Reihenfolge", page_size=10))
    assert page.rows["id"].tolist() == [made[1].id, made[3].id, made[0].id, made[2].id]


def test_keyset_page_filters_by_status_and_stage_with_their_values_in_the_sql_on_postgresql(
    connection: Connection, factory: sessionmaker[Session], admin: Actor, clock: FrozenClock
) -> None:
    """PostgreSQL gets status, pipeline and stage as literals (its plan depends on them, see migration 0014);
    other filters and SQLite keep bound parameters. Either way the page holds exactly the matching deals."""
    stages = stage_ids(factory, admin)
    account = make_account(factory, admin, clock=clock, name="Keyset GmbH")
    made = [make_opportunity(factory, admin, account_id=account.id, clock=clock, name=f"Keyset {n}") for n in range(4)]
    move_stage(uow(factory, admin, clock), made[1].id, stage_id=stages["Angebot"], expected_version=made[1].version)
    win_opportunity(uow(factory, admin, clock), made[2].id, expected_version=made[2].version)
    statements: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().startswith("SELECT"):  # not the savepoints around it
            statements.append(statement)

    def page(**filters: object) -> list[int]:
        statements.clear()
        event.listen(connection, "before_cursor_execute", record)
        try:
            rows, _ = list_opportunities_after(
                uow(factory, admin, clock), after_id=None, limit=50, filters=filters | {"account_id": [account.id]}
            )
        finally:
            event.remove(connection, "before_cursor_execute", record)
        return [row.id for row in rows]

    on_postgresql = connection.dialect.name == "postgresql"
    assert page(status=["open"]) == [made[0].id, made[1].id, made[3].id]
    assert ("status IN ('open')" in statements[-1]) is on_postgresql
    assert page(status=["won", "lost"]) == [made[2].id]
    assert ("status IN ('won', 'lost')" in statements[-1]) is on_postgresql
    pipeline_id = get_opportunity(uow(factory, admin, clock), made[1].id).pipeline_id
    assert page(pipeline_id=[pipeline_id], stage_id=[stages["Angebot"]]) == [made[1].id]
    assert (f"stage_id IN ({stages['Angebot']})" in statements[-1]) is on_postgresql
    assert (f"pipeline_id IN ({pipeline_id})" in statements[-1]) is on_postgresql
    assert f"account_id IN ({account.id})" not in statements[-1]  # an ordinary filter stays a parameter


def test_stage_history_is_append_only(connection: Connection, factory: sessionmaker[Session], admin: Actor, clock: FrozenClock) -> None:
    account = make_account(factory, admin, clock=clock)
    make_opportunity(factory, admin, account_id=account.id, clock=clock)
    event_id = connection.scalar(select(OpportunityStageEvent.id).limit(1))
    with pytest.raises(Exception, match="append-only"):
        with connection.begin_nested():
            connection.execute(text("UPDATE opportunity_stage_events SET amount = 1 WHERE id = :id"), {"id": event_id})
    with pytest.raises(Exception, match="append-only"):
        with connection.begin_nested():
            connection.execute(text("DELETE FROM opportunity_stage_events WHERE id = :id"), {"id": event_id})
