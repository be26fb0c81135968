"""The lean routes (civic/intake.py): a poll vote and a budget ballot taken in front of
Django's full chain answer exactly as the full chain does, and hand to Django whatever is
unusual before the service runs.

Both routes are driven through the real ASGI application in this process (the lean one and
Django's, side by side on the same database), so their answers can be compared byte for
byte. The server tests (tests/polls/test_multiprocess.py, the browser tests) go through the
lean route on a real uvicorn server.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from asgiref.sync import sync_to_async
from asgiref.wsgi import WsgiToAsgiInstance
from django.conf import settings as django_settings
from django.db import connections

from budgets.models import BudgetBallot
from civic.asgi import django_wsgi_app
from civic.intake import LEAN_MIDDLEWARE, LeanRoutes
from polls.models import Ballot
from polls.services import event_codes_generate
from tests.budgets.conftest import make_round, project_ids
from tests.conftest import session_key
from tests.factories import OfficialFactory, UserFactory, choice_ids, make_poll

pytestmark = pytest.mark.django_db(transaction=True)

CSRF = "c" * 32
# Headers that differ between any two answers, whichever route gave them.
VOLATILE = {"date", "content-length"}


class Routes:
    """The lean application and Django's, on one thread of their own (closed after the test),
    with a count of the requests the lean one handed to Django."""

    def __init__(self):
        from budgets.api import BALLOT_ROUTE
        from polls.api import VOTE_ROUTE

        self.executor = executor = ThreadPoolExecutor(max_workers=1)

        class OnOurThread(WsgiToAsgiInstance):  # as civic.asgi runs Django, on our thread
            run_wsgi_app = sync_to_async(
                WsgiToAsgiInstance.__dict__["run_wsgi_app"].func,
                thread_sensitive=False,
                executor=executor,
            )

        async def django(scope, receive, send):
            await OnOurThread(django_wsgi_app)(scope, receive, send)

        self.django = django
        self.handed_over = 0

        async def fallback(scope, receive, send):
            self.handed_over += 1
            await self.django(scope, receive, send)

        self.lean = LeanRoutes(fallback, routes=[VOTE_ROUTE, BALLOT_ROUTE], executor=self.executor)

    def post(self, app, path: str, *, user=None, body=None, headers=None, csrf=True):
        cookies = {}
        sent = {"Content-Type": "application/json", **(headers or {})}
        if user is not None:
            cookies["sessionid"] = session_key(user)
        if csrf:
            cookies["csrftoken"] = CSRF
            sent["X-CSRFToken"] = CSRF
        content = body if isinstance(body, bytes | str) else json.dumps(body)

        async def go():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver", cookies=cookies
            ) as client:
                return await client.post(path, content=content, headers=sent)

        return asyncio.run(go())

    def both(self, path: str, **kw) -> tuple[httpx.Response, httpx.Response]:
        """The same request to the lean application, then to Django's."""
        return self.post(self.lean, path, **kw), self.post(self.django, path, **kw)

    def close(self):
        self.executor.submit(connections.close_all).result()
        self.executor.shutdown()


@pytest.fixture
def routes():
    routes = Routes()
    yield routes
    routes.close()


def _headers(response) -> dict:
    return {k: v for k, v in response.headers.items() if k not in VOLATILE}


def _vote_path(poll) -> str:
    return f"/api/v1/polls/{poll.pk}/votes"


def test_lean_middleware_is_the_sites_own_in_its_order():
    positions = [django_settings.MIDDLEWARE.index(path) for path in LEAN_MIDDLEWARE]
    assert positions == sorted(positions)


def test_a_vote_is_taken_lean_and_answered_as_django_answers(routes):
    poll = make_poll()
    first, second = choice_ids(poll)[:2]
    user = UserFactory()
    cast = routes.post(routes.lean, _vote_path(poll), user=user, body={"choices": [first]})
    assert cast.status_code == 201, cast.text
    assert cast.json() == {
        "poll": poll.pk,
        "status": "recorded",
        "choices": [first],
        "secret": False,
    }
    assert routes.handed_over == 0
    assert Ballot.objects.filter(poll=poll, voter=user).count() == 1

    # The second ballot is refused by both routes in the same words, with the same headers.
    lean, full = routes.both(_vote_path(poll), user=user, body={"choices": [second]})
    assert lean.status_code == full.status_code == 409
    assert lean.content == full.content
    assert _headers(lean) == _headers(full)
    for header in ("content-security-policy", "x-frame-options", "x-content-type-options"):
        assert header in lean.headers, header
    assert routes.handed_over == 0
    assert Ballot.objects.filter(poll=poll).count() == 1


def test_a_vote_for_no_such_poll_is_answered_as_django_answers(routes):
    # A 404 goes through LocaleMiddleware's own answer side (its redirect check).
    user = UserFactory(preferred_language="kk")
    lean, full = routes.both("/api/v1/polls/987654/votes", user=user, body={"choices": [1]})
    assert lean.status_code == full.status_code == 404
    assert lean.content == full.content
    assert _headers(lean) == _headers(full)
    assert lean.headers["content-language"] == "kk"
    assert routes.handed_over == 0


def test_refusals_come_in_the_users_language_and_in_the_one_asked_for(routes):
    poll = make_poll()
    user = UserFactory(preferred_language="kk")
    body = {"choices": choice_ids(poll)[:1]}
    assert routes.post(routes.lean, _vote_path(poll), user=user, body=body).status_code == 201

    lean, full = routes.both(_vote_path(poll), user=user, body=body)
    assert lean.status_code == 409
    assert lean.headers["content-language"] == "kk"
    assert lean.content == full.content
    english = routes.post(routes.django, _vote_path(poll) + "?lang=en", user=user, body=body)
    assert lean.json()["detail"] != english.json()["detail"]

    lean, full = routes.both(_vote_path(poll) + "?lang=ru", user=user, body=body)
    assert lean.headers["content-language"] == "ru"
    assert lean.content == full.content
    assert routes.handed_over == 0


def test_an_idempotent_retry_gets_the_first_answer_and_adds_nothing(routes):
    poll = make_poll()
    user = UserFactory()
    headers = {"Idempotency-Key": "retry-1"}
    body = {"choices": choice_ids(poll)[:1]}
    answers = [
        routes.post(routes.lean, _vote_path(poll), user=user, body=body, headers=headers)
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].content == answers[1].content
    assert Ballot.objects.filter(poll=poll).count() == 1


def test_a_guest_votes_lean_with_a_ballot_code(routes):
    poll = make_poll(ballot_mode="both")
    code = event_codes_generate(actor=OfficialFactory(), poll_id=poll.pk, count=1)[0].code
    body = {"choices": choice_ids(poll)[:1], "code": code}
    answer = routes.post(routes.lean, _vote_path(poll), body=body)
    assert answer.status_code == 201, answer.text
    assert routes.handed_over == 0
    assert Ballot.objects.filter(poll=poll, code__code=code).count() == 1


@pytest.mark.parametrize(
    "case", ["no csrf token", "schema refuses", "form body", "broken json", "text/plain"]
)
def test_what_is_unusual_is_handed_to_django_and_answered_as_django_answers(routes, case):
    poll = make_poll()
    kw = {"body": {"choices": choice_ids(poll)[:1]}}
    if case == "no csrf token":
        kw["csrf"] = False
    elif case == "schema refuses":
        kw["body"] = {"choices": choice_ids(poll)[:1], "extra": 1}
    elif case == "form body":
        kw["body"] = f"choices={choice_ids(poll)[0]}"
        kw["headers"] = {"Content-Type": "application/x-www-form-urlencoded"}
    elif case == "broken json":
        kw["body"] = b'{"choices": [1,'
    elif case == "text/plain":  # django-ninja reads it as JSON: Django's call, not the route's
        kw["headers"] = {"Content-Type": "text/plain"}
    # Two voters, so that each route answers a first ballot.
    lean = routes.post(routes.lean, _vote_path(poll), user=UserFactory(), **kw)
    full = routes.post(routes.django, _vote_path(poll), user=UserFactory(), **kw)
    assert routes.handed_over == 1
    assert (lean.status_code, lean.content) == (full.status_code, full.content)
    if case == "text/plain":
        assert lean.status_code == 201
        assert Ballot.objects.filter(poll=poll).count() == 2
    else:
        assert 400 <= lean.status_code < 500
        assert Ballot.objects.filter(poll=poll).count() == 0


def test_a_body_over_the_limit_is_refused_by_django_in_full(routes, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64
    from budgets.api import BALLOT_ROUTE
    from polls.api import VOTE_ROUTE

    routes.lean = LeanRoutes(
        routes.lean.fallback, routes=[VOTE_ROUTE, BALLOT_ROUTE], executor=routes.executor
    )
    poll = make_poll()
    body = {"choices": choice_ids(poll)[:1], "code": "X" * 100}
    lean, full = routes.both(_vote_path(poll), user=UserFactory(), body=body)
    assert routes.handed_over == 1
    assert lean.status_code == full.status_code == 413
    assert lean.content == full.content
    assert Ballot.objects.filter(poll=poll).count() == 0


def test_a_budget_ballot_is_taken_lean_and_a_guest_gets_djangos_401(routes):
    budget_round = make_round(projects=[1_000_000, 2_000_000], open_now=True)
    path = f"/api/v1/budgets/{budget_round.pk}/ballots"
    body = {"projects": project_ids(budget_round)[:1]}
    user = UserFactory()
    answer = routes.post(routes.lean, path, user=user, body=body)
    assert answer.status_code == 201, answer.text
    assert routes.handed_over == 0
    assert BudgetBallot.objects.filter(round=budget_round, voter=user).count() == 1

    lean, full = routes.both(path, body=body)
    assert routes.handed_over == 1
    assert lean.status_code == full.status_code == 401
    assert lean.content == full.content


def test_switched_off_every_request_goes_to_django(routes, settings):
    settings.HTTP_LEAN_ROUTES = False
    from budgets.api import BALLOT_ROUTE
    from polls.api import VOTE_ROUTE

    routes.lean = LeanRoutes(
        routes.lean.fallback, routes=[VOTE_ROUTE, BALLOT_ROUTE], executor=routes.executor
    )
    poll = make_poll()
    answer = routes.post(
        routes.lean, _vote_path(poll), user=UserFactory(), body={"choices": choice_ids(poll)[:1]}
    )
    assert answer.status_code == 201
    assert routes.handed_over == 1


def test_a_failure_after_the_service_is_a_500_and_never_a_second_run(routes):
    class Broken:
        def process_response(self, request, response):
            raise RuntimeError("a header could not be written")

    routes.lean.answering = [Broken().process_response, *routes.lean.answering]
    poll = make_poll()
    user = UserFactory()
    answer = routes.post(
        routes.lean, _vote_path(poll), user=user, body={"choices": choice_ids(poll)[:1]}
    )
    assert answer.status_code == 500
    assert answer.json()["code"] == "internal"
    assert routes.handed_over == 0  # Django did not cast it again (that would answer 409)
    assert Ballot.objects.filter(poll=poll, voter=user).count() == 1
