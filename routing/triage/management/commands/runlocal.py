"""`manage.py runlocal`: the whole product on one machine, for a first look.

Migrates, trains and activates the baseline if no model is active, files a few demo
reports, creates a demo case worker and admin (printing their passwords), then runs the web
server, a Celery worker and beat until Ctrl-C. Without Redis, tasks run in-process.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand

from ml import data
from routing.intake import services
from routing.intake.models import Department, Report
from routing.learning import services as learning
from routing.learning.models import ModelVersion
from routing.triage.models import ADMINISTRATORS, CASE_WORKERS, COORDINATORS, CaseWorker

DEMO_REPORTS = 12
# (user name, group, departments): a case worker of four common queues, a coordinator
# (kundtjänst) who sees everything, and an administrator.
DEMO_USERS = [
    ("handlaggare", CASE_WORKERS, ["gata_trafik", "belysning", "park_natur", "avfall"]),
    ("kundtjanst", COORDINATORS, []),
    ("admin", ADMINISTRATORS, []),
]


def redis_available(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


class Command(BaseCommand):
    help = "Run Ärendeflöde locally: web server, worker and beat, with demo data and users."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="prepare, then exit")

    def handle(self, *args, port, no_serve, **options):
        say = self.stdout.write
        has_redis = redis_available(settings.REDIS_URL)
        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        say(f"Database: {engine}" + ("" if "DATABASE_URL" in os.environ else " (no DATABASE_URL)"))
        if not has_redis:
            say(
                f"Redis is not reachable at {settings.REDIS_URL}: tasks run in-process in the "
                "web server (no worker or beat), the cache is local memory."
            )
        env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "1")}
        if "EMAIL_BACKEND" not in os.environ:
            # No mail server on a laptop: acknowledgements are printed instead of sent.
            env["EMAIL_BACKEND"] = "django.core.mail.backends.console.EmailBackend"
            settings.EMAIL_BACKEND = env["EMAIL_BACKEND"]
        if not has_redis:
            env.update(CELERY_TASK_ALWAYS_EAGER="1", CACHE_BACKEND="locmem")
            settings.CELERY_TASK_ALWAYS_EAGER = True

        call_command("migrate", verbosity=0)
        say("Migrations applied.")
        if not ModelVersion.objects.filter(is_active=True).exists():
            say("No active model: training the baseline (about half a minute) ...")
            version = learning.train_model_version("baseline")
            learning.activate_model_version(version)
            f1 = version.department_macro_f1
            say(f"Activated {version.version} (department macro-F1 {f1:.3f}).")
        if not Report.objects.exists():
            self.file_demo_reports()
        self.create_demo_users()
        if no_serve:
            return
        self.serve(port, env, has_redis)

    def file_demo_reports(self):
        # Reports of the held-out test split: the demo model has not seen them.
        _, held_out = data.split(data.load_records(data.DEFAULT_CORPUS))
        chosen = held_out[::37][:DEMO_REPORTS]
        for record in chosen:
            services.ingest_report(
                services.NewReport(
                    text=record["text"],
                    subject=record.get("subject") or "",
                    channel=record["channel"],
                )
            )
        self.stdout.write(f"Filed {len(chosen)} demo reports from the corpus.")

    def create_demo_users(self):
        User = get_user_model()
        self.stdout.write("Demo users (passwords are new each run):")
        for username, group, departments in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            password = secrets.token_urlsafe(9)
            user.set_password(password)
            user.is_staff = user.is_superuser = group == ADMINISTRATORS
            user.save()
            user.groups.add(Group.objects.get_or_create(name=group)[0])
            if departments:
                profile, _ = CaseWorker.objects.get_or_create(user=user)
                profile.departments.set(Department.objects.filter(code__in=departments))
            self.stdout.write(f"  {username:12} {password}")

    def serve(self, port: int, env: dict, has_redis: bool):
        python = sys.executable
        commands = [[python, "manage.py", "runserver", f"127.0.0.1:{port}"]]
        if has_redis:
            schedule = os.path.join(tempfile.gettempdir(), "arendeflode-beat-schedule")
            celery = [python, "-m", "celery", "-A", "routing"]
            commands += [
                [
                    *celery,
                    "worker",
                    "-Q",
                    "intake,inference,shadow,training",
                    "-c",
                    "1",
                    "-l",
                    "info",
                ],
                [*celery, "beat", "-l", "info", "-s", schedule],
            ]
        processes = [subprocess.Popen(cmd, env=env) for cmd in commands]

        def stop(signum, frame):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)  # `kill` stops the children too, like Ctrl-C
        self.stdout.write(
            f"\nÄrendeflöde runs at http://127.0.0.1:{port}/ (report form: /anmal/, case "
            f"workers: /arenden/, admin: /admin/, API docs: /api/v1/docs). Ctrl-C stops it."
        )
        try:
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for p in processes:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
            for p in processes:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
