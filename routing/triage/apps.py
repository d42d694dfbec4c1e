from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TriageConfig(AppConfig):
    name = "routing.triage"
    label = "triage"
    verbose_name = _("Handläggning")

    def ready(self):
        from django.db.models.signals import post_migrate

        post_migrate.connect(grant_administrator_permissions, sender=self)


# What the Administratörer group may do in the admin: users, departments, case workers,
# API clients and model versions (a member also needs staff status to log in there).
ADMINISTRATOR_MODELS = {
    "auth": ["user", "group"],
    "intake": ["department", "apiclient", "report"],
    "triage": ["caseworker", "reportevent"],
    "learning": ["modelversion", "label"],
}


def grant_administrator_permissions(sender, **kwargs):
    """Permissions exist only after migrations, so the group gets them on post_migrate."""
    from django.contrib.auth.models import Group, Permission

    from routing.triage.models import ADMINISTRATORS

    group, _created = Group.objects.get_or_create(name=ADMINISTRATORS)
    for app_label, models in ADMINISTRATOR_MODELS.items():
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label=app_label, content_type__model__in=models
            )
        )
