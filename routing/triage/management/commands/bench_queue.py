"""`manage.py bench_queue [--reports 100000]`: server time of the queue pages on many reports.

Loads synthetic reports (texts and labels sampled from the training corpus, spread over the
departments, 90 days, the statuses and a range of confidences) into the configured
database, marked raw_source="bench", then times the queue and review pages through
Django's test client as a coordinator and as a case worker: the median of several runs and
the number of SQL queries per request. `--clean` removes the benchmark reports and users.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from ml import data
from routing.intake.models import Department, Report
from routing.triage.models import CASE_WORKERS, COORDINATORS, CaseWorker

BENCH_MARK = "bench"
# Case numbers of a year no real report has, in the shape the detail page accepts.
CASE_PREFIX = "2000-"
COORDINATOR = "bench-kundtjanst"
CASE_WORKER = "bench-belysning"
CASE_WORKER_DEPARTMENT = "belysning"
TARGET_MS = 200
STATUSES = [
    (Report.Status.ROUTED, 0.45),
    (Report.Status.IN_PROGRESS, 0.2),
    (Report.Status.CLOSED, 0.32),
    (Report.Status.RECEIVED, 0.03),  # never routed: no department, no prediction figures
]


class Command(BaseCommand):
    help = "Load synthetic reports and time the queue pages (median server time and queries)."

    def add_arguments(self, parser):
        parser.add_argument("--reports", type=int, default=100_000, help="reports to have")
        parser.add_argument("--runs", type=int, default=7, help="timed runs per request")
        parser.add_argument("--batch", type=int, default=5_000, help="rows per bulk insert")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--force",
            action="store_true",
            help="run even though the database holds reports that are not the benchmark's",
        )
        parser.add_argument(
            "--clean", action="store_true", help="delete the benchmark reports and users"
        )

    def handle(self, *args, reports, runs, batch, seed, force, clean, **options):
        if clean:
            self.clean()
            return
        if reports < 1 or runs < 1 or batch < 1:
            raise CommandError("--reports, --runs and --batch must be positive")
        if not force and Report.objects.exclude(raw_source=BENCH_MARK).exists():
            raise CommandError(
                "this database holds real reports; use a scratch database or pass --force"
            )
        coordinator, case_worker = self.users()
        self.load(reports, batch, random.Random(seed), case_worker)
        self.measure(coordinator, case_worker, runs)

    # Loading ------------------------------------------------------------------------------

    def users(self):
        users = get_user_model().objects
        coordinator, _ = users.get_or_create(username=COORDINATOR)
        coordinator.groups.add(Group.objects.get_or_create(name=COORDINATORS)[0])
        case_worker, _ = users.get_or_create(username=CASE_WORKER)
        case_worker.groups.add(Group.objects.get_or_create(name=CASE_WORKERS)[0])
        profile, _ = CaseWorker.objects.get_or_create(user=case_worker)
        profile.departments.set(Department.objects.filter(code=CASE_WORKER_DEPARTMENT))
        return coordinator, case_worker

    def load(self, wanted: int, batch: int, rng: random.Random, case_worker) -> None:
        existing = Report.objects.filter(raw_source=BENCH_MARK).count()
        missing = wanted - existing
        if missing <= 0:
            self.stdout.write(f"{existing} benchmark reports already there; loading none")
            return
        records = data.load_records(data.DEFAULT_CORPUS)
        departments = {d.code: d for d in Department.objects.all()}
        last = (
            Report.objects.filter(raw_source=BENCH_MARK)
            .order_by("-case_number")
            .values_list("case_number", flat=True)
            .first()
        )
        start = int(last[len(CASE_PREFIX) :]) + 1 if last else 1
        now = timezone.now()
        self.stdout.write(f"loading {missing} reports in batches of {batch} …")
        began = time.perf_counter()
        for offset in range(0, missing, batch):
            size = min(batch, missing - offset)
            rows = [
                self.synthetic(rng.choice(records), start + offset + i, now, rng, departments)
                for i in range(size)
            ]
            for row in rows:
                own = row.department_id == departments[CASE_WORKER_DEPARTMENT].pk
                if own and row.status == Report.Status.IN_PROGRESS and rng.random() < 0.6:
                    row.assignee = case_worker
            with transaction.atomic():
                Report.objects.bulk_create(rows)
        self.stdout.write(f"loaded in {time.perf_counter() - began:.1f} s")
        if connection.vendor == "postgresql":
            # Fresh statistics and visibility map, as autovacuum would leave them after a
            # while in production (VACUUM cannot run inside a transaction, e.g. in tests).
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
            with connection.cursor() as cursor:
                cursor.execute(f"{command} intake_report")

    def synthetic(self, record: dict, number: int, now, rng: random.Random, departments):
        status = rng.choices([s for s, _ in STATUSES], [w for _, w in STATUSES])[0]
        report = Report(
            case_number=f"{CASE_PREFIX}{number:07d}",
            channel=record["channel"],
            subject=record["subject"] or "",
            text=record["text"],
            received_at=now - timedelta(seconds=rng.uniform(120, 90 * 86400)),
            status=status,
            raw_source=BENCH_MARK,
        )
        if status == Report.Status.RECEIVED:
            return report
        # Most predictions are confident; a tail falls under the review threshold.
        confidence = min(0.995, max(0.08, rng.betavariate(6, 1.6)))
        report.department = departments[record["department"]]
        report.routing_confidence = round(confidence, 4)
        report.severity_score = round(
            min(5.0, max(1.0, record["severity"] + rng.uniform(-0.5, 0.5))), 3
        )
        report.severity = record["severity"]
        report.case_type = record["case_type"]
        report.sentiment = record["sentiment"]
        report.tag_codes = Report.encode_tags(record["tags"])
        report.keywords = record["keywords"]
        report.routed_at = report.received_at + timedelta(seconds=rng.uniform(1, 30))
        return report

    def clean(self) -> None:
        deleted, _ = Report.objects.filter(raw_source=BENCH_MARK).delete()
        get_user_model().objects.filter(username__in=[COORDINATOR, CASE_WORKER]).delete()
        self.stdout.write(f"deleted {deleted} benchmark rows and the benchmark users")

    # Measuring ----------------------------------------------------------------------------

    def measure(self, coordinator, case_worker, runs: int) -> None:
        total = Report.objects.count()
        own = Report.objects.filter(department__code=CASE_WORKER_DEPARTMENT).count()
        size = settings.QUEUE_PAGE_SIZE
        deep_all = max(1, total // size // 2)
        deep_own = max(1, own // size)
        search = {"q": "trasig", "status": Report.Status.ROUTED, "tagg": "skaderisk"}
        cases = [
            ("queue Alla, page 1", coordinator, "/arenden/", {"avdelning": "alla"}),
            (f"queue Alla, page {deep_all}", coordinator, "/arenden/", {"sida": deep_all}),
            ("search Alla (text+status+tag)", coordinator, "/arenden/", search),
            ("review, coordinator", coordinator, "/arenden/granskning/", {}),
            ("queue belysning, page 1", case_worker, "/arenden/", {}),
            (f"queue belysning, page {deep_own}", case_worker, "/arenden/", {"sida": deep_own}),
            ("search belysning (text+status+tag)", case_worker, "/arenden/", search),
            ("review, case worker", case_worker, "/arenden/granskning/", {}),
        ]
        self.stdout.write(
            f"\n{total} reports ({own} in {CASE_WORKER_DEPARTMENT}), database "
            f"{connection.vendor}, page size {size}, median of {runs} runs after one warm-up\n"
        )
        header = f"{'request':<38} {'median ms':>10} {'min ms':>8} {'queries':>8} {'rows':>6}"
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        slow = []
        with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
            clients = {}
            for user in (coordinator, case_worker):
                clients[user.pk] = Client()
                clients[user.pk].force_login(user)
            for name, user, url, params in cases:
                client = clients[user.pk]
                with CaptureQueriesContext(connection) as captured:
                    response = client.get(url, params)  # warm-up, and the query count
                # Read the count now: the next request clears the connection's query log.
                queries = len(captured)
                if response.status_code != 200:
                    raise CommandError(f"{name}: HTTP {response.status_code}")
                rows = response.content.decode().count('<th scope="row"')
                timings = []
                for _ in range(runs):
                    began = time.perf_counter()
                    client.get(url, params)
                    timings.append((time.perf_counter() - began) * 1000)
                median = statistics.median(timings)
                if median > TARGET_MS:
                    slow.append(name)
                self.stdout.write(
                    f"{name:<38} {median:>10.1f} {min(timings):>8.1f} {queries:>8} {rows:>6}"
                )
        verdict = f"over {TARGET_MS} ms: {', '.join(slow)}" if slow else f"all under {TARGET_MS} ms"
        self.stdout.write(f"\n{verdict}")
