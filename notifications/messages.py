"""The text of each kind of notification, in every language through gettext."""

from __future__ import annotations

from django.utils.translation import gettext as _

from civic.content import reader_language
from communities.models import Initiative


def _status(value: str) -> str:
    try:
        return str(Initiative.Status(value).label)
    except ValueError:
        return value


def render(kind: str, params: dict) -> tuple[str, str]:
    """(subject, body) of a notification, in the active language."""
    # A title given in several languages (civic/content.py): the reader's, else the original.
    title = (params.get("titles") or {}).get(reader_language()) or params.get("title", "")
    status = _status(params.get("status", ""))
    response = params.get("response", "")
    if kind == "initiative.status":
        subject = _("“%(title)s” is now: %(status)s") % {"title": title, "status": status}
    elif kind == "initiative.decided":
        subject = _("An initiative you support was decided: “%(title)s” — %(status)s") % {
            "title": title,
            "status": status,
        }
    elif kind == "dialogue.reply":
        subject = _("%(who)s replied to your comment in “%(title)s”") % {
            "who": params.get("who", ""),
            "title": title,
        }
    elif kind == "dialogue.official_answer":
        subject = _("An official answered in “%(title)s”") % {"title": title}
    elif kind == "dialogue.question_answered":
        subject = _("Your question in “%(title)s” was answered") % {"title": title}
    elif kind == "residents.identity_report":
        subject = _("A citizen reports that their identity may have been taken: please review it")
    else:
        subject = _("News from Birge")
    body = subject
    if response:
        body += "\n\n" + _("Official response:") + "\n" + response
    if params.get("text"):
        body += "\n\n" + params["text"]
    return subject, body
