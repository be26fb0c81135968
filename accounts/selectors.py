"""Reads of accounts data."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user
from django.http import HttpRequest

from .models import District


def district_list():
    return District.objects.all()


def session_user(session_key: str | None):
    """The user `session_key` signs in now, or None: the session deleted, expired, or no
    longer valid for its user (the password changed since; Django then ends it, as the next
    page would). Websocket consumers ask this to follow their user's rights."""
    if not session_key:
        return None
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(request)
    return user if user.is_authenticated else None
