"""Data layer: typed SQLAlchemy models, engine/session factory and Alembic migrations.

`db` never imports `core`: it knows tables, not business rules.
"""
