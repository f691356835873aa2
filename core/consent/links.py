"""Signed tokens for the public links: double opt-in confirmation, unsubscribe, preference centre.

itsdangerous signs each payload with the installation's secret key and a salt per link kind, so a
token of one kind is worthless for another and cannot be forged or altered. Expiry and single use
of the confirmation link are checked against the database (core/consent/doi.py), with the injected
clock, not against the token's own timestamp.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from core.errors import DomainError
from core.settings import get_settings

DOI = "consent-doi"
UNSUBSCRIBE = "consent-unsubscribe"
PREFERENCES = "consent-preferences"


class InvalidLink(DomainError):
    """The link was altered, truncated or belongs to another purpose."""


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().resolved_secret_key(), salt=salt)


def sign(kind: str, payload: dict[str, Any]) -> str:
    return str(_serializer(kind).dumps(payload))


def unsign(kind: str, token: str) -> dict[str, Any]:
    try:
        payload = _serializer(kind).loads(token)
    except BadSignature:
        raise InvalidLink("Dieser Link ist ungültig oder unvollständig. Bitte kopieren Sie ihn vollständig.") from None
    if not isinstance(payload, dict):
        raise InvalidLink("Dieser Link ist ungültig.")
    return payload


def public_url(path: str) -> str:
    return get_settings().public_base_url.rstrip("/") + path


def doi_token(request_id: int, nonce: str) -> str:
    return sign(DOI, {"r": request_id, "n": nonce})


def doi_url(request_id: int, nonce: str) -> str:
    return public_url(f"/p/doi/{doi_token(request_id, nonce)}")


def unsubscribe_token(contact_id: int, purpose_id: int, channel: str = "email") -> str:
    return sign(UNSUBSCRIBE, {"c": contact_id, "p": purpose_id, "ch": channel})


def unsubscribe_url(contact_id: int, purpose_id: int, channel: str = "email") -> str:
    """The link in every marketing e-mail and its List-Unsubscribe header (one click revokes, RFC 8058)."""
    return public_url(f"/p/unsubscribe/{unsubscribe_token(contact_id, purpose_id, channel)}")


def preferences_token(contact_id: int) -> str:
    return sign(PREFERENCES, {"c": contact_id})


def preferences_url(contact_id: int) -> str:
    return public_url(f"/p/preferences/{preferences_token(contact_id)}")
