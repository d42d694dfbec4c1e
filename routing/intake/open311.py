"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) under /open311/v2/.

Every resource comes as `.xml` (required by the standard) or `.json`; another format is a
404. Errors use the standard's format, an array of {code, description} with Swedish
descriptions: 403 for a missing or bad api_key, 404 for an unknown service or request,
405 for a method the endpoint does not take, 400 for any other bad input.

Choices where the standard leaves room:

- Services are the active departments (`service_code` is the department code), all with
  `metadata` false and `type` "realtime": the report is filed at once and the response
  carries its case number as `service_request_id`.
- We serve one jurisdiction: a `jurisdiction_id` parameter is accepted and ignored.
- `POST requests` takes form-encoded or multipart fields and answers 200 OK, as the
  standard's examples do and as its clients expect. `api_key` is required; `service_code`
  is optional and, when given, must be a known code. It is kept with the request as
  received, but the model routes the report regardless; `service_notice` says so.
- `GET requests` and `GET requests/<id>` are public, as in the standard: no contact
  details, no request source. Description and place are shown only for reports filed
  through the API or Open311 (web-form and email senders were not told their text would
  be public), only once routed, and never for departments whose cases are confidential
  (social services and care). At most 50 ids per search.
- `service_code`/`service_name` are the department the report is routed to (empty before
  routing); `status` is "open" until the case is closed, `status_notes` our status in words.
- Extension: once the model has routed a report, each request also carries
  `predicted_service_code` (the department the model chose, which a case worker may have
  changed since) and `predicted_confidence` (the model's probability for it, 0 to 1).
"""

from __future__ import annotations

import functools
import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, time, timedelta

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, ValidationError
from django.core.validators import URLValidator
from django.http import HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt

from routing.intake import services
from routing.intake.models import ApiClient, Department, Report
from routing.intake.services import NewReport

CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_RESULTS = 1000
MAX_IDS = 50  # service_request_id values per search: no bulk download by guessed numbers
MAX_WINDOW = timedelta(days=90)
OPEN_STATUSES = (Report.Status.RECEIVED, Report.Status.ROUTED, Report.Status.IN_PROGRESS)
# Cases under secrecy: their description and place never leave through the public API.
CONFIDENTIAL_SERVICES = frozenset({"socialtjanst", "omsorg"})

# What the service list says about each department, beyond its code and name.
SERVICE_INFO = {
    "gata_trafik": (
        gettext_lazy("Vägar, gång- och cykelbanor, skyltar, signaler och parkering."),
        gettext_lazy("potthål,trottoar,cykelbana,skylt,trafiksignal,parkering"),
        gettext_lazy("Gata och park"),
    ),
    "belysning": (
        gettext_lazy("Gatlyktor och belysning på gator, gångvägar och i parker."),
        gettext_lazy("gatlykta,lampa,belysning,lyktstolpe"),
        gettext_lazy("Gata och park"),
    ),
    "vinter": (
        gettext_lazy("Snöröjning, sandning och halka."),
        gettext_lazy("snö,plogning,sandning,halka,is"),
        gettext_lazy("Gata och park"),
    ),
    "park_natur": (
        gettext_lazy("Parker, lekplatser, träd, badplatser och naturområden."),
        gettext_lazy("park,lekplats,träd,badplats,parkbänk"),
        gettext_lazy("Gata och park"),
    ),
    "klotter": (
        gettext_lazy("Klotter och skadegörelse på kommunens egendom."),
        gettext_lazy("klotter,tags,skadegörelse,vandalisering"),
        gettext_lazy("Gata och park"),
    ),
    "avfall": (
        gettext_lazy("Sophämtning, återvinning, papperskorgar och nedskräpning."),
        gettext_lazy("sophämtning,soptunna,återvinning,nedskräpning,grovsopor"),
        gettext_lazy("Miljö, avfall och vatten"),
    ),
    "vatten_avlopp": (
        gettext_lazy("Vattenläckor, dricksvatten, avlopp och dagvattenbrunnar."),
        gettext_lazy("vattenläcka,dricksvatten,avlopp,dagvatten,brandpost"),
        gettext_lazy("Miljö, avfall och vatten"),
    ),
    "miljo_halsa": (
        gettext_lazy("Buller, lukt, skadedjur, mögel och livsmedelshygien."),
        gettext_lazy("buller,lukt,råttor,mögel,livsmedel"),
        gettext_lazy("Miljö, avfall och vatten"),
    ),
    "bygg": (
        gettext_lazy("Bygglov, olovligt byggande, förfallna byggnader och detaljplaner."),
        gettext_lazy("bygglov,detaljplan,rivning,tomtgräns"),
        gettext_lazy("Samhällsbyggnad"),
    ),
    "skola": (
        gettext_lazy("Förskola, skola, fritidshem, skolmat och skolskjuts."),
        gettext_lazy("förskola,skola,fritids,skolmat,skolskjuts"),
        gettext_lazy("Utbildning"),
    ),
    "omsorg": (
        gettext_lazy("Äldreomsorg, hemtjänst, LSS, trygghetslarm och färdtjänst."),
        gettext_lazy("äldreomsorg,hemtjänst,LSS,trygghetslarm,färdtjänst"),
        gettext_lazy("Vård och socialtjänst"),
    ),
    "socialtjanst": (
        gettext_lazy("Socialtjänst, ekonomiskt bistånd, orosanmälan och missbruksstöd."),
        gettext_lazy("socialtjänst,försörjningsstöd,orosanmälan,missbruk"),
        gettext_lazy("Vård och socialtjänst"),
    ),
    "kultur_fritid": (
        gettext_lazy("Bibliotek, badhus, idrottsanläggningar och fritidsgårdar."),
        gettext_lazy("bibliotek,badhus,idrottshall,fritidsgård"),
        gettext_lazy("Kultur och fritid"),
    ),
    "kommun_ovrigt": (
        gettext_lazy("Allt annat: webbplatsen, avgifter, beslut och allmänna synpunkter."),
        gettext_lazy("webbplats,e-tjänst,avgift,faktura,beslut"),
        gettext_lazy("Övrigt"),
    ),
}

# Characters that XML 1.0 cannot carry at all, escaped or not.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# "+01:00" in an unencoded query string arrives as " 01:00"; put the plus back.
_SPACE_OFFSET = re.compile(r"(T\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d:?\d\d)$")


class Open311Error(Exception):
    """A request the standard answers with an error array (HTTP status and description)."""

    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


# Rendering ----------------------------------------------------------------------------


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, fields: dict) -> None:
    for name, value in fields.items():
        child = ET.SubElement(element, name)
        if isinstance(value, list):
            # Only a service definition's attributes are lists, and ours is always empty.
            for item in value:
                _fill(ET.SubElement(child, name.removesuffix("s")), item)
        elif value is not None:
            child.text = _text(value)


def render(fmt: str, root: str, item: str | None, data, status: int = 200) -> HttpResponse:
    """A response in the chosen format: a list of `item` elements, or one object in `root`."""
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False).encode()
    else:
        element = ET.Element(root)
        if item is None:
            _fill(element, data)
        else:
            for fields in data:
                _fill(ET.SubElement(element, item), fields)
        # ElementTree escapes &, < and > in text; the declaration names UTF-8 as required.
        body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(element, "utf-8")
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def error_response(fmt: str, status: int, description: str) -> HttpResponse:
    return render(fmt, "errors", "error", [{"code": status, "description": description}], status)


def _values(request) -> list[str]:
    """Every query and form value of a request (forms only for form-encoded bodies)."""
    values = [v for _name, vs in request.GET.lists() for v in vs]
    if request.method == "POST" and request.content_type in FORM_TYPES:
        try:
            values += [v for _name, vs in request.POST.lists() for v in vs]
        except (MultiPartParserError, RequestDataTooBig, SuspiciousOperation):
            raise Open311Error(400, _("Förfrågan kunde inte läsas.")) from None
    return values


def open311_view(*methods: str):
    """Check format and method, exempt from CSRF (clients send an api_key), map errors."""

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, fmt: str, **kwargs):
            if fmt not in CONTENT_TYPES:
                return error_response("xml", 404, _("Okänt format: använd .xml eller .json."))
            if request.method not in methods:
                response = error_response(fmt, 405, _("Metoden stöds inte här."))
                response["Allow"] = ", ".join(methods)
                return response
            try:
                if any("\x00" in str(v) for v in [*kwargs.values(), *_values(request)]):
                    raise Open311Error(400, _("Förfrågan innehåller ogiltiga tecken."))
                return view(request, fmt, **kwargs)
            except Open311Error as exc:
                return error_response(fmt, exc.status, exc.description)

        return wrapper

    return decorate


# Services -----------------------------------------------------------------------------


def service_fields(department: Department) -> dict:
    description, keywords, group = SERVICE_INFO.get(department.code, ("", "", ""))
    return {
        "service_code": department.code,
        "service_name": department.name,
        "description": str(description),
        "metadata": False,
        "type": "realtime",
        "keywords": str(keywords),
        "group": str(group),
    }


@open311_view("GET")
def service_list(request, fmt):
    """GET services: the active departments."""
    rows = [service_fields(d) for d in Department.objects.filter(active=True).order_by("code")]
    return render(fmt, "services", "service", rows)


@open311_view("GET")
def service_definition(request, fmt, code):
    """GET services/<code>: no extra attributes for any service (metadata is false)."""
    if not Department.objects.filter(code=code, active=True).exists():
        raise Open311Error(404, _("Okänd tjänst (service_code)."))
    return render(fmt, "service_definition", None, {"service_code": code, "attributes": []})


# Service requests ---------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


def request_fields(report: Report) -> dict:
    """One report as a public Open311 service request: never contact details or source."""
    department = report.department
    # Only reports filed through the API or Open311 are public by intent; a resident who
    # used the web form or email was not told that the text would be published.
    public = (
        report.channel == "api"
        and department is not None
        and department.code not in CONFIDENTIAL_SERVICES
    )
    fields = {
        "service_request_id": report.case_number,
        "status": "open" if report.is_open else "closed",
        "status_notes": str(report.get_status_display()),
        "service_name": department.name if department else "",
        "service_code": department.code if department else "",
        "description": report.text if public else "",
        "agency_responsible": department.name if department else "",
        "service_notice": "" if public else _("Beskrivning och plats visas inte öppet."),
        "requested_datetime": _iso(report.received_at),
        "updated_datetime": _iso(report.updated_at),
        "expected_datetime": None,
        "address": report.location_text if public else "",
        "address_id": None,
        "zipcode": None,
        "lat": float(report.latitude) if public and report.latitude is not None else None,
        "long": float(report.longitude) if public and report.longitude is not None else None,
        "media_url": None,
    }
    if report.prediction is not None:
        fields["predicted_service_code"] = report.prediction.department
        fields["predicted_confidence"] = round(report.prediction.department_confidence, 4)
    return fields


def _public_reports():
    return Report.objects.select_related("department", "prediction")


def parse_moment(value: str, name: str) -> datetime:
    """A w3 ISO 8601 date or datetime; without an offset it is read as local time."""
    value = _SPACE_OFFSET.sub(r"\1+\2", value.strip())
    try:
        moment = parse_datetime(value)
        if moment is None and (day := parse_date(value)) is not None:
            moment = datetime.combine(day, time.min)
    except ValueError:  # well formed but impossible, such as month 13
        moment = None
    if moment is None:
        raise Open311Error(
            400,
            _("Ogiltigt datum i %(name)s (ISO 8601, t.ex. 2026-11-23T14:05:00+01:00).")
            % {"name": name},
        )
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def find_requests(params) -> list[Report]:
    """The reports GET requests selects; the standard's defaults and limits apply."""
    reports = _public_reports().order_by("-received_at")
    ids = _split(params.get("service_request_id", ""))
    if ids:
        # The standard: with service_request_id, all other parameters are ignored.
        if len(ids) > MAX_IDS:
            raise Open311Error(
                400, _("Fråga efter högst %(n)s ärenden åt gången.") % {"n": MAX_IDS}
            )
        return list(reports.filter(case_number__in=ids))

    start = params.get("start_date", "").strip()
    end = params.get("end_date", "").strip()
    start = parse_moment(start, "start_date") if start else None
    end = parse_moment(end, "end_date") if end else None
    try:
        if start is None and end is None:
            end = timezone.now()
        if start is None:
            start = end - MAX_WINDOW
        if end is None:
            end = start + MAX_WINDOW
    except OverflowError:  # a date near year 1 or 9999
        raise Open311Error(400, _("Datumet ligger utanför det som går att söka på.")) from None
    if end < start:
        raise Open311Error(400, _("end_date ligger före start_date."))
    if end - start > MAX_WINDOW:
        raise Open311Error(400, _("Sök högst 90 dagar åt gången (start_date till end_date)."))
    reports = reports.filter(received_at__gte=start, received_at__lte=end)

    codes = _split(params.get("service_code", ""))
    if codes:
        reports = reports.filter(department__code__in=codes)
    statuses = set(_split(params.get("status", "").lower()))
    if statuses - {"open", "closed"}:
        raise Open311Error(400, _("Okänd status: använd open eller closed."))
    if statuses == {"open"}:
        reports = reports.filter(status__in=OPEN_STATUSES)
    elif statuses == {"closed"}:
        reports = reports.filter(status=Report.Status.CLOSED)
    return list(reports[:MAX_RESULTS])


@open311_view("GET", "POST")
def request_list(request, fmt):
    """GET requests: search public requests; POST requests: file a new one."""
    if request.method == "POST":
        return create_request(request, fmt)
    rows = [request_fields(report) for report in find_requests(request.GET)]
    return render(fmt, "service_requests", "request", rows)


@open311_view("GET")
def request_detail(request, fmt, request_id):
    """GET requests/<id>: one request by its case number."""
    report = _public_reports().filter(case_number=request_id).first()
    if report is None:
        raise Open311Error(404, _("Okänt ärende (service_request_id)."))
    return render(fmt, "service_requests", "request", [request_fields(report)])


# Filing a request ---------------------------------------------------------------------


def _client(request) -> ApiClient:
    key = request.POST.get("api_key") or request.GET.get("api_key", "")
    client = ApiClient.authenticate(key.strip())
    if client is None:
        raise Open311Error(403, _("API-nyckel (api_key) saknas eller är ogiltig."))
    return client


def _received_fields(request) -> dict:
    """The posted fields as received, for the audit copy; the api_key is a secret, left out."""
    return {
        name: values[0] if len(values) == 1 else values
        for name, values in request.POST.lists()
        if name != "api_key"
    }


def create_request(request, fmt) -> HttpResponse:
    """POST requests: check the fields, file the report through `ingest_report`."""
    if request.content_type not in FORM_TYPES:
        raise Open311Error(
            400, _("Skicka fälten formulärkodade (application/x-www-form-urlencoded).")
        )
    data = request.POST  # parsed, and a bad body refused, by the view's wrapper already
    client = _client(request)

    service_code = data.get("service_code", "").strip()
    if service_code and not Department.objects.filter(code=service_code, active=True).exists():
        raise Open311Error(400, _("Okänd tjänst (service_code)."))
    lat, long = data.get("lat", "").strip(), data.get("long", "").strip()
    address = data.get("address_string", "").strip()
    if not (lat or address):
        raise Open311Error(400, _("Ange platsen: lat och long eller address_string."))
    media_url = data.get("media_url", "").strip()
    if media_url:
        try:
            URLValidator(schemes=["http", "https"])(media_url)
        except ValidationError:
            raise Open311Error(400, _("Ogiltig media_url.")) from None
    name = " ".join(filter(None, (data.get("first_name", ""), data.get("last_name", ""))))

    try:
        report = services.ingest_report(
            NewReport(
                text=data.get("description", ""),
                channel="api",
                api_client=client,
                location_text=address,
                latitude=lat or None,
                longitude=long or None,
                reporter_name=name,
                reporter_email=data.get("email", ""),
                reporter_phone=data.get("phone", ""),
                raw_source=json.dumps(_received_fields(request), ensure_ascii=False),
            )
        )
    except services.IntakeError as exc:
        raise Open311Error(400, str(exc)) from None

    notice = _("Ärendet fördelas automatiskt till rätt förvaltning.")
    if service_code:
        notice += " " + _("Angiven tjänst sparas med ärendet men styr inte fördelningen.")
    response = {
        "service_request_id": report.case_number,
        "service_notice": notice,
        "account_id": data.get("account_id", "").strip() or None,
    }
    return render(fmt, "service_requests", "request", [response])
