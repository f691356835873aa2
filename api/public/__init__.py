"""Public browser endpoints without API keys: double opt-in confirmation, unsubscribe links,
open/click tracking and web forms will live here (token-protected, no routes yet)."""
