"""A poll says who may vote: accounts, ballot codes, or both.

New polls take accounts only unless the official asks for codes. A poll that already has
ballot codes took both until now, so it keeps taking both; every other poll takes accounts.
"""

from django.db import migrations, models


def existing_polls_keep_their_codes(apps, schema_editor):
    Poll = apps.get_model("polls", "Poll")
    EventCode = apps.get_model("polls", "EventCode")
    with_codes = EventCode.objects.values("poll_id")
    Poll.objects.filter(pk__in=with_codes).update(ballot_mode="both")


class Migration(migrations.Migration):
    dependencies = [
        ("polls", "0003_dashboard_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="poll",
            name="ballot_mode",
            field=models.CharField(
                choices=[
                    ("accounts", "Accounts only"),
                    ("codes", "Ballot codes only"),
                    ("both", "Accounts and ballot codes"),
                ],
                default="accounts",
                max_length=10,
                verbose_name="who votes",
            ),
        ),
        migrations.RunPython(existing_polls_keep_their_codes, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="poll",
            constraint=models.CheckConstraint(
                condition=models.Q(("ballot_mode__in", ["accounts", "codes", "both"])),
                name="poll_ballot_mode_known",
            ),
        ),
    ]
