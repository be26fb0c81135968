"""Who hears of an event is decided by one selector per event, which the service that sends
asks; the Celery tasks take ids and call that service, deciding nothing themselves."""

import inspect

import pytest

import communities.services
import communities.tasks
import dialogue.services
import dialogue.tasks
from communities.models import InitiativeStatusChange
from communities.selectors import status_change_recipients
from communities.services import initiative_transition, support_add
from dialogue import services as dialogue_services
from dialogue.selectors import answer_marked_recipients, comment_recipients
from notifications.models import Notification
from tests.factories import OfficialFactory, UserFactory, make_initiative, make_member, make_thread

pytestmark = pytest.mark.django_db


def _notified(key_prefix: str) -> set[int]:
    return set(
        Notification.objects.filter(key__startswith=key_prefix).values_list("user_id", flat=True)
    )


def test_finding_recipients_decided_in_service(monkeypatch):
    # The rule of an initiative's move: members (not who moved it) and, for a decision,
    # supporters; each once.
    initiative = make_initiative(status="under_review")
    lead = initiative.created_by
    member, supporter = make_member(initiative.community), UserFactory()
    support_add(actor=supporter, initiative_id=initiative.pk)
    official = OfficialFactory()
    initiative_transition(
        actor=official, initiative_id=initiative.pk, to="accepted", response="Adopted."
    )
    change = InitiativeStatusChange.objects.get(initiative=initiative, to_status="accepted")
    decided = status_change_recipients(change)
    assert {uid: kind for uid, (_user, kind) in decided.items()} == {
        lead.pk: "initiative.status",
        member.pk: "initiative.status",
        supporter.pk: "initiative.decided",
    }

    # The task sends to exactly whom the selector names, no one it would pick itself.
    stranger = UserFactory()
    monkeypatch.setattr(
        communities.services,
        "status_change_recipients",
        lambda change: {stranger.pk: (stranger, "initiative.status")},
    )
    Notification.objects.all().delete()
    assert communities.tasks.notify_status_change.run(change.pk) == 1
    assert _notified("initiative-change:") == {stranger.pk}

    # The same for a comment: an official's reply tells the replied-to author and followers.
    thread = make_thread()
    follower, author = UserFactory(), UserFactory()
    dialogue_services.thread_follow(actor=follower, thread_id=thread.pk)
    top = dialogue_services.comment_post(actor=author, thread_id=thread.pk, body="When?")
    reply = dialogue_services.comment_post(
        actor=official, thread_id=thread.pk, body="In May.", parent_id=top.pk
    )
    assert [(u.pk, kind) for u, kind in comment_recipients(reply)] == [
        (author.pk, "dialogue.reply"),
        (thread.created_by_id, "dialogue.official_answer"),
        (follower.pk, "dialogue.official_answer"),
    ]
    monkeypatch.setattr(
        dialogue.services, "comment_recipients", lambda comment: [(stranger, "dialogue.reply")]
    )
    Notification.objects.all().delete()
    assert dialogue.tasks.notify_comment.run(reply.pk) == 1
    assert _notified(f"comment:{reply.pk}") == {stranger.pk}

    # And for a marked answer: whoever the selector names.
    dialogue_services.comment_mark_answer(actor=official, comment_id=reply.pk)
    # The followers, but not its author (the official) nor who already heard of the comment.
    followers = {thread.created_by_id, follower.pk, author.pk}
    assert {u.pk for u in answer_marked_recipients(thread, reply)} == followers
    monkeypatch.setattr(dialogue.services, "answer_marked_recipients", lambda t, a: [stranger])
    assert dialogue.tasks.notify_answer_marked.run(thread.pk, reply.pk) == 1
    assert _notified(f"answer:{thread.pk}:") == {stranger.pk}

    # No task reads the people an event concerns: they only pass ids on.
    for module in (communities.tasks, dialogue.tasks):
        source = inspect.getsource(module)
        for decides in ("Membership", "ThreadFollow", "supports", "Notification.objects"):
            assert decides not in source, (module.__name__, decides)
