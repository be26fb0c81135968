"""Real Celery workers for tests: started on this test's database and a given broker, with
e-mails written to a folder, and a reader for what reached that folder."""

from __future__ import annotations

import os
import subprocess
import sys
from email import message_from_bytes
from pathlib import Path

from django.db import connection

from tests.conftest import ROOT


def worker_env(*, redis_url: str, queue: str, mail_dir: Path, **overrides: str) -> dict[str, str]:
    s = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    env.update(
        DJANGO_SETTINGS_MODULE="civic.settings.base",
        DATABASE_URL=f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}",
        REDIS_URL=redis_url,
        CELERY_QUEUE=queue,
        CELERY_TASK_ALWAYS_EAGER="false",
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail_dir),
    )
    env.update(overrides)
    return env


def start_worker(env: dict[str, str], log_path: Path):
    """One solo worker on the env's queue; returns the process and its open log file."""
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "civic", "worker", "-Q", env["CELERY_QUEUE"],
         "--pool", "solo", "--without-heartbeat", "--without-gossip", "--without-mingle",
         "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    return proc, log


def delivered(folder: Path) -> list[str]:
    """The To addresses of every e-mail Django's file backend wrote to `folder`."""
    addresses = []
    for path in sorted(folder.glob("*.log")):
        for chunk in path.read_bytes().split(b"-" * 79):
            if chunk.strip():
                addresses += message_from_bytes(chunk.strip()).get_all("To", [])
    return addresses
