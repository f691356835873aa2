"""Consent (CRM-CNS-01): ledger, double opt-in, the consent gate, unsubscribe and preference centre."""

from core.consent import merging as _merging  # noqa: F401 - carries consent through contact merges
from core.consent import registrations as _registrations  # noqa: F401 - permissions, events, re-links
from core.consent import gdpr as _gdpr  # noqa: F401 - personal-data registry entries
