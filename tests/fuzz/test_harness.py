"""The fuzz harness itself: it must see a 500 and a refused request that changed a row, or
the fuzz tests would pass on anything. Served by this module's own URLconf."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from .harness import RESULTS, Fuzzer, count_diff, row_counts

pytestmark = pytest.mark.django_db


def crashes(request):
    raise RuntimeError("deliberate failure")


def refuses_after_writing(request):
    from django.contrib.auth.models import Group

    Group.objects.create(name="written by a refused request")
    return HttpResponse("no", status=400)


def accepts_after_writing(request):
    from django.contrib.auth.models import Group

    Group.objects.create(name="written by an accepted request")
    return HttpResponse("ok", status=201)


urlpatterns = [
    path("crash/", crashes),
    path("refuse/", refuses_after_writing),
    path("accept/", accepts_after_writing),
]


@pytest.fixture
def fuzzer(settings):
    settings.ROOT_URLCONF = __name__
    with Fuzzer(Client(), role="self-test", surface="harness") as fuzzer:
        yield fuzzer
    RESULTS.pop(("self-test", "harness"), None)


def test_a_500_is_reported_with_the_request(fuzzer):
    assert fuzzer.send("post", "/crash/", data=b'{"a": 1}', what="the bad one") == 599
    assert len(fuzzer.failures) == 1
    assert "POST /crash/ the bad one" in fuzzer.failures[0]
    assert "deliberate failure" in fuzzer.failures[0]
    with pytest.raises(AssertionError, match="1 of 1 inputs failed"):
        fuzzer.check()


def test_a_refused_request_that_changed_a_row_is_reported(fuzzer):
    before = row_counts()
    assert fuzzer.send("post", "/refuse/") == 400
    assert "refused (400) but changed rows {'auth_group': 1}" in fuzzer.failures[0]
    # ...and what it wrote was rolled back, so the next input meets the same world.
    assert count_diff(before, row_counts()) == {}


def test_an_accepted_request_may_change_rows(fuzzer):
    assert fuzzer.send("post", "/accept/") == 201
    assert fuzzer.failures == []
    assert fuzzer.tally.ok == 1
