"""The audit log read as sentences in the reader's language, with links to what they name.

An entry stores a kind (`initiative.decide`), a target (`communities.initiative`, `7`) and a
few facts (`{"from": "under_review", "to": "accepted"}`). Each kind has one function here that
turns those into a sentence ("Aigerim moved the initiative “Tram depot” from Under review to
Accepted"). The targets of a page of entries are read in one query per kind of object
(`targets_for`), so a page costs a fixed number of queries whatever it holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.apps import apps
from django.urls import NoReverseMatch, reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from civic.templatetags.numbers import format_number, format_percent

# What the page calls each kind of object when it is gone (deleted) or has no name.
NOUNS = {
    "polls.poll": gettext_lazy("poll"),
    "communities.initiative": gettext_lazy("initiative"),
    "communities.community": gettext_lazy("community"),
    "budgets.budgetround": gettext_lazy("budget round"),
    "budgets.budgetproject": gettext_lazy("budget project"),
    "dialogue.thread": gettext_lazy("discussion"),
    "dialogue.comment": gettext_lazy("comment"),
    "dialogue.session": gettext_lazy("Q&A session"),
    "dialogue.question": gettext_lazy("question"),
    "dialogue.flag": gettext_lazy("report"),
    "accounts.user": gettext_lazy("account"),
    "residents.censusimport": gettext_lazy("census import"),
}


@dataclass
class Target:
    """What an entry is about, as the page shows it."""

    name: str
    url: str = ""

    def html(self) -> SafeString:
        if self.url:
            return format_html('<a href="{}">{}</a>', self.url, self.name)
        return format_html("{}", self.name)


def _name(obj) -> str:
    if obj._meta.label_lower == "accounts.user":
        return str(obj.public_name)
    for attr in ("title", "display_name", "name", "text"):
        value = getattr(obj, attr, None)
        if value:
            return Truncator(str(value)).chars(80)
    return str(obj)


def _url(obj) -> str:
    label = obj._meta.label_lower
    try:
        if label == "polls.poll":
            return reverse("polls:detail", kwargs={"poll_id": obj.pk})
        if label == "budgets.budgetround":
            return reverse("budgets:detail", kwargs={"round_id": obj.pk})
        if label == "accounts.user":
            return ""  # a person's account has no public page
        if label == "dialogue.question":
            return f"{obj.session.get_absolute_url()}#question-{obj.pk}"
        if label == "dialogue.comment":
            return f"{obj.thread.get_absolute_url()}#comment-{obj.pk}"
        if hasattr(obj, "get_absolute_url"):
            return obj.get_absolute_url()
    except (NoReverseMatch, AttributeError):
        return ""
    return ""


# Objects whose link needs a related row: read with it, in the same query.
_RELATED = {"dialogue.question": ["session"], "dialogue.comment": ["thread"]}


def targets_for(entries: Iterable) -> dict[tuple[str, str], Target]:
    """The targets of these entries, one query per kind of object (not one per entry)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        if entry.target_type:
            wanted[entry.target_type].add(entry.target_id)
    found: dict[tuple[str, str], Target] = {}
    for label, ids in wanted.items():
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            continue
        keys = [i for i in ids if i.isdigit()]
        rows = model._default_manager.filter(pk__in=keys).select_related(*_RELATED.get(label, []))
        for obj in rows:
            found[(label, str(obj.pk))] = Target(_name(obj), _url(obj))
    return found


@dataclass
class Facts:
    """What one describing function gets: who, what (as HTML), and the stored facts."""

    actor: SafeString
    target: SafeString
    data: dict

    def get(self, key, default=""):
        value = self.data.get(key, default)
        return default if value is None else value


def _say(text: str, **parts) -> SafeString:
    """A translated sentence with its parts (already safe HTML, or text to escape) put in."""
    # The translation is escaped too: no catalogue entry can put markup on the page.
    safe = {k: format_html("{}", v) for k, v in parts.items()}
    return mark_safe(conditional_escape(str(text)) % safe)  # noqa: S308 - every part escaped


def _count(value) -> int:
    """A stored count (a whole number, or missing in an old entry) to pick a plural by."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _status(value: str) -> str:
    from communities.models import Initiative

    try:
        return str(Initiative.Status(value).label)
    except ValueError:
        return str(value)


def _role(value: str) -> str:
    from accounts.models import Role

    try:
        return str(Role(value).label)
    except ValueError:
        return str(value)


def _reason(f: Facts) -> str:
    reason = f.get("reason")
    return _(" Reason: “%(reason)s”.") % {"reason": reason} if reason else ""


# --- One function per kind ----------------------------------------------------------------


def poll_open(f):
    return _say(_("%(actor)s opened the poll %(target)s"), actor=f.actor, target=f.target)


def poll_close(f):
    return _say(
        ngettext(
            "%(actor)s closed the poll %(target)s with %(n)s ballot",
            "%(actor)s closed the poll %(target)s with %(n)s ballots",
            _count(f.get("total_votes")),
        ),
        actor=f.actor,
        target=f.target,
        n=format_number(_count(f.get("total_votes"))),
    )


def poll_update(f):
    return _say(_("%(actor)s changed the draft poll %(target)s"), actor=f.actor, target=f.target)


def poll_delete(f):
    return _say(_("%(actor)s deleted the draft poll %(target)s"), actor=f.actor, target=f.target)


def initiative_move(f):
    return _say(
        _("%(actor)s moved the initiative %(target)s from %(before)s to %(after)s"),
        actor=f.actor,
        target=f.target,
        before=_status(f.get("from")),
        after=_status(f.get("to")),
    )


def initiative_decide(f):
    return _say(
        _("%(actor)s decided on the initiative %(target)s: from %(before)s to %(after)s"),
        actor=f.actor,
        target=f.target,
        before=_status(f.get("from")),
        after=_status(f.get("to")),
    )


def initiative_progress(f):
    return _say(
        _("%(actor)s reported progress on the initiative %(target)s (%(percent)s)"),
        actor=f.actor,
        target=f.target,
        percent=format_percent(f.get("percent"), 0),
    )


def threshold_set(f):
    return _say(
        _("%(actor)s set the support needed for review to %(n)s"),
        actor=f.actor,
        n=f.get("threshold", "—"),
    )


def _community(verb):
    def describe(f):
        return _say(verb + "%(reason)s", actor=f.actor, target=f.target, reason=_reason(f))

    return describe


def community_approve(f):
    return _community(_("%(actor)s approved the community %(target)s."))(f)


def community_reject(f):
    return _community(_("%(actor)s rejected the community %(target)s."))(f)


def community_suspend(f):
    return _community(_("%(actor)s suspended the community %(target)s."))(f)


def community_reinstate(f):
    return _community(_("%(actor)s reinstated the community %(target)s."))(f)


def thread_hide(f):
    return _say(
        _("%(actor)s hid the discussion %(target)s.%(reason)s"),
        actor=f.actor,
        target=f.target,
        reason=_reason(f),
    )


def thread_restore(f):
    return _say(_("%(actor)s restored the discussion %(target)s"), actor=f.actor, target=f.target)


def thread_answer(f):
    return _say(
        _("%(actor)s marked the official answer in %(target)s"), actor=f.actor, target=f.target
    )


def comment_hide(f):
    return _say(
        _("%(actor)s hid the comment %(target)s.%(reason)s"),
        actor=f.actor,
        target=f.target,
        reason=_reason(f),
    )


def comment_restore(f):
    return _say(_("%(actor)s restored the comment %(target)s"), actor=f.actor, target=f.target)


def session_create(f):
    return _say(_("%(actor)s scheduled the Q&A session %(target)s"), actor=f.actor, target=f.target)


def session_reschedule(f):
    return _say(
        _("%(actor)s changed the time of the Q&A session %(target)s"),
        actor=f.actor,
        target=f.target,
    )


def session_ban(f):
    return _say(
        _("%(actor)s removed a participant from the Q&A session %(target)s.%(reason)s"),
        actor=f.actor,
        target=f.target,
        reason=_reason(f),
    )


def session_unban(f):
    return _say(
        _("%(actor)s let a participant back into the Q&A session %(target)s"),
        actor=f.actor,
        target=f.target,
    )


def _question(text):
    def describe(f):
        return _say(text, actor=f.actor, target=f.target, reason=_reason(f))

    return describe


question_approve = _question(gettext_lazy("%(actor)s published the question %(target)s"))
question_pin = _question(gettext_lazy("%(actor)s put the question %(target)s on screen"))
question_unpin = _question(gettext_lazy("%(actor)s took the question %(target)s off screen"))
question_answer = _question(gettext_lazy("%(actor)s marked the question %(target)s answered"))
question_hide = _question(gettext_lazy("%(actor)s hid the question %(target)s.%(reason)s"))
question_restore = _question(gettext_lazy("%(actor)s restored the question %(target)s"))


def flag_create(f):
    return _say(_("%(actor)s reported %(target)s.%(reason)s"), actor=f.actor, target=f.target,
                reason=_reason(f))  # fmt: skip


def flag_dismiss(f):
    return _say(_("%(actor)s dismissed the report %(target)s"), actor=f.actor, target=f.target)


def budget_round_create(f):
    return _say(_("%(actor)s created the budget round %(target)s"), actor=f.actor, target=f.target)


def budget_round_update(f):
    return _say(_("%(actor)s changed the budget round %(target)s"), actor=f.actor, target=f.target)


def budget_round_delete(f):
    return _say(_("%(actor)s deleted the budget round %(target)s"), actor=f.actor, target=f.target)


def budget_round_schedule(f):
    return _say(
        _("%(actor)s scheduled the budget round %(target)s"), actor=f.actor, target=f.target
    )


def budget_round_open(f):
    return _say(_("%(actor)s opened the budget round %(target)s"), actor=f.actor, target=f.target)


def budget_round_close(f):
    return _say(
        ngettext(
            "%(actor)s closed the budget round %(target)s with %(n)s ballot",
            "%(actor)s closed the budget round %(target)s with %(n)s ballots",
            _count(f.get("ballots")),
        ),
        actor=f.actor,
        target=f.target,
        n=format_number(_count(f.get("ballots"))),
    )


def budget_round_outcomes(f):
    return _say(
        _("%(actor)s recorded the outcomes of the budget round %(target)s"),
        actor=f.actor,
        target=f.target,
    )


def budget_round_recompute(f):
    return _say(
        _("%(actor)s recounted the budget round %(target)s"), actor=f.actor, target=f.target
    )


def budget_round_import(f):
    return _say(
        _("%(actor)s imported into %(target)s: projects: %(projects)s, ballots: %(ballots)s"),
        actor=f.actor,
        target=f.target,
        projects=format_number(_count(f.get("projects"))),
        ballots=format_number(_count(f.get("ballots"))),
    )


def budget_project_add(f):
    return _say(
        _("%(actor)s added the project “%(title)s” to a budget round"),
        actor=f.actor,
        title=f.get("title", "—"),
    )


def budget_project_cost(f):
    return _say(
        _("%(actor)s changed the cost of the project %(target)s from %(before)s to %(after)s ₸"),
        actor=f.actor,
        target=f.target,
        before=f.get("from", "—"),
        after=f.get("to", "—"),
    )


def budget_project_remove(f):
    return _say(_("%(actor)s removed the project %(target)s"), actor=f.actor, target=f.target)


def role_grant(f):
    return _say(
        _("%(actor)s made %(target)s: %(role)s"),
        actor=f.actor,
        target=f.target,
        role=_role(f.get("role")),
    )


def role_revoke(f):
    return _say(
        _("%(actor)s took the role %(role)s from %(target)s"),
        actor=f.actor,
        target=f.target,
        role=_role(f.get("role")),
    )


def user_flags(f):
    return _say(_("%(actor)s changed the account %(target)s"), actor=f.actor, target=f.target)


def audit_export(f):
    return _say(_("%(actor)s exported the audit log"), actor=f.actor)


def census_import_created(f):
    return _say(_("%(actor)s uploaded a census file"), actor=f.actor)


def census_import_refused(f):
    return _say(_("%(actor)s uploaded a census file that was refused"), actor=f.actor)


def census_import_done(f):
    return _say(
        _("%(actor)s imported the census: rows: %(total)s, refused: %(rejected)s"),
        actor=f.actor,
        total=format_number(_count(f.get("rows_total"))),
        rejected=format_number(_count(f.get("rows_rejected"))),
    )


def resident_verified(f):
    return _say(_("%(target)s was verified as a resident"), target=f.target)


def resident_verify_failed(f):
    return _say(_("A residence check of %(target)s failed"), target=f.target)


def resident_verify_throttled(f):
    return _say(_("Residence checks of %(target)s were paused: too many tries"), target=f.target)


def resident_verification_removed(f):
    return _say(_("%(target)s removed their residence verification"), target=f.target)


def resident_desk_failed(f):
    return _say(
        _("%(actor)s could not verify %(target)s at the desk"), actor=f.actor, target=f.target
    )


def resident_identity_reported(f):
    return _say(_("%(actor)s reported that their identity may have been taken"), actor=f.actor)


def resident_identity_report_failed(f):
    return _say(_("%(actor)s tried to report a taken identity, without a match"), actor=f.actor)


def resident_identity_report_closed(f):
    return _say(_("%(actor)s closed a report of a taken identity"), actor=f.actor)


KINDS: dict[str, Callable[[Facts], SafeString]] = {
    "poll.open": poll_open,
    "poll.close": poll_close,
    "poll.update": poll_update,
    "poll.delete": poll_delete,
    "initiative.move": initiative_move,
    "initiative.decide": initiative_decide,
    "initiative.progress": initiative_progress,
    "threshold.set": threshold_set,
    "community.approve": community_approve,
    "community.reject": community_reject,
    "community.suspend": community_suspend,
    "community.reinstate": community_reinstate,
    "thread.hide": thread_hide,
    "thread.restore": thread_restore,
    "thread.answer": thread_answer,
    "comment.hide": comment_hide,
    "comment.restore": comment_restore,
    "session.create": session_create,
    "session.reschedule": session_reschedule,
    "session.ban": session_ban,
    "session.unban": session_unban,
    "question.approve": question_approve,
    "question.pin": question_pin,
    "question.unpin": question_unpin,
    "question.answer": question_answer,
    "question.hide": question_hide,
    "question.restore": question_restore,
    "flag.create": flag_create,
    "flag.dismiss": flag_dismiss,
    "budget_round.create": budget_round_create,
    "budget_round.update": budget_round_update,
    "budget_round.delete": budget_round_delete,
    "budget_round.schedule": budget_round_schedule,
    "budget_round.open": budget_round_open,
    "budget_round.close": budget_round_close,
    "budget_round.outcomes": budget_round_outcomes,
    "budget_round.recompute": budget_round_recompute,
    "budget_round.import": budget_round_import,
    "budget_project.add": budget_project_add,
    "budget_project.cost": budget_project_cost,
    "budget_project.remove": budget_project_remove,
    "role.grant": role_grant,
    "role.revoke": role_revoke,
    "user.flags": user_flags,
    "audit.export": audit_export,
    "census.import_created": census_import_created,
    "census.import_refused": census_import_refused,
    "census.import_done": census_import_done,
    "resident.verified": resident_verified,
    "resident.verify_failed": resident_verify_failed,
    "resident.verify_throttled": resident_verify_throttled,
    "resident.verification_removed": resident_verification_removed,
    "resident.desk_failed": resident_desk_failed,
    "resident.identity_reported": resident_identity_reported,
    "resident.identity_report_failed": resident_identity_report_failed,
    "resident.identity_report_closed": resident_identity_report_closed,
}


def _actor(entry) -> SafeString:
    if entry.actor_id is None:
        return format_html("{}", _("The system"))
    return format_html("<strong>{}</strong>", entry.actor.public_name)


def _target(entry, targets: dict) -> SafeString:
    if not entry.target_type:
        return format_html("{}", "")
    found = targets.get((entry.target_type, entry.target_id))
    if found is not None:
        if entry.target_type in ("accounts.user",):
            return found.html()
        return format_html("“{}”", found.html())
    noun = NOUNS.get(entry.target_type, entry.target_type)
    # Gone (deleted) or never named: the kind of thing and its number.
    return format_html("{} #{}", noun, entry.target_id)


def describe(entry, targets: dict) -> SafeString:
    """One entry as a sentence in the active language (HTML, with links)."""
    facts = Facts(_actor(entry), _target(entry, targets), entry.data or {})
    kind = KINDS.get(entry.action)
    if kind is None:
        return _say(
            _("%(actor)s: %(action)s %(target)s"),
            actor=facts.actor,
            action=kind_label(entry.action),
            target=facts.target,
        )
    return kind(facts)


def kind_label(action: str) -> str:
    """The filter's name for a kind: its sentence with no one in it ("… opened the poll …")."""
    from django.utils.html import strip_tags

    kind = KINDS.get(action)
    if kind is None:
        return action
    blank = mark_safe("…")
    return strip_tags(kind(Facts(blank, blank, {})))


def describe_all(entries: list) -> list[dict]:
    """Rows for the page: each entry with its sentence (targets read once for them all)."""
    targets = targets_for(entries)
    return [{"entry": e, "sentence": describe(e, targets)} for e in entries]
