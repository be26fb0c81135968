"""Side effects kept out of the services: dropping the cached "verified" answer."""

from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .permissions import verified_cache_key


@receiver([post_save, post_delete], sender=EmailAddress, dispatch_uid="birge-verified-cache")
def _forget_verified(sender, instance, **kwargs):
    cache.delete(verified_cache_key(instance.user_id))
