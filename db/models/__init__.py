"""All models, imported so that `Base.metadata` is complete for Alembic and tests."""

from db.models.audit import AuditEntry, LedgerHead, PersonKey
from db.models.crm import Account, Contact
from db.models.events import EventSubscription, OutboxEvent
from db.models.identity import ApiKey, Team, User

__all__ = [
    "Account",
    "ApiKey",
    "AuditEntry",
    "Contact",
    "EventSubscription",
    "LedgerHead",
    "OutboxEvent",
    "PersonKey",
    "Team",
    "User",
]
