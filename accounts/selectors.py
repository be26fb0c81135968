"""Reads of accounts data."""

from __future__ import annotations

from .models import District


def district_list():
    return District.objects.all()
