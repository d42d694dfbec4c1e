"""Seed one Department per taxonomy code (names from ml.taxonomy, kept up to date)."""

from django.db import migrations

from ml import taxonomy


def seed(apps, schema_editor):
    Department = apps.get_model("intake", "Department")
    for code, name in taxonomy.DEPARTMENTS.items():
        Department.objects.update_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("intake", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
