"""Template filters of the report detail page: keyword highlighting and label names."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from ml import taxonomy

register = template.Library()


def keyword_spans(text: str, keywords) -> list[tuple[int, int]]:
    """Where the keywords occur in text as whole words, case-insensitively, without overlaps.

    Longer keywords are tried first, so "Storgatan 14" wins over "Storgatan" at the same
    place.
    """
    phrases = sorted({k for k in (keywords or []) if isinstance(k, str) and k.strip()}, key=len)
    if not phrases:
        return []
    alternatives = "|".join(re.escape(phrase) for phrase in reversed(phrases))
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
    return [match.span() for match in pattern.finditer(text)]


@register.filter
def highlight_keywords(text: str, keywords) -> SafeString:
    """The text escaped, with each keyword occurrence wrapped in <mark>.

    Matches are found in the raw text and every piece is escaped on its own, so a keyword
    can never match inside an HTML entity (a keyword "amp" in "&amp;") nor inject markup (a
    keyword "<b>" is shown as text). Nothing of the resident's text reaches the page
    unescaped.
    """
    text = text or ""
    parts, position = [], 0
    for start, end in keyword_spans(text, keywords):
        parts.append(escape(text[position:start]))
        parts.append(f"<mark>{escape(text[start:end])}</mark>")
        position = end
    parts.append(escape(text[position:]))
    # Safe: every piece above went through escape().
    return mark_safe("".join(parts))


@register.filter
def department_name(code) -> str:
    return taxonomy.DEPARTMENTS.get(code, code or "")


@register.filter
def case_type_name(code) -> str:
    return taxonomy.CASE_TYPES.get(code, code or "")


@register.filter
def sentiment_name(code) -> str:
    return taxonomy.SENTIMENTS.get(code, code or "")


@register.filter
def severity_name(code) -> str:
    try:
        return f"{int(code)} – {taxonomy.SEVERITIES[int(code)]}"
    except (TypeError, ValueError, KeyError):
        return "" if code is None else str(code)


@register.filter
def tag_name(code) -> str:
    return taxonomy.TAGS.get(code, code or "")


@register.filter
def percent(value) -> str:
    """A probability as a whole percentage ("93 %"), or "–" when missing."""
    try:
        return f"{round(float(value) * 100)} %"
    except (TypeError, ValueError):
        return "–"
