"""Notifications: stored first and committed, then e-mailed one by one, each exactly once; a
failing mailbox holds up nobody else; enqueuing after commit never fails the request."""

import smtplib

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation

from communities.models import Initiative, InitiativeStatusChange
from communities.services import initiative_transition, support_add
from communities.tasks import notify_status_change
from notifications.models import Notification
from notifications.services import enqueue_on_commit, notification_email, notification_send
from notifications.tasks import email_notification
from tests.factories import OfficialFactory, UserFactory, make_initiative, make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def refuse_mail_to(monkeypatch):
    """Make the mail backend refuse some addresses, as an SMTP server would."""
    refused: set[str] = set()
    from django.core.mail.backends.locmem import EmailBackend

    real = EmailBackend.send_messages

    def send_messages(self, messages):
        for m in messages:
            if set(m.to) & refused:
                raise smtplib.SMTPRecipientsRefused({m.to[0]: (550, b"mailbox unavailable")})
        return real(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", send_messages)
    return refused


def _decide(initiative, capture, to="accepted"):
    with capture(execute=True):
        initiative_transition(
            actor=OfficialFactory(), initiative_id=initiative.pk, to=to, response="Adopted."
        )
    return InitiativeStatusChange.objects.get(initiative=initiative, to_status=to)


def test_one_failing_recipient_blocks_nobody_and_is_retried_alone(
    refuse_mail_to, django_capture_on_commit_callbacks
):
    initiative = make_initiative(status="under_review")
    lead = initiative.created_by
    broken, after = make_member(initiative.community), make_member(initiative.community)
    assert broken.pk < after.pk  # the failing one comes first in the fan-out
    refuse_mail_to.add(broken.email)
    mail.outbox.clear()
    change = _decide(initiative, django_capture_on_commit_callbacks)
    key = f"initiative-change:{change.pk}"
    # Every in-app notification exists, the failing recipient's too.
    assert Notification.objects.filter(key=key).count() == 3
    # Everyone else got their e-mail, although the failing one was tried first.
    assert sorted(m.to[0] for m in mail.outbox) == sorted([lead.email, after.email])
    failed = Notification.objects.get(key=key, user=broken)
    assert failed.emailed_at is None
    # The fan-out running again re-mails nobody who has theirs ...
    refuse_mail_to.clear()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert notify_status_change.run(change.pk) == 3
    # ... and the failed one is delivered now, once.
    assert [m.to for m in mail.outbox] == [[broken.email]]
    assert not Notification.objects.filter(key=key, emailed_at__isnull=True).exists()
    with django_capture_on_commit_callbacks(execute=True):
        notify_status_change.run(change.pk)
    assert email_notification.run(failed.pk) is False
    assert len(mail.outbox) == 1


def test_the_email_task_retries_on_a_mail_server_error(refuse_mail_to):
    user = UserFactory()
    note = Notification.objects.create(
        user=user, kind="initiative.status", key="k", params={"title": "T", "status": "accepted"}
    )
    refuse_mail_to.add(user.email)
    with pytest.raises(smtplib.SMTPException):  # an OSError: autoretry_for catches it
        notification_email(notification_id=note.pk)
    assert isinstance(smtplib.SMTPException(), tuple(email_notification.autoretry_for))
    note.refresh_from_db()
    assert note.emailed_at is None and mail.outbox == []
    refuse_mail_to.clear()
    assert email_notification.run(note.pk) is True
    assert email_notification.run(note.pk) is False  # safe to run twice
    assert len(mail.outbox) == 1
    note.refresh_from_db()
    assert note.emailed_at is not None


def test_inactive_or_addressless_users_get_the_in_app_notification_only(
    django_capture_on_commit_callbacks,
):
    gone, blank = UserFactory(is_active=False), UserFactory(email="")
    with django_capture_on_commit_callbacks(execute=True):
        for user in (gone, blank):
            notification_send(user=user, kind="initiative.status", key="k", params={"title": "T"})
    assert mail.outbox == []
    assert Notification.objects.filter(key="k", emailed_at__isnull=True).count() == 2


def test_a_subject_never_carries_a_line_break(django_capture_on_commit_callbacks):
    user = UserFactory()
    # Stored before titles were single-line: a header injection attempt in the title.
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(
            user=user,
            kind="initiative.status",
            key="legacy",
            params={"title": "Park\r\nBcc: victim@example.kz", "status": "accepted"},
        )
    [message] = mail.outbox
    assert "\n" not in message.subject and "\r" not in message.subject
    assert "Park Bcc: victim@example.kz" in message.subject
    assert message.bcc == [] and message.to == [user.email]
    assert message.message()["Bcc"] is None


def test_an_invitation_subject_never_carries_a_line_break(django_capture_on_commit_callbacks):
    from communities.models import Community
    from communities.services import invite_create
    from tests.factories import CommunityFactory

    community = CommunityFactory()
    Community.objects.filter(pk=community.pk).update(name_en="Park\nBcc: x@example.kz")
    lead = make_member(community, role="lead")
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        invite_create(actor=lead, community_id=community.pk, email="guest@example.kz")
    [message] = mail.outbox
    assert "\n" not in message.subject and message.to == ["guest@example.kz"]


def test_enqueue_on_commit_logs_and_swallows_a_failing_enqueue(
    django_capture_on_commit_callbacks, caplog, monkeypatch
):
    def outage(*args, **kwargs):
        raise ConnectionError("broker is down")

    monkeypatch.setattr(notify_status_change, "apply_async", outage)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        enqueue_on_commit("communities.notify_status_change", 1, 2)
    assert len(callbacks) == 1
    assert "could not run or enqueue communities.notify_status_change(1, 2)" in caplog.text
    from notifications.models import PendingTask

    [kept] = PendingTask.objects.filter(task="communities.notify_status_change")
    assert kept.args == [1, 2] and kept.handed_at is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_never_turns_a_committed_move_into_a_500(client, monkeypatch):
    initiative = make_initiative(status="under_review")
    supporter = UserFactory()
    support_add(actor=supporter, initiative_id=initiative.pk)

    def outage(*args, **kwargs):
        raise ConnectionRefusedError("redis is down")

    monkeypatch.setattr(notify_status_change, "apply_async", outage)
    client.force_login(OfficialFactory())
    response = client.post(
        f"/api/v1/initiatives/{initiative.pk}/transition",
        {"to": "accepted", "response": "Adopted."},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert Initiative.objects.get(pk=initiative.pk).status == "accepted"
    # The page form too (its redirect, not a 500).
    review = make_initiative(status="under_review")
    with translation.override("en"):
        page = reverse("initiatives:decide", kwargs={"pk": review.pk})
    response = client.post(page, {"to": "rejected", "response": "No budget."})
    assert response.status_code == 302
    assert Initiative.objects.get(pk=review.pk).status == "rejected"
    # Nobody heard yet, but the requests to tell them are kept, and handed over when the
    # broker is back: the supporter hears exactly once.
    from notifications.models import PendingTask
    from notifications.services import pending_tasks_hand_over

    kept = PendingTask.objects.filter(task=notify_status_change.name)
    held = kept.count()  # the two decisions, and the second initiative's way to review
    assert held >= 2 and all(p.attempts == 1 for p in kept)
    assert not Notification.objects.filter(user=supporter).exists()
    monkeypatch.undo()
    assert pending_tasks_hand_over() == 0  # younger than a minute: its own hand-over may run
    import time_machine
    from django.utils import timezone

    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=2)):
        assert pending_tasks_hand_over() == held
        assert pending_tasks_hand_over() == 0
    assert not PendingTask.objects.filter(task=notify_status_change.name).exists()
    assert Notification.objects.filter(user=supporter).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_eager_task_error_never_fails_the_request(client, monkeypatch, caplog):
    """Eager mode runs the task inside on_commit and propagates its errors."""
    from civic.celery import app

    assert app.conf.task_always_eager and app.conf.task_eager_propagates
    initiative = make_initiative(status="under_review")
    make_member(initiative.community)

    def crash(**kwargs):
        raise RuntimeError("the task itself failed")

    monkeypatch.setattr("communities.services.notification_store", crash)
    client.force_login(OfficialFactory())
    response = client.post(
        f"/api/v1/initiatives/{initiative.pk}/transition",
        {"to": "accepted", "response": "Adopted."},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert Initiative.objects.get(pk=initiative.pk).status == "accepted"
    assert "the task itself failed" in caplog.text  # it did run, and its error was logged


def test_the_notification_list_pages_through_everything(client):
    user = UserFactory()
    Notification.objects.bulk_create(
        Notification(
            user=user, kind="initiative.status", key=f"n{i}",
            params={"title": f"Initiative {i:03d}", "status": "accepted"},
        )
        for i in range(230)
    )  # fmt: skip
    client.force_login(user)
    with translation.override("en"):
        index = reverse("notifications:index")
    # bulk_create gives one created_at to all: the newest is the highest id.
    first = client.get(index).content.decode()
    assert "Initiative 229" in first and "Initiative 209" not in first
    assert "Page 1 of 12" in first
    last = client.get(index, {"page": 12}).content.decode()
    assert "Initiative 000" in last  # beyond the old cut at 200
    assert "Initiative 009" in last and "Initiative 010" not in last


def test_the_sweep_emails_what_a_broker_outage_kept_back_and_only_once(
    monkeypatch, django_capture_on_commit_callbacks, refuse_mail_to
):
    import time_machine
    from django.utils import timezone

    from notifications.services import notifications_email_pending

    person = UserFactory()

    def outage(*args, **kwargs):
        raise ConnectionError("broker is down")

    monkeypatch.setattr(email_notification, "apply_async", outage)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        note = notification_send(user=person, kind="initiative.status", key="k-1", params={})
    assert Notification.objects.filter(pk=note.pk, emailed_at__isnull=True).exists()
    assert mail.outbox == []
    # Too fresh for the sweep: its own task may still be on its way.
    assert notifications_email_pending() == 0
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=6)):
        refuse_mail_to.add(person.email)
        assert notifications_email_pending() == 0  # the mail server refuses: tried again later
        refuse_mail_to.clear()
        assert notifications_email_pending() == 1
        assert notifications_email_pending() == 0
    assert [m.to for m in mail.outbox] == [[person.email]]
    assert Notification.objects.get(pk=note.pk).emailed_at is not None
