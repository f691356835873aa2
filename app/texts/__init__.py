"""Text catalogues of the capabilities: each module defines `DE` and `EN` dicts with the same keys.

app/components/i18n.py merges every module found here into its catalogues at import time, so a
new capability adds its texts in its own file instead of editing a shared one.
"""
