"""Sign-up reply time for a new e-mail against a registered one: `python -m bench.signup_timing`.

Issue 10 measured 17-58 ms for a registered address against 310-615 ms for a new one, enough to
tell which addresses have accounts. This signs up N new and N registered addresses, alternating,
through the real sign-up page (Django test client, production password hasher, a scratch SQLite
database, mails kept in memory, allauth's rate limits off so that only the work differs) and
prints both distributions. Not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10, help="sign-ups of each kind")
    parser.add_argument(
        "--database-url",
        help="an empty scratch database (its tables are created; default: a new SQLite file)",
    )
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="birge-signup-bench-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="civic.settings.base",
        DATABASE_URL=args.database_url or f"sqlite:///{scratch / 'db.sqlite3'}",
        REDIS_URL="",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        LOG_LEVEL="ERROR",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings

    from accounts.models import User

    call_command("migrate", verbosity=0)
    password = "a-Long-bench-passw0rd"
    User.objects.filter(email__endswith="@bench.example.kz").delete()
    for i in range(args.n):
        User.objects.create_user(email=f"taken{i}@bench.example.kz", password=password)

    times: dict[str, list[float]] = {"new": [], "taken": []}
    with override_settings(ALLOWED_HOSTS=["testserver"], ACCOUNT_RATE_LIMITS=False):
        client = Client()
        client.get("/en/accounts/signup/")  # warm up templates and translations
        for i in range(args.n):
            for kind in ("new", "taken"):
                data = {
                    "email": f"{kind}{i}@bench.example.kz",
                    "password1": password,
                    "password2": password,
                }
                started = time.perf_counter()
                response = client.post("/en/accounts/signup/", data)
                times[kind].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 302, response.status_code
                client.logout()

    for kind, values in times.items():
        values.sort()
        print(
            f"{kind:>5}: median {statistics.median(values):6.1f} ms  "
            f"min {values[0]:6.1f}  max {values[-1]:6.1f}  (n={len(values)})"
        )
    gap = statistics.median(times["new"]) - statistics.median(times["taken"])
    print(f"median gap (new - taken): {gap:+.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
