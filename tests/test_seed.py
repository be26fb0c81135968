"""seed_demo: Almaty's districts, communities and demo accounts; safe to run twice."""

import pytest
from django.core.management import call_command

from accounts.models import District, User
from accounts.permissions import is_citizen, is_moderator, is_official
from communities.models import Community

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent(capsys, settings):
    settings.DEMO_MODE = True
    call_command("seed_demo")
    first = (District.objects.count(), Community.objects.count(), User.objects.count())
    call_command("seed_demo")
    second = (District.objects.count(), Community.objects.count(), User.objects.count())
    assert first == second
    assert first[0] == 8
    assert first[1] >= 3
    out = capsys.readouterr().out
    assert "official@demo.birge.kz" in out and "birge-official-2026" in out


def test_seed_demo_accounts_have_their_roles(settings):
    settings.DEMO_MODE = True
    call_command("seed_demo")
    assert is_official(User.objects.get(email="official@demo.birge.kz"))
    assert is_moderator(User.objects.get(email="moderator@demo.birge.kz"))
    citizen = User.objects.get(email="citizen@demo.birge.kz")
    assert is_citizen(citizen) and not is_official(citizen)
    assert citizen.check_password("birge-citizen-2026")


def test_no_demo_accounts_outside_demo_mode(settings, capsys):
    settings.DEMO_MODE = False
    call_command("seed_demo")
    assert not User.objects.exists()
    assert "birge-" not in capsys.readouterr().out
    assert Community.objects.filter(status=Community.Status.APPROVED).count() >= 3
