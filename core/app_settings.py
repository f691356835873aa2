"""Admin settings kept in `app_settings` (key → JSON value): one place that writes them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.uow import UnitOfWork
from db.models import AppSetting


def read_setting(session: Session, key: str, default: Any = None) -> Any:
    """The stored value, or `default` when the setting was never stored."""
    setting = session.get(AppSetting, key)
    return default if setting is None else setting.value


def store_setting(uow: UnitOfWork, key: str, value: Any, *, description: str) -> None:
    """Insert or overwrite the setting inside the caller's unit of work (the caller audits the change)."""
    setting = uow.session.get(AppSetting, key)
    if setting is None:
        uow.session.add(
            AppSetting(
                key=key, value=value, description=description, version=1, created_at=uow.now, updated_at=uow.now
            )
        )
    else:
        setting.value, setting.updated_at = value, uow.now
    uow.session.flush()
