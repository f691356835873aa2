"""The sales module: pipelines, opportunities with stage history, products, quotes and orders.

Importing the package registers its permissions, event names and merge re-links.
"""

from core.sales import registrations as _registrations  # noqa: F401
from core.sales import gdpr as _gdpr  # noqa: F401 - personal-data registry entries
