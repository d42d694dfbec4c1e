"""Template helpers of the "Modeller" page and the nav link to it."""

from __future__ import annotations

from django import template

from routing.triage.permissions import is_admin

register = template.Library()


@register.filter
def manages_models(user) -> bool:
    """Whether the user may open the "Modeller" page (administrators only)."""
    return bool(user and user.is_authenticated and is_admin(user))


@register.filter
def metric(metrics: dict, path: str):
    """A metric by dotted path ("department.macro_f1"), or None when missing."""
    value = metrics or {}
    for key in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


@register.filter
def duration(seconds) -> str:
    """Seconds as "42 s", "3 min 5 s" or "1 h 4 min"."""
    if seconds is None:
        return "—"
    seconds = round(float(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


@register.filter
def percent(share) -> str:
    """A share (0–1) as "87 %", or "—" when missing."""
    if share is None:
        return "—"
    return f"{round(100 * float(share))} %"
