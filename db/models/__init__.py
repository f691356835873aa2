"""All models, imported so that `Base.metadata` is complete for Alembic and tests."""

from db.models.audit import AuditEntry, LedgerHead, PersonKey
from db.models.consent import (
    ConsentEntry,
    ConsentPurpose,
    ConsentText,
    DoiRequest,
    ProcessingRestriction,
    Suppression,
)
from db.models.crm import Account, Contact
from db.models.events import EventSubscription, OutboxEvent
from db.models.gdpr import GdprDocument, GdprLogEntry, GdprRequest, RetentionHold
from db.models.identity import ApiKey, Team, User
from db.models.messaging import EmailMessage
from db.models.sales import (
    DealReason,
    Opportunity,
    OpportunityContact,
    OpportunityStageEvent,
    Pipeline,
    PipelineStage,
    Product,
    Quote,
    QuoteLine,
    SalesOrder,
    SavedView,
)
from db.models.segments import Activity, ContactTag, Segment, SegmentChange, SegmentMember, SegmentRun
from db.models.masterdata import Address, AppSetting, DuplicateCandidate, ImportRun, MergeRecord, RecordAlias

__all__ = [
    "Activity",
    "ContactTag",
    "Segment",
    "SegmentChange",
    "SegmentMember",
    "SegmentRun",
    "GdprDocument",
    "GdprLogEntry",
    "GdprRequest",
    "RetentionHold",
    "ConsentEntry",
    "ConsentPurpose",
    "ConsentText",
    "DoiRequest",
    "EmailMessage",
    "ProcessingRestriction",
    "Suppression",
    "DealReason",
    "Opportunity",
    "OpportunityContact",
    "OpportunityStageEvent",
    "Pipeline",
    "PipelineStage",
    "Product",
    "Quote",
    "QuoteLine",
    "SalesOrder",
    "SavedView",
    "Account",
    "Address",
    "AppSetting",
    "DuplicateCandidate",
    "ImportRun",
    "MergeRecord",
    "RecordAlias",
    "ApiKey",
    "AuditEntry",
    "Contact",
    "EventSubscription",
    "LedgerHead",
    "OutboxEvent",
    "PersonKey",
    "Team",
    "User",
]
