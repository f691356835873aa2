"""The compliance overview: opt-in rates per channel × purpose, pending double opt-ins, proofs that expire
or are old enough to refresh, suppression and restriction counts. Aggregated in SQL over the ledger."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import and_, case, func, or_, select

from core.consent.vocabulary import CHANNELS
from core.uow import UnitOfWork
from db.models import ConsentEntry, ConsentPurpose, Contact, DoiRequest, ProcessingRestriction, Suppression

EXPIRY_WINDOW = dt.timedelta(days=30)
REFRESH_AFTER = dt.timedelta(days=730)
DOI_RATE_WINDOW = dt.timedelta(days=90)


@dataclass(frozen=True)
class ComplianceOverview:
    rates: pd.DataFrame  # channel, purpose_key, purpose, reachable_contacts, granted, revoked, pending, expired, rate
    pending_doi: int
    overdue_doi: int  # pending but past expiry (the expiry job has not run yet)
    doi_requested_90d: int
    doi_confirmed_90d: int
    expiring: pd.DataFrame  # entry_id, contact_id, channel, purpose, valid_until
    refresh_due: int  # consents older than two years without a newer entry
    suppressed: int
    restricted: int
    objected: int

    @property
    def doi_confirmation_rate(self) -> float | None:
        return self.doi_confirmed_90d / self.doi_requested_90d if self.doi_requested_90d else None


def compliance_overview(uow: UnitOfWork) -> ComplianceOverview:
    with uow:
        uow.authorize("consent.read")
        session, now = uow.session, uow.now
        latest_ids = (
            select(func.max(ConsentEntry.id).label("id"))
            .group_by(ConsentEntry.contact_id, ConsentEntry.channel, ConsentEntry.purpose_id)
            .subquery()
        )
        current = (
            select(ConsentEntry.id, ConsentEntry.contact_id, ConsentEntry.channel, ConsentEntry.purpose_id,
                   ConsentEntry.status, ConsentEntry.legal_basis, ConsentEntry.valid_until, ConsentEntry.occurred_at)
            .join(latest_ids, latest_ids.c.id == ConsentEntry.id)
            .subquery()
        )
        counts = session.execute(
            select(current.c.channel, current.c.purpose_id, current.c.status, func.count())
            .group_by(current.c.channel, current.c.purpose_id, current.c.status)
        ).all()
        purposes = session.execute(
            select(ConsentPurpose.id, ConsentPurpose.key, ConsentPurpose.name_de)
            .where(ConsentPurpose.active.is_(True))
            .order_by(ConsentPurpose.position)
        ).all()
        addressable = _addressable(uow)
        by_cell: dict[tuple[str, int], dict[str, int]] = {}
        for channel, purpose_id, status, count in counts:
            by_cell.setdefault((channel, purpose_id), {})[status] = int(count)
        rows = []
        for purpose_id, key, name in purposes:
            for channel in CHANNELS:
                cell = by_cell.get((channel, purpose_id), {})
                base = addressable[channel]
                rows.append({
                    "channel": channel, "purpose_key": key, "purpose": name, "reachable_contacts": base,
                    "granted": cell.get("granted", 0), "revoked": cell.get("revoked", 0),
                    "pending": cell.get("pending", 0), "expired": cell.get("expired", 0),
                    "rate": cell.get("granted", 0) / base if base else 0.0,
                })
        expiring = session.execute(
            select(current.c.id.label("entry_id"), current.c.contact_id, current.c.channel,
                   ConsentPurpose.name_de.label("purpose"), current.c.valid_until)
            .join(ConsentPurpose, ConsentPurpose.id == current.c.purpose_id)
            .where(current.c.status == "granted", current.c.valid_until > now,
                   current.c.valid_until <= now + EXPIRY_WINDOW)
            .order_by(current.c.valid_until)
            .limit(200)
        ).mappings().all()
        refresh_due = session.scalar(
            select(func.count()).select_from(current).where(
                current.c.status == "granted", current.c.legal_basis == "consent",
                current.c.occurred_at <= now - REFRESH_AFTER,
            )
        ) or 0
        since = now - DOI_RATE_WINDOW
        return ComplianceOverview(
            rates=pd.DataFrame(rows, columns=["channel", "purpose_key", "purpose", "reachable_contacts", "granted",
                                              "revoked", "pending", "expired", "rate"]),
            pending_doi=_count(uow, DoiRequest.status == "pending", DoiRequest.expires_at > now),
            overdue_doi=_count(uow, DoiRequest.status == "pending", DoiRequest.expires_at <= now),
            doi_requested_90d=_count(uow, DoiRequest.requested_at >= since),
            doi_confirmed_90d=_count(uow, DoiRequest.requested_at >= since, DoiRequest.status == "confirmed"),
            expiring=pd.DataFrame(expiring, columns=["entry_id", "contact_id", "channel", "purpose", "valid_until"]),
            refresh_due=int(refresh_due),
            suppressed=session.scalar(select(func.count()).select_from(Suppression)) or 0,
            restricted=_active(uow, "restriction"),
            objected=_active(uow, "objection"),
        )


def _addressable(uow: UnitOfWork) -> dict[str, int]:
    """Contacts that have an address for each channel (the base of the opt-in rate)."""
    row = uow.session.execute(
        select(
            func.count(Contact.email),
            func.count(Contact.mobile),
            func.count(func.coalesce(Contact.phone, Contact.mobile)),
            func.count(case((or_(Contact.postcode.is_not(None), Contact.city.is_not(None)), 1))),
        )
    ).one()
    return {"email": int(row[0]), "sms": int(row[1]), "phone": int(row[2]), "post": int(row[3])}


def _count(uow: UnitOfWork, *conditions: object) -> int:
    return int(uow.session.scalar(select(func.count()).select_from(DoiRequest).where(and_(*conditions))) or 0)


def _active(uow: UnitOfWork, kind: str) -> int:
    return int(
        uow.session.scalar(
            select(func.count(func.distinct(ProcessingRestriction.contact_id))).where(
                ProcessingRestriction.kind == kind, ProcessingRestriction.lifted_at.is_(None)
            )
        )
        or 0
    )
