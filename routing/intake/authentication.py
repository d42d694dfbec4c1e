"""API authentication: `Authorization: Token <key>` for API clients, sessions for staff."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
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
        client = ApiClient.authenticate(key)
        if client is None:
            raise exceptions.AuthenticationFailed(_("Ogiltig API-nyckel."))
        return AnonymousUser(), client

    def authenticate_header(self, request):
        return self.keyword


class IsApiClientOrStaff(permissions.BasePermission):
    """API clients see and file their own reports; administrators (superusers) see all.

    Case workers do not use the API: their department-scoped access is the triage UI's.
    """

    def has_permission(self, request, view):
        if isinstance(request.auth, ApiClient):
            return True
        return bool(request.user and request.user.is_authenticated and request.user.is_superuser)
