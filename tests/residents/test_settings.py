"""CENSUS_PEPPER under production settings: a short one is refused, unset it is derived."""

import os
import subprocess
import sys

from tests.conftest import ROOT

KEY = "Qx7-pepper-test-production-secret-key-0123456789abcdef"  # 53 characters

PROBE = "import django; from django.conf import settings; django.setup(); print(len(settings.CENSUS_PEPPER))"


def _run(**extra):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CENSUS_PEPPER", "DJANGO_SECRET_KEY")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="civic.settings.production",
        DJANGO_ALLOWED_HOSTS="x.kz",
        DJANGO_SECRET_KEY=KEY,
        **extra,
    )
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_production_refuses_a_short_census_pepper():
    result = _run(CENSUS_PEPPER="short-pepper")
    assert result.returncode != 0
    assert "CENSUS_PEPPER must be at least 32" in result.stderr


def test_production_takes_a_long_one_and_derives_one_when_unset():
    assert _run(CENSUS_PEPPER="p" * 48).stdout.strip() == "48"
    derived = _run()
    assert derived.returncode == 0, derived.stderr
    assert int(derived.stdout.strip()) > 32
