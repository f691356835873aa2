"""Segments (MKT-SEG-01): rule trees over a condition catalogue, compiled to one SQL query per segment.

Importing the package registers the built-in conditions, the personal-data registry entries, permissions, events,
the merge re-link of activities and the merge hooks of tags and memberships.
"""

from core.merge import register_relink
from core.segments import conditions as _conditions  # noqa: F401 - the built-in catalogue
from core.segments import gdpr as _gdpr  # noqa: F401 - personal-data registry entries
from core.segments import registrations as _registrations  # noqa: F401 - permissions, events, merge hooks
from db.models import Activity

# A merged contact's activities move to the survivor (tags and memberships: merge hooks in registrations.py).
register_relink("contact", Activity, "contact_id")
