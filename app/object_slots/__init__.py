"""Modules of later capabilities that add tabs or header facets to the account and contact pages.

Each module here calls `app.components.object_tabs.register_object_tab(...)` and/or
`register_header_facet(...)` at import time; object_tabs imports every module in this package.
"""
