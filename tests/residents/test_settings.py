"""CENSUS_PEPPER under production settings: required, and at least 32 random characters."""

import os
import secrets
import subprocess
import sys

from tests.conftest import ROOT

KEY = "Qx7-pepper-test-production-secret-key-0123456789abcdef"  # 53 characters

PROBE = "import django; from django.conf import settings; django.setup(); print(len(settings.CENSUS_PEPPER))"


def _run(**extra):
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "DATABASE_URL",
            "REDIS_URL",
            "CENSUS_PEPPER",
            "DJANGO_SECRET_KEY",
            "BIRGE_LOCAL_TRIAL",
        )
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


def test_production_refuses_to_start_without_a_census_pepper():
    for unset in ({}, {"CENSUS_PEPPER": ""}, {"CENSUS_PEPPER": "   "}):
        result = _run(**unset)
        assert result.returncode != 0, unset
        assert "ImproperlyConfigured" in result.stderr
        assert "CENSUS_PEPPER is required in production" in result.stderr
    # The local trial of `make stack` generates one (scripts/stack.sh): the settings still
    # refuse to derive one themselves.
    trial = _run(BIRGE_LOCAL_TRIAL="true")
    assert trial.returncode != 0
    assert "CENSUS_PEPPER is required in production" in trial.stderr


def test_production_refuses_a_short_or_repetitive_census_pepper():
    for weak in ("short-pepper", "a" * 31, "p" * 48, "ab" * 24):
        result = _run(CENSUS_PEPPER=weak)
        assert result.returncode != 0, weak
        assert "CENSUS_PEPPER must be at least 32" in result.stderr


def test_production_takes_a_long_random_one():
    pepper = secrets.token_urlsafe(48)
    result = _run(CENSUS_PEPPER=pepper)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(len(pepper))
    exactly = _run(CENSUS_PEPPER=secrets.token_hex(16))  # 32 characters
    assert exactly.returncode == 0, exactly.stderr
