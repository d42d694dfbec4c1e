"""API authentication: `Authorization: Token <key>` for API clients, sessions for staff."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, permissions

from routing.intake.models import ApiClient


class ApiClientAuthentication(authentication.BaseAuthentication):
    """The key of an active ApiClient (created by `manage.py create_api_client NAME`)."""

    keyword = "Token"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Ogiltigt Authorization-huvud."))
        try:
            key = parts[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Ogiltig API-nyckel.")) from None
        client = ApiClient.for_key(key)
        if client is None:
            raise exceptions.AuthenticationFailed(_("Ogiltig API-nyckel."))
        now = timezone.now()
        # Note use at most once a minute: no write on every request.
        if client.last_used_at is None or now - client.last_used_at > timedelta(minutes=1):
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        return AnonymousUser(), client

    def authenticate_header(self, request):
        return self.keyword


class IsApiClientOrStaff(permissions.BasePermission):
    """API clients see and file their own reports; staff users see all reports."""

    def has_permission(self, request, view):
        if isinstance(request.auth, ApiClient):
            return True
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
