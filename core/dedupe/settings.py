"""The duplicate threshold per entity, kept in `app_settings` so an admin changes it at run time."""

from __future__ import annotations

from core import audit
from core.app_settings import store_setting
from core.errors import ValidationFailed
from core.uow import UnitOfWork
from db.models import AppSetting

# Tuned on the labelled benchmark (bench/dedupe.py): best F1 at these values.
DEFAULT_THRESHOLDS = {"contact": 0.75, "account": 0.75}
ENTITIES = {"contacts": "contact", "accounts": "account"}


def setting_key(entity: str) -> str:
    return f"dedupe.threshold.{entity}"


def entity_of(name: str) -> str:
    """ "contacts"/"contact" → "contact"; anything else is a validation error naming the choices."""
    entity = ENTITIES.get(name, name)
    if entity not in DEFAULT_THRESHOLDS:
        raise ValidationFailed({"entity": f"unbekannt: {name!r} (erlaubt: {', '.join(ENTITIES)})"})
    return entity


def check_threshold(value: float) -> float:
    if not 0.0 < value < 1.0:
        raise ValidationFailed({"threshold": f"muss zwischen 0 und 1 liegen (nicht {value:g})"})
    return float(value)


def stored_threshold(uow: UnitOfWork, entity: str) -> float:
    """The threshold inside an open unit of work (the default when none was set)."""
    setting = uow.session.get(AppSetting, setting_key(entity))
    return float(setting.value) if setting is not None else DEFAULT_THRESHOLDS[entity]


def get_threshold(uow: UnitOfWork, entity: str) -> float:
    entity = entity_of(entity)
    with uow:
        uow.authorize("duplicates.review")
        return stored_threshold(uow, entity)


def set_threshold(uow: UnitOfWork, entity: str, value: float) -> float:
    entity, value = entity_of(entity), check_threshold(value)
    with uow:
        uow.authorize("duplicates.configure")
        key = setting_key(entity)
        old = stored_threshold(uow, entity)
        store_setting(uow, key, value, description=f"Schwelle der Dublettenprüfung ({entity})")
        uow.audit(
            entity="app_setting", entity_id=key, action="updated", changes=[audit.FieldChange("value", old, value)]
        )
        uow.emit(
            "crm.duplicate_threshold.updated", entity="app_setting", entity_id=key, payload={"old": old, "new": value}
        )
        uow.commit()
        return value
