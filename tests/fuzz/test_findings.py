"""Regression tests for the 5xx the fuzz suite found, one per finding."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import OfficialFactory, make_poll

pytestmark = pytest.mark.django_db


def test_finding_code_batch_revoke_with_an_id_past_64_bits():
    # POST /en/polls/manage/18446744073709551616/codes/<batch>/revoke/ reached the database
    # with the id (OverflowError on SQLite, out of range on PostgreSQL): a 500.
    from polls.services import event_codes_generate

    official = OfficialFactory()
    poll = make_poll(official=official, ballot_mode="both")
    batch = event_codes_generate(actor=official, poll_id=poll.pk, count=1)[0].batch
    client = Client(raise_request_exception=False)
    client.force_login(official)

    for bad in (2**64, 2**63):
        response = client.post(f"/en/polls/manage/{bad}/codes/{batch}/revoke/")
        assert response.status_code < 500, bad
    # The batch of the real poll is untouched by those requests and still revocable.
    response = client.post(f"/en/polls/manage/{poll.pk}/codes/{batch}/revoke/", follow=True)
    assert response.status_code == 200
    assert b"1 unused code revoked." in response.content


def test_finding_notification_admin_add_is_refused():
    # POST /admin/notifications/notification/add/ saved a notification without its user
    # (every field but read_at is read-only): IntegrityError, a 500.
    from notifications.models import Notification
    from tests.factories import UserFactory

    admin = UserFactory(is_staff=True, is_superuser=True)
    client = Client(raise_request_exception=False)
    client.force_login(admin)

    assert client.get("/admin/notifications/notification/add/").status_code == 403
    response = client.post("/admin/notifications/notification/add/", {"_save": "Save"})
    assert response.status_code == 403
    assert not Notification.objects.exists()
