"""Exports get an unguessable public id; existing rows get one each (SQLite and PostgreSQL)."""

import uuid

from django.db import migrations, models


def fill_public_ids(apps, schema_editor):
    Export = apps.get_model("dashboard", "Export")
    for pk in Export.objects.filter(public_id__isnull=True).values_list("pk", flat=True):
        Export.objects.filter(pk=pk).update(public_id=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0002_export_xlsx"),
    ]

    operations = [
        # Nullable and without a default first: a default would give every row the same id.
        migrations.AddField(
            model_name="export",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="export",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
