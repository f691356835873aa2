"""Side-by-side comparison of a duplicate pair with per-field scores (used by the Dubletten page).

`render_pair(pair)` draws the comparison only; actions (keine Dublette, Zusammenführen) are
placed by the caller next to it, so the merge capability adds its button without editing this.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app.components.i18n import current_lang, t, t_or
from core.dedupe.review import CandidatePair
from core.formatting import fmt_number

FIELD_COLUMNS = {
    "last_name": ("last_name",),
    "first_name": ("first_name",),
    "email": ("email",),
    "phone": ("phone", "mobile"),
    "birth_date": ("birth_date",),
    "postcode": ("postcode",),
    "city": ("city",),
    "account": ("account_id",),
    "company_name": ("name",),
    "legal_form": ("legal_form",),
    "domain": ("website", "email"),
    "street": ("street",),
}


def _value(record: dict[str, Any], field: str) -> str:
    values = [str(record[c]) for c in FIELD_COLUMNS.get(field, (field,)) if record.get(c) not in (None, "")]
    return " / ".join(values) or "–"


def comparison_frame(pair: CandidatePair) -> pd.DataFrame:
    lang = current_lang()
    rows = [
        {
            t("dedupe.field"): t_or(f"dedupe.field_{f.field}", f.field),
            t("dedupe.record_a", id=pair.record_a["id"]): _value(pair.record_a, f.field),
            t("dedupe.record_b", id=pair.record_b["id"]): _value(pair.record_b, f.field),
            t("dedupe.similarity"): "–" if f.similarity is None else fmt_number(f.similarity, digits=2, lang=lang),
            t("dedupe.weight"): fmt_number(f.weight, digits=1, lang=lang),
            t("dedupe.note"): f.note,
        }
        for f in pair.fields
    ]
    return pd.DataFrame(rows)


def render_pair(pair: CandidatePair) -> None:
    st.subheader(t("dedupe.compare_title", score=fmt_number(pair.current_score, digits=2, lang=current_lang())))
    st.dataframe(comparison_frame(pair), hide_index=True, width="stretch")
