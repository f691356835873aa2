"""The consent ledger and the consent gate on SQLite and PostgreSQL: one test per reason the gate refuses,
the legal rules of each basis, state derived only from the ledger, tamper detection, set-based decisions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session, sessionmaker

from core.consent.gate import decisions, may_contact, reachable, summary
from core.consent.ledger import verify_ledger
from core.consent.restrictions import add_restriction, lift_restriction
from core.consent.service import consent_history, consent_matrix, grant_consent, revoke_consent
from core.consent.suppression import lift_suppression, list_suppressions, suppress_address, suppress_contact
from core.consent.texts import create_text_version, text_versions
from core.contacts import delete_contact, get_contact
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.listing import ListQuery
from core.permissions import Actor, Role
from core.sales.orders import accept_quote
from core.sales.quotes import add_line, create_quote, send_quote
from core.subject_keys import shred
from core.consent.ledger import contact_subject
from core.uow import UnitOfWork
from db.models import ConsentEntry, OutboxEvent
from tests.conftest import FrozenClock
from tests.factories.crm import make_account, make_contact
from tests.factories.identity import make_user
from tests.factories.sales import make_opportunity


@dataclass
class World:
    factory: sessionmaker[Session]
    clock: FrozenClock
    admin: Actor

    def uow(self, actor: Actor | None = None) -> UnitOfWork:
        return UnitOfWork(self.factory, actor=actor or self.admin, clock=self.clock)

    def contact(self, **values: object) -> int:
        data = {"email": f"p{id(values)}@example.de", "mobile": "+49 171 1234567"} | values
        return make_contact(self.factory, self.admin, clock=self.clock, **data).id

    def grant(self, contact_id: int, channel: str = "email", purpose: str = "newsletter", **values: object) -> int:
        options = {"source": "sales", "evidence": "Unterschriebenes Formular vom 20.11."} | values
        return grant_consent(self.uow(), contact_id=contact_id, channel=channel, purpose=purpose, **options)  # type: ignore[arg-type]

    def reason(self, contact_id: int, channel: str = "email", purpose: str = "newsletter") -> str:
        with self.factory() as session:
            return may_contact(session, contact_id, channel, purpose, self.clock()).reason


@pytest.fixture
def w(factory: sessionmaker[Session], clock: FrozenClock) -> World:
    return World(factory, clock, make_user(factory, Role.ADMIN, display_name="Anna Admin").actor())


# The gate: one test per reason --------------------------------------------------------------------


def test_granted_consent_is_allowed(w: World) -> None:
    contact = w.contact()
    w.grant(contact)
    assert w.reason(contact) == "allowed"


def test_missing_consent_is_refused(w: World) -> None:
    contact = w.contact()
    w.grant(contact, purpose="umfragen")
    assert w.reason(contact) == "missing"
    assert w.reason(contact, channel="sms", purpose="umfragen") == "missing"


def test_revoked_consent_is_refused_immediately(w: World) -> None:
    contact = w.contact()
    w.grant(contact)
    w.clock.advance(seconds=1)
    revoke_consent(w.uow(), contact_id=contact, channel="email", purpose="newsletter", source="phone", reason="Anruf")
    assert w.reason(contact) == "revoked"
    assert revoke_consent(w.uow(), contact_id=contact, channel="email", purpose="newsletter", source="phone") is None


def test_pending_double_opt_in_is_refused(w: World) -> None:
    from core.consent.doi import request_doi

    contact = w.contact()
    request_doi(w.uow(), contact_id=contact, purpose="newsletter", source="webform")
    assert w.reason(contact) == "pending"


def test_expired_consent_is_refused(w: World) -> None:
    contact = w.contact()
    w.grant(contact, purpose="veranstaltungen", valid_until=w.clock() + dt.timedelta(days=10))
    assert w.reason(contact, purpose="veranstaltungen") == "allowed"
    w.clock.advance(days=10)
    assert w.reason(contact, purpose="veranstaltungen") == "expired"


def test_restricted_contact_is_refused_on_every_channel_and_purpose(w: World) -> None:
    contact = w.contact(postcode="50667", phone="0221 123456")
    for channel in ("email", "sms", "phone"):
        w.grant(contact, channel=channel)
    w.grant(contact, channel="post", legal_basis="legitimate_interest")
    restriction = add_restriction(w.uow(), contact_id=contact, kind="restriction", reason="Art. 18 Anfrage vom 25.11.")
    for channel in ("email", "sms", "phone", "post"):
        assert w.reason(contact, channel=channel) == "restricted"
    with pytest.raises(Conflict, match="eingeschränkt"):
        w.grant(contact, purpose="umfragen")
    w.clock.advance(days=1)
    lift_restriction(w.uow(), restriction.id, reason="Richtigkeit geprüft")
    assert w.reason(contact) == "allowed"


def test_objection_blocks_every_marketing_purpose(w: World) -> None:
    contact = w.contact()
    w.grant(contact)
    w.grant(contact, purpose="produktinformationen")
    add_restriction(w.uow(), contact_id=contact, kind="objection", reason="Widerspruch per E-Mail")
    assert w.reason(contact) == "objected"
    assert w.reason(contact, purpose="produktinformationen") == "objected"


def test_suppressed_address_is_refused_even_with_consent(w: World) -> None:
    contact = w.contact(email="Max.Muster+news@Example.de")
    w.grant(contact)
    suppress_address(w.uow(), address="max.muster@example.de", reason="complaint")
    assert w.reason(contact) == "suppressed"
    assert w.reason(contact, channel="sms") == "missing"  # the mobile is not on the list


def test_suppression_outlives_the_erased_contact(w: World) -> None:
    contact = w.contact(email="weg@example.de")
    suppress_contact(w.uow(), contact, reason="erased")
    version = get_contact(w.uow(), contact).version
    delete_contact(w.uow(), contact, expected_version=version)
    assert w.reason(contact) == "unknown_contact"
    again = w.contact(email="WEG@example.de")
    w.grant(again)
    assert w.reason(again) == "suppressed"
    entry = list_suppressions(w.uow()).iloc[0]
    assert "weg" not in entry["digest"] and len(entry["digest"]) == 64
    with pytest.raises(ValidationFailed, match="Löschung"):
        lift_suppression(w.uow(), int(entry["id"]), reason="Versehen")


def test_no_address_for_the_channel_is_refused(w: World) -> None:
    contact = w.contact(mobile=None)
    assert w.reason(contact, channel="sms") == "no_address"


def test_inactive_purpose_is_refused(w: World) -> None:
    from core.consent.texts import list_purposes, set_purpose_active

    contact = w.contact()
    w.grant(contact, purpose="umfragen")
    purpose = next(p for p in list_purposes(w.uow()) if p.key == "umfragen")
    set_purpose_active(w.uow(), purpose.id, False, reason="Umfragen eingestellt")
    assert w.reason(contact, purpose="umfragen") == "inactive_purpose"


def test_the_gate_answers_for_a_past_moment_from_the_ledger(w: World) -> None:
    contact = w.contact()
    granted_at = w.clock()
    w.grant(contact)
    w.clock.advance(days=3)
    revoke_consent(w.uow(), contact_id=contact, channel="email", purpose="newsletter", source="sales")
    with w.factory() as session:
        assert may_contact(session, contact, "email", "newsletter", granted_at).allowed
        assert may_contact(session, contact, "email", "newsletter", granted_at - dt.timedelta(seconds=1)).reason == "missing"
        assert not may_contact(session, contact, "email", "newsletter", w.clock()).allowed


def test_set_based_decisions_agree_with_may_contact(w: World) -> None:
    granted, revoked, missing, suppressed = (w.contact() for _ in range(4))
    w.grant(granted)
    w.grant(revoked)
    w.grant(suppressed)
    revoke_consent(w.uow(), contact_id=revoked, channel="email", purpose="newsletter", source="sales")
    suppress_contact(w.uow(), suppressed, reason="bounce")
    audience = select(ConsentEntry.contact_id).union(select(text(str(missing))))
    ids = [granted, revoked, missing, suppressed]
    with w.factory() as session:
        rows = dict(session.execute(decisions(session, channel="email", purpose="newsletter", at=w.clock(), audience=audience)).tuples().all())
        assert rows == {i: may_contact(session, i, "email", "newsletter", w.clock()).reason for i in ids}
        assert rows == {granted: "allowed", revoked: "revoked", missing: "missing", suppressed: "suppressed"}
        assert session.scalars(reachable(session, channel="email", purpose="newsletter", at=w.clock(), audience=audience)).all() == [granted]
        counts = summary(session, channel="email", purpose="newsletter", at=w.clock(), audience=audience)
        assert counts == {"allowed": 1, "revoked": 1, "missing": 1, "suppressed": 1}


# Legal bases ---------------------------------------------------------------------------------------


def test_consent_needs_evidence_and_a_text_of_its_purpose(w: World) -> None:
    contact = w.contact()
    with pytest.raises(ValidationFailed) as err:
        w.grant(contact, evidence="  ")
    assert "evidence" in err.value.fields
    other_text = text_versions(w.uow(), "umfragen")[0].id
    with pytest.raises(ValidationFailed) as err:
        w.grant(contact, text_id=other_text)
    assert "text_id" in err.value.fields


def test_email_and_phone_advertising_need_consent(w: World) -> None:
    contact = w.contact(phone="0221 99887766")
    for channel in ("email", "sms", "phone"):
        with pytest.raises(ValidationFailed) as err:
            w.grant(contact, channel=channel, legal_basis="legitimate_interest")
        assert "UWG" in err.value.fields["legal_basis"]
    with pytest.raises(ValidationFailed, match="keine Adresse"):
        w.grant(contact, channel="post", legal_basis="legitimate_interest", evidence=None)
    with_address = w.contact(postcode="50667", city="Köln")
    w.grant(with_address, channel="post", legal_basis="legitimate_interest", evidence=None)
    assert w.reason(with_address, channel="post") == "allowed"


def test_tracking_is_its_own_purpose_and_needs_consent(w: World) -> None:
    contact = w.contact()
    w.grant(contact)
    assert w.reason(contact, purpose="tracking") == "missing"
    with pytest.raises(ValidationFailed):
        w.grant(contact, purpose="tracking", legal_basis="existing_customer")
    w.grant(contact, purpose="tracking")
    assert w.reason(contact, purpose="tracking") == "allowed"


def test_existing_customer_basis_is_linked_to_the_customers_order(w: World) -> None:
    account = make_account(w.factory, w.admin, name="Kunde GmbH")
    contact = w.contact(account_id=account.id)
    stranger = w.contact()
    opportunity = make_opportunity(w.factory, w.admin, account_id=account.id)
    quote = create_quote(w.uow(), opportunity_id=opportunity.id)
    quote = add_line(
        w.uow(), quote.id, {"description": "Wartung", "quantity": "1", "unit_price": "1000", "vat_rate": "19"},
        expected_version=quote.version,
    )
    quote = send_quote(w.uow(), quote.id, expected_version=quote.version)
    order = accept_quote(w.uow(), quote.id, expected_version=quote.version)

    with pytest.raises(ValidationFailed) as err:
        w.grant(contact, legal_basis="existing_customer", evidence=None)
    assert "order_id" in err.value.fields
    with pytest.raises(ValidationFailed):
        w.grant(stranger, legal_basis="existing_customer", order_id=order.id, evidence=None)
    with pytest.raises(ValidationFailed):
        w.grant(contact, channel="sms", legal_basis="existing_customer", order_id=order.id, evidence=None)
    w.grant(contact, purpose="produktinformationen", legal_basis="existing_customer", order_id=order.id, evidence=None)
    assert w.reason(contact, purpose="produktinformationen") == "allowed"
    cell = next(c for c in consent_matrix(w.uow(), contact) if c.channel == "email" and c.purpose_key == "produktinformationen")
    assert cell.entry is not None and cell.entry.order_id == order.id and cell.entry.legal_basis == "existing_customer"


def test_unknown_words_and_contacts_get_clear_errors(w: World) -> None:
    contact = w.contact()
    with pytest.raises(ValidationFailed, match="Kanal"):
        w.grant(contact, channel="fax")
    with pytest.raises(NotFound, match="Zweck"):
        w.grant(contact, purpose="lotterie")
    with pytest.raises(ValidationFailed, match="Quelle"):
        w.grant(contact, source="hörensagen")
    for public_only in ("preference_centre", "unsubscribe", "merge", "system"):
        with pytest.raises(ValidationFailed) as err:
            w.grant(contact, source=public_only)
        assert "source" in err.value.fields
    with pytest.raises(NotFound, match="Kontakt"):
        w.grant(999_999)


def test_viewers_may_read_but_not_record(w: World, factory: sessionmaker[Session]) -> None:
    viewer = make_user(factory, Role.VIEWER).actor()
    contact = w.contact()
    consent_matrix(w.uow(viewer), contact)
    with pytest.raises(PermissionDenied):
        grant_consent(w.uow(viewer), contact_id=contact, channel="email", purpose="newsletter", source="sales", evidence="x")


# The ledger ----------------------------------------------------------------------------------------


def test_state_and_history_come_from_the_ledger_with_proof_and_events(w: World) -> None:
    contact = w.contact(email="proof@example.de")
    w.grant(contact, source="event", evidence="Messe-Formular Nr. 17", ip="203.0.113.9", user_agent="Tablet")
    w.clock.advance(hours=1)
    revoke_consent(w.uow(), contact_id=contact, channel="email", purpose="newsletter", source="unsubscribe", reason="Abmeldelink")

    history = consent_history(w.uow(), ListQuery(filters={"contact_id": contact}))
    assert history.total == 2
    latest, first = history.rows.iloc[0], history.rows.iloc[1]
    assert (latest["action"], latest["source"], latest["reason"]) == ("revoked", "unsubscribe", "Abmeldelink")
    assert (first["action"], first["evidence"], first["ip"], first["address"]) == (
        "granted", "Messe-Formular Nr. 17", "203.0.113.9", "proof@example.de",
    )
    assert first["text_version"] == 1 and len(first["text_sha256"]) == 64
    cell = next(c for c in consent_matrix(w.uow(), contact) if c.channel == "email" and c.purpose_key == "newsletter")
    assert cell.status == "revoked"
    with w.factory() as session:
        names = session.scalars(select(OutboxEvent.name).where(OutboxEvent.entity_id == str(contact))).all()
    assert {"crm.consent.granted", "crm.consent.revoked"} <= set(names)


def test_personal_proof_is_encrypted_and_shredding_keeps_the_chain_intact(w: World) -> None:
    contact = w.contact(email="geheim@example.de")
    w.grant(contact, evidence="Notiz mit Namen", ip="198.51.100.7")
    with w.factory() as session:
        raw = session.scalars(select(ConsentEntry).where(ConsentEntry.contact_id == contact)).one()
        assert raw.address is not None and "geheim" not in raw.address and raw.address.startswith("enc:")
        shred(session, contact_subject(contact), w.clock())
        session.commit()
    row = consent_history(w.uow(), ListQuery(filters={"contact_id": contact})).rows.iloc[0]
    assert (row["address"], row["evidence"], row["ip"]) == ("[gelöscht]", "[gelöscht]", "[gelöscht]")
    with w.factory() as session:
        assert verify_ledger(session).ok


def test_the_database_rejects_changes_to_the_ledger(w: World, connection: Connection) -> None:
    contact = w.contact()
    w.grant(contact)
    for statement in ("UPDATE consent_entries SET status = 'granted'", "DELETE FROM consent_entries"):
        savepoint = connection.begin_nested()
        with pytest.raises(Exception, match="append-only"):
            connection.execute(text(statement))
        savepoint.rollback()


def test_verify_names_the_tampered_entry(w: World, connection: Connection) -> None:
    contact = w.contact()
    first = w.grant(contact)
    w.grant(contact, purpose="umfragen")
    w.grant(contact, purpose="veranstaltungen")
    with w.factory() as session:
        assert verify_ledger(session).ok
    _tamper(connection, first + 1)
    with w.factory() as session:
        result = verify_ledger(session)
    assert not result.ok and result.first_bad_id == first + 1
    assert "verändert" in result.describe()


def _tamper(connection: Connection, entry_id: int) -> None:
    """What an attacker with database access does: drop the guard, change a row, restore the guard."""
    from db.append_only import append_only_ddl, drop_append_only_ddl

    dialect = connection.dialect.name
    for statement in drop_append_only_ddl("consent_entries", dialect):
        connection.execute(text(statement))
    connection.execute(text("UPDATE consent_entries SET source = 'webform' WHERE id = :id"), {"id": entry_id})
    for statement in append_only_ddl("consent_entries", dialect):
        connection.execute(text(statement))


# Texts ---------------------------------------------------------------------------------------------


def test_texts_are_versioned_and_never_edited(w: World) -> None:
    versions = text_versions(w.uow(), "newsletter")
    german = next(v for v in versions if v.language == "de")
    with pytest.raises(Conflict, match="unverändert"):
        create_text_version(w.uow(), "newsletter", {"language": "de", "title": german.title, "body": german.body})
    new = create_text_version(
        w.uow(), "newsletter", {"language": "de", "title": german.title, "body": german.body + " Neu: monatlich."}
    )
    assert new.version == 2 and new.sha256 != german.sha256
    contact = w.contact()
    w.grant(contact)
    entry = consent_history(w.uow(), ListQuery(filters={"contact_id": contact})).rows.iloc[0]
    assert entry["text_version"] == 2 and entry["text_sha256"] == new.sha256
    assert [v.version for v in text_versions(w.uow(), "newsletter") if v.language == "de"] == [2, 1]


# Merge ---------------------------------------------------------------------------------------------


def test_a_merge_carries_the_newer_consent_state_and_undo_restores_it(w: World) -> None:
    from core.merge import merge, undo_merge

    survivor = w.contact(email="eva@example.de")
    duplicate = w.contact(email="eva.k@example.de")
    w.grant(survivor)  # newsletter granted on the survivor …
    w.clock.advance(days=1)
    w.grant(duplicate, purpose="umfragen")
    w.grant(duplicate)
    w.clock.advance(days=1)
    revoke_consent(w.uow(), contact_id=duplicate, channel="email", purpose="newsletter", source="unsubscribe")
    # … but later withdrawn on the duplicate: the withdrawal must protect the merged person.
    view = merge(
        w.uow(), entity="contact", survivor_id=survivor, merged_id=duplicate, field_choices={}, reason="Dublette"
    )
    assert w.reason(survivor) == "revoked"
    assert w.reason(survivor, purpose="umfragen") == "allowed"
    carried = consent_history(w.uow(), ListQuery(filters={"contact_id": survivor, "source": "merge"})).rows
    assert len(carried) == 2 and all(f"#{duplicate}" in e for e in carried["evidence"])

    w.clock.advance(hours=1)
    undo_merge(w.uow(), view.id, reason="doch zwei Personen")
    assert w.reason(survivor) == "allowed"
    assert w.reason(survivor, purpose="umfragen") == "revoked"
    assert w.reason(duplicate) == "revoked" and w.reason(duplicate, purpose="umfragen") == "allowed"
    with w.factory() as session:
        assert verify_ledger(session).ok


def test_digests_of_older_contacts_are_filled_on_upgrade(w: World, connection: Connection) -> None:
    from core.digests import email_digest, refresh_contact_digests

    contact = w.contact(email="alt@example.de")
    connection.execute(text("UPDATE contacts SET email_digest = NULL, mobile_digest = NULL WHERE id = :id"), {"id": contact})
    with w.factory() as session:
        assert refresh_contact_digests(session) >= 1
        session.commit()
        digest, version = session.execute(text("SELECT email_digest, version FROM contacts WHERE id = :id"), {"id": contact}).one()
    assert digest == email_digest("alt@example.de") and version == 1
