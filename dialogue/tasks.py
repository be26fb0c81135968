"""Celery tasks of City Dialogue: notifications, thin and safe to run twice."""

from __future__ import annotations

from celery import shared_task

from notifications.models import Notification
from notifications.services import notification_send

from .models import Comment, Question, Thread, ThreadFollow


@shared_task(
    name="dialogue.notify_comment",
    autoretry_for=(OSError,),
    retry_backoff=2,
    max_retries=8,
    ignore_result=True,
)
def notify_comment(comment_id: int) -> int:
    """A reply tells the author of the comment it answers (a reply to a reply tells that
    reply's author, not the top comment's); an official's comment tells the thread's followers.
    One notification per person per comment, however often this runs."""
    comment = (
        Comment.objects.select_related("thread", "parent__author", "reply_to__author", "author")
        .filter(pk=comment_id, deleted_at__isnull=True, hidden_at__isnull=True)
        .first()
    )
    if comment is None:
        return 0
    thread = comment.thread
    # str(): the nameless fallback of public_name is a lazy translation, which JSON can't store.
    who = str(comment.author.public_name)
    params = {"title": thread.title, "who": who, "text": comment.body[:300]}
    url = thread.get_absolute_url() + f"#comment-{comment.pk}"
    key = f"comment:{comment.pk}"
    told = {comment.author_id}
    # reply_to is None for replies stored before it existed, and when that comment is gone.
    answered = comment.reply_to or comment.parent
    if answered and answered.author_id not in told:
        notification_send(
            user=answered.author, kind="dialogue.reply", key=key, params=params, url=url
        )
        told.add(answered.author_id)
    if comment.is_official:
        followers = ThreadFollow.objects.filter(thread=thread).select_related("user")
        for follow in followers.order_by("pk"):
            if follow.user_id in told:
                continue
            notification_send(
                user=follow.user, kind="dialogue.official_answer", key=key, params=params, url=url
            )
            told.add(follow.user_id)
    return len(told) - 1


@shared_task(
    name="dialogue.notify_answer_marked",
    autoretry_for=(OSError,),
    retry_backoff=2,
    max_retries=8,
    ignore_result=True,
)
def notify_answer_marked(thread_id: int, comment_id: int) -> int:
    """An official marked the thread's answer: its followers hear of it once per answer
    (keyed by the comment, so marking another answer later is news again)."""
    thread = Thread.objects.filter(pk=thread_id, answer_id=comment_id, hidden_at__isnull=True)
    thread = thread.select_related("answer__author").first()
    if thread is None or thread.answer.deleted_at or thread.answer.hidden_at:
        return 0
    answer = thread.answer
    params = {
        "title": thread.title,
        "who": str(answer.author.public_name),
        "text": answer.body[:300],
    }
    url = thread.get_absolute_url() + f"#comment-{answer.pk}"
    # Who already heard of this very comment as an official's answer isn't told twice.
    heard = Notification.objects.filter(key=f"comment:{answer.pk}").values("user_id")
    told = 0
    followers = ThreadFollow.objects.filter(thread=thread).exclude(user_id=answer.author_id)
    for follow in followers.exclude(user_id__in=heard).select_related("user").order_by("pk"):
        notification_send(
            user=follow.user,
            kind="dialogue.official_answer",
            key=f"answer:{thread.pk}:{answer.pk}",
            params=params,
            url=url,
        )
        told += 1
    return told


@shared_task(
    name="dialogue.notify_question_answered",
    autoretry_for=(OSError,),
    retry_backoff=2,
    max_retries=8,
    ignore_result=True,
)
def notify_question_answered(question_id: int) -> bool:
    question = Question.objects.select_related("session", "author").filter(pk=question_id).first()
    if question is None or question.answered_at is None:
        return False
    notification_send(
        user=question.author,
        kind="dialogue.question_answered",
        key=f"question-answered:{question.pk}",
        params={"title": question.session.title, "text": question.text},
        url=question.session.get_absolute_url(),
    )
    return True
