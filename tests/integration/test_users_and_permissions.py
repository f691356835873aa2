"""Local users, login with lockout, the first admin, and permissions enforced in core/."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.accounts import create_account, update_account
from core.apikeys import authenticate_api_key, create_api_key, revoke_api_key
from core.contacts import delete_contact, update_contact
from core.errors import AuthenticationFailed, Conflict, PermissionDenied, ValidationFailed
from core.permissions import SYSTEM, Role
from core.uow import UnitOfWork
from core.users import authenticate, create_user, ensure_admin, list_users, set_password, update_user
from db.models import User
from tests.conftest import FrozenClock
from tests.factories.crm import make_account, make_contact
from tests.factories.identity import PASSWORD, make_user


def test_password_is_stored_as_argon2_hash(factory: sessionmaker[Session]) -> None:
    user = make_user(factory)
    with factory() as s:
        stored = s.get(User, user.id)
        assert stored is not None and stored.password_hash.startswith("$argon2id$")
        assert PASSWORD not in stored.password_hash


def test_login_succeeds_fails_and_locks(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    user = make_user(factory, Role.SALES_REP, username="k.schmidt")
    assert authenticate(factory, "K.Schmidt ", PASSWORD, clock=clock).id == user.id
    for _ in range(3):
        with pytest.raises(AuthenticationFailed, match="falsch"):
            authenticate(factory, "k.schmidt", "falsch-falsch", clock=clock, max_failed=3)
    with pytest.raises(AuthenticationFailed, match="gesperrt"):
        authenticate(factory, "k.schmidt", PASSWORD, clock=clock, max_failed=3)
    admin = make_user(factory).actor()
    set_password(UnitOfWork(factory, actor=admin), user.id, "ein-neues-passwort")
    assert authenticate(factory, "k.schmidt", "ein-neues-passwort", clock=clock, max_failed=3).id == user.id


def test_unknown_and_inactive_users_cannot_log_in(factory: sessionmaker[Session]) -> None:
    with pytest.raises(AuthenticationFailed, match="falsch"):
        authenticate(factory, "niemand", PASSWORD)
    user = make_user(factory, Role.VIEWER)
    admin = make_user(factory)
    update_user(UnitOfWork(factory, actor=admin.actor()), user.id, {"is_active": False}, expected_version=user.version)
    with pytest.raises(AuthenticationFailed, match="deaktiviert"):
        authenticate(factory, user.username, PASSWORD)


def test_user_validation(factory: sessionmaker[Session]) -> None:
    with pytest.raises(ValidationFailed, match="mindestens 10 Zeichen"):
        create_user(UnitOfWork(factory, actor=SYSTEM), {"username": "kurz", "display_name": "K", "role": "admin"}, password="123")
    with pytest.raises(ValidationFailed) as err:
        create_user(UnitOfWork(factory, actor=SYSTEM), {"username": "x y", "display_name": "Xy", "role": "boss"}, password=PASSWORD)
    assert set(err.value.fields) == {"username", "role"}
    make_user(factory, username="doppelt")
    with pytest.raises(Conflict, match="schon vergeben"):
        make_user(factory, username="doppelt")


def test_admin_cannot_lock_themselves_out(factory: sessionmaker[Session]) -> None:
    admin = make_user(factory)
    with pytest.raises(Conflict):
        update_user(UnitOfWork(factory, actor=admin.actor()), admin.id, {"role": "viewer"}, expected_version=1)


def test_first_start_creates_admin_once(factory: sessionmaker[Session]) -> None:
    generated = ensure_admin(factory, password=None)
    assert generated and len(generated) >= 12
    assert authenticate(factory, "admin", generated).role == Role.ADMIN
    assert ensure_admin(factory, password=None) is None


def test_first_admin_takes_configured_password(factory: sessionmaker[Session]) -> None:
    assert ensure_admin(factory, password="aus-der-umgebung-1") is None
    assert authenticate(factory, "admin", "aus-der-umgebung-1").username == "admin"


def test_sales_rep_edits_only_own_records(factory: sessionmaker[Session]) -> None:
    rep = make_user(factory, Role.SALES_REP).actor()
    other = make_user(factory, Role.SALES_REP).actor()
    manager = make_user(factory, Role.SALES_MANAGER).actor()
    own = create_account(UnitOfWork(factory, actor=rep), {"name": "Eigene GmbH"})
    assert own.owner_id == rep.user_id
    update_account(UnitOfWork(factory, actor=rep), own.id, {"city": "Ulm"}, expected_version=1)

    foreign = make_account(factory, manager, owner_id=other.user_id)
    with pytest.raises(PermissionDenied, match="nur eigene"):
        update_account(UnitOfWork(factory, actor=rep), foreign.id, {"city": "Ulm"}, expected_version=1)
    with pytest.raises(PermissionDenied, match="nur eigene"):
        create_account(UnitOfWork(factory, actor=rep), {"name": "Fremde AG", "owner_id": other.user_id})
    with pytest.raises(PermissionDenied, match="nur eigene"):
        update_account(UnitOfWork(factory, actor=rep), own.id, {"owner_id": other.user_id}, expected_version=2)

    contact = make_contact(factory, manager, owner_id=other.user_id)
    with pytest.raises(PermissionDenied):
        update_contact(UnitOfWork(factory, actor=rep), contact.id, {"city": "Ulm"}, expected_version=1)
    with pytest.raises(PermissionDenied, match="Kontakte löschen"):
        delete_contact(UnitOfWork(factory, actor=rep), contact.id, expected_version=1)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.COMPLIANCE])
def test_read_only_roles_cannot_write(factory: sessionmaker[Session], role: Role) -> None:
    actor = make_user(factory, role).actor()
    with pytest.raises(PermissionDenied, match="Firmen anlegen"):
        create_account(UnitOfWork(factory, actor=actor), {"name": "Nur Lesen GmbH"})
    with pytest.raises(PermissionDenied, match="Benutzer verwalten"):
        list_users(UnitOfWork(factory, actor=actor))


def test_api_key_scopes_and_revocation(factory: sessionmaker[Session], clock: FrozenClock) -> None:
    created = create_api_key(UnitOfWork(factory, actor=SYSTEM), name="ERP", scopes="accounts.read,accounts.write")
    with factory() as s:
        actor = authenticate_api_key(s, created.key, now=clock())
    assert actor.can("accounts.write") and not actor.can("contacts.read")
    with pytest.raises(PermissionDenied):
        make_contact(factory, actor)
    with factory() as s, pytest.raises(AuthenticationFailed):
        authenticate_api_key(s, created.key[:-2] + "xx", now=clock())
    revoke_api_key(UnitOfWork(factory, actor=SYSTEM), created.id)
    with factory() as s, pytest.raises(AuthenticationFailed, match="widerrufen"):
        authenticate_api_key(s, created.key, now=clock())
    with pytest.raises(ValidationFailed, match="unbekannt"):
        create_api_key(UnitOfWork(factory, actor=SYSTEM), name="Shop", scopes="accounts.readall")
