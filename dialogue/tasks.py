"""Celery tasks of City Dialogue: notifications, thin and safe to run twice."""

from __future__ import annotations

from celery import shared_task

from notifications.services import notification_send

from .models import Comment, Question, ThreadFollow


@shared_task(
    name="dialogue.notify_comment",
    autoretry_for=(OSError,),
    retry_backoff=2,
    max_retries=8,
    ignore_result=True,
)
def notify_comment(comment_id: int) -> int:
    """A reply tells the comment's author; an official's comment tells the thread's followers.
    One notification per person per comment, however often this runs."""
    comment = (
        Comment.objects.select_related("thread", "parent__author", "author")
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
    if comment.parent and comment.parent.author_id not in told:
        notification_send(
            user=comment.parent.author, kind="dialogue.reply", key=key, params=params, url=url
        )
        told.add(comment.parent.author_id)
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
