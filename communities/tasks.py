"""Celery tasks of communities: thin, taking ids, safe to run twice (they call services)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from notifications.models import Notification
from notifications.services import enqueue_on_commit, notification_store, one_line

from .models import CommunityInvite, Initiative, InitiativeStatusChange, Membership

logger = logging.getLogger(__name__)

# Supporters hear of decisions, and of a request for changes; members hear of every move.
SUPPORTER_EVENTS = {
    Initiative.Status.CHANGES_REQUESTED,
    Initiative.Status.ACCEPTED,
    Initiative.Status.REJECTED,
    Initiative.Status.IN_PROGRESS,
    Initiative.Status.IMPLEMENTED,
}
# Supporters of an initiative that is still open hear of its new status, not of a decision.
SUPPORTER_KIND = {Initiative.Status.CHANGES_REQUESTED: "initiative.status"}


@shared_task(name="communities.notify_status_change", ignore_result=True)
def notify_status_change(change_id: int) -> int:
    """Tell community members of a move and supporters of a decision, each person once.

    First every in-app notification is stored and committed (one row per person and
    change, so running this again finds them); then each one's e-mail is its own task, so
    one failing mailbox is retried alone and holds up nobody else. Returns how many
    notifications the change has.
    """
    change = (
        InitiativeStatusChange.objects.select_related("initiative", "initiative__community")
        .filter(pk=change_id)
        .first()
    )
    if change is None:
        return 0
    initiative = change.initiative
    params = {
        "title": initiative.title,
        "status": change.to_status,
        "response": change.response,
    }
    url = initiative.get_absolute_url()
    key = f"initiative-change:{change.pk}"
    recipients: dict[int, tuple[object, str]] = {}
    for m in Membership.objects.select_related("user").filter(
        community=initiative.community, state=Membership.State.ACTIVE
    ):
        recipients[m.user_id] = (m.user, "initiative.status")
    if change.to_status in SUPPORTER_EVENTS:
        kind = SUPPORTER_KIND.get(change.to_status, "initiative.decided")
        for support in initiative.supports.select_related("user").order_by("pk").iterator():
            recipients.setdefault(support.user_id, (support.user, kind))
    recipients.pop(change.actor_id, None)
    for user_id in sorted(recipients):
        user, kind = recipients[user_id]
        notification_store(user=user, kind=kind, key=key, params=params, url=url)
    # Each e-mail is queued once the rows are committed (each store is its own transaction).
    pending = Notification.objects.filter(key=key, user_id__in=recipients, emailed_at__isnull=True)
    for note_id in pending.order_by("user_id").values_list("pk", flat=True):
        enqueue_on_commit("notifications.email_notification", note_id)
    return len(recipients)


@shared_task(
    name="communities.send_invite",
    autoretry_for=(OSError,),
    retry_backoff=2,
    max_retries=8,
    ignore_result=True,
)
def send_invite(invite_id: int) -> bool:
    """E-mail an open invitation (inviting the same address again sends it again)."""
    with transaction.atomic():
        invite = (
            CommunityInvite.objects.select_for_update()
            .select_related("community", "invited_by")
            .filter(pk=invite_id, accepted_at__isnull=True)
            .first()
        )
        if invite is None:
            return False
        lang = invite.invited_by.preferred_language or settings.LANGUAGE_CODE
        with translation.override(lang):
            link = settings.SITE_URL.rstrip("/") + reverse(
                "communities:invite", kwargs={"token": invite.token}
            )
            subject = _("You are invited to join “%(name)s” on Birge") % {
                "name": invite.community.display_name
            }
            body = _(
                "%(who)s invites you to join the community “%(name)s” on Birge, Almaty's "
                "civic platform. Sign in with this e-mail address and open:"
            ) % {"who": invite.invited_by.public_name, "name": invite.community.display_name}
        send_mail(
            one_line(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject),
            f"{body}\n\n{link}\n",
            None,
            [invite.email],
        )
    return True
