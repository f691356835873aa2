"""Demo addresses: every demo company gets its Besuchsadresse (its flat Hauptanschrift as a typed
address), many a Rechnungs- or Lieferadresse, some an earlier, retired Besuchsadresse; contacts
without a company get their Postanschrift. Bulk-loaded (PostgreSQL: COPY) in the demo's bulk
transaction; at the large size about 330,000 rows (contacts of companies use the company's address).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from core.demo import BulkImport, DemoRun, Phase, bulk_insert, past_moment, register_demo_step
from core.demo_vocabulary import CITIES
from db.models import Account, Address, Contact

BILLING_SHARE = 0.35
DELIVERY_SHARE = 0.15
MOVED_SHARE = 0.10
PO_BOX_SHARE = 0.5
CITY_RANGES = {city.name: (city.postcode_from, city.postcode_to) for city in CITIES}


def split_street(line: str | None) -> tuple[str | None, str | None]:
    """ "Hauptstraße 12a" → ("Hauptstraße", "12a"); without a trailing number the line stays whole."""
    if not line:
        return None, None
    street, _, number = line.rpartition(" ")
    return (street, number) if street and number[:1].isdigit() else (line, None)


def _row(
    *,
    account_id: int | None = None,
    contact_id: int | None = None,
    type: str,
    street: str | None,
    house_number: str | None,
    postcode: str | None,
    city: str | None,
    is_primary: bool,
    valid_from: dt.date,
    valid_until: dt.date | None = None,
    created_at: dt.datetime,
) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "contact_id": contact_id,
        "type": type,
        "street": street,
        "house_number": house_number,
        "address_line2": None,
        "postcode": postcode,
        "city": city,
        "state": None,
        "country": "DE",
        "is_primary": is_primary,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "version": 1,
        "created_at": created_at,
        "updated_at": created_at,
    }


def _postcode_near(rng: random.Random, city: str | None, postcode: str | None) -> str | None:
    low, high = CITY_RANGES.get(city or "", (0, 0))
    return f"{rng.randint(low, high):05d}" if high else postcode


def account_address_rows(run: DemoRun, rng: random.Random) -> Iterator[dict[str, Any]]:
    ids = run.created.get("account", [])
    if not ids:
        return
    stmt = (
        select(Account.id, Account.street, Account.postcode, Account.city, Account.created_at)
        .where(Account.id.between(ids[0], ids[-1]), Account.external_id.like("ACC-%"))
        .order_by(Account.id)
    )
    streets = run.pools.streets
    for account in run.session.execute(stmt).all():
        street, number = split_street(account.street)
        since = account.created_at.date()
        common = {"account_id": account.id, "created_at": account.created_at}
        if rng.random() < MOVED_SHARE:
            moved = past_moment(rng, account.created_at, run.reference).date()
            if moved > since:
                yield _row(
                    **common,
                    type="besuch",
                    street=rng.choice(streets),
                    house_number=str(rng.randint(1, 180)),
                    postcode=_postcode_near(rng, account.city, account.postcode),
                    city=account.city,
                    is_primary=False,
                    valid_from=since,
                    valid_until=moved,
                )
                since = moved
        yield _row(
            **common,
            type="besuch",
            street=street,
            house_number=number,
            postcode=account.postcode,
            city=account.city,
            is_primary=True,
            valid_from=since,
        )
        if rng.random() < BILLING_SHARE:
            po_box = rng.random() < PO_BOX_SHARE
            yield _row(
                **common,
                type="rechnung",
                street="Postfach" if po_box else rng.choice(streets),
                house_number=f"{rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"
                if po_box
                else str(rng.randint(1, 180)),
                postcode=_postcode_near(rng, account.city, account.postcode),
                city=account.city,
                is_primary=True,
                valid_from=account.created_at.date(),
            )
        if rng.random() < DELIVERY_SHARE:
            yield _row(
                **common,
                type="liefer",
                street=rng.choice(("Industriestraße", "Gewerbepark", "Am Güterbahnhof", "Hafenstraße")),
                house_number=str(rng.randint(1, 80)),
                postcode=_postcode_near(rng, account.city, account.postcode),
                city=account.city,
                is_primary=True,
                valid_from=account.created_at.date(),
            )


def contact_address_rows(run: DemoRun, rng: random.Random) -> Iterator[dict[str, Any]]:
    """Contacts without a company: their private Postanschrift (matches their flat postcode and city)."""
    ids = run.created.get("contact", [])
    if not ids:
        return
    stmt = (
        select(Contact.id, Contact.postcode, Contact.city, Contact.created_at)
        .where(Contact.id.between(ids[0], ids[-1]), Contact.account_id.is_(None))
        .order_by(Contact.id)
    )
    for contact in run.session.execute(stmt).all():
        yield _row(
            contact_id=contact.id,
            type="post",
            street=rng.choice(run.pools.streets),
            house_number=str(rng.randint(1, 120)),
            postcode=contact.postcode,
            city=contact.city,
            is_primary=True,
            valid_from=contact.created_at.date(),
            created_at=contact.created_at,
        )


@register_demo_step("addresses", Phase.BULK)
def load_addresses(run: DemoRun) -> None:
    session = run.session
    rng = run.rng("addresses")
    count = bulk_insert(session, Address, account_address_rows(run, rng))
    count += bulk_insert(session, Address, contact_address_rows(run, rng))
    run.counts["Adressen"] = count
    if count:
        # Named by the range of records they belong to: database ids differ between runs, these do not.
        first, last = run.bulk_imports[0].first_external_id, run.bulk_imports[-1].last_external_id
        run.bulk_imports.append(BulkImport("address", "addresses", "Adressen", count, first, last))
