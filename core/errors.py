"""Domain errors: pages show them with st.error, the API as problem+json, the CLI as one line."""

from __future__ import annotations


class DomainError(Exception):
    """Base class; `message` is shown to the user as it is."""

    status = 400
    title = "Fehler"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status = 404
    title = "Nicht gefunden"


class PermissionDenied(DomainError):
    status = 403
    title = "Keine Berechtigung"


class AuthenticationFailed(DomainError):
    status = 401
    title = "Anmeldung fehlgeschlagen"


class Conflict(DomainError):
    status = 409
    title = "Konflikt"


class ValidationFailed(DomainError):
    """Invalid input; `fields` maps each field to its message."""

    status = 422
    title = "Ungültige Eingabe"

    def __init__(self, fields: dict[str, str], message: str | None = None) -> None:
        self.fields = dict(fields)
        text = message or "; ".join(f"{name}: {msg}" for name, msg in self.fields.items())
        super().__init__(text)
