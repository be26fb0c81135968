"""Upvotes act in place (bug 9): an htmx post answers with the question's row, rendered by the
server, pressed (aria-pressed) and with the new count; a plain post still redirects back."""

import re

import pytest

from dialogue.models import QuestionVote
from tests.dialogue.test_views import ask
from tests.factories import UserFactory, make_session

pytestmark = pytest.mark.django_db


def test_upvote_answers_with_the_row_and_looks_pressed(client, citizen, moderator):
    session = make_session(actor=moderator)
    question = ask(UserFactory(), session)
    client.force_login(citizen)
    page = client.get(f"/en/dialogue/sessions/{session.pk}/").content.decode()
    row = re.search(rf'<li class="question" id="question-{question.pk}".*?</li>', page, re.S)
    assert 'hx-post="/en/dialogue/questions/' in row.group(0)
    url = f"/en/dialogue/questions/{question.pk}/do/vote/"

    answer = client.post(url, {"up": "1"}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    html = answer.content.decode()
    assert html.lstrip().startswith(f'<li class="question" id="question-{question.pk}"')
    assert '<strong data-field="upvotes">1</strong>' in html
    # The pressed form shows, the unpressed one is hidden; they look different.
    assert re.search(r'data-show-if="!voted" hidden>', html)
    assert re.search(r'data-show-if="voted"\s*>\s*.*?aria-pressed="true"', html, re.S)
    assert "is-pressed" in html and "Upvoted" in html
    assert QuestionVote.objects.filter(question=question, user=citizen).exists()

    back = client.post(url, {"up": "0"}, HTTP_HX_REQUEST="true").content.decode()
    assert '<strong data-field="upvotes">0</strong>' in back
    assert re.search(r'data-show-if="voted" hidden>', back)

    plain = client.post(url, {"up": "1"})
    assert plain.status_code == 302 and plain["Location"].endswith(f"#question-{question.pk}")
