"""Page titles of the sales capability (each page's own texts live in its own module)."""

from __future__ import annotations

DE: dict[str, str] = {
    "page.opportunities": "Verkaufschancen",
    "page.opportunity": "Verkaufschance",
    "page.pipeline_kanban": "Pipeline",
    "page.products": "Produkte",
    "page.funnel": "Trichteranalyse",
    "page.forecast": "Umsatzprognose",
    "page.sales_settings": "Vertrieb einrichten",
    "start.my_open_deals": "Meine offenen Verkaufschancen",
    "start.my_deals_due": "Abschluss geplant in diesem Monat",
}

EN: dict[str, str] = {
    "page.opportunities": "Opportunities",
    "page.opportunity": "Opportunity",
    "page.pipeline_kanban": "Pipeline",
    "page.products": "Products",
    "page.funnel": "Funnel analysis",
    "page.forecast": "Forecast",
    "page.sales_settings": "Sales settings",
    "start.my_open_deals": "My open opportunities",
    "start.my_deals_due": "Closing this month",
}
