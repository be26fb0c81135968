"""A real Celery worker on Redis: an e-mail task that fails once and is retried still
delivers each e-mail exactly once, and the other recipients' e-mails do not wait for it."""

import os
import subprocess
import sys
import time
import uuid
from email import message_from_bytes
from pathlib import Path

import pytest
from django.db import connection

from civic.celery import app as celery_app
from communities.services import initiative_transition, support_add
from notifications.models import Notification
from tests.conftest import ROOT
from tests.factories import OfficialFactory, UserFactory, make_initiative, make_member

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def _delivered(folder: Path) -> list[str]:
    addresses = []
    for path in sorted(folder.glob("*.log")):
        for chunk in path.read_bytes().split(b"-" * 79):
            if chunk.strip():
                addresses += message_from_bytes(chunk.strip()).get_all("To", [])
    return addresses


@pytest.fixture
def worker(settings, tmp_path):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    s = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    env.update(
        DJANGO_SETTINGS_MODULE="civic.settings.base",
        DATABASE_URL=f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}",
        REDIS_URL=settings.REDIS_URL,
        CELERY_QUEUE=queue,
        EMAIL_BACKEND="tests.mail_backends.FlakyFileBackend",
        EMAIL_FILE_PATH=str(mail_dir),
    )
    return {"queue": queue, "mail_dir": mail_dir, "env": env, "log": tmp_path / "worker.log"}


def _start(worker, fail_once_for: str):
    env = {**worker["env"], "FLAKY_FAIL_ONCE_FOR": fail_once_for}
    log = worker["log"].open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "civic", "worker", "-Q", worker["queue"],
         "--pool", "solo", "--without-heartbeat", "--without-gossip", "--without-mingle",
         "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    return proc, log


def test_a_retried_notification_task_delivers_exactly_once(worker):
    initiative = make_initiative(status="under_review")
    lead = initiative.created_by
    member = make_member(initiative.community)
    supporter = UserFactory()
    support_add(actor=supporter, initiative_id=initiative.pk)
    official = OfficialFactory()

    # Tasks of this test go to its own queue on the real broker, not run in-process.
    conf = celery_app.conf
    saved = conf.task_always_eager, conf.task_default_queue
    conf.task_always_eager, conf.task_default_queue = False, worker["queue"]
    proc, log = _start(worker, fail_once_for=member.email)
    try:
        initiative_transition(
            actor=official, initiative_id=initiative.pk, to="accepted", response="Adopted."
        )
        expected = sorted([lead.email, member.email, supporter.email])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sorted(_delivered(worker["mail_dir"])) != expected:
            time.sleep(0.3)
        # The same task delivered again (as a broker redelivery would) sends nothing more.
        from communities.models import InitiativeStatusChange

        change = InitiativeStatusChange.objects.get(initiative=initiative, to_status="accepted")
        celery_app.send_task(
            "communities.notify_status_change", args=[change.pk], queue=worker["queue"]
        )
        time.sleep(3)
    finally:
        conf.task_always_eager, conf.task_default_queue = saved
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
    output = worker["log"].read_text(errors="replace")
    assert (worker["mail_dir"] / f"failed-once-{member.email}").exists(), output[-3000:]
    retries = [line for line in output.splitlines() if "Retry in" in line]
    # Only the failing recipient's own e-mail task was retried, once; not the fan-out.
    assert len(retries) == 1 and "notifications.email_notification" in retries[0], output[-3000:]
    assert sorted(_delivered(worker["mail_dir"])) == expected, output[-3000:]
    sent = Notification.objects.filter(key=f"initiative-change:{change.pk}")
    assert sorted(sent.filter(emailed_at__isnull=False).values_list("user__email", flat=True)) == (
        expected
    )
