"""City Dialogue pages: forms without JavaScript, moderation, errors as 4xx pages, escaping."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from dialogue import services
from dialogue.models import (
    Comment,
    Flag,
    Question,
    QuestionVote,
    Reaction,
    Session,
    SessionBan,
    Thread,
)
from tests.factories import (
    ModeratorFactory,
    OfficialFactory,
    UserFactory,
    make_poll,
    make_session,
    make_thread,
)

pytestmark = pytest.mark.django_db

XSS = "<script>alert('boo')</script>"
XSS_ESCAPED = "&lt;script&gt;alert(&#x27;boo&#x27;)&lt;/script&gt;"


def html(response) -> str:
    return response.content.decode()


def post_comment(user, thread, body="The bus stop needs a roof.", parent=None):
    return services.comment_post(
        actor=user, thread_id=thread.pk, body=body, parent_id=parent.pk if parent else None
    )


def ask(user, session, text="When will route 12 run again?", anonymous=False):
    return services.question_ask(actor=user, session_id=session.pk, text=text, anonymous=anonymous)


# --- Pages in every language ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "heading"),
    [("kk", 'lang="kk"'), ("ru", 'lang="ru"'), ("en", 'lang="en"')],
)
def test_pages_render_in_every_language(client, citizen, moderator, lang, heading):
    thread = make_thread(author=citizen)
    post_comment(citizen, thread)
    session = make_session(actor=moderator)
    ask(citizen, session)
    client.force_login(citizen)
    for url in (
        f"/{lang}/dialogue/",
        f"/{lang}/dialogue/threads/{thread.pk}/",
        f"/{lang}/dialogue/sessions/{session.pk}/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert heading in html(response)
    # The presenter screen speaks the session's language, whatever the URL's.
    presenter = client.get(f"/{lang}/dialogue/sessions/{session.pk}/presenter/")
    assert presenter.status_code == 200
    assert '<html lang="ru">' in html(presenter)
    client.force_login(moderator)
    assert client.get(f"/{lang}/dialogue/sessions/new/").status_code == 200


def test_index_lists_threads_and_sessions(client, citizen, official, moderator):
    thread = make_thread(author=citizen, title="Trees on Abay avenue")
    answer = post_comment(official, thread, body="The akimat will plant them in May.")
    services.comment_mark_answer(actor=official, comment_id=answer.pk)
    live = make_session(actor=moderator, title="Urban Dialogue")
    upcoming = make_session(actor=moderator, title="Business Dialogue", starts_in=60 * 24)
    page = html(client.get("/en/dialogue/"))
    assert f'href="/en/dialogue/threads/{thread.pk}/"' in page
    assert "1 comment" in page and "Answered" in page
    assert f'href="/en/dialogue/sessions/{live.pk}/"' in page
    assert f'href="/en/dialogue/sessions/{upcoming.pk}/"' in page
    assert "Sign in to start a topic" in page


def test_citizen_starts_a_topic(client, citizen):
    client.force_login(citizen)
    response = client.post("/en/dialogue/", {"title": "Bus routes in Auezov district"})
    thread = Thread.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/en/dialogue/threads/{thread.pk}/"
    response = client.post("/en/dialogue/", {"title": "   "})
    assert response.status_code == 400
    assert "Title is required." in html(response)
    assert Thread.objects.count() == 1


def test_poll_page_links_to_its_discussion(client, citizen):
    poll = make_poll()
    page = html(client.get(f"/en/polls/{poll.pk}/"))
    assert f'action="/en/dialogue/about/poll/{poll.pk}/"' in page
    client.force_login(citizen)
    response = client.post(f"/en/dialogue/about/poll/{poll.pk}/")
    thread = Thread.objects.get(poll=poll)
    assert response["Location"] == f"/en/dialogue/threads/{thread.pk}/"
    client.post(f"/en/dialogue/about/poll/{poll.pk}/")
    assert Thread.objects.count() == 1
    assert f'href="/en/dialogue/threads/{thread.pk}/"' in html(client.get(f"/en/polls/{poll.pk}/"))
    assert client.post("/en/dialogue/about/poll/999999/").status_code == 404
    assert client.post(f"/en/dialogue/about/community/{poll.pk}/").status_code == 404


# --- Threads ----------------------------------------------------------------------------------


def test_comment_and_reply_through_the_forms(client, citizen):
    thread = make_thread()
    client.force_login(citizen)
    url = f"/en/dialogue/threads/{thread.pk}/"
    response = client.post(url, {"body": "We need **shade** at the stop."})
    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{url}#comment-{comment.pk}"
    page = html(client.get(url))
    assert "Your comment is published." in page
    assert "<strong>shade</strong>" in page
    other = UserFactory()
    client.force_login(other)
    response = client.post(url, {"body": "Agreed, and a bench.", "parent": str(comment.pk)})
    assert response.status_code == 302
    reply = Comment.objects.get(parent=comment)
    page = html(client.get(url))
    assert f'id="comment-{reply.pk}"' in page
    assert page.index(f'id="comment-{comment.pk}"') < page.index(f'id="comment-{reply.pk}"')


def test_bad_comments_are_4xx_pages_and_change_nothing(client, citizen, settings):
    thread = make_thread()
    url = f"/en/dialogue/threads/{thread.pk}/"
    response = client.post(url, {"body": "Anonymous speaks"})
    assert response.status_code == 401
    client.force_login(citizen)
    response = client.post(url, {"body": "   "})
    assert response.status_code == 400
    assert "Comment is required." in html(response)
    response = client.post(url, {"body": "x" * 5001})
    assert response.status_code == 400
    assert "too long" in html(response)
    assert client.post("/en/dialogue/threads/999999/", {"body": "Hello"}).status_code == 404
    response = client.post(url, {"body": "Hello", "parent": "999999"})
    assert response.status_code == 404
    assert Comment.objects.count() == 0
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "comment": 1}
    assert client.post(url, {"body": "One"}).status_code == 302
    response = client.post(url, {"body": "Two"})
    assert response.status_code == 429
    assert "too often" in html(response)
    assert Comment.objects.count() == 1


def test_unverified_user_cannot_comment(client, unverified_user):
    thread = make_thread()
    client.force_login(unverified_user)
    page = html(client.get(f"/en/dialogue/threads/{thread.pk}/"))
    assert "Confirm your e-mail address to take part." in page
    response = client.post(f"/en/dialogue/threads/{thread.pk}/", {"body": "Hi"})
    assert response.status_code == 403
    assert Comment.objects.count() == 0


def test_edit_within_the_window_then_never(client, citizen):
    thread = make_thread()
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        comment = post_comment(citizen, thread)
        client.force_login(citizen)
        page = html(client.get(f"/en/dialogue/threads/{thread.pk}/"))
        assert f'href="/en/dialogue/comments/{comment.pk}/edit/"' in page
        assert 'name="body"' in html(client.get(f"/en/dialogue/comments/{comment.pk}/edit/"))
        response = client.post(f"/en/dialogue/comments/{comment.pk}/edit/", {"body": "Fixed text"})
        assert response.status_code == 302
        page = html(client.get(f"/en/dialogue/threads/{thread.pk}/"))
        assert "Fixed text" in page and "edited" in page
        # Someone else may not edit it.
        client.force_login(UserFactory())
        response = client.post(f"/en/dialogue/comments/{comment.pk}/edit/", {"body": "Mine now"})
        assert response.status_code == 403
        client.force_login(citizen)
        traveller.shift(timedelta(seconds=settings.COMMENT_EDIT_SECONDS + 1))
        page = html(client.get(f"/en/dialogue/threads/{thread.pk}/"))
        assert f"/en/dialogue/comments/{comment.pk}/edit/" not in page
        response = client.post(f"/en/dialogue/comments/{comment.pk}/edit/", {"body": "Too late"})
        assert response.status_code == 409
        assert "can be edited for 15 minutes" in html(response)
    assert Comment.objects.get().body == "Fixed text"


def test_delete_leaves_a_tombstone_and_keeps_replies(client, citizen):
    thread = make_thread()
    comment = post_comment(citizen, thread, body="Text that goes away")
    reply = post_comment(UserFactory(), thread, body="A reply that stays", parent=comment)
    client.force_login(UserFactory())
    response = client.post(f"/en/dialogue/comments/{comment.pk}/do/delete/")
    assert response.status_code == 403
    client.force_login(citizen)
    response = client.post(f"/en/dialogue/comments/{comment.pk}/do/delete/")
    assert response.status_code == 302
    page = html(client.get(f"/en/dialogue/threads/{thread.pk}/"))
    assert "Comment deleted" in page
    assert "Text that goes away" not in page
    assert "A reply that stays" in page and f'id="comment-{reply.pk}"' in page


def test_reactions_toggle_with_counts(client, citizen):
    thread = make_thread()
    comment = post_comment(UserFactory(), thread)
    client.force_login(citizen)
    url = f"/en/dialogue/comments/{comment.pk}/do/react/"
    assert client.post(url, {"kind": "agree"}).status_code == 302
    page = html(client.get(f"/en/dialogue/threads/{thread.pk}/"))
    assert 'aria-pressed="true"' in page
    comment.refresh_from_db()
    assert (comment.agree_count, comment.disagree_count) == (1, 0)
    client.post(url, {"kind": "disagree"})
    comment.refresh_from_db()
    assert (comment.agree_count, comment.disagree_count) == (0, 1)
    client.post(url, {"kind": "none"})
    comment.refresh_from_db()
    assert (comment.agree_count, comment.disagree_count) == (0, 0)
    assert client.post(url, {"kind": "love"}).status_code == 400
    assert Reaction.objects.count() == 0


def test_flag_a_comment(client, citizen):
    thread = make_thread()
    comment = post_comment(UserFactory(), thread)
    client.force_login(citizen)
    url = f"/en/dialogue/comments/{comment.pk}/do/flag/"
    assert client.post(url, {"reason": ""}).status_code == 400
    response = client.post(url, {"reason": "Insults a neighbour"})
    assert response.status_code == 302
    client.post(url, {"reason": "Again"})
    flag = Flag.objects.get()
    assert (flag.comment_id, flag.reporter_id, flag.reason) == (
        comment.pk,
        citizen.pk,
        "Insults a neighbour",
    )


def test_moderator_hides_a_comment_with_a_reason(client, citizen, moderator):
    thread = make_thread()
    author = UserFactory()
    comment = post_comment(author, thread, body="Rude words here")
    url = f"/en/dialogue/comments/{comment.pk}/do/hide/"
    client.force_login(citizen)
    response = client.post(url, {"reason": "Insults"})
    assert response.status_code == 403
    assert "Only moderators can do this." in html(response)
    comment.refresh_from_db()
    assert comment.hidden_at is None and comment.hidden_reason == ""
    client.force_login(moderator)
    assert client.post(url, {"reason": ""}).status_code == 400
    assert client.post(url, {"reason": "Insults a neighbour"}).status_code == 302
    comment.refresh_from_db()
    assert comment.hidden_at is not None
    # Other readers see that it was hidden, not the text or the reason.
    client.force_login(citizen)
    page = html(client.get(f"/en/dialogue/threads/{thread.pk}/"))
    assert "Hidden by a moderator." in page
    assert "Rude words here" not in page and "Insults a neighbour" not in page
    # The author sees why.
    client.force_login(author)
    page = html(client.get(f"/en/dialogue/threads/{thread.pk}/"))
    assert "Hidden by a moderator: Insults a neighbour" in page
    # The moderator can restore it.
    client.force_login(moderator)
    assert client.post(f"/en/dialogue/comments/{comment.pk}/do/restore/").status_code == 302
    comment.refresh_from_db()
    assert comment.hidden_at is None


def test_official_answer_is_marked_and_shown_on_top(client, citizen, official):
    thread = make_thread()
    post_comment(citizen, thread, body="When will the park open?")
    answer = post_comment(official, thread, body="The park opens on 1 June.")
    client.force_login(citizen)
    url = f"/en/dialogue/comments/{answer.pk}/do/answer/"
    assert client.post(url).status_code == 403
    client.force_login(official)
    assert client.post(url).status_code == 302
    page = html(client.get(f"/en/dialogue/threads/{thread.pk}/"))
    assert "Official answer" in page
    box = page.index('class="answer-box"')
    assert box < page.index("The park opens on 1 June.") < page.index('id="comments-title"')


def test_follow_and_unfollow(client, citizen):
    thread = make_thread()
    client.force_login(citizen)
    url = f"/en/dialogue/threads/{thread.pk}/do/follow/"
    client.post(url, {"follow": "1"})
    assert thread.follows.filter(user=citizen).exists()
    assert "Unfollow" in html(client.get(f"/en/dialogue/threads/{thread.pk}/"))
    client.post(url, {"follow": "0"})
    assert not thread.follows.filter(user=citizen).exists()


def test_html_is_escaped_on_the_thread_page(client, citizen):
    thread = make_thread(title=XSS)
    author = UserFactory(display_name=XSS)
    post_comment(author, thread, body=f"Look {XSS} <img src=x onerror=alert(1)>")
    page = html(client.get(f"/en/dialogue/threads/{thread.pk}/"))
    assert XSS not in page
    assert "onerror" not in page
    assert XSS_ESCAPED in page


# --- Sessions ---------------------------------------------------------------------------------


def test_ask_in_pre_moderation_is_hidden_until_approved(client, citizen, moderator):
    session = make_session(actor=moderator, moderation="pre")
    url = f"/en/dialogue/sessions/{session.pk}/"
    client.force_login(citizen)
    response = client.post(url, {"text": "Where will the new metro station be?"})
    question = Question.objects.get()
    assert response.status_code == 302
    assert question.state == Question.State.PENDING
    page = html(client.get(url))
    assert "after a moderator approves it" in page
    assert "Waiting for a moderator" in page  # the author sees it is waiting
    other = UserFactory()
    client.force_login(other)
    assert "Where will the new metro station be?" not in html(client.get(url))
    assert "Where will the new metro station be?" not in html(
        client.get(f"/en/dialogue/sessions/{session.pk}/presenter/")
    )
    # A citizen cannot approve it.
    action = f"/en/dialogue/questions/{question.pk}/do/approve/"
    assert client.post(action).status_code == 403
    client.force_login(moderator)
    page = html(client.get(url))
    assert 'id="list-pending"' in page and "Where will the new metro station be?" in page
    assert client.post(action).status_code == 302
    client.force_login(other)
    assert "Where will the new metro station be?" in html(client.get(url))


def test_upvote_twice_counts_once_and_can_be_withdrawn(client, citizen, moderator):
    session = make_session(actor=moderator)
    question = ask(UserFactory(), session)
    client.force_login(citizen)
    url = f"/en/dialogue/questions/{question.pk}/do/vote/"
    assert client.post(url, {"up": "1"}).status_code == 302
    again = client.post(url, {"up": "1"})
    # The session page again, with the reason, and nothing counted twice.
    assert again.status_code == 409
    assert 'id="action-error"' in html(again)
    assert "You have already upvoted this question." in html(again)
    assert 'id="list-published"' in html(again)
    question.refresh_from_db()
    assert question.upvotes_count == 1
    assert QuestionVote.objects.count() == 1
    page = html(client.get(f"/en/dialogue/sessions/{session.pk}/"))
    # The upvoted state reads as pressed (aria-pressed), not as a second look-alike button.
    assert re.search(r'data-show-if="voted"\s*>.*?aria-pressed="true"', page, re.S)
    client.post(url, {"up": "0"})
    question.refresh_from_db()
    assert question.upvotes_count == 0


def test_questions_are_listed_most_upvoted_first(client, citizen, moderator):
    session = make_session(actor=moderator)
    first = ask(UserFactory(), session, text="First question")
    second = ask(UserFactory(), session, text="Second question")
    for voter in (UserFactory(), UserFactory()):
        services.question_vote(actor=voter, question_id=second.pk)
    page = html(client.get(f"/en/dialogue/sessions/{session.pk}/"))
    assert page.index(f'id="question-{second.pk}"') < page.index(f'id="question-{first.pk}"')
    presenter = html(client.get(f"/en/dialogue/sessions/{session.pk}/presenter/"))
    assert presenter.index("Second question") < presenter.index("First question")


def test_bad_questions_are_4xx_pages_and_change_nothing(client, citizen, moderator, settings):
    session = make_session(actor=moderator)
    url = f"/en/dialogue/sessions/{session.pk}/"
    client.force_login(citizen)
    response = client.post(url, {"text": ""})
    assert response.status_code == 400
    assert "Question is required." in html(response)
    response = client.post(url, {"text": "x" * 501})
    assert response.status_code == 400
    assert "too long" in html(response)
    assert client.post("/en/dialogue/sessions/999999/", {"text": "Hi"}).status_code == 404
    assert client.get("/en/dialogue/sessions/999999/presenter/").status_code == 404
    assert client.post("/en/dialogue/questions/999999/do/vote/").status_code == 404
    assert client.post("/en/dialogue/questions/1/do/explode/").status_code == 404
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "question": 1}
    assert client.post(url, {"text": "One"}).status_code == 302
    response = client.post(url, {"text": "Two"})
    assert response.status_code == 429
    assert Question.objects.count() == 1


def test_closed_session_is_a_409_page(client, citizen, moderator):
    session = make_session(actor=moderator, starts_in=-120, minutes=60)
    client.force_login(citizen)
    url = f"/en/dialogue/sessions/{session.pk}/"
    assert 'id="id_text"' not in html(client.get(url))  # no form to ask in
    response = client.post(url, {"text": "Too late?"})
    assert response.status_code == 409
    assert (
        '<div class="form-errors" role="alert" id="ask-error"><p>This session has ended.</p>'
        in html(response)
    )
    assert client.post(f"/ru/dialogue/sessions/{session.pk}/", {"text": "?"}).status_code == 409
    upcoming = make_session(actor=moderator, starts_in=60)
    response = client.post(f"/en/dialogue/sessions/{upcoming.pk}/", {"text": "Too early?"})
    assert response.status_code == 409
    assert "This session has not started yet." in html(response)
    assert Question.objects.count() == 0


def test_banned_user_gets_403(client, citizen, moderator):
    session = make_session(actor=moderator)
    question = ask(citizen, session, text="Spam spam spam")
    client.force_login(UserFactory())
    ban_url = f"/en/dialogue/sessions/{session.pk}/ban/"
    response = client.post(ban_url, {"user_id": citizen.pk, "reason": "Spam"})
    assert response.status_code == 403
    assert not SessionBan.objects.exists()
    client.force_login(moderator)
    assert client.post(ban_url, {"user_id": citizen.pk, "reason": ""}).status_code == 400
    assert client.post(ban_url, {"user_id": citizen.pk, "reason": "Spam"}).status_code == 302
    client.force_login(citizen)
    page = html(client.get(f"/en/dialogue/sessions/{session.pk}/"))
    assert "A moderator has removed you from this session: Spam" in page
    response = client.post(f"/en/dialogue/sessions/{session.pk}/", {"text": "Again"})
    assert response.status_code == 403
    assert "removed you" in html(response)
    assert client.post(f"/en/dialogue/questions/{question.pk}/do/vote/").status_code == 403
    assert Question.objects.count() == 1


def test_moderator_controls(client, citizen, moderator):
    session = make_session(actor=moderator)
    question = ask(citizen, session, text="Pin me")
    base = f"/en/dialogue/questions/{question.pk}/do/"
    client.force_login(citizen)
    for action in ("pin", "hide", "answer"):
        assert client.post(f"{base}{action}/", {"reason": "x"}).status_code == 403
    client.force_login(moderator)
    assert client.post(base + "pin/").status_code == 302
    session.refresh_from_db()
    assert session.pinned_id == question.pk
    presenter = html(client.get(f"/en/dialogue/sessions/{session.pk}/presenter/"))
    assert 'class="presenter-pinned-text" data-field="text">Pin me<' in presenter
    assert client.post(base + "answer/").status_code == 302
    assert client.post(base + "hide/", {"reason": ""}).status_code == 400
    assert client.post(base + "hide/", {"reason": "Off topic"}).status_code == 302
    question.refresh_from_db()
    assert (question.state, question.hidden_reason) == ("hidden", "Off topic")
    page = html(client.get(f"/en/dialogue/sessions/{session.pk}/"))
    assert 'id="list-hidden"' in page and "Off topic" in page
    client.force_login(citizen)
    page = html(client.get(f"/en/dialogue/sessions/{session.pk}/"))
    assert "Hidden by a moderator: Off topic" in page


def test_anonymous_question_shows_no_name_to_citizens(client, citizen, moderator):
    session = make_session(actor=moderator)
    author = UserFactory(display_name="Dana Secretname")
    ask(author, session, text="Who decides on the parking fees?", anonymous=True)
    client.force_login(citizen)
    page = html(client.get(f"/en/dialogue/sessions/{session.pk}/"))
    assert "Who decides on the parking fees?" in page
    assert "Secretname" not in page
    assert "Anonymous" in page
    presenter = html(client.get(f"/en/dialogue/sessions/{session.pk}/presenter/"))
    assert "Secretname" not in presenter
    client.force_login(moderator)
    page = html(client.get(f"/en/dialogue/sessions/{session.pk}/"))
    assert "Anonymous (Dana Secretname)" in page
    # Not on the projector, even when a moderator opens it.
    assert "Secretname" not in html(client.get(f"/en/dialogue/sessions/{session.pk}/presenter/"))


def test_html_is_escaped_on_session_and_presenter_pages(client, citizen, moderator):
    session = make_session(actor=moderator, title=XSS, description=XSS)
    ask(UserFactory(display_name=XSS), session, text=XSS)
    client.force_login(citizen)
    for url in (
        f"/en/dialogue/sessions/{session.pk}/",
        f"/en/dialogue/sessions/{session.pk}/presenter/",
        "/en/dialogue/",
    ):
        page = html(client.get(url))
        assert XSS not in page, url
        assert XSS_ESCAPED in page, url


def test_session_new_for_moderators_only(client, citizen, moderator):
    official = OfficialFactory()
    client.force_login(citizen)
    assert client.get("/en/dialogue/sessions/new/").status_code == 403
    client.force_login(moderator)
    page = html(client.get("/en/dialogue/sessions/new/"))
    assert official.public_name in page  # officials can be chosen as hosts
    data = {
        "title": "Business Dialogue",
        "description": "Rent and permits",
        "language": "kk",
        "starts_at": "2031-05-01T11:00",
        "ends_at": "2031-05-01T13:00",
        "moderation": "pre",
        "hosts": [official.pk],
    }
    response = client.post("/en/dialogue/sessions/new/", {**data, "ends_at": "2031-05-01T10:00"})
    assert response.status_code == 400
    assert "The session must end after it starts." in html(response)
    response = client.post("/en/dialogue/sessions/new/", data)
    assert response.status_code == 302
    session = Session.objects.get()
    assert (session.language, session.moderation) == ("kk", "pre")
    assert list(session.hosts.all()) == [official]
    # Entered in Almaty time (UTC+5).
    assert session.starts_at.astimezone(timezone.get_fixed_timezone(0)).hour == 6
    page = html(client.get(response["Location"]))
    assert "Questions open when the session starts." in page
    assert "Open the presenter screen" in page


def test_moderator_sees_pending_queue_and_citizen_does_not(client, citizen):
    moderator = ModeratorFactory()
    session = make_session(actor=moderator, moderation="pre")
    ask(UserFactory(), session, text="Pending one")
    client.force_login(citizen)
    page = html(client.get(f"/en/dialogue/sessions/{session.pk}/"))
    assert 'id="list-pending"' not in page and "Pending one" not in page


def test_garbage_input_is_never_a_500(client, citizen, moderator):
    thread = make_thread()
    session = make_session(actor=moderator)
    question = ask(UserFactory(), session)
    comment = post_comment(UserFactory(), thread)
    huge = "9" * 30
    client.force_login(citizen)
    cases = [
        (f"/en/dialogue/threads/{thread.pk}/", {"body": "nul\x00byte"}, 400),
        (f"/en/dialogue/threads/{thread.pk}/", {"body": "Hi", "parent": "abc"}, 404),
        (f"/en/dialogue/threads/{thread.pk}/", {"body": "Hi", "parent": huge}, 404),
        (f"/en/dialogue/threads/{huge}/", {"body": "Hi"}, 404),
        (f"/en/dialogue/threads/{thread.pk}/do/dance/", {}, 404),
        (f"/en/dialogue/comments/{huge}/do/react/", {"kind": "agree"}, 404),
        (f"/en/dialogue/comments/{comment.pk}/do/answer/", {}, 403),
        (f"/en/dialogue/sessions/{session.pk}/", {"text": "\x00"}, 400),
        (f"/en/dialogue/sessions/{session.pk}/ban/", {"user_id": "abc", "reason": "x"}, 403),
        (f"/en/dialogue/questions/{question.pk}/do/pin/", {}, 403),
        (f"/en/dialogue/questions/{question.pk}/do/flag/", {"reason": ""}, 400),
        (f"/en/dialogue/about/poll/{huge}/", {}, 404),
    ]
    for url, data, status in cases:
        assert client.post(url, data).status_code == status, (url, data)
    client.force_login(moderator)
    response = client.post(
        f"/en/dialogue/sessions/{session.pk}/ban/", {"user_id": huge, "reason": "x"}
    )
    assert response.status_code == 404
    client.logout()
    assert client.get("/en/dialogue/sessions/new/").status_code == 401
    assert (
        client.post(f"/en/dialogue/comments/{comment.pk}/do/hide/", {"reason": "x"}).status_code
        == 401
    )
    assert client.get(f"/en/dialogue/threads/{thread.pk}/do/follow/").status_code == 405
    assert Comment.objects.count() == 1 and Question.objects.count() == 1


def test_admin_is_read_mostly(client, citizen, moderator):
    # The admin acts through the services, so it needs the moderator role like anyone else.
    admin = ModeratorFactory(is_staff=True, is_superuser=True)
    thread = make_thread()
    comment = post_comment(citizen, thread)
    services.comment_hide(actor=moderator, comment_id=comment.pk, reason="Spam")
    session = make_session(actor=moderator, moderation="pre")
    question = ask(citizen, session)
    client.force_login(admin)
    for model in ("thread", "comment", "session", "question", "flag", "sessionban"):
        assert client.get(f"/admin/dialogue/{model}/").status_code == 200, model
    assert client.get(f"/admin/dialogue/comment/{comment.pk}/change/").status_code == 200
    assert client.get("/admin/dialogue/thread/add/").status_code == 403
    # Actions go through the services.
    response = client.post(
        "/admin/dialogue/question/",
        {"action": "approve_questions", "_selected_action": [question.pk]},
    )
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.state == Question.State.APPROVED
    client.post(
        "/admin/dialogue/comment/",
        {"action": "restore_comments", "_selected_action": [comment.pk]},
    )
    comment.refresh_from_db()
    assert comment.hidden_at is None


# --- Review fixes: closed threads, drafts, own questions, reports, unban -----------------------


def test_a_closed_thread_is_404_to_citizens_and_shows_its_reason_to_insiders(
    client, citizen, moderator
):
    starter = UserFactory()
    thread = make_thread(author=starter)
    comment = post_comment(UserFactory(), thread, "Visible only to insiders now")
    services.thread_hide(actor=moderator, thread_id=thread.pk, reason="Duplicate topic")
    url = f"/en/dialogue/threads/{thread.pk}/"
    assert client.get(url).status_code == 404
    client.force_login(citizen)
    assert client.get(url).status_code == 404
    assert "Visible only to insiders" not in html(client.get("/en/dialogue/"))
    for action in ("react", "flag"):
        response = client.post(
            f"/en/dialogue/comments/{comment.pk}/do/{action}/", {"kind": "agree", "reason": "x"}
        )
        assert response.status_code == 404
    assert not Reaction.objects.exists() and not Flag.objects.exists()
    for who in (starter, moderator):
        client.force_login(who)
        page = html(client.get(url))
        assert "Reason: Duplicate topic" in page and "Visible only to insiders" in page
    assert "Open the discussion again" in page  # the moderator's page
    client.force_login(starter)
    assert "Open the discussion again" not in html(client.get(url))
    response = client.post(f"/en/dialogue/threads/{thread.pk}/do/restore/")
    assert response.status_code == 403
    client.force_login(moderator)
    assert client.post(f"/en/dialogue/threads/{thread.pk}/do/restore/").status_code == 302
    client.force_login(citizen)
    assert client.get(url).status_code == 200


def test_no_discussion_of_a_draft_initiative_for_outsiders(client, citizen, unverified_user):
    from tests.factories import make_initiative

    draft = make_initiative(status="draft")
    client.force_login(citizen)
    assert client.post(f"/en/dialogue/about/initiative/{draft.pk}/").status_code == 404
    client.force_login(unverified_user)
    public = make_initiative()
    assert client.post(f"/en/dialogue/about/initiative/{public.pk}/").status_code == 403
    assert not Thread.objects.exists()


def test_no_upvote_button_on_ones_own_question(client, citizen, moderator):
    session = make_session(actor=moderator)
    mine = ask(citizen, session, text="My own question")
    theirs = ask(UserFactory(), session, text="Someone else's")
    client.force_login(citizen)
    page = html(client.get(f"/en/dialogue/sessions/{session.pk}/"))
    own_row = page.split(f'id="question-{mine.pk}"')[1].split("</li>")[0]
    their_row = page.split(f'id="question-{theirs.pk}"')[1].split("</li>")[0]
    assert 'data-show-if="!own" hidden' in own_row
    assert 'data-show-if="!own" hidden' not in their_row
    response = client.post(f"/en/dialogue/questions/{mine.pk}/do/vote/", {"up": "1"})
    assert response.status_code == 403
    assert "You cannot upvote your own question." in html(response)
    assert not QuestionVote.objects.exists()


def test_flag_queue_page_for_moderators_with_dismiss_and_hide(client, citizen, moderator):
    comment = post_comment(UserFactory(), make_thread(), "Buy cheap watches")
    question = ask(UserFactory(), make_session(actor=moderator), text="Rude question")
    comment_flag = services.flag_create(actor=citizen, reason="Advert", comment_id=comment.pk)
    question_flag = services.flag_create(actor=citizen, reason="Insult", question_id=question.pk)
    assert client.get("/en/dialogue/flags/").status_code == 401
    client.force_login(citizen)
    assert client.get("/en/dialogue/flags/").status_code == 403
    response = client.post(f"/en/dialogue/flags/{comment_flag.pk}/do/dismiss/")
    assert response.status_code == 403
    assert Flag.objects.filter(resolved_at__isnull=True).count() == 2
    client.force_login(moderator)
    page = html(client.get("/en/dialogue/flags/"))
    for text in ("Buy cheap watches", "Advert", "Rude question", "Insult"):
        assert text in page
    assert client.post(f"/en/dialogue/flags/{comment_flag.pk}/do/dismiss/").status_code == 302
    assert Comment.objects.get(pk=comment.pk).hidden_at is None
    hide = client.post(f"/en/dialogue/flags/{question_flag.pk}/do/hide/", {"reason": "Insult"})
    assert hide.status_code == 302
    assert Question.objects.get(pk=question.pk).state == "hidden"
    page = html(client.get("/en/dialogue/flags/"))
    assert "Buy cheap watches" not in page and "No reports are waiting." in page
    response = client.post(f"/en/dialogue/flags/{comment_flag.pk}/do/dismiss/")
    assert response.status_code == 409


def test_flagging_a_pending_question_through_the_form_is_404(client, citizen, moderator):
    pending = ask(UserFactory(), make_session(actor=moderator, moderation="pre"))
    client.force_login(citizen)
    response = client.post(f"/en/dialogue/questions/{pending.pk}/do/flag/", {"reason": "x"})
    assert response.status_code == 404
    assert not Flag.objects.exists()


def test_moderator_lets_a_removed_person_back(client, citizen, moderator):
    session = make_session(actor=moderator)
    services.session_ban(actor=moderator, session_id=session.pk, user_id=citizen.pk, reason="Spam")
    client.force_login(moderator)
    page = html(client.get(f"/en/dialogue/sessions/{session.pk}/"))
    assert 'id="bans"' in page and "Let back in" in page
    unban = f"/en/dialogue/sessions/{session.pk}/unban/"
    client.force_login(citizen)
    assert client.post(unban, {"user_id": citizen.pk}).status_code == 403
    client.force_login(moderator)
    assert client.post(unban, {"user_id": citizen.pk}).status_code == 302
    assert not SessionBan.objects.exists()
    assert client.post(unban, {"user_id": "junk"}).status_code == 404
    assert client.post(unban, {"user_id": str(2**64)}).status_code == 404
    assert client.post(unban, {"user_id": "-1"}).status_code == 404
