"""Loads every capability package so that its registrations (permissions, events, merge re-links, demo
steps) are in place. Entry points call `load_all()` once; registries that are read at run time call it too.

A new capability adds its package here.
"""

from __future__ import annotations

import importlib

CAPABILITIES = ("core.gdpr", "core.sales", "core.consent", "core.segments")


def load_all() -> None:
    for name in CAPABILITIES:
        importlib.import_module(name)
