"""Celery tasks of City Dialogue: notifications, thin and safe to run twice."""

from __future__ import annotations

from celery import shared_task

from .services import answer_marked_notify, comment_notify, question_answered_notify

RETRY = {"autoretry_for": (OSError,), "retry_backoff": 2, "max_retries": 8, "ignore_result": True}


@shared_task(name="dialogue.notify_comment", **RETRY)
def notify_comment(comment_id: int) -> int:
    return comment_notify(comment_id=comment_id)


@shared_task(name="dialogue.notify_answer_marked", **RETRY)
def notify_answer_marked(thread_id: int, comment_id: int) -> int:
    return answer_marked_notify(thread_id=thread_id, comment_id=comment_id)


@shared_task(name="dialogue.notify_question_answered", **RETRY)
def notify_question_answered(question_id: int) -> bool:
    return question_answered_notify(question_id=question_id)
