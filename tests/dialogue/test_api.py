"""The City Dialogue API: shapes, permissions, status codes, and bad input that changes nothing."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from audit.models import AuditEntry
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
from tests.factories import OfficialFactory, UserFactory, make_session, make_thread

pytestmark = pytest.mark.django_db

API = "/api/v1/dialogue"
HUGE = 2**70
NOON = datetime(2030, 3, 21, 7, 0, tzinfo=UTC)


def send(client, method, url, payload=None):
    if payload is None:
        body = ""
    elif isinstance(payload, str):
        body = payload
    else:
        body = json.dumps(payload)
    return getattr(client, method)(url, body, content_type="application/json")


def post(user, thread, body="Бұл жол қашан жөнделеді?", parent=None):
    return services.comment_post(
        actor=user, thread_id=thread.pk, body=body, parent_id=parent.pk if parent else None
    )


def ask(user, session, text="When will the park open?", anonymous=False):
    return services.question_ask(actor=user, session_id=session.pk, text=text, anonymous=anonymous)


def assert_error(response, status, code=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["detail"]
    if code is not None:
        assert body["code"] == code
    return body


def snapshot():
    """Everything the dialogue API can change, to prove refused requests changed nothing."""
    return (
        list(Thread.objects.values_list("pk", "title", "answer", "hidden_at").order_by("pk")),
        list(
            Comment.objects.values_list(
                "pk", "body", "edited_at", "deleted_at", "hidden_at", "agree_count"
            ).order_by("pk")
        ),
        Reaction.objects.count(),
        Flag.objects.count(),
        list(Session.objects.values_list("pk", "title", "pinned").order_by("pk")),
        list(
            Question.objects.values_list("pk", "state", "upvotes_count", "answered_at").order_by(
                "pk"
            )
        ),
        QuestionVote.objects.count(),
        SessionBan.objects.count(),
        AuditEntry.objects.count(),
    )


@pytest.fixture
def world(db):
    """A thread with a comment and a live session with a question, by other people."""
    thread = make_thread()
    comment = post(UserFactory(), thread)
    session = make_session()
    question = ask(UserFactory(), session)
    return {"thread": thread, "comment": comment, "session": session, "question": question}


# --- Schema -----------------------------------------------------------------------------------


def test_every_endpoint_is_in_the_schema_with_its_codes(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    expected = {
        "/threads": {"get", "post"},
        "/threads/{thread_id}": {"get"},
        "/threads/{thread_id}/comments": {"get", "post"},
        "/comments/{comment_id}": {"patch", "delete"},
        "/comments/{comment_id}/reaction": {"post"},
        "/comments/{comment_id}/answer": {"post"},
        "/comments/{comment_id}/hide": {"post"},
        "/comments/{comment_id}/restore": {"post"},
        "/flags": {"get", "post"},
        "/flags/{flag_id}/dismiss": {"post"},
        "/threads/{thread_id}/hide": {"post"},
        "/threads/{thread_id}/restore": {"post"},
        "/sessions/{session_id}/bans/{user_id}": {"delete"},
        "/sessions": {"get", "post"},
        "/sessions/{session_id}": {"get"},
        "/sessions/{session_id}/questions": {"get", "post"},
        "/questions/{question_id}/upvote": {"post", "delete"},
        "/questions/{question_id}/moderate": {"post"},
        "/sessions/{session_id}/bans": {"post"},
    }
    for path, methods in expected.items():
        assert set(paths[API + path]) == methods, path
    comment_post = paths[API + "/threads/{thread_id}/comments"]["post"]["responses"]
    assert set(comment_post) == {"201", "400", "401", "403", "404", "409", "422", "429"}
    assert set(paths[API + "/threads/{thread_id}"]["get"]["responses"]) == {"200", "404", "422"}
    moderate = paths[API + "/questions/{question_id}/moderate"]["post"]
    body_schema = moderate["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema["$ref"].endswith("ModerateIn")


# --- Threads and comments ---------------------------------------------------------------------


def test_threads_list_create_and_detail(client, citizen, moderator):
    hidden = make_thread(title="Spam topic")
    services.thread_hide(actor=moderator, thread_id=hidden.pk, reason="Spam")
    response = send(client, "post", f"{API}/threads", {"title": "Trees on Abay avenue"})
    assert_error(response, 401)
    client.force_login(citizen)
    response = send(client, "post", f"{API}/threads", {"title": "  Trees on Abay avenue "})
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["title"] == "Trees on Abay avenue"
    assert created["answer"] is None and created["comment_count"] == 0
    assert created["hidden"] is False
    listed = client.get(f"{API}/threads").json()
    assert [t["id"] for t in listed] == [created["id"]]  # the hidden one is not listed
    detail = client.get(f"{API}/threads/{created['id']}").json()
    assert detail == created
    assert_error(client.get(f"{API}/threads/{hidden.pk}"), 404, "not_found")
    client.force_login(moderator)
    assert client.get(f"{API}/threads/{hidden.pk}").json()["hidden_reason"] == "Spam"


def test_comment_tree_shows_tombstones_and_hidden_comments(client, moderator):
    thread = make_thread()
    author, replier, rude = UserFactory(), UserFactory(), UserFactory()
    first = post(author, thread, "First **point**")
    reply = post(replier, thread, "A reply", parent=first)
    nested = post(UserFactory(), thread, "Reply to the reply", parent=reply)
    gone = post(author, thread, "I take it back")
    post(replier, thread, "Reply to the deleted one", parent=gone)
    hidden = post(rude, thread, "Rude words")
    services.comment_delete(actor=author, comment_id=gone.pk)
    services.comment_hide(actor=moderator, comment_id=hidden.pk, reason="Insults")

    tree = client.get(f"{API}/threads/{thread.pk}/comments").json()
    assert [c["id"] for c in tree] == [first.pk, gone.pk, hidden.pk]
    assert [r["id"] for r in tree[0]["replies"]] == [reply.pk, nested.pk]
    assert tree[0]["body_html"] == "<p>First <strong>point</strong></p>"
    assert tree[0]["author"] == author.public_name and tree[0]["mine"] is False
    assert tree[0]["replies"][1]["parent"] == first.pk
    tombstone = tree[1]
    assert tombstone["deleted"] is True
    assert (tombstone["body"], tombstone["body_html"], tombstone["author"]) == ("", "", None)
    assert tombstone["replies"][0]["body"] == "Reply to the deleted one"
    public_hidden = tree[2]
    assert public_hidden["hidden"] is True and public_hidden["hidden_reason"] == ""
    assert (public_hidden["body"], public_hidden["body_html"]) == ("", "")
    assert "Rude words" not in json.dumps(tree) and "Insults" not in json.dumps(tree)

    for reader in (rude, moderator):  # the author and moderators still read it, and why
        client.force_login(reader)
        seen = client.get(f"{API}/threads/{thread.pk}/comments").json()[2]
        assert seen["hidden"] is True and seen["body"] == "Rude words"
        assert seen["hidden_reason"] == "Insults"
    client.force_login(replier)
    seen = client.get(f"{API}/threads/{thread.pk}/comments").json()[2]
    assert (seen["body"], seen["hidden_reason"]) == ("", "")


def test_post_comment_and_reply(client, citizen, world):
    thread, top = world["thread"], world["comment"]
    url = f"{API}/threads/{thread.pk}/comments"
    assert_error(send(client, "post", url, {"body": "Hello"}), 401)
    client.force_login(citizen)
    response = send(client, "post", url, {"body": "<b>Agreed</b> *fully*", "parent": None})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["thread"] == thread.pk and body["parent"] is None
    assert body["body"] == "<b>Agreed</b> *fully*"
    assert body["body_html"] == "<p>Agreed <em>fully</em></p>"
    assert body["mine"] is True and body["is_official"] is False and body["edited_at"] is None
    reply = send(client, "post", url, {"body": "Reply to reply", "parent": body["id"]}).json()
    deeper = send(client, "post", url, {"body": "Deeper", "parent": reply["id"]})
    assert deeper.status_code == 201
    assert deeper.json()["parent"] == body["id"]
    assert send(client, "post", url, {"body": "on top", "parent": top.pk}).json()["parent"] == (
        top.pk
    )


def test_official_comment_has_the_badge_and_can_be_the_answer(client, citizen, world):
    official = OfficialFactory()
    thread = world["thread"]
    client.force_login(official)
    answer = send(
        client, "post", f"{API}/threads/{thread.pk}/comments", {"body": "Done in May."}
    ).json()
    assert answer["is_official"] is True
    client.force_login(citizen)
    before = snapshot()
    assert_error(client.post(f"{API}/comments/{answer['id']}/answer"), 403, "not_official")
    assert snapshot() == before
    client.force_login(official)
    response = client.post(f"{API}/comments/{answer['id']}/answer")
    assert response.status_code == 200
    assert response.json()["answer"] == answer["id"]
    assert client.get(f"{API}/threads/{thread.pk}").json()["answer"] == answer["id"]
    tree = client.get(f"{API}/threads/{thread.pk}/comments").json()
    assert [c["is_answer"] for c in tree] == [False, True]


def test_edit_shows_edited_at_and_the_window_closes(client, citizen, settings):
    settings.COMMENT_EDIT_SECONDS = 900
    with time_machine.travel(NOON, tick=False) as traveller:
        comment = post(citizen, make_thread(), "Tpyo")
        url = f"{API}/comments/{comment.pk}"
        client.force_login(UserFactory())
        assert_error(send(client, "patch", url, {"body": "Not mine"}), 403)
        client.force_login(citizen)
        traveller.shift(timedelta(minutes=3))
        response = send(client, "patch", url, {"body": "Typo"})
        assert response.status_code == 200, response.content
        assert response.json()["body"] == "Typo"
        assert response.json()["edited_at"].startswith("2030-03-21T07:03:00")
        traveller.shift(timedelta(minutes=13))
        assert_error(send(client, "patch", url, {"body": "Too late"}), 409, "edit_window_passed")
    assert Comment.objects.get(pk=comment.pk).body == "Typo"


def test_delete_gives_a_tombstone(client, citizen):
    comment = post(citizen, make_thread(), "Going away")
    url = f"{API}/comments/{comment.pk}"
    assert_error(client.delete(url), 401)
    client.force_login(UserFactory())
    assert_error(client.delete(url), 403)
    assert Comment.objects.get(pk=comment.pk).deleted_at is None
    client.force_login(citizen)
    response = client.delete(url)
    assert response.status_code == 200
    assert response.json()["deleted"] is True and response.json()["body"] == ""
    assert client.delete(url).status_code == 200  # deleting again changes nothing
    assert Comment.objects.get(pk=comment.pk).deleted_at is not None


def test_reactions(client, citizen, world):
    url = f"{API}/comments/{world['comment'].pk}/reaction"
    assert_error(send(client, "post", url, {"kind": "agree"}), 401)
    client.force_login(citizen)
    assert send(client, "post", url, {"kind": "agree"}).json() == {
        "comment": world["comment"].pk,
        "agree": 1,
        "disagree": 0,
        "my_reaction": "agree",
    }
    body = send(client, "post", url, {"kind": "disagree"}).json()
    assert (body["agree"], body["disagree"], body["my_reaction"]) == (0, 1, "disagree")
    tree = client.get(f"{API}/threads/{world['thread'].pk}/comments").json()
    assert tree[0]["my_reaction"] == "disagree" and tree[0]["disagree"] == 1
    body = send(client, "post", url, {"kind": None}).json()
    assert (body["agree"], body["disagree"], body["my_reaction"]) == (0, 0, None)
    before = snapshot()
    for bad in ({"kind": "love"}, {}, {"kind": "agree", "weight": 10}, {"kind": 1}):
        assert_error(send(client, "post", url, bad), 422)
    assert snapshot() == before


def test_moderators_hide_and_restore_comments(client, citizen, moderator, world):
    comment = world["comment"]
    client.force_login(citizen)
    before = snapshot()
    assert_error(send(client, "post", f"{API}/comments/{comment.pk}/hide", {"reason": "x"}), 403)
    assert_error(client.post(f"{API}/comments/{comment.pk}/restore"), 403)
    assert snapshot() == before
    client.force_login(moderator)
    assert_error(send(client, "post", f"{API}/comments/{comment.pk}/hide", {"reason": " "}), 400)
    assert snapshot() == before
    response = send(client, "post", f"{API}/comments/{comment.pk}/hide", {"reason": "Spam"})
    assert response.status_code == 200
    assert response.json()["hidden"] is True and response.json()["hidden_reason"] == "Spam"
    assert AuditEntry.objects.filter(action="comment.hide").count() == 1
    response = client.post(f"{API}/comments/{comment.pk}/restore")
    assert response.status_code == 200 and response.json()["hidden"] is False
    assert AuditEntry.objects.filter(action="comment.restore").count() == 1


def test_flags(client, citizen, world):
    comment, question = world["comment"], world["question"]
    url = f"{API}/flags"
    assert_error(send(client, "post", url, {"comment": comment.pk, "reason": "Spam"}), 401)
    client.force_login(citizen)
    first = send(client, "post", url, {"comment": comment.pk, "reason": "Spam"})
    assert first.status_code == 201, first.content
    assert first.json()["comment"] == comment.pk and first.json()["question"] is None
    again = send(client, "post", url, {"comment": comment.pk, "reason": "Spam"})
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    response = send(client, "post", url, {"question": question.pk, "reason": "Off topic"})
    assert response.status_code == 201
    assert Flag.objects.count() == 2
    before = snapshot()
    assert_error(send(client, "post", url, {"reason": "Nothing"}), 400)
    both = {"comment": comment.pk, "question": question.pk, "reason": "Both"}
    assert_error(send(client, "post", url, both), 400)
    assert_error(send(client, "post", url, {"comment": 999999, "reason": "x"}), 404)
    assert_error(send(client, "post", url, {"comment": HUGE, "reason": "x"}), 422)
    assert_error(send(client, "post", url, {"comment": "1", "reason": "x"}), 422)
    assert_error(send(client, "post", url, {"comment": comment.pk, "reason": ""}), 400)
    assert snapshot() == before


# --- Sessions and questions -------------------------------------------------------------------


def session_payload(**changes):
    starts = datetime.now(UTC) + timedelta(days=1)
    payload = {
        "title": "Open hour: Medeu district",
        "description": "Ask the akim about the ski road.",
        "language": "kk",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=1)).isoformat(),
        "moderation": "pre",
    }
    return payload | changes


def test_sessions_list_and_create(client, citizen, moderator):
    url = f"{API}/sessions"
    assert client.get(url).json() == []
    assert_error(send(client, "post", url, session_payload()), 401)
    client.force_login(citizen)
    assert_error(send(client, "post", url, session_payload()), 403, "not_moderator")
    assert not Session.objects.exists()
    client.force_login(moderator)
    assert_error(
        send(client, "post", url, session_payload(hosts=[citizen.pk])), 400, "host_not_staff"
    )
    assert not Session.objects.exists()
    host = OfficialFactory()
    response = send(client, "post", url, session_payload(hosts=[host.pk]))
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["moderation"] == "pre" and created["language"] == "kk"
    assert created["state"] == "upcoming" and created["pinned"] is None
    assert list(Session.objects.get().hosts.all()) == [host]
    assert [s["id"] for s in client.get(url).json()] == [created["id"]]
    starts = datetime.now(UTC)
    bad = [
        (session_payload(ends_at=starts.isoformat(), starts_at=starts.isoformat()), 400),
        (session_payload(title=""), 400),
        (session_payload(language="de"), 422),
        (session_payload(moderation="sometimes"), 422),
        (session_payload(starts_at="2030-01-01T10:00:00"), 422),  # no time zone
        (session_payload(starts_at="tomorrow"), 422),
        (session_payload(created_by=citizen.pk), 422),
        ({"title": "Only a title"}, 422),
        # Years a typo makes: refused before they reach the database or a page in Almaty time.
        (session_payload(ends_at="9999-12-31T23:59:59Z"), 400),
        (session_payload(starts_at="0001-01-01T00:00:00+01:00"), 400),
        (session_payload(ends_at="9999-12-31T23:59:59-05:00"), 400),
    ]
    for payload, status in bad:
        assert_error(send(client, "post", url, payload), status)
    assert Session.objects.count() == 1


def test_session_detail_queue_differs_for_citizens_and_moderators(client, citizen, moderator):
    session = make_session(moderation="pre")
    asker = UserFactory(display_name="Daulet Seitkali")
    published = ask(asker, session, "Published and anonymous", anonymous=True)
    services.question_moderate(actor=moderator, question_id=published.pk, action="approve")
    pending = ask(UserFactory(), session, "Waiting")
    url = f"{API}/sessions/{session.pk}"

    public = client.get(url).json()
    assert public["moderator"] is False and public["state"] == "live"
    assert public["queue"]["session"] == session.pk
    assert [q["id"] for q in public["queue"]["questions"]] == [published.pk]
    shown = public["queue"]["questions"][0]
    assert shown["author"] == "Anonymous" and shown["anonymous"] is True
    assert "author_id" not in shown and "Daulet" not in json.dumps(public)
    assert client.get(f"{url}/questions").json() == public["queue"]["questions"]

    client.force_login(moderator)
    private = client.get(url).json()
    assert private["moderator"] is True
    questions = {q["id"]: q for q in private["queue"]["questions"]}
    assert set(questions) == {published.pk, pending.pk}
    assert questions[published.pk]["author"] == "Daulet Seitkali"
    assert questions[published.pk]["author_id"] == asker.pk
    assert questions[pending.pk]["state"] == "pending"
    assert_error(client.get(f"{API}/sessions/999999"), 404)


def test_ask_questions(client, citizen):
    session = make_session()
    url = f"{API}/sessions/{session.pk}/questions"
    assert_error(send(client, "post", url, {"text": "Why?"}), 401)
    client.force_login(citizen)
    response = send(client, "post", url, {"text": "When is the metro extended?"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["text"] == "When is the metro extended?"
    assert (body["state"], body["upvotes"], body["anonymous"]) == ("approved", 0, False)
    assert body["author"] == citizen.public_name and "author_id" not in body
    anonymous = send(client, "post", url, {"text": "Anonymously?", "anonymous": True}).json()
    assert anonymous["author"] == "Anonymous"
    before = snapshot()
    bad = [
        ({"text": ""}, 400),
        ({"text": "x" * 501}, 400),
        ({"text": "a\u0000b"}, 400),
        ({"text": 5}, 422),
        ({"text": "ok", "anonymous": "yes"}, 422),
        ({"text": "ok", "author": 1}, 422),
        ({}, 422),
    ]
    for payload, status in bad:
        assert_error(send(client, "post", url, payload), status)
    assert snapshot() == before


def test_closed_and_upcoming_sessions_answer_409(client, citizen):
    ended = make_session(starts_in=-120, minutes=60)
    upcoming = make_session(starts_in=60)
    client.force_login(citizen)
    for session, code in ((ended, "session_closed"), (upcoming, "session_not_started")):
        response = send(client, "post", f"{API}/sessions/{session.pk}/questions", {"text": "Hi?"})
        assert_error(response, 409, code)
    assert client.get(f"{API}/sessions/{ended.pk}").json()["state"] == "ended"
    assert not Question.objects.exists()


def test_upvoting_twice_or_withdrawing_twice_is_409(client, citizen, world):
    question = world["question"]
    url = f"{API}/questions/{question.pk}/upvote"
    assert_error(client.post(url), 401)
    client.force_login(citizen)
    assert client.post(url).json() == {"upvotes": 1}
    before = snapshot()
    body = assert_error(client.post(url), 409, "already_voted")
    assert body["detail"] == "You have already upvoted this question."
    assert snapshot() == before
    client.force_login(UserFactory())
    assert client.post(url).json() == {"upvotes": 2}
    assert client.delete(url).json() == {"upvotes": 1}
    before = snapshot()
    assert_error(client.delete(url), 409, "not_voted")
    assert snapshot() == before
    assert QuestionVote.objects.count() == 1
    client.force_login(question.author)
    assert_error(client.post(url), 403, "own_question")
    assert QuestionVote.objects.count() == 1


def test_moderate_questions(client, citizen, moderator):
    session = make_session(moderation="pre")
    question = ask(UserFactory(), session)
    url = f"{API}/questions/{question.pk}/moderate"
    client.force_login(citizen)
    before = snapshot()
    for action in ("approve", "pin", "hide", "answer"):
        response = send(client, "post", url, {"action": action, "reason": "x"})
        assert_error(response, 403, "not_moderator")
    assert snapshot() == before
    client.force_login(moderator)
    assert_error(send(client, "post", url, {"action": "pin"}), 409)  # not published yet
    assert_error(send(client, "post", url, {"action": "hide"}), 400)  # hiding needs a reason
    assert_error(send(client, "post", url, {"action": "delete"}), 422)
    assert_error(send(client, "post", url, {"action": "approve", "force": True}), 422)
    assert snapshot() == before
    assert send(client, "post", url, {"action": "approve"}).json()["state"] == "approved"
    pinned = send(client, "post", url, {"action": "pin"})
    assert pinned.status_code == 200 and pinned.json()["author_id"] == question.author_id
    assert client.get(f"{API}/sessions/{session.pk}").json()["pinned"] == question.pk
    answered = send(client, "post", url, {"action": "answer"}).json()
    assert answered["answered"] is True
    hidden = send(client, "post", url, {"action": "hide", "reason": "Duplicate"}).json()
    assert (hidden["state"], hidden["hidden_reason"]) == ("hidden", "Duplicate")
    client.logout()
    assert client.get(f"{API}/sessions/{session.pk}/questions").json() == []


def test_bans(client, citizen, moderator, world):
    session, question = world["session"], world["question"]
    url = f"{API}/sessions/{session.pk}/bans"
    client.force_login(citizen)
    assert_error(send(client, "post", url, {"user": question.author_id, "reason": "x"}), 403)
    assert not SessionBan.objects.exists()
    client.force_login(moderator)
    assert_error(send(client, "post", url, {"user": 999999, "reason": "Spam"}), 404)
    assert_error(send(client, "post", url, {"user": citizen.pk, "reason": ""}), 400)
    assert_error(send(client, "post", url, {"user": citizen.pk}), 422)
    assert not SessionBan.objects.exists()
    response = send(client, "post", url, {"user": citizen.pk, "reason": "Spam"})
    assert response.status_code == 201, response.content
    assert response.json()["user"] == citizen.pk and response.json()["session"] == session.pk
    client.force_login(citizen)
    questions = f"{API}/sessions/{session.pk}/questions"
    assert_error(send(client, "post", questions, {"text": "Hello?"}), 403, "banned")
    assert_error(client.post(f"{API}/questions/{question.pk}/upvote"), 403, "banned")
    assert Question.objects.count() == 1 and not QuestionVote.objects.exists()


# --- Status codes across every endpoint --------------------------------------------------------


def write_endpoints(w):
    t, c, s, q = w["thread"].pk, w["comment"].pk, w["session"].pk, w["question"].pk
    return [
        ("post", f"{API}/threads", {"title": "A topic"}),
        ("post", f"{API}/threads/{t}/comments", {"body": "Hi"}),
        ("patch", f"{API}/comments/{c}", {"body": "Edited"}),
        ("delete", f"{API}/comments/{c}", None),
        ("post", f"{API}/comments/{c}/reaction", {"kind": "agree"}),
        ("post", f"{API}/comments/{c}/answer", None),
        ("post", f"{API}/comments/{c}/hide", {"reason": "x"}),
        ("post", f"{API}/comments/{c}/restore", None),
        ("post", f"{API}/flags", {"comment": c, "reason": "x"}),
        ("post", f"{API}/sessions", session_payload()),
        ("post", f"{API}/sessions/{s}/questions", {"text": "Why?"}),
        ("post", f"{API}/questions/{q}/upvote", None),
        ("delete", f"{API}/questions/{q}/upvote", None),
        ("post", f"{API}/questions/{q}/moderate", {"action": "pin"}),
        ("post", f"{API}/sessions/{s}/bans", {"user": w["question"].author_id, "reason": "x"}),
    ]


def test_anonymous_writes_are_401_and_change_nothing(client, world):
    before = snapshot()
    for method, url, payload in write_endpoints(world):
        assert_error(send(client, method, url, payload), 401, "not_authenticated")
    assert snapshot() == before


def test_citizens_on_moderator_endpoints_get_403(client, citizen, world):
    client.force_login(citizen)
    before = snapshot()
    moderator_only = [
        e for e in write_endpoints(world) if e[1].endswith(("/hide", "/restore", "/moderate"))
    ]
    moderator_only += [e for e in write_endpoints(world) if e[1].endswith(("/bans", "/answer"))]
    moderator_only.append(("post", f"{API}/sessions", session_payload()))
    assert len(moderator_only) == 6
    for method, url, payload in moderator_only:
        assert_error(send(client, method, url, payload), 403)
    assert snapshot() == before


def test_unverified_users_get_403(client, unverified_user, world):
    client.force_login(unverified_user)
    before = snapshot()
    for method, url, payload in write_endpoints(world)[:5]:
        assert_error(send(client, method, url, payload), 403)
    assert snapshot() == before


@pytest.mark.parametrize("missing", [999999, HUGE])
def test_unknown_ids_are_404_or_422(client, moderator, world, missing):
    client.force_login(moderator)
    before = snapshot()
    urls = [
        ("get", f"{API}/threads/{missing}", None),
        ("get", f"{API}/threads/{missing}/comments", None),
        ("get", f"{API}/sessions/{missing}", None),
        ("get", f"{API}/sessions/{missing}/questions", None),
        ("post", f"{API}/threads/{missing}/comments", {"body": "Hi"}),
        ("patch", f"{API}/comments/{missing}", {"body": "Hi"}),
        ("delete", f"{API}/comments/{missing}", None),
        ("post", f"{API}/comments/{missing}/reaction", {"kind": "agree"}),
        ("post", f"{API}/comments/{missing}/hide", {"reason": "x"}),
        ("post", f"{API}/comments/{missing}/restore", None),
        ("post", f"{API}/sessions/{missing}/questions", {"text": "Hi?"}),
        ("post", f"{API}/questions/{missing}/upvote", None),
        ("delete", f"{API}/questions/{missing}/upvote", None),
        ("post", f"{API}/questions/{missing}/moderate", {"action": "pin"}),
        (
            "post",
            f"{API}/sessions/{missing}/bans",
            {"user": world["question"].author_id, "reason": "x"},
        ),
    ]
    expected = 404 if missing < 2**63 else 422
    for method, url, payload in urls:
        assert_error(send(client, method, url, payload), expected)
    official = OfficialFactory()
    client.force_login(official)
    assert_error(send(client, "post", f"{API}/comments/{missing}/answer"), expected)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ("{not json", 400),  # django-ninja refuses unparsable bodies with 400, project-wide
        ("[1, 2]", 422),
        ("null", 422),
        ("", 422),
    ],
)
def test_malformed_bodies_are_json_errors_and_change_nothing(
    client, citizen, world, payload, status
):
    client.force_login(citizen)
    before = snapshot()
    for method, url, body in write_endpoints(world):
        if body is None:
            continue  # nothing to parse
        assert_error(send(client, method, url, payload), status)
    assert snapshot() == before


def test_extra_fields_are_422_and_change_nothing(client, moderator, world):
    client.force_login(moderator)
    before = snapshot()
    for method, url, body in write_endpoints(world):
        if body is None:
            continue
        assert_error(send(client, method, url, body | {"is_official": True}), 422)
    assert snapshot() == before


def test_rate_limit_is_429_with_a_clear_message(client, citizen, world, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "comment": 2, "question": 1}
    client.force_login(citizen)
    url = f"{API}/threads/{world['thread'].pk}/comments"
    assert send(client, "post", url, {"body": "One"}).status_code == 201
    assert send(client, "post", url, {"body": "Two"}).status_code == 201
    body = assert_error(send(client, "post", url, {"body": "Three"}), 429, "rate_limited")
    assert "too often" in body["detail"]
    assert Comment.objects.filter(author=citizen).count() == 2
    questions = f"{API}/sessions/{world['session'].pk}/questions"
    assert send(client, "post", questions, {"text": "First?"}).status_code == 201
    assert_error(send(client, "post", questions, {"text": "Second?"}), 429, "rate_limited")
    assert Question.objects.filter(author=citizen).count() == 1


def test_writes_need_the_csrf_token(citizen, world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(citizen)
    before = snapshot()
    url = f"{API}/threads/{world['thread'].pk}/comments"
    assert send(browser, "post", url, {"body": "No token"}).status_code == 403
    assert snapshot() == before
    browser.get("/en/")
    token = browser.cookies["csrftoken"].value
    response = browser.post(
        url,
        json.dumps({"body": "With token"}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 201, response.content


def test_people_without_a_display_name_are_shown_as_citizen(client):
    nameless = UserFactory(display_name="")
    thread, session = make_thread(), make_session()
    post(nameless, thread, "No name here")
    ask(nameless, session, "Nameless question?")
    assert client.get(f"{API}/threads/{thread.pk}/comments").json()[0]["author"] == "Citizen"
    assert client.get(f"{API}/sessions/{session.pk}/questions").json()[0]["author"] == "Citizen"


# --- Visibility, flags queue, thread moderation, unban -----------------------------------------


def test_hidden_threads_are_404_except_for_their_starter_and_moderators(client, citizen, moderator):
    starter = UserFactory()
    thread = make_thread(author=starter)
    post(UserFactory(), thread, "Something")
    services.thread_hide(actor=moderator, thread_id=thread.pk, reason="Duplicate")
    for who in (None, citizen):
        if who:
            client.force_login(who)
        assert_error(client.get(f"{API}/threads/{thread.pk}"), 404)
        assert_error(client.get(f"{API}/threads/{thread.pk}/comments"), 404)
    for who in (starter, moderator):
        client.force_login(who)
        detail = client.get(f"{API}/threads/{thread.pk}").json()
        assert (detail["hidden"], detail["hidden_reason"]) == (True, "Duplicate")
        assert len(client.get(f"{API}/threads/{thread.pk}/comments").json()) == 1


def test_threads_about_drafts_are_not_listed_or_readable(client, citizen, official):
    from tests.factories import make_initiative, make_poll

    draft_poll = make_poll(official=official, open_now=False)
    hidden = services.thread_for(actor=official, poll=draft_poll)
    shown = services.thread_for(actor=citizen, initiative=make_initiative())
    assert [t["id"] for t in client.get(f"{API}/threads").json()] == [shown.pk]
    client.force_login(citizen)
    assert_error(client.get(f"{API}/threads/{hidden.pk}"), 404)
    before = snapshot()
    url = f"{API}/threads/{hidden.pk}/comments"
    assert_error(send(client, "post", url, {"body": "Leak?"}), 404)
    assert snapshot() == before
    client.force_login(official)
    assert client.get(f"{API}/threads/{hidden.pk}").json()["poll"] == draft_poll.pk


def test_moderators_hide_and_restore_threads(client, citizen, moderator, world):
    thread = world["thread"]
    client.force_login(citizen)
    before = snapshot()
    assert_error(send(client, "post", f"{API}/threads/{thread.pk}/hide", {"reason": "x"}), 403)
    assert_error(client.post(f"{API}/threads/{thread.pk}/restore"), 403)
    assert snapshot() == before
    client.force_login(moderator)
    hidden = send(client, "post", f"{API}/threads/{thread.pk}/hide", {"reason": "Spam"})
    assert hidden.status_code == 200 and hidden.json()["hidden"] is True
    client.force_login(citizen)
    url = f"{API}/threads/{thread.pk}/comments"
    assert_error(send(client, "post", url, {"body": "Still here?"}), 409, "thread_hidden")
    client.force_login(moderator)
    restored = client.post(f"{API}/threads/{thread.pk}/restore")
    assert restored.status_code == 200 and restored.json()["hidden"] is False
    assert_error(client.post(f"{API}/threads/{thread.pk}/restore"), 409, "thread_not_hidden")
    assert AuditEntry.objects.filter(action="thread.restore").count() == 1


def test_flag_queue_and_dismiss_for_moderators_only(client, citizen, moderator, world):
    comment = world["comment"]
    flag = services.flag_create(actor=citizen, reason="Spam", comment_id=comment.pk)
    assert_error(client.get(f"{API}/flags"), 401)
    client.force_login(citizen)
    assert_error(client.get(f"{API}/flags"), 403, "not_moderator")
    before = snapshot()
    assert_error(client.post(f"{API}/flags/{flag.pk}/dismiss"), 403, "not_moderator")
    assert snapshot() == before
    client.force_login(moderator)
    listed = client.get(f"{API}/flags").json()
    assert [(f["id"], f["text"], f["reason"]) for f in listed] == [(flag.pk, comment.body, "Spam")]
    dismissed = client.post(f"{API}/flags/{flag.pk}/dismiss")
    assert dismissed.status_code == 200 and dismissed.json()["resolved_at"]
    assert client.get(f"{API}/flags").json() == []
    assert_error(client.post(f"{API}/flags/{flag.pk}/dismiss"), 409, "flag_resolved")
    assert_error(client.post(f"{API}/flags/999999/dismiss"), 404)


def test_flagging_an_invisible_question_is_404(client, citizen, moderator):
    session = make_session(moderation="pre")
    pending = ask(UserFactory(), session)
    client.force_login(citizen)
    before = snapshot()
    response = send(client, "post", f"{API}/flags", {"question": pending.pk, "reason": "x"})
    assert_error(response, 404)
    assert snapshot() == before


def test_unban_through_the_api(client, citizen, moderator, world):
    session = world["session"]
    services.session_ban(actor=moderator, session_id=session.pk, user_id=citizen.pk, reason="x")
    url = f"{API}/sessions/{session.pk}/bans/{citizen.pk}"
    client.force_login(citizen)
    assert_error(client.delete(url), 403)
    assert SessionBan.objects.count() == 1
    client.force_login(moderator)
    assert client.delete(url).status_code == 204
    assert not SessionBan.objects.exists()
    assert_error(client.delete(url), 404, "not_banned")
    body = {"user": moderator.pk, "reason": "x"}
    assert_error(send(client, "post", f"{API}/sessions/{session.pk}/bans", body), 409)


def test_a_nul_reason_for_any_moderation_action_is_400_not_500(client, moderator, world):
    url = f"{API}/questions/{world['question'].pk}/moderate"
    client.force_login(moderator)
    before = snapshot()
    for action in ("approve", "answer", "pin", "unpin", "restore"):
        for reason in (r"a\u0000b", r"a\ud800b"):  # JSON escapes: NUL, a lone surrogate
            raw = '{"action": "' + action + '", "reason": "' + reason + '"}'
            assert_error(send(client, "post", url, raw), 400)
    assert snapshot() == before
