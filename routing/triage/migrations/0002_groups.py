"""Create the auth groups of the triage UI, with the admin permissions administrators need."""

from django.db import migrations

GROUPS = ["Handläggare", "Kundtjänst", "Administratörer"]


def create(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in GROUPS:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("triage", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
