"""One router per capability, mounted under /api/v1 by api.main."""
