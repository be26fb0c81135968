"""The unread count in the site header."""

from django import template

from notifications.selectors import unread_count as _unread_count

register = template.Library()


@register.simple_tag
def unread_notifications(user) -> int:
    return _unread_count(user)
