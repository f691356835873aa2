"""REST API (FastAPI) under /api/v1: a thin HTTP shell around the core services."""
