"""Races on PostgreSQL with real, separate connections (one thread, one connection)."""

import pytest
from django.db import connection

from dialogue import services
from dialogue.models import Comment, Question, QuestionVote, Reaction
from tests.concurrency import race
from tests.factories import UserFactory, make_session, make_thread

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_100_people_upvoting_at_once_make_exactly_100_upvotes():
    question = services.question_ask(
        actor=UserFactory(), session_id=make_session().pk, text="Will the metro reach Kalkaman?"
    )
    voters = [UserFactory() for _ in range(100)]
    jobs = [
        lambda v=v: services.question_vote(actor=v, question_id=question.pk).upvotes_count
        for v in voters
    ]
    outcomes = race(jobs)
    assert [kind for kind, _ in outcomes] == ["ok"] * 100, outcomes
    # Each vote saw the count it made: all of 1..100, once each.
    assert sorted(count for _, count in outcomes) == list(range(1, 101))
    assert QuestionVote.objects.filter(question=question).count() == 100
    assert QuestionVote.objects.values("user").distinct().count() == 100
    assert Question.objects.get(pk=question.pk).upvotes_count == 100
    assert connection.vendor == "postgresql"


def test_25_people_each_upvoting_twice_at_once_get_one_vote_and_one_409():
    question = services.question_ask(
        actor=UserFactory(), session_id=make_session().pk, text="Parking on Dostyk?"
    )
    voters = [UserFactory() for _ in range(25)]
    jobs = [
        lambda v=v: services.question_vote(actor=v, question_id=question.pk).upvotes_count
        for v in voters
        for _ in range(2)
    ]
    outcomes = race(jobs)
    for first, second in zip(outcomes[::2], outcomes[1::2], strict=True):
        assert sorted([first[0], second[0]]) == ["ok", "refused"], (first, second)
        assert "already_voted" in (first[1], second[1])
    assert QuestionVote.objects.filter(question=question).count() == 25
    assert Question.objects.get(pk=question.pk).upvotes_count == 25


def test_upvotes_and_withdrawals_racing_keep_the_count_exact():
    question = services.question_ask(
        actor=UserFactory(), session_id=make_session().pk, text="Parking on Dostyk?"
    )
    stay, leave = [UserFactory() for _ in range(25)], [UserFactory() for _ in range(25)]
    for voter in leave:
        services.question_vote(actor=voter, question_id=question.pk)
    jobs = [lambda v=v: services.question_vote(actor=v, question_id=question.pk) for v in stay]
    jobs += [
        lambda v=v: services.question_vote(actor=v, question_id=question.pk, up=False)
        for v in leave
    ]
    outcomes = race(jobs)
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    assert QuestionVote.objects.filter(question=question).count() == 25
    assert Question.objects.get(pk=question.pk).upvotes_count == 25


def test_one_person_switching_reactions_at_once_keeps_counts_exact():
    comment = services.comment_post(actor=UserFactory(), thread_id=make_thread().pk, body="Hm")
    person = UserFactory()
    kinds = ["agree", "disagree", None, "agree"] * 5
    jobs = [
        lambda k=k: services.reaction_set(actor=person, comment_id=comment.pk, kind=k)
        for k in kinds
    ]
    outcomes = race(jobs)
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    comment = Comment.objects.get(pk=comment.pk)
    reactions = list(Reaction.objects.filter(comment=comment).values_list("kind", flat=True))
    assert len(reactions) <= 1
    assert comment.agree_count == reactions.count("agree")
    assert comment.disagree_count == reactions.count("disagree")
