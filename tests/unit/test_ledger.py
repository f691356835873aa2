"""The hash chain walk names the first entry that does not fit."""

from __future__ import annotations

from dataclasses import replace

from core.ledger import GENESIS_HASH, ChainEntry, chain_hash, verify_entries
from db.models import LedgerHead


def build(n: int) -> list[ChainEntry]:
    entries, prev = [], GENESIS_HASH
    for i in range(1, n + 1):
        payload = {"id": i, "field": "city", "new_value": f"Stadt {i}"}
        digest = chain_hash(prev, payload)
        entries.append(ChainEntry(i, payload, prev, digest))
        prev = digest
    return entries


def head_of(entries: list[ChainEntry]) -> LedgerHead:
    return LedgerHead(name="t", last_id=entries[-1].id, last_hash=entries[-1].hash, entries=len(entries))


def test_intact_chain() -> None:
    chain = build(5)
    result = verify_entries(chain, head_of(chain))
    assert result.ok and result.checked == 5
    assert "5 Einträge" in result.describe()


def test_canonical_json_is_order_independent() -> None:
    assert chain_hash("a", {"x": 1, "y": "ä"}) == chain_hash("a", {"y": "ä", "x": 1})


def test_changed_payload_is_named() -> None:
    chain = build(5)
    head = head_of(chain)
    chain[2] = replace(chain[2], payload={**chain[2].payload, "new_value": "Hamburg"})
    result = verify_entries(chain, head)
    assert (result.ok, result.first_bad_id) == (False, 3)


def test_rehashed_change_breaks_the_link_to_the_next_entry() -> None:
    chain = build(5)
    head = head_of(chain)
    forged = {**chain[2].payload, "new_value": "Hamburg"}
    chain[2] = replace(chain[2], payload=forged, hash=chain_hash(chain[2].prev_hash, forged))
    result = verify_entries(chain, head)
    assert (result.ok, result.first_bad_id) == (False, 4)


def test_gap_swap_and_tail() -> None:
    chain = build(6)
    head = head_of(chain)
    assert verify_entries(chain[:3] + chain[4:], head).first_bad_id == 4
    assert verify_entries([chain[0], chain[2], chain[1], *chain[3:]], head).first_bad_id == 2
    assert verify_entries(chain[:4], head).first_bad_id == 5
    assert verify_entries(chain, None).first_bad_id == 1
