"""Refuse request bodies over the size limit with 413 before any view reads them."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _


class BodySizeLimitMiddleware:
    """A declared Content-Length over DATA_UPLOAD_MAX_MEMORY_SIZE gets 413, never a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            message = _("För stor förfrågan (högst %(limit)s byte).") % {"limit": limit}
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=413)
            if request.path.startswith("/open311/"):
                return JsonResponse([{"code": 413, "description": message}], status=413, safe=False)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
