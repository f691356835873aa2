"""The process-wide session factory for entry points (pages, API, CLI, jobs)."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy.orm import Session, sessionmaker

from core.settings import get_settings
from db.session import create_db_engine, make_session_factory


@lru_cache(maxsize=4)
def session_factory(url: str | None = None) -> sessionmaker[Session]:
    settings = get_settings()
    engine = create_db_engine(url or settings.database_url, pool_size=settings.db_pool_size, max_overflow=8)
    return make_session_factory(engine)
