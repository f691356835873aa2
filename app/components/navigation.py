"""The page registry: each page is declared once, with its section and the permission it needs.

Later modules add their pages with `register_page(...)`; main.py builds `st.navigation` from
this list, showing a user only the pages their role may open.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.capabilities import load_all
from core.permissions import PERMISSIONS, Actor

load_all()  # capability packages register the permissions their pages need


class Section(StrEnum):
    SALES = "sales"
    MARKETING = "marketing"
    COMPLIANCE = "compliance"
    REPORTS = "reports"
    MASTER_DATA = "master_data"
    ADMIN = "admin"


SECTION_ORDER = (
    Section.SALES,
    Section.MARKETING,
    Section.COMPLIANCE,
    Section.REPORTS,
    Section.MASTER_DATA,
    Section.ADMIN,
)


@dataclass(frozen=True)
class PageSpec:
    """`script` is relative to app/; `listed=False` pages (object pages) open from a list, not the menu."""

    script: str
    title_key: str
    icon: str
    url_path: str
    section: Section | None
    permission: str | None
    listed: bool = True

    def allowed(self, actor: Actor) -> bool:
        return self.permission is None or actor.can(self.permission)


PAGES: list[PageSpec] = []


def register_page(spec: PageSpec) -> PageSpec:
    if any(p.url_path == spec.url_path or p.script == spec.script for p in PAGES):
        raise ValueError(f"page {spec.url_path!r} registered twice")
    if spec.permission is not None and spec.permission not in PERMISSIONS:
        raise ValueError(f"page {spec.url_path!r} needs unknown permission {spec.permission!r}")
    if "_" in spec.url_path:
        raise ValueError(f"url_path {spec.url_path!r}: use hyphens")
    PAGES.append(spec)
    return spec


START = register_page(PageSpec("pages/startseite.py", "page.start", ":material/home:", "start", None, None))
register_page(
    PageSpec("pages/firmen_liste.py", "page.accounts", ":material/domain:", "firmen-liste", Section.MASTER_DATA, "accounts.read")
)
register_page(
    PageSpec(
        "pages/kunden_stamm.py",
        "page.account",
        ":material/business:",
        "kunden-stamm",
        Section.MASTER_DATA,
        "accounts.read",
        listed=False,
    )
)
register_page(
    PageSpec(
        "pages/kontakte_liste.py", "page.contacts", ":material/contacts:", "kontakte-liste", Section.MASTER_DATA, "contacts.read"
    )
)
register_page(
    PageSpec(
        "pages/kontakt_detail.py",
        "page.contact",
        ":material/person:",
        "kontakt-detail",
        Section.MASTER_DATA,
        "contacts.read",
        listed=False,
    )
)
register_page(
    PageSpec(
        "pages/audit_protokoll.py", "page.audit", ":material/verified_user:", "audit-protokoll", Section.COMPLIANCE, "audit.read"
    )
)
register_page(
    PageSpec(
        "pages/stammdaten_bericht.py",
        "page.master_data_report",
        ":material/bar_chart:",
        "stammdaten-bericht",
        Section.REPORTS,
        "reports.read",
    )
)
register_page(
    PageSpec("pages/admin_benutzer.py", "page.users", ":material/group:", "admin-benutzer", Section.ADMIN, "users.manage")
)
register_page(
    PageSpec(
        "pages/admin_api_schluessel.py", "page.api_keys", ":material/key:", "admin-api-schluessel", Section.ADMIN, "apikeys.manage"
    )
)
register_page(
    PageSpec("pages/ereignisse_liste.py", "page.events", ":material/bolt:", "ereignisse", Section.ADMIN, "events.read")
)
register_page(
    PageSpec(
        "pages/dubletten.py", "page.duplicates", ":material/content_copy:", "dubletten", Section.MASTER_DATA, "duplicates.review"
    )
)
register_page(
    PageSpec(
        "pages/zusammenfuehren.py", "page.merge", ":material/merge:", "zusammenfuehren", Section.MASTER_DATA, "duplicates.merge"
    )
)
register_page(
    PageSpec(
        "pages/import_assistent.py", "page.import", ":material/upload_file:", "import-assistent", Section.MASTER_DATA, "contacts.write"
    )
)
register_page(
    PageSpec(
        "pages/admin_dubletten.py",
        "page.duplicate_settings",
        ":material/tune:",
        "admin-dubletten",
        Section.ADMIN,
        "duplicates.configure",
    )
)


def visible_sections(actor: Actor) -> dict[Section | None, list[PageSpec]]:
    """Listed pages the actor may open, by section in menu order; empty sections are left out."""
    result: dict[Section | None, list[PageSpec]] = {}
    for section in (None, *SECTION_ORDER):
        pages = [p for p in PAGES if p.section == section and p.listed and p.allowed(actor)]
        if pages:
            result[section] = pages
    return result

# --- sales (core/sales): pages of the opportunities capability ---------------------------------------
register_page(
    PageSpec(
        "pages/opportunities_liste.py",
        "page.opportunities",
        ":material/handshake:",
        "opportunities-liste",
        Section.SALES,
        "opportunities.read",
    )
)
register_page(
    PageSpec(
        "pages/opportunity_detail.py",
        "page.opportunity",
        ":material/handshake:",
        "opportunity-detail",
        Section.SALES,
        "opportunities.read",
        listed=False,
    )
)
register_page(
    PageSpec(
        "pages/pipeline_kanban.py",
        "page.pipeline_kanban",
        ":material/view_kanban:",
        "pipeline-kanban",
        Section.SALES,
        "opportunities.read",
    )
)
register_page(
    PageSpec("pages/produkte.py", "page.products", ":material/inventory_2:", "produkte", Section.SALES, "opportunities.read")
)
register_page(
    PageSpec("pages/funnel_report.py", "page.funnel", ":material/filter_alt:", "funnel-report", Section.REPORTS, "reports.read")
)
register_page(
    PageSpec(
        "pages/forecast_report.py", "page.forecast", ":material/trending_up:", "forecast-report", Section.REPORTS, "reports.read"
    )
)
register_page(
    PageSpec(
        "pages/admin_vertrieb.py", "page.sales_settings", ":material/tune:", "admin-vertrieb", Section.ADMIN, "sales.configure"
    )
)
# Consent (core/consent): the contact's consent page, the ledger, the compliance overview, texts and the outbox.
register_page(
    PageSpec(
        "pages/consent_management.py",
        "page.consent_management",
        ":material/how_to_reg:",
        "consent-management",
        Section.COMPLIANCE,
        "consent.read",
    )
)
register_page(
    PageSpec(
        "pages/consent_history.py", "page.consent_history", ":material/history:", "consent-history", Section.COMPLIANCE, "consent.read"
    )
)
register_page(
    PageSpec(
        "pages/consent_uebersicht.py",
        "page.consent_overview",
        ":material/shield_person:",
        "consent-uebersicht",
        Section.COMPLIANCE,
        "consent.read",
    )
)
register_page(
    PageSpec(
        "pages/admin_einwilligungstexte.py",
        "page.consent_texts",
        ":material/article:",
        "admin-einwilligungstexte",
        Section.ADMIN,
        "consent.configure",
    )
)
register_page(
    PageSpec(
        "pages/admin_postausgang.py", "page.admin_postausgang", ":material/outbox:", "admin-postausgang", Section.ADMIN, "mail.read"
    )
)
# GDPR (core/gdpr): data-subject requests, the request page, the access/export wizard and the cockpit.
register_page(
    PageSpec(
        "pages/gdpr_requests.py",
        "page.gdpr_requests",
        ":material/assignment_ind:",
        "gdpr-requests",
        Section.COMPLIANCE,
        "gdpr.read",
    )
)
register_page(
    PageSpec(
        "pages/gdpr_request_detail.py",
        "page.gdpr_request",
        ":material/assignment_ind:",
        "gdpr-request-detail",
        Section.COMPLIANCE,
        "gdpr.read",
        listed=False,
    )
)
register_page(
    PageSpec("pages/gdpr_export.py", "page.gdpr_export", ":material/folder_zip:", "gdpr-export", Section.COMPLIANCE, "gdpr.read")
)
register_page(
    PageSpec(
        "pages/gdpr_dashboard.py",
        "page.gdpr_dashboard",
        ":material/admin_panel_settings:",
        "datenschutz-cockpit",
        Section.COMPLIANCE,
        "gdpr.read",
    )
)
# Segments (core/segments): the list, the builder (new or edit) and the segment page.
register_page(
    PageSpec(
        "pages/segmente_liste.py", "page.segmente_liste", ":material/groups:", "segmente-liste", Section.MARKETING, "segments.read"
    )
)
register_page(
    PageSpec(
        "pages/segment_builder.py",
        "page.segment_builder",
        ":material/filter_alt:",
        "segment-builder",
        Section.MARKETING,
        "segments.write",
    )
)
register_page(
    PageSpec(
        "pages/segment_detail.py",
        "page.segment_detail",
        ":material/groups:",
        "segment-detail",
        Section.MARKETING,
        "segments.read",
        listed=False,
    )
)
