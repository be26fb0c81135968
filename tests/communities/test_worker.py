"""A real Celery worker on Redis: an e-mail task that fails once and is retried still
delivers each e-mail exactly once, and the other recipients' e-mails do not wait for it."""

import time
import uuid

import pytest

from civic.celery import app as celery_app
from communities.services import initiative_transition, support_add
from notifications.models import Notification
from tests.factories import OfficialFactory, UserFactory, make_initiative, make_member
from tests.workers import delivered, start_worker, worker_env

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(settings, tmp_path):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = worker_env(
        redis_url=settings.REDIS_URL,
        queue=queue,
        mail_dir=mail_dir,
        EMAIL_BACKEND="tests.mail_backends.FlakyFileBackend",
    )
    return {"queue": queue, "mail_dir": mail_dir, "env": env, "log": tmp_path / "worker.log"}


def _start(worker, fail_once_for: str):
    return start_worker({**worker["env"], "FLAKY_FAIL_ONCE_FOR": fail_once_for}, worker["log"])


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
        while time.monotonic() < deadline and sorted(delivered(worker["mail_dir"])) != expected:
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
    assert sorted(delivered(worker["mail_dir"])) == expected, output[-3000:]
    sent = Notification.objects.filter(key=f"initiative-change:{change.pk}")
    assert sorted(sent.filter(emailed_at__isnull=False).values_list("user__email", flat=True)) == (
        expected
    )
