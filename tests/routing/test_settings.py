"""Settings come from the environment, fail loudly on bad values, and reach real services."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.db import connection

from routing import env
from tests.conftest import REPO_ROOT


def test_booleans_accept_the_usual_spellings(monkeypatch):
    for value, expected in [
        ("1", True),
        ("yes", True),
        ("TRUE", True),
        ("0", False),
        ("off", False),
    ]:
        monkeypatch.setenv("FEATURE", value)
        assert env.boolean("FEATURE", default=not expected) is expected


def test_a_bad_boolean_fails_loudly(monkeypatch):
    monkeypatch.setenv("DEBUG_X", "maybe")
    with pytest.raises(env.ImproperSetting, match="DEBUG_X='maybe' is not a boolean"):
        env.boolean("DEBUG_X", default=False)


def test_a_bad_integer_fails_loudly(monkeypatch):
    monkeypatch.setenv("WORKERS", "four")
    with pytest.raises(env.ImproperSetting, match="WORKERS='four' is not an integer"):
        env.integer("WORKERS", default=1)


def test_a_secret_can_come_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret-from-file\n")
    monkeypatch.setenv("API_SECRET_FILE", str(secret))
    monkeypatch.setenv("API_SECRET", "ignored-when-a-file-is-named")
    assert env.string("API_SECRET", "") == "s3cret-from-file"


def test_an_unreadable_secret_file_fails_loudly(monkeypatch, tmp_path):
    monkeypatch.setenv("API_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(env.ImproperSetting, match="cannot be read"):
        env.string("API_SECRET", "")


def test_lists_are_comma_separated(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS_X", " a.example, b.example ,,")
    assert env.string_list("ALLOWED_HOSTS_X", []) == ["a.example", "b.example"]


def test_production_refuses_to_start_without_a_secret_key():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_the_project_passes_djangos_system_checks():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--fail-level", "WARNING"],
        cwd=REPO_ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "routing.settings"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_the_database_is_the_real_postgresql():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("select 1")
        assert cursor.fetchone() == (1,)


def test_the_health_check_reports_database_and_redis(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_the_health_check_answers_whatever_the_allowed_hosts(client, db, settings):
    settings.ALLOWED_HOSTS = ["arenden.kommun.example"]
    assert client.get("/healthz", HTTP_HOST="127.0.0.1:8000").status_code == 200
    assert client.get("/anmal/", HTTP_HOST="127.0.0.1:8000").status_code == 400
