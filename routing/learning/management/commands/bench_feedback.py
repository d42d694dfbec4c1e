"""`manage.py bench_feedback`: does a week of case workers' corrections make a better model?

Runs the feedback loop end to end on the real corpus, against a scratch database:
1. the corpus's training part is split in two: the model knows one share ("before"), the
   other share arrives as new reports during a "week";
2. a baseline trained on the first share plus the test split is activated;
3. the week's reports are filed and routed by it, and a case worker corrects every field
   the model got wrong (the corpus labels are the case worker's answers), then confirms;
4. a training run (the same code as "Träna om") trains on the corpus plus those labels and
   queues the comparison, which decides on automatic activation with `--margin`;
5. it prints the before/after metrics on the fixed test split, how much the case worker had
   to correct, and whether the new version was activated.

Celery runs in-process (no worker needed). It writes reports, labels and model versions:
run it with DATABASE_URL pointing at a scratch database; it refuses one that has reports.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from ml import data, evaluate
from routing.intake import services as intake
from routing.intake.models import Report
from routing.learning import dataset, services
from routing.learning.models import ActivationLog, Comparison, ModelVersion, TrainingRun
from routing.triage import services as triage

CASE_WORKER = "bench-handlaggare"


class Command(BaseCommand):
    help = (
        "Measure the feedback loop on the corpus: a week of corrections, a retrain, a comparison."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--known-share",
            type=float,
            default=0.5,
            help="share of the corpus's training part the first model is trained on",
        )
        parser.add_argument(
            "--week", type=int, default=None, help="reports in the week (default: all the rest)"
        )
        parser.add_argument(
            "--kind", choices=["baseline", "transformer", "both"], default="baseline"
        )
        parser.add_argument(
            "--margin", type=float, default=0.005, help="AUTO_ACTIVATE_MARGIN for the comparison"
        )
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, known_share, week, kind, margin, seed, **options):
        from routing.celery import app

        if Report.objects.exists() or ModelVersion.objects.exists():
            raise CommandError(
                "the database already has reports or model versions: point DATABASE_URL at a "
                "scratch database for this benchmark"
            )
        if not 0 < known_share < 1:
            raise CommandError("--known-share must be between 0 and 1")
        eager = app.conf.task_always_eager
        app.conf.task_always_eager = True  # training and comparison run here, in order
        try:
            self.run(known_share, week, kind, margin, seed)
        finally:
            app.conf.task_always_eager = eager

    def run(self, known_share, week, kind, margin, seed):
        corpus = data.load_records(settings.TRAINING_DATA)
        train_part, test_part = data.split(corpus)
        rng = random.Random(seed)
        rng.shuffle(train_part)
        cut = round(known_share * len(train_part))
        known, arriving = train_part[:cut], train_part[cut:]
        if week is not None:
            arriving = arriving[:week]
        out = Path(settings.MODEL_DIR) / "bench-feedback"
        out.mkdir(parents=True, exist_ok=True)
        first_data = out / "before.jsonl"
        dataset.write_jsonl(known + test_part, first_data)
        self.say(
            f"corpus {len(corpus)}: the first model knows {len(known)} reports, "
            f"{len(arriving)} arrive during the week, {len(test_part)} are the test split"
        )
        # The benchmark's corpus is what the first model knows, plus the test split.
        with override_settings(AUTO_ACTIVATE_MARGIN=margin, TRAINING_DATA=first_data):
            self.loop(arriving, kind, margin)

    def loop(self, arriving: list[dict], kind: str, margin: float):

        started = time.perf_counter()
        first = services.train_model_version("baseline")
        services.activate_model_version(first, reason="bench_feedback: the model before")
        self.say(f"first model {first.version} trained in {time.perf_counter() - started:.0f} s")

        worker = _case_worker()
        started = time.perf_counter()
        corrected_reports = corrections = refused = 0
        right = 0
        for record in arriving:
            report = intake.ingest_report(
                intake.NewReport(
                    text=record["text"], subject=record.get("subject") or "", channel="web"
                )
            )
            services.route_report(report.pk)
            report.refresh_from_db()
            right += report.department.code == record["department"]
            changed = 0
            for field in Report.LABEL_FIELDS:
                if report.label_value(field) != _gold(record, field):
                    try:
                        changed += triage.correct(report, worker, field, record[field])
                    except triage.TriageError:
                        refused += 1  # e.g. a keyword of the subject, not of the text
                    report.refresh_from_db()
            triage.confirm(report, worker)
            corrections += changed
            corrected_reports += bool(changed)
        self.say(
            f"week: {len(arriving)} reports routed and labelled in "
            f"{time.perf_counter() - started:.0f} s; the first model routed "
            f"{right / max(len(arriving), 1):.1%} to the right department; the case worker "
            f"corrected {corrected_reports} reports ({corrections} fields; {refused} refused)"
        )

        started = time.perf_counter()
        run = services.start_training_run(kind)
        run.refresh_from_db()
        if run.status != TrainingRun.Status.SUCCEEDED:
            raise CommandError(f"the training run ended {run.status}: {run.error}")
        new = run.versions.order_by("created_at").last()
        comparison = Comparison.objects.filter(candidate=new).latest("created_at")
        self.say(
            f"retrained ({kind}) on {run.data_stats['total']} reports "
            f"({run.data_stats['labelled']} labelled) and compared in "
            f"{time.perf_counter() - started:.0f} s"
        )
        self.table(comparison, first, new)
        new.refresh_from_db()
        automatic = ActivationLog.objects.filter(model_version=new, action="auto").exists()
        self.say(f"decision (margin {margin}): {comparison.decision}")
        self.say(
            f"active now: {ModelVersion.objects.get(is_active=True).version}"
            f" ({'automatically activated' if automatic else 'unchanged'})"
        )

    def table(self, comparison: Comparison, first: ModelVersion, new: ModelVersion) -> None:
        scores = comparison.results["versions"]
        before, after = scores[first.version]["test"], scores[new.version]["test"]
        self.say("")
        self.say(f"| test split (n={before['n']}) | before | after | change |")
        self.say("|---|---|---|---|")
        for field, metric in [
            *evaluate.PRIMARY_METRICS,
            ("department", "accuracy"),
            ("tags", "micro_f1"),
            ("keywords", "f1"),
        ]:
            a, b = before[field][metric], after[field][metric]
            self.say(f"| {field} {metric} | {a:.3f} | {b:.3f} | {b - a:+.3f} |")
        self.say("")

    def say(self, line: str) -> None:
        self.stdout.write(line)


def _gold(record: dict, field: str):
    value = record[field]
    return sorted(value) if field == "tags" else value


def _case_worker():
    """A coordinator-like user whose corrections the labels are (no password: no login)."""
    user, _ = get_user_model().objects.get_or_create(username=CASE_WORKER)
    return user
