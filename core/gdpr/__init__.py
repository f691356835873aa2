"""GDPR (CRM-CNS-02): the personal-data registry, data-subject requests, discovery, export, erasure."""

from core.gdpr import datasets as _datasets  # noqa: F401 - the foundation's registry entries
from core.gdpr import registrations as _registrations  # noqa: F401 - permissions, events
