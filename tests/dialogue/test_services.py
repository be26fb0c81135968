"""City Dialogue services: comments, reactions, moderation, Q&A sessions, limits, notifications."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from audit.models import AuditEntry
from civic.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    RateLimited,
)
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
    ThreadFollow,
)
from dialogue.selectors import session_queue, thread_comments
from dialogue.tasks import notify_answer_marked, notify_comment, notify_question_answered
from notifications.models import Notification
from tests.factories import (
    ModeratorFactory,
    OfficialFactory,
    UserFactory,
    make_initiative,
    make_poll,
    make_session,
    make_thread,
)

pytestmark = pytest.mark.django_db

NOON = datetime(2030, 3, 21, 7, 0, tzinfo=UTC)  # Nauryz, noon in Almaty


def post(user, thread, body="Сәлем! The bus stop needs a roof.", parent=None):
    return services.comment_post(
        actor=user, thread_id=thread.pk, body=body, parent_id=parent.pk if parent else None
    )


def ask(user, session, text="When will the 12th route run again?", anonymous=False):
    return services.question_ask(actor=user, session_id=session.pk, text=text, anonymous=anonymous)


def queue(session, *, moderators=False):
    return session_queue(Session.objects.get(pk=session.pk), for_moderators=moderators)


def moderate(actor, question, action, reason=""):
    return services.question_moderate(
        actor=actor, question_id=question.pk, action=action, reason=reason
    )


# --- Comments ---------------------------------------------------------------------------------


def test_comment_then_replies_stay_one_level_deep(citizen):
    thread = make_thread()
    top = post(citizen, thread, "Top comment")
    replier, third = UserFactory(), UserFactory()
    reply = post(replier, thread, "A reply", parent=top)
    reply_to_reply = post(third, thread, "A reply to the reply", parent=reply)
    assert top.parent_id is None
    assert reply.parent_id == top.pk
    assert reply_to_reply.parent_id == top.pk  # attached to the top comment, not nested
    tree = thread_comments(thread)
    assert [c.pk for c in tree] == [top.pk]
    assert [r.pk for r in tree[0].reply_list] == [reply.pk, reply_to_reply.pk]
    assert top.body_html == "<p>Top comment</p>"
    # Commenting follows the thread, once per person.
    assert set(ThreadFollow.objects.filter(thread=thread).values_list("user", flat=True)) == {
        thread.created_by_id,
        citizen.pk,
        replier.pk,
        third.pk,
    }


def test_reply_must_stay_in_its_thread_and_parent_must_exist(citizen):
    thread, other = make_thread(), make_thread()
    foreign = post(UserFactory(), other)
    with pytest.raises(InvalidInput):
        post(citizen, thread, parent=foreign)
    with pytest.raises(NotFound):
        services.comment_post(actor=citizen, thread_id=thread.pk, body="x", parent_id=2**70)
    assert not Comment.objects.filter(thread=thread).exists()


def test_edit_within_the_window_then_refused_after_it(citizen, settings):
    settings.COMMENT_EDIT_SECONDS = 900
    with time_machine.travel(NOON, tick=False) as traveller:
        thread = make_thread()
        comment = post(citizen, thread, "Frist draft")
        assert comment.edited_at is None
        traveller.shift(timedelta(minutes=10))
        edited = services.comment_edit(actor=citizen, comment_id=comment.pk, body="First *draft*")
        assert edited.body == "First *draft*"
        assert edited.body_html == "<p>First <em>draft</em></p>"
        assert edited.edited_at == NOON + timedelta(minutes=10)
        with pytest.raises(Forbidden):
            services.comment_edit(actor=UserFactory(), comment_id=comment.pk, body="Hijacked")
        traveller.shift(timedelta(minutes=5, seconds=1))
        with pytest.raises(Conflict) as exc:
            services.comment_edit(actor=citizen, comment_id=comment.pk, body="Too late")
        assert exc.value.code == "edit_window_passed"
    comment.refresh_from_db()
    assert comment.body == "First *draft*"
    assert comment.edited_at == NOON + timedelta(minutes=10)


def test_delete_leaves_a_tombstone_and_keeps_the_replies(citizen):
    thread = make_thread()
    top = post(citizen, thread, "Soon gone")
    reply = post(UserFactory(), thread, "Still here", parent=top)
    with pytest.raises(Forbidden):
        services.comment_delete(actor=UserFactory(), comment_id=top.pk)
    assert Comment.objects.get(pk=top.pk).deleted_at is None
    services.comment_delete(actor=citizen, comment_id=top.pk)
    top.refresh_from_db()
    assert top.deleted_at is not None
    assert (top.body, top.body_html) == ("", "")
    tree = thread_comments(thread)
    assert [c.pk for c in tree] == [top.pk]
    assert [r.pk for r in tree[0].reply_list] == [reply.pk]
    assert tree[0].reply_list[0].body == "Still here"
    with pytest.raises(Conflict):  # a tombstone can't be answered
        post(UserFactory(), thread, "Late reply", parent=top)


def test_official_badge_is_kept_with_the_comment(citizen, official):
    thread = make_thread()
    assert post(official, thread).is_official is True
    assert post(citizen, thread).is_official is False


def test_only_officials_mark_the_answer(citizen, official):
    thread = make_thread()
    comment = post(official, thread, "The roof will be built in May.")
    with pytest.raises(Forbidden) as exc:
        services.comment_mark_answer(actor=citizen, comment_id=comment.pk)
    assert exc.value.status == 403
    assert Thread.objects.get(pk=thread.pk).answer_id is None
    assert not AuditEntry.objects.filter(action="thread.answer").exists()
    services.comment_mark_answer(actor=official, comment_id=comment.pk)
    assert Thread.objects.get(pk=thread.pk).answer_id == comment.pk
    entry = AuditEntry.objects.get(action="thread.answer")
    assert (entry.actor, entry.data) == (official, {"comment": comment.pk})


def test_reactions_are_one_per_person_and_counts_stay_exact(citizen):
    comment = post(UserFactory(), make_thread())
    other = UserFactory()

    def counts():
        c = Comment.objects.get(pk=comment.pk)
        return c.agree_count, c.disagree_count, Reaction.objects.filter(comment=comment).count()

    services.reaction_set(actor=citizen, comment_id=comment.pk, kind="agree")
    services.reaction_set(actor=other, comment_id=comment.pk, kind="agree")
    assert counts() == (2, 0, 2)
    services.reaction_set(actor=citizen, comment_id=comment.pk, kind="agree")  # again: no-op
    assert counts() == (2, 0, 2)
    services.reaction_set(actor=citizen, comment_id=comment.pk, kind="disagree")
    assert counts() == (1, 1, 2)
    services.reaction_set(actor=citizen, comment_id=comment.pk, kind=None)
    assert counts() == (1, 0, 1)
    services.reaction_set(actor=citizen, comment_id=comment.pk, kind=None)  # nothing to withdraw
    assert counts() == (1, 0, 1)
    with pytest.raises(InvalidInput):
        services.reaction_set(actor=citizen, comment_id=comment.pk, kind="love")
    assert counts() == (1, 0, 1)


def test_hide_and_restore_are_recorded_with_their_reason(citizen, moderator):
    comment = post(citizen, make_thread(), "Rude words")
    services.flag_create(actor=UserFactory(), reason="Insults", comment_id=comment.pk)
    with pytest.raises(Forbidden):
        services.comment_hide(actor=UserFactory(), comment_id=comment.pk, reason="No")
    with pytest.raises(InvalidInput):
        services.comment_hide(actor=moderator, comment_id=comment.pk, reason="   ")
    assert Comment.objects.get(pk=comment.pk).hidden_at is None
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["flag.create"]

    services.comment_hide(actor=moderator, comment_id=comment.pk, reason="Insults a neighbour")
    comment.refresh_from_db()
    assert comment.hidden_at is not None
    assert (comment.hidden_reason, comment.hidden_by) == ("Insults a neighbour", moderator)
    assert comment.body == "Rude words"  # kept for the author and for appeals
    assert Flag.objects.get(comment=comment).resolved_at is not None
    hide = AuditEntry.objects.get(action="comment.hide")
    assert hide.actor == moderator
    assert (hide.target_type, hide.target_id) == ("dialogue.comment", str(comment.pk))
    assert hide.data == {"reason": "Insults a neighbour"}

    services.comment_restore(actor=moderator, comment_id=comment.pk)
    comment.refresh_from_db()
    assert (comment.hidden_at, comment.hidden_reason, comment.hidden_by) == (None, "", None)
    assert AuditEntry.objects.get(action="comment.restore").actor == moderator


def test_flagging_twice_is_one_flag(citizen):
    comment = post(UserFactory(), make_thread())
    question = ask(UserFactory(), make_session())
    first = services.flag_create(actor=citizen, reason="Spam", comment_id=comment.pk)
    again = services.flag_create(actor=citizen, reason="Spam!", comment_id=comment.pk)
    assert first.pk == again.pk
    services.flag_create(actor=citizen, reason="Off topic", question_id=question.pk)
    services.flag_create(actor=citizen, reason="Off topic", question_id=question.pk)
    assert Flag.objects.filter(comment=comment).count() == 1
    assert Flag.objects.filter(question=question).count() == 1
    for targets in ({}, {"comment_id": comment.pk, "question_id": question.pk}):
        with pytest.raises(InvalidInput):
            services.flag_create(actor=citizen, reason="Both or none", **targets)
    with pytest.raises(InvalidInput):
        services.flag_create(actor=UserFactory(), reason="", comment_id=comment.pk)
    assert Flag.objects.count() == 2


# --- Sessions and questions -------------------------------------------------------------------


def test_post_moderation_publishes_at_once(citizen):
    session = make_session(moderation="post")
    question = ask(citizen, session)
    assert question.state == Question.State.APPROVED
    assert [q["id"] for q in queue(session)["questions"]] == [question.pk]


def test_pre_moderation_waits_for_a_moderator(citizen, moderator):
    session = make_session(moderation="pre")
    question = ask(citizen, session)
    assert question.state == Question.State.PENDING
    assert queue(session)["questions"] == []
    assert [q["id"] for q in queue(session, moderators=True)["questions"]] == [question.pk]
    with pytest.raises(NotFound):  # not published yet: other citizens can't even see it
        services.question_vote(actor=UserFactory(), question_id=question.pk)
    moderate(moderator, question, "approve")
    assert [q["state"] for q in queue(session)["questions"]] == ["approved"]


def test_anonymous_questions_hide_the_name_from_citizens_only(citizen):
    citizen.display_name = "Aigerim Nurlanovna"
    citizen.save()
    session = make_session()
    question = ask(citizen, session, anonymous=True)
    public = queue(session)["questions"][0]
    assert public["anonymous"] is True
    assert public["author"] == "Anonymous"
    assert "author_id" not in public
    assert "Aigerim" not in str(public)
    private = queue(session, moderators=True)["questions"][0]
    assert private["author"] == "Aigerim Nurlanovna"
    assert private["author_id"] == citizen.pk
    assert question.anonymous is True


def test_upvote_once_and_withdraw(citizen):
    question = ask(UserFactory(), make_session())
    assert services.question_vote(actor=citizen, question_id=question.pk).upvotes_count == 1
    with pytest.raises(Conflict) as exc:
        services.question_vote(actor=citizen, question_id=question.pk)
    assert (exc.value.status, exc.value.code) == (409, "already_voted")
    assert str(exc.value.message) == "You have already upvoted this question."
    assert QuestionVote.objects.filter(question=question).count() == 1
    assert Question.objects.get(pk=question.pk).upvotes_count == 1
    down = services.question_vote(actor=citizen, question_id=question.pk, up=False)
    assert down.upvotes_count == 0
    with pytest.raises(Conflict) as exc:
        services.question_vote(actor=citizen, question_id=question.pk, up=False)
    assert (exc.value.status, exc.value.code) == (409, "not_voted")
    assert Question.objects.get(pk=question.pk).upvotes_count == 0
    assert not QuestionVote.objects.exists()


def test_nobody_upvotes_their_own_question(citizen):
    question = ask(citizen, make_session())
    with pytest.raises(Forbidden) as exc:
        services.question_vote(actor=citizen, question_id=question.pk)
    assert exc.value.code == "own_question"
    assert Question.objects.get(pk=question.pk).upvotes_count == 0
    assert not QuestionVote.objects.exists()


def test_upvotes_order_the_queue(citizen):
    session = make_session()
    older, newer = ask(UserFactory(), session, "First?"), ask(UserFactory(), session, "Second?")
    assert [q["id"] for q in queue(session)["questions"]] == [older.pk, newer.pk]
    services.question_vote(actor=citizen, question_id=newer.pk)
    assert [q["id"] for q in queue(session)["questions"]] == [newer.pk, older.pk]


def test_pin_answer_and_hide(moderator):
    session = make_session()
    asker = UserFactory()
    question, other = ask(asker, session), ask(UserFactory(), session, "Another one?")
    moderate(moderator, question, "pin")
    assert Session.objects.get(pk=session.pk).pinned_id == question.pk
    assert queue(session)["pinned"]["id"] == question.pk
    moderate(moderator, question, "unpin")
    assert queue(session)["pinned"] is None
    moderate(moderator, question, "pin")
    moderate(moderator, question, "answer")
    question.refresh_from_db()
    assert question.answered_at is not None
    assert Session.objects.get(pk=session.pk).pinned_id is None  # answered: off the screen
    assert queue(session)["questions"][0]["answered"] is True

    with pytest.raises(InvalidInput):  # hiding needs a reason
        moderate(moderator, other, "hide")
    moderate(moderator, other, "pin")
    moderate(moderator, other, "hide", reason="Personal data of a neighbour")
    other.refresh_from_db()
    assert other.state == Question.State.HIDDEN
    assert (other.hidden_reason, other.hidden_by) == ("Personal data of a neighbour", moderator)
    assert Session.objects.get(pk=session.pk).pinned_id is None
    assert [q["id"] for q in queue(session)["questions"]] == [question.pk]
    assert queue(session, moderators=True)["questions"][1]["hidden_reason"] == (
        "Personal data of a neighbour"
    )
    with pytest.raises(Conflict):
        moderate(moderator, other, "pin")
    entry = AuditEntry.objects.get(action="question.hide")
    assert entry.data == {"reason": "Personal data of a neighbour"}
    moderate(moderator, other, "restore")
    assert Question.objects.get(pk=other.pk).state == Question.State.APPROVED
    with pytest.raises(InvalidInput):
        moderate(moderator, other, "delete")


def test_a_ban_blocks_asking_and_voting(citizen, moderator):
    session = make_session()
    question = ask(UserFactory(), session)
    services.session_ban(actor=moderator, session_id=session.pk, user_id=citizen.pk, reason="Spam")
    with pytest.raises(Forbidden) as exc:
        ask(citizen, session)
    assert (exc.value.status, exc.value.code) == (403, "banned")
    with pytest.raises(Forbidden):
        services.question_vote(actor=citizen, question_id=question.pk)
    assert Question.objects.filter(author=citizen).count() == 0
    assert Question.objects.get(pk=question.pk).upvotes_count == 0
    assert AuditEntry.objects.get(action="session.ban").data == {
        "user": citizen.pk,
        "reason": "Spam",
        "hidden": 0,
    }
    # Banning again changes nothing.
    services.session_ban(actor=moderator, session_id=session.pk, user_id=citizen.pk, reason="x")
    assert SessionBan.objects.get().reason == "Spam"


def test_hosts_are_officials_or_moderators(moderator):
    with pytest.raises(InvalidInput) as exc:
        make_session(actor=moderator, hosts=[UserFactory()])
    assert exc.value.code == "host_not_staff"
    assert not Session.objects.exists()
    host = OfficialFactory()
    session = make_session(actor=moderator, hosts=[host, ModeratorFactory()])
    assert host in session.hosts.all()
    moderate(host, ask(UserFactory(), session), "pin")
    assert Session.objects.get(pk=session.pk).pinned_id is not None


def test_sessions_not_started_or_ended_refuse(citizen):
    upcoming = make_session(starts_in=30)
    ended = make_session(starts_in=-120, minutes=60)
    for session, code in ((upcoming, "session_not_started"), (ended, "session_closed")):
        with pytest.raises(Conflict) as exc:
            ask(citizen, session)
        assert (exc.value.status, exc.value.code) == (409, code)
    live = make_session(minutes=30)
    question = ask(UserFactory(), live)
    with time_machine.travel(live.ends_at + timedelta(seconds=1)), pytest.raises(Conflict):
        services.question_vote(actor=citizen, question_id=question.pk)
    assert Question.objects.count() == 1
    assert Question.objects.get().upvotes_count == 0


@pytest.mark.parametrize(
    "text",
    ["", "   ", "x" * 501, "nul\x00byte", None, 42, ["a list"]],
    ids=["empty", "blank", "too-long", "nul", "none", "number", "list"],
)
def test_bad_question_text_is_refused(citizen, text):
    session = make_session()
    with pytest.raises(InvalidInput) as exc:
        ask(citizen, session, text=text)
    assert exc.value.status == 400
    assert not Question.objects.exists()


@pytest.mark.parametrize(
    "body",
    ["", "\n\t ", "x" * 5001, "nul\x00byte", "\ud800 lone surrogate"],
    ids=["empty", "blank", "too-long", "nul", "surrogate"],
)
def test_bad_comment_body_is_refused(citizen, body):
    thread = make_thread()
    with pytest.raises(InvalidInput):
        post(citizen, thread, body)
    assert not Comment.objects.exists()


def test_exactly_the_maximum_is_accepted(citizen):
    assert len(post(citizen, make_thread(), "я" * 5000).body) == 5000
    assert len(ask(citizen, make_session(), "ә" * 500).text) == 500


def test_html_and_scripts_are_kept_as_text_and_rendered_harmless(citizen):
    body = (
        '<script>alert("x")</script> **Roof** <img src=x onerror="alert(1)"> '
        "[click](javascript:alert(1)) [ok](https://almaty.gov.kz)"
    )
    comment = post(citizen, make_thread(), body)
    assert Comment.objects.get(pk=comment.pk).body == body
    html = comment.body_html.lower()
    assert "<script" not in html
    assert "onerror" not in html
    assert "javascript:" not in html
    assert "<img" not in html
    assert "<strong>roof</strong>" in html
    assert 'href="https://almaty.gov.kz"' in html
    question = ask(citizen, make_session(), '<script>alert("q")</script>')
    assert Question.objects.get(pk=question.pk).text == '<script>alert("q")</script>'


def test_citizens_cannot_moderate(citizen):
    session = make_session()
    question = ask(UserFactory(), session)
    comment = post(UserFactory(), make_thread())
    attempts = [
        lambda: moderate(citizen, question, "hide", reason="I don't like it"),
        lambda: moderate(citizen, question, "pin"),
        lambda: services.session_ban(
            actor=citizen, session_id=session.pk, user_id=question.author_id, reason="x"
        ),
        lambda: services.comment_hide(actor=citizen, comment_id=comment.pk, reason="x"),
        lambda: services.comment_restore(actor=citizen, comment_id=comment.pk),
        lambda: services.thread_hide(actor=citizen, thread_id=comment.thread_id, reason="x"),
        lambda: make_session(actor=citizen),
    ]
    for attempt in attempts:
        with pytest.raises(Forbidden) as exc:
            attempt()
        assert exc.value.status == 403
    question.refresh_from_db()
    assert (question.state, Session.objects.get(pk=session.pk).pinned_id) == ("approved", None)
    assert not SessionBan.objects.exists()
    assert Comment.objects.get(pk=comment.pk).hidden_at is None
    assert Session.objects.count() == 1
    assert not AuditEntry.objects.exclude(action="session.create").exists()


def test_anonymous_and_unverified_people_cannot_take_part(unverified_user):
    from django.contrib.auth.models import AnonymousUser

    thread, session = make_thread(), make_session()
    with pytest.raises(NotAuthenticated):
        post(AnonymousUser(), thread)
    with pytest.raises(Forbidden) as exc:
        ask(unverified_user, session)
    assert exc.value.code == "email_unverified"
    assert not Comment.objects.exists() and not Question.objects.exists()


def test_rate_limits_answer_with_rate_limited(citizen, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "comment": 2, "question": 1, "vote": 2}
    thread, session = make_thread(), make_session()
    post(citizen, thread)
    post(citizen, thread)
    with pytest.raises(RateLimited) as exc:
        post(citizen, thread)
    assert exc.value.status == 429
    assert "too often" in str(exc.value.message)
    assert Comment.objects.filter(author=citizen).count() == 2

    ask(citizen, session)
    with pytest.raises(RateLimited):
        ask(citizen, session, "One more?")
    assert Question.objects.filter(author=citizen).count() == 1

    questions = [ask(UserFactory(), session, f"Question {i}?") for i in range(3)]
    for q in questions[:2]:
        services.question_vote(actor=citizen, question_id=q.pk)
    with pytest.raises(RateLimited):
        services.question_vote(actor=citizen, question_id=questions[2].pk)
    assert QuestionVote.objects.filter(user=citizen).count() == 2
    # Someone else is not limited by the first person's posts.
    post(UserFactory(), thread)


def test_rate_limit_window_passes(citizen, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "comment": 1}
    with time_machine.travel(NOON, tick=False) as traveller:
        thread = make_thread()
        post(citizen, thread)
        with pytest.raises(RateLimited):
            post(citizen, thread)
        traveller.shift(timedelta(seconds=61))
        post(citizen, thread)
    assert Comment.objects.filter(author=citizen).count() == 2


# --- Notifications ----------------------------------------------------------------------------


def test_a_reply_notifies_the_parent_author_once(django_capture_on_commit_callbacks):
    author, replier = UserFactory(), UserFactory()
    thread = make_thread()
    with django_capture_on_commit_callbacks(execute=True):
        top = post(author, thread, "Who cleans the park?")
    assert mail.outbox == []  # nobody to tell about a top-level comment
    with django_capture_on_commit_callbacks(execute=True):
        reply = post(replier, thread, "The district akimat does.", parent=top)
        post(author, thread, "Thanks!", parent=top)  # replying to oneself tells nobody
    assert [m.to for m in mail.outbox] == [[author.email]]
    notify_comment(reply.pk)
    notify_comment.delay(reply.pk)
    assert len(mail.outbox) == 1
    assert Notification.objects.filter(user=author, kind="dialogue.reply").count() == 1
    assert "The district akimat does." in mail.outbox[0].body


def test_an_official_comment_notifies_the_followers_once(django_capture_on_commit_callbacks):
    starter, follower, official = UserFactory(), UserFactory(), OfficialFactory()
    thread = make_thread(author=starter)
    with django_capture_on_commit_callbacks(execute=True):
        post(follower, thread, "Any news on the road?")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        comment = post(official, thread, "Repairs start on 1 June.")
    notify_comment(comment.pk)
    notify_comment(comment.pk)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([starter.email, follower.email])
    assert Notification.objects.filter(kind="dialogue.official_answer").count() == 2
    assert not Notification.objects.filter(user=official).exists()


def test_answering_a_question_notifies_the_asker_once(
    moderator, django_capture_on_commit_callbacks
):
    asker = UserFactory()
    question = ask(asker, make_session())
    with django_capture_on_commit_callbacks(execute=True):
        moderate(moderator, question, "answer")
    with django_capture_on_commit_callbacks(execute=True):
        moderate(moderator, question, "answer")
    notify_question_answered(question.pk)
    notify_question_answered(question.pk)
    assert [m.to for m in mail.outbox] == [[asker.email]]
    assert Notification.objects.filter(user=asker, kind="dialogue.question_answered").count() == 1


def test_unanswered_question_notifies_nobody():
    question = ask(UserFactory(), make_session())
    assert notify_question_answered(question.pk) is False
    assert notify_question_answered(2**40) is False
    assert mail.outbox == []


def test_session_needs_a_sane_schedule(moderator):
    now = datetime.now(UTC)
    with pytest.raises(InvalidInput):
        make_session(actor=moderator, starts_at=now, ends_at=now)
    with pytest.raises(InvalidInput):
        make_session(actor=moderator, language="de")
    with pytest.raises(InvalidInput):
        make_session(actor=moderator, moderation="sometimes")
    assert not Session.objects.exists()
    session = make_session(actor=OfficialFactory())  # officials run sessions too
    assert AuditEntry.objects.get(action="session.create").target_id == str(session.pk)


def test_a_reply_by_someone_without_a_display_name_still_notifies(
    django_capture_on_commit_callbacks,
):
    author, nameless = UserFactory(), UserFactory(display_name="")
    thread = make_thread()
    top = post(author, thread, "Is the pool open?")
    with django_capture_on_commit_callbacks(execute=True):
        post(nameless, thread, "Yes, since Monday.", parent=top)
    assert [m.to for m in mail.outbox] == [[author.email]]
    assert "Citizen" in mail.outbox[0].subject


def test_a_pinned_question_outside_the_queue_limit_is_still_pinned(moderator, monkeypatch):
    from dialogue import selectors

    monkeypatch.setattr(selectors, "QUEUE_LIMIT", 2)
    session = make_session()
    popular = [ask(UserFactory(), session, f"Popular {i}?") for i in range(2)]
    for q in popular:
        services.question_vote(actor=UserFactory(), question_id=q.pk)
    quiet = ask(UserFactory(), session, "A quiet but important question?")
    moderate(moderator, quiet, "pin")
    for audience in (False, True):
        shown = queue(session, moderators=audience)
        assert [q["id"] for q in shown["questions"]] == [p.pk for p in popular]
        assert shown["pinned"]["id"] == quiet.pk


# --- Closed threads ---------------------------------------------------------------------------


def test_a_closed_thread_takes_no_writes_and_restoring_reopens_it(citizen, moderator):
    thread = make_thread()
    comment = post(citizen, thread, "Before closing")
    services.thread_hide(actor=moderator, thread_id=thread.pk, reason="Off topic")
    writes = [
        lambda: post(citizen, thread, "After"),
        lambda: services.comment_edit(actor=citizen, comment_id=comment.pk, body="Changed"),
        lambda: services.reaction_set(actor=UserFactory(), comment_id=comment.pk, kind="agree"),
        lambda: services.flag_create(actor=UserFactory(), reason="x", comment_id=comment.pk),
        lambda: services.comment_mark_answer(actor=OfficialFactory(), comment_id=comment.pk),
    ]
    for write in writes:
        with pytest.raises(Conflict) as exc:
            write()
        assert exc.value.code == "thread_hidden"
    comment.refresh_from_db()
    assert (comment.body, comment.agree_count) == ("Before closing", 0)
    assert Comment.objects.count() == 1 and not Flag.objects.exists()
    assert Thread.objects.get(pk=thread.pk).answer_id is None

    with pytest.raises(Forbidden):
        services.thread_restore(actor=citizen, thread_id=thread.pk)
    services.thread_restore(actor=moderator, thread_id=thread.pk)
    thread.refresh_from_db()
    assert (thread.hidden_at, thread.hidden_reason) == (None, "")
    assert AuditEntry.objects.get(action="thread.restore").actor == moderator
    with pytest.raises(Conflict):
        services.thread_restore(actor=moderator, thread_id=thread.pk)
    post(citizen, thread, "Open again")
    assert Comment.objects.count() == 2


def test_comment_post_reads_the_thread_again_under_its_lock(citizen, moderator, monkeypatch):
    """The thread is closed between the quick check and the transaction: still refused."""
    thread = make_thread()
    real = services.require_thread_open
    calls = []

    def close_after_first_check(t, actor):
        calls.append(t.hidden_at)
        real(t, actor)
        if len(calls) == 1:
            services.thread_hide(actor=moderator, thread_id=t.pk, reason="Closed meanwhile")

    monkeypatch.setattr(services, "require_thread_open", close_after_first_check)
    with pytest.raises(Conflict) as exc:
        post(citizen, thread, "Racing the moderator")
    assert exc.value.code == "thread_hidden"
    assert calls[0] is None and calls[1] is not None
    assert not Comment.objects.exists()


# --- Subjects that aren't public ------------------------------------------------------------


def test_no_thread_about_a_draft_the_actor_cannot_see(citizen, official):
    draft = make_initiative(status="draft")
    draft_poll = make_poll(official=official, open_now=False)
    assert draft_poll.status == "draft"
    with pytest.raises(NotFound):
        services.thread_for(actor=citizen, initiative=draft)
    with pytest.raises(NotFound):
        services.thread_for(actor=citizen, poll=draft_poll)
    assert not Thread.objects.exists()
    # Officials may read drafts; the unverified and the anonymous can't start threads at all.
    services.thread_for(actor=official, poll=draft_poll)
    with pytest.raises(Forbidden):
        services.thread_for(actor=UserFactory(verified=False), initiative=make_initiative())
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotAuthenticated):
        services.thread_for(actor=AnonymousUser(), initiative=make_initiative())
    public = make_initiative()
    thread = services.thread_for(actor=citizen, initiative=public)
    assert services.thread_for(actor=UserFactory(), initiative=public) == thread
    from dialogue.selectors import thread_list

    assert [t.pk for t in thread_list()] == [thread.pk]  # the draft poll's thread isn't listed


# --- Votes, reasons, hosts, bans -------------------------------------------------------------


def test_a_vote_reads_the_question_again_under_its_lock(citizen, moderator, monkeypatch):
    question = ask(UserFactory(), make_session())
    real = services._require_can_vote
    calls = []

    def hide_after_first_check(q, actor):
        calls.append(q.state)
        real(q, actor)
        if len(calls) == 1:
            moderate(moderator, q, "hide", "Hidden meanwhile")

    monkeypatch.setattr(services, "_require_can_vote", hide_after_first_check)
    with pytest.raises(Conflict) as exc:
        services.question_vote(actor=citizen, question_id=question.pk)
    assert exc.value.code == "not_published"
    assert calls == ["approved", "hidden"]
    assert not QuestionVote.objects.exists()
    assert Question.objects.get(pk=question.pk).upvotes_count == 0


def test_a_ban_between_check_and_vote_still_refuses(citizen, moderator, monkeypatch):
    question = ask(UserFactory(), make_session())
    real = services._require_can_vote
    calls = []

    def ban_after_first_check(q, actor):
        calls.append(1)
        real(q, actor)
        if len(calls) == 1:
            services.session_ban(
                actor=moderator, session_id=q.session_id, user_id=actor.pk, reason="Spam"
            )

    monkeypatch.setattr(services, "_require_can_vote", ban_after_first_check)
    with pytest.raises(Forbidden) as exc:
        services.question_vote(actor=citizen, question_id=question.pk)
    assert exc.value.code == "banned" and len(calls) == 2
    assert not QuestionVote.objects.exists()


@pytest.mark.parametrize("action", ["approve", "restore", "answer", "pin", "unpin"])
@pytest.mark.parametrize("reason", ["a\x00b", "a\ud800b", 5])
def test_bad_reasons_are_refused_for_every_action(moderator, action, reason):
    question = ask(UserFactory(), make_session())
    with pytest.raises(InvalidInput):
        moderate(moderator, question, action, reason)
    assert not AuditEntry.objects.filter(action__startswith="question.").exists()
    moderate(moderator, question, action, "  fine  ")
    assert AuditEntry.objects.get(action=f"question.{action}").data == {"reason": "fine"}


def test_staff_cannot_be_banned_and_a_ban_hides_pending_questions(moderator, official):
    host = OfficialFactory()
    session = make_session(actor=moderator, moderation="pre", hosts=[host])
    for person in (host, official, ModeratorFactory()):
        with pytest.raises(Conflict) as exc:
            services.session_ban(
                actor=moderator, session_id=session.pk, user_id=person.pk, reason="x"
            )
        assert exc.value.code == "cannot_ban_staff"
    assert not SessionBan.objects.exists()
    spammer, other = UserFactory(), UserFactory()
    pending = ask(spammer, session, "Buy now!")
    approved = ask(spammer, session, "A fair question")
    moderate(moderator, approved, "approve")
    untouched = ask(other, session)
    services.session_ban(actor=host, session_id=session.pk, user_id=spammer.pk, reason="Spam")
    pending.refresh_from_db()
    assert (pending.state, pending.hidden_reason, pending.hidden_by) == ("hidden", "Spam", host)
    assert Question.objects.get(pk=approved.pk).state == "approved"
    assert Question.objects.get(pk=untouched.pk).state == "pending"
    assert AuditEntry.objects.get(action="session.ban").data["hidden"] == 1


def test_unban_lets_the_person_back_and_is_recorded(citizen, moderator):
    session = make_session()
    question = ask(UserFactory(), session)
    services.session_ban(actor=moderator, session_id=session.pk, user_id=citizen.pk, reason="x")
    with pytest.raises(Forbidden):
        services.session_unban(actor=UserFactory(), session_id=session.pk, user_id=citizen.pk)
    with pytest.raises(NotFound):
        services.session_unban(actor=moderator, session_id=session.pk, user_id=UserFactory().pk)
    assert SessionBan.objects.count() == 1
    services.session_unban(actor=moderator, session_id=session.pk, user_id=citizen.pk)
    assert not SessionBan.objects.exists()
    entry = AuditEntry.objects.get(action="session.unban")
    assert (entry.actor, entry.data) == (moderator, {"user": citizen.pk})
    assert services.question_vote(actor=citizen, question_id=question.pk).upvotes_count == 1


# --- Flags ------------------------------------------------------------------------------------


def test_flags_on_questions_one_cannot_see_are_404(citizen, moderator):
    session = make_session(moderation="pre")
    pending = ask(UserFactory(), session)
    hidden = ask(UserFactory(), session)
    moderate(moderator, hidden, "hide", "Spam")
    for question in (pending, hidden):
        with pytest.raises(NotFound):
            services.flag_create(actor=citizen, reason="Bad", question_id=question.pk)
    assert not Flag.objects.exists()
    # A moderator sees the pending one (and may report it to colleagues).
    services.flag_create(actor=moderator, reason="Check", question_id=pending.pk)
    assert Flag.objects.count() == 1


def test_flag_creation_and_dismissal_are_recorded(citizen, moderator):
    comment = post(UserFactory(), make_thread())
    flag = services.flag_create(actor=citizen, reason="Spam", comment_id=comment.pk)
    created = AuditEntry.objects.get(action="flag.create")
    assert (created.actor, created.target_id, created.data) == (
        citizen,
        str(flag.pk),
        {"reason": "Spam"},
    )
    services.flag_create(actor=citizen, reason="Spam", comment_id=comment.pk)
    assert AuditEntry.objects.filter(action="flag.create").count() == 1  # once per flag
    with pytest.raises(Forbidden):
        services.flag_dismiss(actor=citizen, flag_id=flag.pk)
    services.flag_dismiss(actor=moderator, flag_id=flag.pk)
    flag.refresh_from_db()
    assert flag.resolved_at is not None and flag.resolved_by == moderator
    assert AuditEntry.objects.get(action="flag.dismiss").target_id == str(flag.pk)
    with pytest.raises(Conflict) as exc:
        services.flag_dismiss(actor=moderator, flag_id=flag.pk)
    assert exc.value.code == "flag_resolved"
    assert Comment.objects.get(pk=comment.pk).hidden_at is None


def test_hiding_from_a_flag_hides_the_target_and_closes_its_flags(citizen, moderator):
    comment = post(UserFactory(), make_thread())
    first = services.flag_create(actor=citizen, reason="Spam", comment_id=comment.pk)
    services.flag_create(actor=UserFactory(), reason="Ads", comment_id=comment.pk)
    services.flag_hide_target(actor=moderator, flag_id=first.pk, reason="Advertising")
    assert Comment.objects.get(pk=comment.pk).hidden_reason == "Advertising"
    assert not Flag.objects.filter(resolved_at__isnull=True).exists()
    assert set(Flag.objects.values_list("resolved_by", flat=True)) == {moderator.pk}
    question = ask(UserFactory(), make_session())
    flag = services.flag_create(actor=citizen, reason="Rude", question_id=question.pk)
    services.flag_hide_target(actor=moderator, flag_id=flag.pk, reason="Rude")
    assert Question.objects.get(pk=question.pk).state == "hidden"


# --- Notifications of replies and answers -----------------------------------------------------


def test_a_reply_to_a_reply_notifies_that_replys_author(django_capture_on_commit_callbacks):
    top_author, replier, third = UserFactory(), UserFactory(), UserFactory()
    thread = make_thread()
    top = post(top_author, thread, "Top")
    with django_capture_on_commit_callbacks(execute=True):
        reply = post(replier, thread, "A reply", parent=top)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        answer = post(third, thread, "Answering the reply", parent=reply)
    assert (answer.parent_id, answer.reply_to_id) == (top.pk, reply.pk)
    assert [m.to for m in mail.outbox] == [[replier.email]]
    assert not Notification.objects.filter(user=top_author, key=f"comment:{answer.pk}").exists()


def test_marking_the_answer_notifies_followers_once(django_capture_on_commit_callbacks):
    starter, follower, official = UserFactory(), UserFactory(), OfficialFactory()
    thread = make_thread(author=starter)
    comment = post(follower, thread, "The lights are broken on Abay.")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.comment_mark_answer(actor=official, comment_id=comment.pk)
    # The starter follows; the follower wrote the answer and is not told of their own words.
    assert [m.to for m in mail.outbox] == [[starter.email]]
    assert notify_answer_marked(thread.pk, comment.pk) == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.comment_mark_answer(actor=official, comment_id=comment.pk)  # no change
    assert len(mail.outbox) == 1
    note = Notification.objects.get(user=starter)
    assert (note.kind, note.key) == ("dialogue.official_answer", f"answer:{thread.pk}:{comment.pk}")
    # An answer that is no longer the answer tells nobody.
    other = post(starter, thread, "Another view")
    assert notify_answer_marked(thread.pk, other.pk) == 0


# --- Demo -------------------------------------------------------------------------------------


def test_seeding_again_keeps_the_live_demo_session_live(moderator, official, citizen):
    import io

    from dialogue.demo import URBAN_TITLE, seed_dialogue

    residents = [UserFactory() for _ in range(20)]

    def seed():
        seed_dialogue(
            official=official,
            moderator=moderator,
            citizen=citizen,
            residents=residents,
            stdout=io.StringIO(),
        )
        return Session.objects.get(title=URBAN_TITLE)

    first = seed()
    assert first.questions.count() == 5
    hours = (first.starts_at, first.ends_at)
    assert seed().starts_at == hours[0]  # still live: nothing moves
    assert not AuditEntry.objects.filter(action="session.reschedule").exists()
    with time_machine.travel(first.ends_at + timedelta(days=2), tick=False):
        from django.utils import timezone

        later = seed()
        now = timezone.now()
        assert later.starts_at <= now < later.ends_at
        assert later.ends_at - now >= timedelta(hours=1)
        assert later.questions.count() == 5  # questions and upvotes stay
        assert seed().starts_at == later.starts_at  # idempotent
    assert Session.objects.filter(title=URBAN_TITLE).count() == 1
    assert AuditEntry.objects.filter(action="session.reschedule").count() == 1
