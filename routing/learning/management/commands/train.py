"""`manage.py train --kind baseline|transformer [--activate]`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ml.train import TrainingError
from routing.learning import services
from routing.learning.predictor import ModelNotReady


class Command(BaseCommand):
    help = "Train on the corpus plus the case workers' labels and register the version."

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=["baseline", "transformer"], required=True)
        parser.add_argument("--activate", action="store_true", help="make it the active model")
        parser.add_argument("--base-model", help="transformer: hub name or local directory")
        parser.add_argument("--epochs", type=int, help="transformer: maximum epochs")
        parser.add_argument("--max-steps", type=int, help="transformer: optimiser step limit")

    def handle(self, *args, kind, activate, base_model, epochs, max_steps, **options):
        extra = {k: v for k, v in {"epochs": epochs, "max_steps": max_steps}.items() if v}
        try:
            version = services.train_model_version(
                kind,
                base_models=[base_model] if base_model else None,
                options=extra if kind == "transformer" else None,
            )
        except TrainingError as exc:
            raise CommandError(str(exc)) from None
        f1 = version.department_macro_f1
        self.stdout.write(
            f"registered {version.version} ({version.kind}) at {version.directory}"
            + (f"; department macro-F1 {f1:.3f} on the test split" if f1 is not None else "")
        )
        if activate:
            try:
                services.activate_model_version(version)
            except ModelNotReady as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"activated {version.version}")
