"""Notification links keep the reader's language (bug: on /en/notifications/ every link went
to /ru/…). Links are stored without a language and prefixed when shown or e-mailed."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.utils import translation

from notifications.links import url_in_language, url_neutral
from notifications.models import Notification
from notifications.services import notification_email, notification_store
from tests.factories import UserFactory, make_initiative

pytestmark = pytest.mark.django_db


def test_stored_links_carry_no_language():
    initiative = make_initiative()
    user = UserFactory()
    with translation.override("ru"):
        url = initiative.get_absolute_url()
    assert url.startswith("/ru/")
    note, _ = notification_store(user=user, kind="initiative.status", key="k", params={}, url=url)
    assert note.url == url[3:]  # "/initiatives/…/"


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_list_links_in_the_readers_language(client, lang):
    initiative = make_initiative()
    user = UserFactory()
    with translation.override("ru"):
        ru_url = initiative.get_absolute_url()
    # An old row, stored with the language of the task that made it, and a new one.
    Notification.objects.create(user=user, kind="initiative.status", key="old", url=ru_url,
                                params={"title": "T", "status": "accepted"})  # fmt: skip
    notification_store(user=user, kind="initiative.status", key="new", url=ru_url,
                       params={"title": "T", "status": "accepted"})  # fmt: skip
    client.force_login(user)
    page = client.get(f"/{lang}/notifications/").content.decode()
    links = re.findall(r'<a href="([^"]*initiatives/\d+/)"', page)
    with translation.override(lang):
        expected = initiative.get_absolute_url()
    assert links == [expected, expected]


def test_the_email_links_in_the_recipients_language():
    initiative = make_initiative()
    user = UserFactory(preferred_language="kk")
    with translation.override("ru"):
        url = initiative.get_absolute_url()
    note, _ = notification_store(user=user, kind="initiative.status", key="k",
                                 params={"title": "T", "status": "accepted"}, url=url)  # fmt: skip
    assert notification_email(notification_id=note.pk)
    with translation.override("kk"):
        assert initiative.get_absolute_url() in mail.outbox[-1].body
    assert "/ru/" not in mail.outbox[-1].body


def test_links_elsewhere_are_dropped_and_unknown_paths_kept():
    assert url_neutral("https://evil.example/") == ""
    assert url_neutral("//evil.example/x") == ""
    assert url_in_language("javascript:alert(1)", "en") == ""
    assert url_in_language("/ru/no/such/page/", "en") == "/no/such/page/"
    assert url_in_language("/ru/notifications/?page=2#x", "kk") == "/kk/notifications/?page=2#x"
