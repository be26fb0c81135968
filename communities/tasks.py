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

from notifications.services import one_line

from .models import CommunityInvite
from .services import status_change_notify

logger = logging.getLogger(__name__)


@shared_task(name="communities.notify_status_change", ignore_result=True)
def notify_status_change(change_id: int) -> int:
    """Tell those status_change_recipients() names of a move (status_change_notify)."""
    return status_change_notify(change_id=change_id)


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
