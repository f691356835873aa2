"""The process-wide session factory for entry points (pages, API, CLI, jobs)."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy.orm import Session, sessionmaker

from core.settings import get_settings
from db.session import create_db_engine, make_session_factory


@lru_cache(maxsize=4)
def session_factory(url: str | None = None) -> sessionmaker[Session]:
    return make_session_factory(create_db_engine(url or get_settings().database_url))
