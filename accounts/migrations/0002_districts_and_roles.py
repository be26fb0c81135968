"""Reference data every deployment needs: Almaty's districts and the role groups."""

from django.db import migrations

from accounts.districts import ensure_districts

ROLE_GROUPS = ["official", "moderator"]


def forwards(apps, schema_editor):
    ensure_districts(apps.get_model("accounts", "District"))
    Group = apps.get_model("auth", "Group")
    for name in ROLE_GROUPS:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
