"""Settings from the environment (prefix CRM_) and `.env`."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path("data")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///data/crm.db"
    # Connections kept open per process: an API worker serves up to 16 concurrent requests without
    # opening (and, on SQLite, configuring) a connection per request; bursts may open 8 more.
    db_pool_size: int = Field(default=16, ge=1)
    public_base_url: str = "http://localhost:8000"
    app_base_url: str = "http://localhost:8501"
    secret_key: str | None = None
    secret_key_file: Path = DATA_DIR / "secret.key"
    admin_password: str | None = None
    locale: str = "de"
    currency: str = "EUR"
    timezone: str = "Europe/Berlin"
    session_timeout_minutes: int = Field(default=30, ge=1)
    max_failed_logins: int = Field(default=10, ge=1)
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    mail_from: str = "crm@example.com"

    def resolved_secret_key(self) -> str:
        """The configured secret, else the one in `data/secret.key` (created on first use)."""
        if self.secret_key:
            return self.secret_key
        path = self.secret_key_file
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
