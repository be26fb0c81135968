"""Poll.eligibility: who may vote with an account (residents.eligibility).

Polls that exist keep the rule they were made under: a city-wide poll stays open to every
signed-in user with a verified e-mail (`email`). A poll with a district was "only for
residents of" it, judged by the district users pick in their profile; the profile no longer
counts, so such a poll becomes `district` (verified residents of that district, by the
register): the restriction it was made with, now enforced. New polls default to `city`.
"""

from django.db import migrations, models


def forwards(apps, schema_editor):
    Poll = apps.get_model("polls", "Poll")
    Poll.objects.filter(district__isnull=False).update(eligibility="district")


def backwards(apps, schema_editor):
    pass  # the column goes away with the field


class Migration(migrations.Migration):
    dependencies = [
        ("polls", "0004_ballot_mode"),
    ]

    operations = [
        # Existing rows get "email" (today's rule) from the default of the added column...
        migrations.AddField(
            model_name="poll",
            name="eligibility",
            field=models.CharField(
                choices=[
                    ("email", "Signed-in users with a verified e-mail"),
                    ("city", "Verified residents of the city"),
                    ("district", "Verified residents of the district"),
                ],
                default="email",
                max_length=10,
                verbose_name="who may vote",
            ),
        ),
        # ...district polls become "district"...
        migrations.RunPython(forwards, backwards),
        # ...and new polls default to verified residents.
        migrations.AlterField(
            model_name="poll",
            name="eligibility",
            field=models.CharField(
                choices=[
                    ("email", "Signed-in users with a verified e-mail"),
                    ("city", "Verified residents of the city"),
                    ("district", "Verified residents of the district"),
                ],
                default="city",
                max_length=10,
                verbose_name="who may vote",
            ),
        ),
        migrations.AddConstraint(
            model_name="poll",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("eligibility", "district"), ("district__isnull", False)),
                    models.Q(("eligibility__in", ["email", "city"]), ("district__isnull", True)),
                    _connector="OR",
                ),
                name="poll_district_iff_district_eligibility",
                violation_error_message=(
                    "A poll with a district is for the verified residents of that district, "
                    "and a poll for a district's residents names the district."
                ),
            ),
        ),
    ]
