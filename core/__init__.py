"""Service layer: business rules, permissions, validation, audit and events.

Never imports streamlit, fastapi or typer (tests/unit/test_layering.py keeps it honest).
"""
