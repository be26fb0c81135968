"""Reads of communities."""

from .models import Community


def community_list_public():
    return Community.objects.filter(status=Community.Status.APPROVED).prefetch_related("districts")
