"""Roles, the permission registry and the check every service runs first.

A module registers its permissions here (`register_permission`), never by editing this file's
callers. A grant is either ALL records or only OWN records (owner_id == acting user).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from core.errors import PermissionDenied


class Role(StrEnum):
    ADMIN = "admin"
    SALES_MANAGER = "sales_manager"
    SALES_REP = "sales_rep"
    MARKETING = "marketing"
    COMPLIANCE = "compliance"
    VIEWER = "viewer"


class Scope(StrEnum):
    ALL = "all"
    OWN = "own"


@dataclass(frozen=True)
class Permission:
    name: str
    description: str
    grants: dict[Role, Scope]


PERMISSIONS: dict[str, Permission] = {}


def register_permission(name: str, description: str, grants: dict[Role, Scope]) -> Permission:
    if name in PERMISSIONS:
        raise ValueError(f"permission {name!r} registered twice")
    permission = Permission(name, description, dict(grants))
    PERMISSIONS[name] = permission
    return permission


@dataclass(frozen=True)
class Actor:
    """Who acts: a logged-in user, an API key (with scopes) or the system (jobs, CLI)."""

    user_id: int | None
    name: str
    role: Role | None = None
    team_id: int | None = None
    scopes: frozenset[str] | None = field(default=None)
    is_system: bool = False

    def scope_for(self, permission: str) -> Scope | None:
        if permission not in PERMISSIONS:
            raise KeyError(f"unknown permission {permission!r}")
        if self.is_system:
            return Scope.ALL
        if self.scopes is not None:
            return Scope.ALL if permission in self.scopes else None
        if self.role is None:
            return None
        return PERMISSIONS[permission].grants.get(self.role)

    def can(self, permission: str) -> bool:
        return self.scope_for(permission) is not None


SYSTEM = Actor(user_id=None, name="system", is_system=True)


def authorize(actor: Actor, permission: str, *, owner_id: int | None = None, check_owner: bool = False) -> Scope:
    """Raise PermissionDenied unless `actor` holds `permission` (for this owner, if given)."""
    scope = actor.scope_for(permission)
    if scope is None:
        raise PermissionDenied(f"Keine Berechtigung: {PERMISSIONS[permission].description}.")
    if check_owner and scope is Scope.OWN and owner_id != actor.user_id:
        raise PermissionDenied("Sie dürfen nur eigene Datensätze bearbeiten.")
    return scope


_A, _O = Scope.ALL, Scope.OWN
_EVERYONE = {role: _A for role in Role}

register_permission("accounts.read", "Firmen ansehen", _EVERYONE)
register_permission(
    "accounts.write",
    "Firmen anlegen und bearbeiten",
    {Role.ADMIN: _A, Role.SALES_MANAGER: _A, Role.SALES_REP: _O},
)
register_permission("accounts.delete", "Firmen löschen", {Role.ADMIN: _A, Role.SALES_MANAGER: _A})
register_permission("contacts.read", "Kontakte ansehen", _EVERYONE)
register_permission(
    "contacts.write",
    "Kontakte anlegen und bearbeiten",
    {Role.ADMIN: _A, Role.SALES_MANAGER: _A, Role.SALES_REP: _O, Role.MARKETING: _A},
)
register_permission("contacts.delete", "Kontakte löschen", {Role.ADMIN: _A, Role.SALES_MANAGER: _A})
register_permission("duplicates.merge", "Dubletten zusammenführen", {Role.ADMIN: _A, Role.SALES_MANAGER: _A})
register_permission("users.manage", "Benutzer verwalten", {Role.ADMIN: _A})
register_permission("apikeys.manage", "API-Schlüssel verwalten", {Role.ADMIN: _A})
register_permission("audit.read", "Audit-Protokoll einsehen und prüfen", {Role.ADMIN: _A, Role.COMPLIANCE: _A})
register_permission("events.read", "Ereignisse einsehen", {Role.ADMIN: _A})
register_permission(
    "reports.read",
    "Berichte ansehen",
    {Role.ADMIN: _A, Role.SALES_MANAGER: _A, Role.SALES_REP: _A, Role.MARKETING: _A, Role.VIEWER: _A},
)
register_permission(
    "duplicates.review",
    "Dubletten prüfen",
    {Role.ADMIN: _A, Role.SALES_MANAGER: _A, Role.MARKETING: _A},
)
register_permission("duplicates.configure", "Dublettenprüfung einstellen", {Role.ADMIN: _A})
