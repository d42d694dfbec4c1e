"""The REST API (`/api/v1/`): file a report, follow it, list one's reports.

API clients authenticate with `Authorization: Token <key>` and see the reports they filed;
administrators (superusers, by session) see all. Lengths, coordinates and email addresses
are checked once, in `services.validate`. Input errors are 400 with the field's Swedish message.
"""

from __future__ import annotations

import json

import django_filters
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ml import taxonomy
from routing.intake import services
from routing.intake.models import ApiClient, Report


class LocationSerializer(serializers.Serializer):
    # Any number: GPS devices send many decimals; range and rounding are checked in intake.
    address = serializers.CharField(required=False, allow_blank=True)
    lat = serializers.FloatField(required=False, allow_null=True)
    long = serializers.FloatField(required=False, allow_null=True)


class LocationField(serializers.Field):
    """A place as free text ("Storgatan 14") or an object {address, lat, long}."""

    def to_internal_value(self, data):
        if data is None:
            return {}
        if isinstance(data, str):
            return {"address": data}
        if isinstance(data, dict):
            unknown = set(data) - {"address", "lat", "long"}
            if unknown:
                raise serializers.ValidationError(
                    _("Okända fält: %(fields)s") % {"fields": ", ".join(sorted(unknown))}
                )
            location = LocationSerializer(data=data)
            location.is_valid(raise_exception=True)
            return dict(location.validated_data)
        raise serializers.ValidationError(
            _("Ange platsen som text eller som ett objekt med address, lat och long.")
        )

    def to_representation(self, value):
        return value


class ReportCreateSerializer(serializers.Serializer):
    """The body of POST /api/v1/reports; unknown fields are refused."""

    text = serializers.CharField(allow_blank=True, trim_whitespace=False)
    subject = serializers.CharField(required=False, allow_blank=True)
    channel = serializers.ChoiceField(
        choices=list(taxonomy.CHANNELS), required=False, default="api"
    )
    location = LocationField(required=False)
    reporter_email = serializers.EmailField(required=False, allow_blank=True)

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(
                {name: [_("Okänt fält.")] for name in sorted(unknown)}
            )
        return attrs


class ReportSerializer(serializers.ModelSerializer):
    """A report as its sender may see it, with the prediction once it is routed."""

    id = serializers.CharField(source="case_number")
    department = serializers.SlugRelatedField(slug_field="code", read_only=True)
    location = serializers.SerializerMethodField()
    prediction = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = [
            "id",
            "url",
            "status",
            "channel",
            "subject",
            "text",
            "location",
            "received_at",
            "routed_at",
            "department",
            "prediction",
        ]

    def get_location(self, report) -> dict:
        return {
            "address": report.location_text,
            "lat": None if report.latitude is None else float(report.latitude),
            "long": None if report.longitude is None else float(report.longitude),
        }

    def get_prediction(self, report) -> dict | None:
        """The routing prediction in the shape of `python -m ml predict`; null until routed."""
        return report.prediction.data if report.prediction_id else None

    def get_url(self, report) -> str:
        return report_url(self.context["request"], report)


def report_url(request, report: Report) -> str:
    return request.build_absolute_uri(reverse("api:report-detail", args=[report.case_number]))


class ReportFilter(django_filters.FilterSet):
    department = django_filters.CharFilter(field_name="department__code")
    received_after = django_filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = django_filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="lt")

    class Meta:
        model = Report
        fields = ["status", "channel", "department", "received_after", "received_before"]


def visible_reports(request):
    """API clients see only the reports they filed; staff see all."""
    reports = Report.objects.select_related("department", "prediction")
    if isinstance(request.auth, ApiClient):
        return reports.filter(api_client=request.auth)
    return reports


class ReportListCreate(generics.ListAPIView):
    serializer_class = ReportSerializer
    filterset_class = ReportFilter

    def get_queryset(self):
        return visible_reports(self.request).order_by("-received_at", "-pk")

    @extend_schema(
        request=ReportCreateSerializer,
        responses={
            201: inline_serializer(
                "ReportCreated",
                {
                    "id": serializers.CharField(),
                    "status": serializers.CharField(),
                    "url": serializers.URLField(),
                },
            )
        },
    )
    def post(self, request):
        """File a report; it is saved at once and routed by a worker shortly after."""
        if not isinstance(request.data, dict):
            raise exceptions.ParseError(_("Förväntade ett JSON-objekt."))
        serializer = ReportCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        location = data.get("location") or {}
        report = services.ingest_report(
            services.NewReport(
                text=data["text"],
                subject=data.get("subject", ""),
                channel=data["channel"],
                location_text=location.get("address", ""),
                latitude=location.get("lat"),
                longitude=location.get("long"),
                reporter_email=data.get("reporter_email", ""),
                raw_source=json.dumps(request.data, ensure_ascii=False),
                api_client=request.auth if isinstance(request.auth, ApiClient) else None,
            )
        )
        body = {
            "id": report.case_number,
            "status": report.status,
            "url": report_url(request, report),
        }
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["url"]})


class ReportDetail(generics.RetrieveAPIView):
    serializer_class = ReportSerializer
    lookup_field = "case_number"
    lookup_url_kwarg = "case_number"

    def get_queryset(self):
        return visible_reports(self.request)


def exception_handler(exc, context):
    """DRF's handler, plus intake errors as 400 with the field's message."""
    if isinstance(exc, services.IntakeError):
        field = exc.field or "non_field_errors"
        field = {"lat": "location", "long": "location"}.get(field, field)
        return Response({field: [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
