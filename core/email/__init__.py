"""E-mail: Jinja2 templates (German/English, text + HTML), a queue table, delivery by SMTP or to `.eml` files.

Every mail is queued first (`enqueue_email`, in the caller's transaction) and sent by the job
`python -m jobs.send_mail` (`deliver_due`): retries with backoff, a lease per message, and the consent
gate checked again right before a marketing mail leaves. The Postausgang page reads the queue (`outbox`).
"""

from core.email.delivery import (
    DeliveryError,
    DeliveryReport,
    FileBackend,
    MailBackend,
    SmtpBackend,
    backend_from_settings,
    build_mime,
    deliver_due,
    deliver_message,
)
from core.email.queue import KINDS, STATUSES, enqueue_email
from core.email.render import RenderedEmail, render_email

__all__ = [
    "KINDS",
    "STATUSES",
    "DeliveryError",
    "DeliveryReport",
    "FileBackend",
    "MailBackend",
    "RenderedEmail",
    "SmtpBackend",
    "backend_from_settings",
    "build_mime",
    "deliver_due",
    "deliver_message",
    "enqueue_email",
    "render_email",
]
