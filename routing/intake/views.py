"""Resident pages: the start page, the report form, its receipt and the rate-limit page.

The form is rate limited per client IP address: REMOTE_ADDR, or behind reverse proxies
(TRUSTED_PROXY_HOPS > 0) the X-Forwarded-For entry added by the outermost trusted proxy;
otherwise every resident would share the proxy's address and limit.
"""

from __future__ import annotations

import json
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from routing.intake import services
from routing.intake.forms import HONEYPOT_FIELD, INTAKE_FIELDS, ReportForm
from routing.intake.models import Report
from routing.intake.services import IntakeError, NewReport

log = logging.getLogger(__name__)

# The session key that carries the last receipt; the case number never travels in a URL.
RECEIPT_SESSION_KEY = "intake_receipt"
# The receipt shows what was sent; on a shared computer the next person must not see it.
RECEIPT_MAX_AGE_SECONDS = 30 * 60


@require_safe
def start(request):
    """The start page: the way to the form, and to the case workers' login."""
    return render(request, "intake/start.html")


@require_http_methods(["GET", "HEAD", "POST"])
def report_form(request):
    """Show the form; on a valid POST file the report and redirect to the receipt."""
    if request.method != "POST":
        return render(request, "intake/report_form.html", {"form": ReportForm()})

    form = ReportForm(request.POST)
    if not form.is_valid():
        return render(request, "intake/report_form.html", {"form": form})

    if form.is_spam:
        # Look like a success to the bot, store nothing.
        log.info("honeypot filled in; form post from %s dropped", client_ip(request))
        remember_receipt(request, case_number=None, email=False)
        return redirect("intake:receipt")

    ip = client_ip(request)
    if not take_rate_slot(ip):
        log.info("form rate limit reached for %s", ip)
        response = render(request, "intake/rate_limited.html", {"form": form}, status=429)
        response["Retry-After"] = str(settings.FORM_RATE_WINDOW_SECONDS)
        return response

    data = form.cleaned_data
    try:
        report = services.ingest_report(
            NewReport(
                text=data["text"],
                channel="web",
                subject=data["subject"],
                location_text=data["location"],
                reporter_name=data["name"],
                reporter_email=data["email"],
                reporter_phone=data["phone"],
                raw_source=raw_source(form),
            )
        )
    except IntakeError as exc:
        release_rate_slot(ip)  # only stored reports count towards the limit
        form.add_error(INTAKE_FIELDS.get(exc.field), str(exc))
        return render(request, "intake/report_form.html", {"form": form})

    remember_receipt(request, case_number=report.case_number, email=bool(report.reporter_email))
    return redirect("intake:receipt")


@require_safe
def receipt(request):
    """The receipt for this browser's last report, from the session; none: back to the form."""
    stored = request.session.get(RECEIPT_SESSION_KEY)
    if not stored or time.time() - stored.get("filed_at", 0) > RECEIPT_MAX_AGE_SECONDS:
        request.session.pop(RECEIPT_SESSION_KEY, None)
        return redirect("intake:report")
    report = None
    if stored.get("case_number"):
        report = Report.objects.filter(case_number=stored["case_number"]).first()
    return render(
        request,
        "intake/receipt.html",
        {"report": report, "email_confirmation": stored.get("email", False)},
    )


def remember_receipt(request, *, case_number: str | None, email: bool) -> None:
    """Keep the receipt in the session, so that a reload shows it again for a while."""
    request.session[RECEIPT_SESSION_KEY] = {
        "case_number": case_number,
        "email": email,
        "filed_at": time.time(),
    }


def raw_source(form: ReportForm) -> str:
    """The fields as the resident submitted them (no CSRF token, no honeypot), for audit."""
    fields = {name: form.data.get(name, "") for name in form.fields if name != HONEYPOT_FIELD}
    return json.dumps(fields, ensure_ascii=False)


def client_ip(request) -> str:
    """The resident's address: REMOTE_ADDR, or behind TRUSTED_PROXY_HOPS reverse proxies the
    X-Forwarded-For entry the outermost trusted proxy added (earlier entries can be forged)."""
    hops = settings.TRUSTED_PROXY_HOPS
    if hops:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR") or "unknown"


def _rate_key(ip: str) -> str:
    return f"intake:form-rate:{ip}"


def take_rate_slot(ip: str) -> bool:
    """Count one submission for this IP; False when it is over the limit for the window.

    The window starts with the first submission (`add` sets the timeout only then) and the
    count is an atomic INCR, so parallel posts cannot all slip under the limit. If the cache
    is unreachable the form fails open: a report must never be lost because Redis is down.
    """
    key = _rate_key(ip)
    try:
        cache.add(key, 0, timeout=settings.FORM_RATE_WINDOW_SECONDS)
        try:
            count = cache.incr(key)
        except ValueError:  # the window expired between add and incr
            cache.set(key, 1, timeout=settings.FORM_RATE_WINDOW_SECONDS)
            count = 1
    except Exception as exc:  # any cache backend or connection error
        log.warning("form rate limit not checked (cache unavailable): %s", exc)
        return True
    return count <= settings.FORM_RATE_LIMIT


def release_rate_slot(ip: str) -> None:
    """Give back a slot taken for a submission that was not stored."""
    try:
        cache.decr(_rate_key(ip))
    except Exception as exc:  # a missing key or a cache outage: nothing to give back
        log.warning("form rate slot not released: %s", exc)
