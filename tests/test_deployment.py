"""docker-compose.yml describes the production topology the settings expect."""

from __future__ import annotations

import re

import yaml
from django.conf import settings

from tests.conftest import REPO_ROOT


def compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def queues(service: dict) -> set[str]:
    return set(re.search(r"-Q (\S+)", service["command"]).group(1).split(","))


def test_compose_runs_every_role_with_health_checks_and_volumes():
    services = compose()["services"]
    assert set(services) == {"web", "worker", "gpu-worker", "beat", "redis", "postgres"}
    for name in ("redis", "postgres", "worker", "gpu-worker"):
        assert "test" in services[name]["healthcheck"]
    assert {"models", "postgres", "redis"} <= set(compose()["volumes"])
    assert "models:/models" in services["web"]["volumes"]


def test_every_task_queue_is_consumed_and_the_gpu_worker_serves_inference_and_training():
    services = compose()["services"]
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    consumed = queues(services["worker"]) | queues(services["gpu-worker"])
    assert routed | {settings.CELERY_TASK_DEFAULT_QUEUE} <= consumed
    assert queues(services["gpu-worker"]) == {"inference", "shadow", "training"}
    [device] = services["gpu-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia"
    assert "cu" in services["gpu-worker"]["build"]["args"]["TORCH_INDEX"]
    assert "gpu" in device["capabilities"]


def test_the_image_serves_the_wsgi_application_and_checks_its_health():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "routing.wsgi:application" in dockerfile
    assert "/healthz" in dockerfile


def test_no_page_loads_code_or_styles_from_another_site():
    for template in (REPO_ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"""(src|href)=["']https?://""", text), template
    assert (REPO_ROOT / "routing/triage/static/triage/vendor/htmx-2.0.11.min.js").is_file()
