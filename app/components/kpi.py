"""KPI cards: a label, a formatted figure, optional help — one row of bordered metrics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import streamlit as st

from app.components.i18n import current_lang
from core.formatting import fmt_money, fmt_number

KpiKind = Literal["number", "decimal", "money", "text"]


@dataclass(frozen=True)
class Kpi:
    label: str
    value: int | float | Decimal | str | None
    kind: KpiKind = "number"
    help: str | None = None
    icon: str | None = None


def format_kpi(kpi: Kpi, lang: str) -> str:
    if kpi.value is None:
        return "–"
    if kpi.kind == "text" or isinstance(kpi.value, str):
        return str(kpi.value)
    if kpi.kind == "money":
        return fmt_money(kpi.value, lang)
    return fmt_number(kpi.value, lang, digits=1 if kpi.kind == "decimal" else 0)


def kpi_row(kpis: Sequence[Kpi]) -> None:
    lang = current_lang()
    for cell, kpi in zip(st.columns(len(kpis)), kpis):
        cell.metric(kpi.label, format_kpi(kpi, lang), help=kpi.help, icon=kpi.icon, border=True)
