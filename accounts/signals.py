"""Side effects kept out of the services: dropping the cached "verified" answer, and telling
a user's open sockets that their sign-in changed (signed out, password changed or reset)."""

from allauth.account.models import EmailAddress
from allauth.account.signals import password_changed, password_reset, password_set
from django.contrib.auth.signals import user_logged_out
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from civic.realtime import rights_changed_on_commit

from .permissions import verified_cache_key


@receiver([post_save, post_delete], sender=EmailAddress, dispatch_uid="birge-verified-cache")
def _forget_verified(sender, instance, **kwargs):
    cache.delete(verified_cache_key(instance.user_id))


@receiver(user_logged_out, dispatch_uid="birge-sockets-signed-out")
def _close_signed_out_sockets(sender, request, user, **kwargs):
    # Sent before the session is flushed: name it, so its sockets close without asking.
    if user is not None and user.pk is not None:
        session = getattr(request, "session", None)
        rights_changed_on_commit(user.pk, session_key=getattr(session, "session_key", None))


@receiver([password_changed, password_reset, password_set], dispatch_uid="birge-sockets-password")
def _recheck_sockets_after_password(sender, request, user, **kwargs):
    # Sessions signed in with the old password are no longer valid; their sockets see so.
    rights_changed_on_commit(user.pk)
