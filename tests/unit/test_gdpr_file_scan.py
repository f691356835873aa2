"""The raw file search behind the SQLite erasure check: finds every form of a probe, also across the boundary
between the slices searched in parallel, and nothing that is not there."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.gdpr import verification
from core.gdpr.verification import ProbeValue, _find_in_file


@pytest.fixture(autouse=True)
def small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verification, "SLICE_MIN_BYTES", 1_000)
    monkeypatch.setattr(verification.os, "cpu_count", lambda: 4)


def test_every_form_is_found_even_across_slice_boundaries(tmp_path: Path) -> None:
    data = bytearray(b"\x00" * 10_000)
    name = "Jürgen Zirbelhuber".encode()
    data[2_495 : 2_495 + len(name)] = name  # straddles the first boundary (10,000 / 4)
    escaped = b"j\\u00fcrgen zirbelhuber"
    data[7_000 : 7_000 + len(escaped)] = escaped  # JSON-escaped, lower case
    path = tmp_path / "db.sqlite"
    path.write_bytes(bytes(data))

    found = _find_in_file(str(path), [ProbeValue("Name", "Jürgen Zirbelhuber"), ProbeValue("E-Mail", "nicht@da.example")])

    assert sorted(found) == sorted([name, escaped])


def test_a_clean_file_gives_no_hits(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    path.write_bytes(b"\x00" * 5_000 + b"Anna Schmidt" + b"\x00" * 5_000)
    assert _find_in_file(str(path), [ProbeValue("Name", "Jürgen Zirbelhuber")]) == []
