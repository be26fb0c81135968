"""Each project's result in words, in the reader's language: why it was funded or not.

The rules (budgets.rules) give a reason code and its data; pages, the API and exports turn
them into a sentence here, so that every place says the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.utils.translation import gettext as _

FUNDED = "funded"
FUNDED_BY_COMPLETION = "funded_by_completion"
SUPPORTERS_SPENT = "not_funded_supporters_spent"
NO_ROOM = "not_funded_no_room"
NO_VOTES = "no_votes"

FUNDED_REASONS = frozenset({FUNDED, FUNDED_BY_COMPLETION})


def join_names(names: Iterable[str]) -> str:
    """ "A", "A and B", "A, B and C": a list as a sentence writes it."""
    names = [str(n) for n in names if n]
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    return _("%(first)s and %(last)s") % {"first": ", ".join(names[:-1]), "last": names[-1]}


def _quoted(title: str) -> str:
    return _("“%(title)s”") % {"title": title}


def reason_text(reason: str | None, reason_data: Mapping | None, titles: Mapping) -> str:
    """The sentence for one project's `reason` (a code of budgets.rules) with its data;
    `titles` maps project ids (int or str) to their titles in the reader's language."""
    data = reason_data or {}
    if reason == FUNDED:
        return _("Funded")
    if reason == FUNDED_BY_COMPLETION:
        return _("Funded with the money left after the equal shares were spent")
    if reason == SUPPORTERS_SPENT:
        names = []
        for project_id in data.get("spent_on") or []:
            title = titles.get(project_id)
            if title is None:
                title = titles.get(str(project_id))
            if title is None and str(project_id).isdigit():
                title = titles.get(int(project_id))
            if title:
                names.append(_quoted(title))
        if names:
            return _("Not funded: its supporters’ shares were spent on %(projects)s") % {
                "projects": join_names(names)
            }
        return _("Not funded: its supporters’ shares were spent on other projects")
    if reason == NO_ROOM:
        return _("Not funded: did not fit the remaining budget")
    if reason == NO_VOTES:
        return _("Not funded: no one voted for it")
    return _("Not funded")


def is_funded(reason: str | None) -> bool:
    return reason in FUNDED_REASONS
