"""Per-field scores, the combined score and blocking (which pairs get compared at all)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.dedupe.blocking import account_block_keys, candidate_pairs, contact_block_keys
from core.dedupe.scoring import (
    account_features,
    contact_features,
    date_similarity,
    score_accounts,
    score_contacts,
)

BASE: dict[str, Any] = {
    "id": 1,
    "first_name": "Johannes",
    "last_name": "Müller",
    "email": "j.mueller@kraemer-bau.de",
    "phone": "+49 221 1234560",
    "birth_date": dt.date(1980, 3, 4),
    "postcode": "50667",
    "city": "Köln",
    "account_id": 7,
}


def contact(**changes: Any) -> Any:
    return contact_features(BASE | {"id": 2} | changes)


def fields(pair: Any) -> dict[str, Any]:
    return {f.field: f for f in pair.fields}


def test_swapped_day_and_month_nearly_agree() -> None:
    assert date_similarity(dt.date(1980, 3, 4), dt.date(1980, 4, 3)) == (0.85, "Tag/Monat vertauscht")
    assert date_similarity(dt.date(1980, 3, 4), dt.date(1981, 3, 4))[0] == 0.75
    assert date_similarity(dt.date(1980, 3, 14), dt.date(1980, 3, 41 - 30))[0] == 0.75
    assert date_similarity(dt.date(1980, 3, 4), dt.date(1975, 11, 20))[0] == 0.0


def test_swapped_birth_date_still_counts_as_evidence() -> None:
    same = score_contacts(contact_features(BASE), contact(birth_date=dt.date(1980, 3, 4)))
    swapped = score_contacts(contact_features(BASE), contact(birth_date=dt.date(1980, 4, 3)))
    other = score_contacts(contact_features(BASE), contact(birth_date=dt.date(1962, 11, 23)))
    assert fields(swapped)["birth_date"].note == "Tag/Monat vertauscht"
    assert same.evidence > swapped.evidence > 0 > fields(other)["birth_date"].weight
    assert swapped.score > 0.99


def test_typo_umlaut_and_nickname_variant_scores_high() -> None:
    pair = score_contacts(
        contact_features(BASE), contact(first_name="Hans", last_name="Mueler", email="J.Mueller@Kraemer-Bau.de")
    )
    by_field = fields(pair)
    assert by_field["first_name"].note == "Kurzform"
    assert 0.9 < by_field["last_name"].similarity < 1.0
    assert by_field["email"].similarity == 1.0
    assert pair.score > 0.99


def test_swapped_first_and_last_name_are_recognised() -> None:
    pair = score_contacts(contact_features(BASE), contact(first_name="Müller", last_name="Johannes"))
    assert fields(pair)["last_name"].note == "Vor-/Nachname vertauscht"
    assert fields(pair)["last_name"].similarity == 1.0


def test_colleague_with_same_last_name_is_no_duplicate() -> None:
    colleague = contact(first_name="Anna", email="a.mueller@kraemer-bau.de", phone="+49 221 1234570", birth_date=None)
    pair = score_contacts(contact_features(BASE), colleague)
    assert fields(pair)["first_name"].weight < 0
    assert pair.score < 0.2


def test_missing_fields_count_nothing() -> None:
    pair = score_contacts(contact_features(BASE), contact(email=None, phone=None, birth_date=None))
    assert fields(pair)["email"].similarity is None and fields(pair)["email"].weight == 0.0
    assert pair.details()["fields"]["email"] == {"similarity": None, "weight": 0.0, "note": ""}


def test_account_legal_form_and_street_abbreviation_do_not_matter() -> None:
    a = account_features(
        {
            "id": 1,
            "name": "Krämer Bau GmbH & Co. KG",
            "street": "Hauptstraße 12a",
            "postcode": "50667",
            "city": "Köln",
            "phone": "+49 221 123450",
            "website": "https://www.kraemer-bau.de",
        }
    )
    b = account_features(
        {
            "id": 2,
            "name": "Kraemer Bau",
            "street": "Hauptstr. 12 a",
            "postcode": "50667",
            "city": "Koeln",
            "phone": "0221 123450",
            "email": "info@kraemer-bau.de",
        }
    )
    pair = score_accounts(a, b)
    assert {f.field: f.similarity for f in pair.fields}["company_name"] == 1.0
    assert pair.score > 0.99
    other = account_features({"id": 3, "name": "Schulte Logistik GmbH", "postcode": "50667", "city": "Köln"})
    assert score_accounts(a, other).score < 0.05


def test_blocking_finds_a_surname_typo_through_email_and_phone() -> None:
    original = contact_features(BASE)
    by_email = contact(id=2, last_name="Mülder", postcode="80331", phone=None, birth_date=None)
    by_phone = contact(id=3, last_name="Mülder", postcode="80331", email=None, birth_date=None)
    stranger = contact(
        id=4, first_name="Petra", last_name="Nowak", email=None, phone=None, postcode="10115", birth_date=None
    )
    records = [original, by_email, by_phone, stranger]
    name_keys = {k for k in contact_block_keys(by_phone) if k[0] == "n"}
    assert name_keys and set(contact_block_keys(original)).isdisjoint(name_keys)
    blocking = candidate_pairs(records, contact_block_keys)
    pairs = {tuple(p) for p in zip(*blocking.positions(len(records)))}
    assert (0, 1) in pairs and (0, 2) in pairs
    assert not any(3 in pair for pair in pairs)


def test_blocking_skips_oversized_blocks() -> None:
    records = [contact(id=i, email=None, phone=None, birth_date=None) for i in range(1, 8)]
    assert len(candidate_pairs(records, contact_block_keys).pairs) == 21
    limited = candidate_pairs(records, contact_block_keys, max_block=5)
    assert len(limited.pairs) == 0 and limited.skipped_blocks > 0


def test_account_blocking_uses_phone_when_the_name_changed() -> None:
    a = account_features({"id": 1, "name": "Krämer Bau GmbH", "phone": "0221 123450", "postcode": "50667"})
    b = account_features({"id": 2, "name": "Kremer Hochbau AG", "phone": "+49 221 123450", "postcode": "80331"})
    assert len(candidate_pairs([a, b], account_block_keys).pairs) == 1


MOVED_FROM: dict[str, Any] = {
    "id": 1,
    "name": "Meister Ingenieurbau GmbH",
    "legal_form": "GmbH",
    "street": "Hauptstraße 12",
    "postcode": "12578",
    "city": "Berlin",
    "phone": "+49 30 1234560",
    "website": "https://www.meister-ingenieurbau.de",
    "email": "office@meister-ingenieurbau.de",
}


def test_moved_company_with_its_own_domain_is_a_duplicate() -> None:
    moved = MOVED_FROM | {
        "id": 2,
        "street": "Lindenallee 7",
        "postcode": "80331",
        "city": "München",
        "phone": "+49 89 7654320",
    }
    pair = score_accounts(account_features(MOVED_FROM), account_features(moved))
    by_field = fields(pair)
    assert by_field["domain"].weight > 0 and by_field["domain"].note == "eigene Domain gleich"
    assert by_field["phone"].weight == 0.0 and by_field["phone"].note == "anderer Ort"
    assert by_field["street"].weight == 0.0 and by_field["street"].note == "anderer Ort"
    assert by_field["postcode"].weight < 0 and by_field["city"].weight < 0
    assert pair.score > 0.8
    typo = score_accounts(account_features(MOVED_FROM), account_features(moved | {"name": "Meister Ingenieurbua"}))
    assert typo.score > 0.75


def test_namesake_in_another_town_with_another_domain_is_no_duplicate() -> None:
    namesake = MOVED_FROM | {
        "id": 2,
        "street": "Lindenallee 7",
        "postcode": "80331",
        "city": "München",
        "phone": "+49 89 7654320",
        "website": "https://www.meister-ingenieurbau-muenchen.de",
        "email": "info@meister-ingenieurbau-muenchen.de",
    }
    pair = score_accounts(account_features(MOVED_FROM), account_features(namesake))
    assert fields(pair)["domain"].weight < 0
    assert pair.score < 0.1
    without_domain = {k: v for k, v in namesake.items() if k not in ("website", "email")}
    assert score_accounts(account_features(MOVED_FROM), account_features(without_domain)).score < 0.2


def test_street_and_phone_still_disagree_in_the_same_town() -> None:
    neighbour = MOVED_FROM | {"id": 2, "street": "Lindenallee 7", "postcode": "12579", "phone": "+49 30 7654320"}
    by_field = fields(score_accounts(account_features(MOVED_FROM), account_features(neighbour)))
    assert by_field["street"].weight < 0 and by_field["phone"].weight < 0
    no_city = {k: v for k, v in neighbour.items() if k != "city"} | {"postcode": "80331"}
    by_field = fields(score_accounts(account_features(MOVED_FROM), account_features(no_city)))
    assert by_field["street"].weight < 0 and by_field["phone"].weight < 0, "another town needs both sides' city"
