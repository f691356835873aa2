"""Blocking: which pairs a scan compares. Several keys per record, so one typo does not hide a pair.

Contacts: Kölner Phonetik of the last name or first name + postcode (also catches swapped names),
canonical e-mail, each E.164 phone, and the birth date (day/month order ignored) with the
last-name or first-name code. (A key on the name codes alone was measured and dropped: at a
million contacts it made 7.9 million mostly namesake pairs, and a pair whose only agreement is
the name stays below the threshold anyway.)
Accounts: first significant name word's code + postcode, the code of the whole name, phone,
company web/e-mail domain, street + house number + postcode.

Keys are hashed to 64-bit integers and grouped by sorting (numpy), never as a dict of lists: a
million records with six keys each stay a few dozen megabytes. Blocks larger than `max_block`
say little (a very common name in a big city) and are skipped with a logged warning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from core.dedupe.phonetics import koelner_phonetik
from core.dedupe.scoring import AccountFeatures, ContactFeatures

log = logging.getLogger(__name__)
MAX_BLOCK = 500
F = TypeVar("F")


def contact_block_keys(record: ContactFeatures) -> Iterator[Hashable]:
    first_code = koelner_phonetik(record.first) if record.first else ""
    last_code = record.last_code
    if record.postcode:
        if last_code:
            yield ("n", last_code, record.postcode)
        if first_code and first_code != last_code:
            yield ("n", first_code, record.postcode)
    if record.email:
        yield ("e", record.email)
    for phone in record.phones:
        yield ("t", phone)
    if record.birth_date:
        date = record.birth_date
        day_month = (min(date.day, date.month), max(date.day, date.month))
        if last_code:
            yield ("b", date.year, day_month, last_code)
        if first_code:
            yield ("bf", date.year, day_month, first_code)


def account_block_keys(record: AccountFeatures) -> Iterator[Hashable]:
    if record.name_code and record.postcode:
        yield ("n", record.name_code, record.postcode)
    whole = koelner_phonetik(record.name)
    if whole:
        yield ("c", whole)
    if record.phone:
        yield ("t", record.phone)
    for domain in record.domains:
        yield ("d", domain)
    if record.street and record.house_number and record.postcode:
        yield ("s", record.street, record.house_number, record.postcode)


@dataclass(frozen=True)
class Blocking:
    pairs: np.ndarray  # int64 codes i * n + j (i < j, positions in the record list), unique and sorted
    blocks: int
    skipped_blocks: int
    skipped_records: int

    def positions(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        return self.pairs // n, self.pairs % n


def candidate_pairs(
    records: Sequence[F], keys_of: Callable[[F], Iterable[Hashable]], *, max_block: int = MAX_BLOCK
) -> Blocking:
    """All pairs of records that share at least one blocking key (in no block larger than `max_block`)."""
    n = len(records)
    hashes: list[int] = []
    owners: list[int] = []
    for position, record in enumerate(records):
        for key in keys_of(record):
            hashes.append(hash(key))
            owners.append(position)
    key_array = np.fromiter(hashes, dtype=np.int64, count=len(hashes))
    owner_array = np.fromiter(owners, dtype=np.int64, count=len(owners))
    del hashes, owners
    order = np.argsort(key_array, kind="stable")
    key_array, owner_array = key_array[order], owner_array[order]
    starts = np.flatnonzero(np.r_[True, key_array[1:] != key_array[:-1]])
    sizes = np.diff(np.r_[starts, len(key_array)])
    chunks: list[np.ndarray] = []
    skipped = sizes > max_block
    for size in np.unique(sizes[(sizes >= 2) & ~skipped]):
        chunks.append(_pairs_of_blocks(owner_array, starts[sizes == size], int(size), n))
    if skipped.any():
        log.warning(
            "Dublettenprüfung: %d Blöcke mit mehr als %d Datensätzen übersprungen (%d Einträge)",
            int(skipped.sum()),
            max_block,
            int(sizes[skipped].sum()),
        )
    pairs = np.unique(np.concatenate(chunks)) if chunks else np.empty(0, dtype=np.int64)
    return Blocking(pairs, int((sizes >= 2).sum()), int(skipped.sum()), int(sizes[skipped].sum()))


def _pairs_of_blocks(owners: np.ndarray, starts: np.ndarray, size: int, n: int) -> np.ndarray:
    """Pair codes of all blocks of one size, vectorised: members is a (blocks × size) matrix."""
    members = owners[starts[:, None] + np.arange(size)[None, :]]
    left, right = np.triu_indices(size, k=1)
    a, b = members[:, left].ravel(), members[:, right].ravel()
    low, high = np.minimum(a, b), np.maximum(a, b)
    distinct = low != high
    return low[distinct] * n + high[distinct]
