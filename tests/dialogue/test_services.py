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
from dialogue.tasks import notify_comment, notify_question_answered
from notifications.models import Notification
from tests.factories import (
    OfficialFactory,
    UserFactory,
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
    assert not AuditEntry.objects.exists()

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
    with pytest.raises(Conflict):  # not published yet: nothing to upvote
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
    assert services.question_vote(actor=citizen, question_id=question.pk).upvotes_count == 1
    assert QuestionVote.objects.filter(question=question).count() == 1
    down = services.question_vote(actor=citizen, question_id=question.pk, up=False)
    assert down.upvotes_count == 0
    down = services.question_vote(actor=citizen, question_id=question.pk, up=False)
    assert down.upvotes_count == 0
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
    }
    # Banning again changes nothing.
    services.session_ban(actor=moderator, session_id=session.pk, user_id=citizen.pk, reason="x")
    assert SessionBan.objects.get().reason == "Spam"


def test_hosts_moderate_their_own_session_only():
    host = UserFactory()
    session = make_session(hosts=[host])
    elsewhere = make_session()
    question = ask(UserFactory(), session)
    foreign = ask(UserFactory(), elsewhere)
    moderate(host, question, "pin")
    with pytest.raises(Forbidden):
        moderate(host, foreign, "pin")
    assert Session.objects.get(pk=elsewhere.pk).pinned_id is None


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
