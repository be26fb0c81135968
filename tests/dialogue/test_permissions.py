"""How long a comment stays editable is one rule (dialogue.permissions): the thread page, the
API and the service all ask it, so an edit is offered exactly while it is accepted."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

import dialogue.permissions as rules
from civic.errors import Conflict
from dialogue import services
from dialogue.models import Comment
from tests.factories import UserFactory, make_thread

pytestmark = pytest.mark.django_db

NOON = datetime(2030, 3, 21, 7, 0, tzinfo=UTC)


def _offered(author, comment) -> dict:
    client = Client()
    client.force_login(author)
    page = client.get(comment.thread.get_absolute_url()).content.decode()
    tree = client.get(f"/api/v1/dialogue/threads/{comment.thread_id}/comments").json()
    return {
        "page": f"/comments/{comment.pk}/edit/" in page,
        "api": next(c for c in tree if c["id"] == comment.pk)["editable"],
    }


def _edit(author, comment, body) -> bool:
    try:
        services.comment_edit(actor=author, comment_id=comment.pk, body=body)
    except Conflict as exc:
        assert exc.code == "edit_window_passed"
        return False
    return True


def test_finding_comment_edit_window_one_rule(settings, monkeypatch):
    settings.COMMENT_EDIT_SECONDS = 600
    author = UserFactory()
    with time_machine.travel(NOON, tick=False) as traveller:
        comment = services.comment_post(actor=author, thread_id=make_thread().pk, body="Tpyo")
        traveller.shift(timedelta(seconds=600))  # the last second of the window
        assert _offered(author, comment) == {"page": True, "api": True}
        assert _edit(author, comment, "Typo")
        traveller.shift(timedelta(seconds=1))  # past it
        assert _offered(author, comment) == {"page": False, "api": False}
        assert not _edit(author, comment, "Typo!")
        traveller.shift(timedelta(seconds=-1))

        # Change the one rule: every entry point follows it.
        monkeypatch.setattr(rules, "comment_edit_window_open", lambda comment, now=None: False)
        assert _offered(author, comment) == {"page": False, "api": False}
        assert not _edit(author, comment, "Typo?")
        monkeypatch.setattr(rules, "comment_edit_window_open", lambda comment, now=None: True)
        traveller.shift(timedelta(days=1))
        assert _offered(author, comment) == {"page": True, "api": True}
        assert _edit(author, comment, "Typo, a day later")
    assert Comment.objects.get(pk=comment.pk).body == "Typo, a day later"


def test_only_the_author_sees_an_editable_comment():
    author, reader = UserFactory(), UserFactory()
    comment = services.comment_post(actor=author, thread_id=make_thread().pk, body="Hello")
    assert rules.can_edit_comment(author, comment)
    assert not rules.can_edit_comment(reader, comment)
    assert _offered(reader, comment) == {"page": False, "api": False}
