"""seed_demo as an operator sees it in the embedded mode (eager Celery): no wall of INFO logs, and
the demo accounts' table last, each account with the roles the database gives it."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT, server_env

pytestmark = pytest.mark.server


def test_seed_demo_is_quiet_and_ends_with_the_accounts_and_their_real_roles(tmp_path):
    env = server_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", REDIS_URL="")
    env["BIRGE_DEMO_MODE"] = "true"
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    done = subprocess.run(
        [sys.executable, "manage.py", "seed_demo"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    # Before: some 190 lines of "INFO celery.app.trace Task … succeeded" and service logs.
    logged = [line for line in done.stderr.splitlines() if " INFO " in line]
    assert logged == [], logged[:5]
    assert len(done.stderr.splitlines()) < 5, done.stderr[:500]

    lines = done.stdout.rstrip().splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("Demo accounts"))
    table = lines[start + 2 :]  # after the title and the column heads
    # The table is the last thing printed: five accounts and nothing after them.
    assert len(table) == 5, lines[start:]
    roles = {line.split()[0]: " ".join(line.split()[2:]) for line in table}
    assert roles["official@demo.birge.kz"] == "official"
    assert roles["moderator@demo.birge.kz"] == "moderator"
    # The administrator is a superuser (and holds the official role), not "official" only.
    assert roles["admin@demo.birge.kz"].startswith("administrator")
    # The lead leads the tram depot's community, read from its memberships.
    assert "lead of tram-depot" in roles["lead@demo.birge.kz"]
    assert roles["citizen@demo.birge.kz"].startswith("citizen")
    assert "birge-lead-2026" in table[1]
