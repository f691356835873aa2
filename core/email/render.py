"""Render an e-mail from its Jinja2 templates: subject, text part and HTML part, in German or English.

A template `name` is three files per language in core/email/templates/:

    name.de.subject   one line (whitespace is collapsed, so no header can be smuggled in)
    name.de.txt       the text/plain part
    name.de.html      the text/html part (usually `{% extends "_layout.html" %}`)

HTML is autoescaped: every value from the context is escaped unless it is a `markupsafe.Markup`
(HTML the suite authored itself, e.g. a campaign's body). The filter `paragraphs` turns plain text
into escaped `<p>` paragraphs. A missing context value is an error, never an empty gap in the mail.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, UndefinedError, select_autoescape
from markupsafe import Markup

from core.errors import ValidationFailed

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
LANGUAGES = ("de", "en")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def paragraphs(text: str | None, style: str | None = None) -> Markup:
    """Plain text as escaped HTML paragraphs (blank lines separate them, single line breaks stay); `style`
    is put on each `<p>` (mail clients need inline styles)."""
    blocks = [block.strip() for block in re.split(r"\n\s*\n", str(text or "")) if block.strip()]
    lines = (Markup("<br>\n").join(block.splitlines()) for block in blocks)
    opening = Markup('<p style="{}">').format(style) if style else Markup("<p>")
    return Markup("\n").join(opening + line + Markup("</p>") for line in lines)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["paragraphs"] = paragraphs
    return env


def template_names() -> list[str]:
    """The templates that exist (those with a German subject file)."""
    return sorted(path.name.removesuffix(".de.subject") for path in TEMPLATES_DIR.glob("*.de.subject"))


def render_email(template: str, language: str, context: Mapping[str, Any]) -> RenderedEmail:
    """Subject, text and HTML of `template` in `language`; `language` is available to the templates too."""
    if language not in LANGUAGES:
        raise ValidationFailed({"language": f"unbekannte Sprache „{language}“; erlaubt: {', '.join(LANGUAGES)}"})
    names = template_names()
    if template not in names:
        raise ValidationFailed({"template": f"unbekannte Vorlage „{template}“; vorhanden: {', '.join(names)}"})
    env = environment()
    values = {**context, "language": language}
    try:
        subject = env.get_template(f"{template}.{language}.subject").render(values)
        text = env.get_template(f"{template}.{language}.txt").render(values)
        html = env.get_template(f"{template}.{language}.html").render(values)
    except UndefinedError as exc:
        raise ValidationFailed({"context": f"Für die Vorlage „{template}“ fehlt ein Wert ({exc.message})."}) from None
    except TemplateError as exc:
        raise ValidationFailed({"template": f"Die Vorlage „{template}“ ist fehlerhaft: {exc}"}) from None
    return RenderedEmail(subject=" ".join(subject.split()), text=text, html=html)
