"""Administrators manage users, case workers' departments and models in the admin."""

from __future__ import annotations

from django.test import Client


def test_an_administrator_manages_case_workers_and_models(administrator, belysning_worker):
    client = Client()
    client.force_login(administrator)
    for url in [
        "/admin/auth/user/",
        "/admin/triage/caseworker/",
        f"/admin/triage/caseworker/{belysning_worker.case_worker.pk}/change/",
        "/admin/intake/department/",
        "/admin/learning/modelversion/",
    ]:
        assert client.get(url).status_code == 200, url


def test_a_case_worker_has_no_admin(belysning_worker):
    client = Client()
    client.force_login(belysning_worker)
    assert client.get("/admin/triage/caseworker/").status_code == 302  # to the admin login


def test_refusals_are_in_swedish(outsider, belysning_worker):
    client = Client()
    client.force_login(outsider)
    response = client.get("/arenden/")
    assert response.status_code == 403
    assert "Åtkomst nekad" in response.content.decode()
    client.force_login(belysning_worker)
    response = client.get("/arenden/2026-99999/")
    assert response.status_code == 404
    assert "Sidan finns inte" in response.content.decode()
