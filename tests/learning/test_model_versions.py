"""Model versions: training registers one, activation switches what the workers use."""

from __future__ import annotations

import json
import shutil

import pytest
from django.core.management import CommandError, call_command

from routing.intake import services as intake
from routing.intake.models import Prediction
from routing.learning import services
from routing.learning.models import ModelVersion
from routing.learning.predictor import ModelNotReady, active_predictor


@pytest.fixture
def second_version(baseline_dir, tmp_path, db):
    """The same weights under another version name: a second, real model directory."""
    copy = tmp_path / "baseline-copy"
    shutil.copytree(baseline_dir, copy)
    meta = json.loads((copy / "meta.json").read_text())
    meta["version"] = meta["version"] + "-b"
    (copy / "meta.json").write_text(json.dumps(meta))
    return services.register_model_version(copy)


def file_and_route(text="Gatlampan på Storgatan är släckt."):
    report = intake.ingest_report(intake.NewReport(text=text, channel="api"))
    services.route_report(report.pk)
    return Prediction.objects.get(report=report)


def test_the_train_command_registers_and_activates_a_version(db, settings, tmp_path, corpus_slice):
    settings.MODEL_DIR = tmp_path / "models"
    settings.TRAINING_DATA = corpus_slice
    call_command("train", "--kind", "baseline", "--activate")
    version = ModelVersion.objects.get()
    assert version.is_active
    assert version.kind == "baseline"
    assert version.metrics["department"]["macro_f1"] > 0.5
    assert version.meta["data"]["n_train"] == version.training_records
    assert version.directory.startswith(str(tmp_path))


def test_a_base_model_that_cannot_be_loaded_is_a_clear_error(db, settings, tmp_path, corpus_slice):
    settings.MODEL_DIR = tmp_path / "models"
    settings.TRAINING_DATA = corpus_slice
    with pytest.raises(CommandError, match="base model"):
        call_command("train", "--kind", "transformer", "--base-model", str(tmp_path / "none"))
    assert not ModelVersion.objects.exists()


def test_activation_switches_the_model_without_a_restart(active_model, second_version):
    assert file_and_route().model_version == active_model.version
    services.activate_model_version(second_version)
    assert file_and_route().model_version == second_version.version
    # Rolling back is activating the earlier version again.
    services.activate_model_version(active_model)
    assert file_and_route().model_version == active_model.version
    assert ModelVersion.objects.filter(is_active=True).count() == 1


def test_a_broken_directory_is_never_activated(active_model, second_version, tmp_path):
    (tmp_path / "baseline-copy" / "meta.json").write_text("{not json")
    with pytest.raises(ModelNotReady):
        services.activate_model_version(second_version)
    version, _ = active_predictor()
    assert version == active_model


def test_without_an_active_version_routing_waits(db):
    with pytest.raises(ModelNotReady, match="no model version is active"):
        active_predictor()


def test_the_admin_pages_open(admin_client, active_model):
    file_and_route()
    for url in [
        "/admin/intake/report/",
        "/admin/intake/department/",
        "/admin/intake/apiclient/",
        "/admin/learning/modelversion/",
        f"/admin/learning/modelversion/{active_model.pk}/change/",
    ]:
        assert admin_client.get(url).status_code == 200, url
    report_page = admin_client.get("/admin/intake/report/")
    assert b"Storgatan" in report_page.content


def test_an_admin_activates_a_version_from_the_admin(admin_client, active_model, second_version):
    response = admin_client.post(
        "/admin/learning/modelversion/",
        {"action": "activate", "_selected_action": [second_version.pk]},
        follow=True,
    )
    assert response.status_code == 200
    second_version.refresh_from_db()
    assert second_version.is_active
    assert second_version.activated_by.is_superuser
