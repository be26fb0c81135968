"""The task outbox against a real fault: the worker stopped, tasks queued, Redis killed and
restarted empty, the worker started. Every notification is delivered exactly once and every
export finishes, because an outbox row stays until its task has run and beat hands it over
again (here the sweep beat runs is called directly, with a zero lease)."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import redis

from civic.celery import app as celery_app
from dashboard.models import Export
from dashboard.services import export_create
from dialogue.models import ThreadFollow
from dialogue.services import comment_post, thread_follow
from notifications.models import Notification, PendingTask
from notifications.services import pending_tasks_hand_over
from tests.conftest import free_port
from tests.factories import OfficialFactory, UserFactory, make_poll, make_thread
from tests.workers import delivered, start_worker, worker_env

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.server,
    pytest.mark.django_db(transaction=True),
]

FOLLOWERS = 12


class OwnRedis:
    """A Redis server of this test's own, so it can be killed without touching anyone else's."""

    def __init__(self, tmp_path: Path):
        self.port = free_port()
        self.dir = tmp_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> OwnRedis:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def keys(self) -> int:
        return redis.Redis.from_url(self.url).dbsize()


@pytest.fixture
def broker(tmp_path):
    """This test's Redis as the Celery broker of the test process (tasks are sent, not run)."""
    own = OwnRedis(tmp_path).start()
    conf = celery_app.conf
    saved = conf.task_always_eager, conf.task_default_queue, conf.broker_url
    queue = f"fault-{uuid.uuid4().hex[:8]}"
    conf.task_always_eager, conf.task_default_queue, conf.broker_url = False, queue, own.url
    celery_app._pool = None  # connections are pooled per broker URL: start afresh
    celery_app.amqp._producer_pool = None
    yield own, queue
    conf.task_always_eager, conf.task_default_queue, conf.broker_url = saved
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    own.kill()


def test_finding_outbox_survives_redis_restart(broker, tmp_path, settings):
    own, queue = broker
    settings.MEDIA_ROOT = tmp_path / "media"
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    official = OfficialFactory()
    thread = make_thread()
    followers = [UserFactory() for _ in range(FOLLOWERS)]
    for user in followers:
        thread_follow(actor=user, thread_id=thread.pk)
    poll = make_poll(official=official)

    # The worker is stopped: the changes commit and their tasks wait in Redis.
    comment_post(actor=official, thread_id=thread.pk, body="The akimat answers: route 12 returns.")
    exports = [
        export_create(actor=official, kind="poll_results", format=fmt, poll_id=poll.pk)
        for fmt in ("csv", "json")
    ]
    kept = PendingTask.objects.all()
    assert kept.count() == 1 + len(exports), list(kept)
    assert all(p.handed_at is not None for p in kept)  # the broker took them
    assert own.keys() > 0

    # Redis dies and comes back empty: the queued messages are gone.
    own.kill()
    own.start()
    assert own.keys() == 0

    log_path = tmp_path / "worker.log"
    env = worker_env(
        redis_url=own.url, queue=queue, mail_dir=mail_dir, MEDIA_ROOT=str(tmp_path / "media")
    )
    proc, log = start_worker(env, log_path)
    try:
        # What beat does every PENDING_TASKS_SWEEP_SECONDS, without waiting for the lease.
        assert pending_tasks_hand_over(older_than_seconds=0, lease_seconds=0) == 1 + len(exports)
        # Everyone following the thread (its starter too) but the official who answered.
        expected = sorted(
            ThreadFollow.objects.filter(thread=thread)
            .exclude(user=official)
            .values_list("user__email", flat=True)
        )
        assert len(expected) >= FOLLOWERS
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            done = Export.objects.filter(state=Export.State.DONE).count() == len(exports)
            if done and sorted(delivered(mail_dir)) == expected and not PendingTask.objects.exists():
                break
            time.sleep(0.3)
        # A second sweep after everything ran hands over nothing: nothing is sent twice.
        assert pending_tasks_hand_over(older_than_seconds=0, lease_seconds=0) == 0
        time.sleep(1)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
    output = log_path.read_text(errors="replace")[-3000:]
    assert sorted(delivered(mail_dir)) == expected, output
    notes = Notification.objects.filter(user__email__in=expected)
    assert notes.count() == len(expected), output
    assert notes.filter(emailed_at__isnull=True).count() == 0, output
    assert Export.objects.filter(state=Export.State.DONE).count() == len(exports), output
    assert not PendingTask.objects.exists(), output
