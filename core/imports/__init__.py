"""CSV/Excel import of contacts and accounts: read → map columns → check every row → write in one transaction.

`read_file` (reading.py) turns an upload into text cells, `auto_mapping`/`check_mapping` (fields.py)
connect its columns to fields, `plan_import` previews and `run_import` writes (service.py).
"""

from core.imports.fields import (
    ACCOUNTS,
    CONTACTS,
    ENTITIES,
    EntitySpec,
    auto_mapping,
    check_mapping,
    entity_spec,
    parse_mapping_option,
)
from core.imports.doi import DoiOption
from core.imports.reading import SourceTable, read_file
from core.imports.rows import Issue
from core.imports.service import (
    ALL_OR_NOTHING,
    DONE,
    MODES,
    PARTIAL,
    REJECTED,
    VALID_ROWS,
    ImportPlan,
    ImportResult,
    plan_import,
    preview_rows,
    report_csv,
    run_import,
)

__all__ = [
    "ACCOUNTS",
    "ALL_OR_NOTHING",
    "CONTACTS",
    "DONE",
    "ENTITIES",
    "MODES",
    "PARTIAL",
    "REJECTED",
    "VALID_ROWS",
    "DoiOption",
    "EntitySpec",
    "ImportPlan",
    "ImportResult",
    "Issue",
    "SourceTable",
    "auto_mapping",
    "check_mapping",
    "entity_spec",
    "parse_mapping_option",
    "plan_import",
    "preview_rows",
    "read_file",
    "report_csv",
    "run_import",
]
