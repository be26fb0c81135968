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

from notifications.services import notification_send

from .models import CommunityInvite, Initiative, InitiativeStatusChange, Membership

logger = logging.getLogger(__name__)

# Supporters hear of decisions; members hear of every move.
SUPPORTER_EVENTS = {
    Initiative.Status.ACCEPTED,
    Initiative.Status.REJECTED,
    Initiative.Status.IN_PROGRESS,
    Initiative.Status.IMPLEMENTED,
}


@shared_task(
    name="communities.notify_status_change",
    bind=True,
    autoretry_for=(OSError,),  # SMTP and network errors: smtplib's errors are OSErrors
    retry_backoff=2,
    retry_backoff_max=300,
    max_retries=8,
    ignore_result=True,
)
def notify_status_change(self, change_id: int) -> int:
    """Tell community members of a move and supporters of a decision. Each person once,
    however often this runs: notification_send keeps one row per (person, change)."""
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
    members = {
        m.user
        for m in Membership.objects.select_related("user").filter(
            community=initiative.community, state=Membership.State.ACTIVE
        )
        if m.user_id != change.actor_id
    }
    sent = 0
    for user in sorted(members, key=lambda u: u.pk):
        notification_send(
            user=user,
            kind="initiative.status",
            key=f"initiative-change:{change.pk}",
            params=params,
            url=url,
        )
        sent += 1
    if change.to_status in SUPPORTER_EVENTS:
        member_ids = {u.pk for u in members}
        for support in initiative.supports.select_related("user").order_by("pk").iterator():
            if support.user_id in member_ids or support.user_id == change.actor_id:
                continue
            notification_send(
                user=support.user,
                kind="initiative.decided",
                key=f"initiative-change:{change.pk}",
                params=params,
                url=url,
            )
            sent += 1
    return sent


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
        send_mail(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, f"{body}\n\n{link}\n", None, [invite.email])
    return True
