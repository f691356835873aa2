"""Locale formatting (German default) and settings from the environment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from core.formatting import fmt_date, fmt_datetime, fmt_money, fmt_number
from core.settings import Settings
from db.session import parallel_workers


def test_german_formats() -> None:
    assert fmt_money(Decimal("1234.56")) == "1.234,56\xa0€"
    assert fmt_number(1234567) == "1.234.567"
    assert fmt_number(0.5, digits=1) == "0,5"
    assert fmt_date(dt.date(2026, 11, 25)) == "25.11.2026"
    # 23:30 UTC is already the next day in Berlin.
    late = dt.datetime(2026, 11, 25, 23, 30, tzinfo=dt.timezone.utc)
    assert fmt_date(late) == "26.11.2026"
    assert fmt_datetime(late) == "26.11.2026 00:30"
    assert fmt_money(None) == fmt_date(None) == fmt_datetime(None) == fmt_number(None) == ""


def test_english_formats() -> None:
    assert fmt_money(1234.5, "en") == "€1,234.50"
    assert fmt_date(dt.date(2026, 11, 25), "en") == "25 Nov 2026"


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", "postgresql://root@127.0.0.1/crm")
    monkeypatch.setenv("CRM_SESSION_TIMEOUT_MINUTES", "15")
    settings = Settings(_env_file=None, secret_key_file=tmp_path / "secret.key")
    assert settings.database_url.startswith("postgresql://")
    assert settings.session_timeout_minutes == 15


def test_secret_key_is_generated_once_into_the_data_dir(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret.key"
    settings = Settings(_env_file=None, secret_key=None, secret_key_file=path)
    first = settings.resolved_secret_key()
    assert len(first) >= 48 and path.read_text() == first
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert Settings(_env_file=None, secret_key=None, secret_key_file=path).resolved_secret_key() == first
    assert Settings(_env_file=None, secret_key="gesetzt", secret_key_file=path).resolved_secret_key() == "gesetzt"


def test_parallel_workers_follow_pgtune_half_the_cores_at_most_four() -> None:
    """One core: no parallel plans; two cores: the leader and one worker, not three processes on two cores."""
    assert [parallel_workers(cores) for cores in (1, 2, 3, 4, 8, 16, 64)] == [0, 1, 1, 2, 4, 4, 4]
