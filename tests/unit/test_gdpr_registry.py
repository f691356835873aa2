"""The personal-data registry is complete: every column of every model is declared personal (with a known
category) or non-personal, every table with personal data says how to find and erase it."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table

from core.gdpr.registry import DATASETS, DataSet, classification_problems, datasets
from db.base import personal


def test_every_column_of_every_model_is_classified() -> None:
    assert classification_problems() == []


class _ProbeModel:
    __table__ = Table(
        "probe_things",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("nickname", String(40), info=personal("identity")),
        Column("colour", String(20)),
    )


def test_a_new_table_that_forgets_gdpr_is_reported() -> None:
    table = _ProbeModel.__table__
    assert classification_problems([table]) == ["probe_things: no data set registered (core.gdpr.registry.register_dataset)"]

    forgetful = DataSet(
        key="probe_things", model=_ProbeModel, label_de="Probe", label_en="Probe",  # type: ignore[arg-type]
        module="Test", purpose="p", legal_basis="b", retention="r", erasure="delete", non_personal=frozenset({"id", "size"}),
    )
    assert classification_problems([table], [forgetful]) == [
        "probe_things.colour: neither personal(...) nor listed as non-personal",
        "probe_things.size: listed as non-personal but no such column",
        "probe_things: holds personal data but has no locator and is not kept as proof",
    ]


def test_every_data_set_has_purpose_basis_and_retention() -> None:
    for dataset in datasets():
        assert dataset.purpose and dataset.legal_basis and dataset.retention, dataset.key
        if dataset.erasure == "retain":
            assert dataset.retention_rule is not None and "§" in dataset.retention_rule.legal_ground


def test_contacts_are_erased_after_what_points_at_them_and_provided_fields_exist() -> None:
    contacts = DATASETS["contacts"]
    others = [d.erase_order for d in datasets() if d.key not in ("contacts", "accounts", "person_keys")]
    assert contacts.erasure == "delete" and contacts.erase_order > max(others)
    assert {"first_name", "last_name", "email"} <= set(contacts.personal_columns)
    for dataset in datasets():
        assert dataset.provided <= {c.name for c in dataset.table.columns}, dataset.key
