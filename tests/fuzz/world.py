"""The seeded world the fuzz suite attacks, and the people it attacks it as.

One of every kind of object a URL or an API path can name (an open and a draft poll, a
community with a lead and a pending member, initiatives, a thread with comments, a live Q&A
session with a question, a report, a code batch, an export), made through the services as
people would, so that path parameters can be filled with ids that exist as well as bad ones.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

ROLES = (
    "anonymous",
    "unverified",
    "citizen",
    "community_lead",
    "official",
    "moderator",
    "administrator",
)


@dataclass
class World:
    users: dict[str, object | None]
    ids: dict[str, list] = field(default_factory=dict)
    choices: list[int] = field(default_factory=list)
    district_pk: int = 1

    def first(self, kind: str | None, default="1") -> str:
        values = self.ids.get(kind or "", [])
        return str(values[0]) if values else default


def seed_world() -> World:
    from communities.services import membership_request
    from dashboard.services import export_create
    from dialogue.services import comment_post, flag_create, question_ask
    from polls.services import event_codes_generate
    from tests.factories import (
        CommunityFactory,
        ModeratorFactory,
        OfficialFactory,
        UserFactory,
        choice_ids,
        district,
        make_initiative,
        make_member,
        make_poll,
        make_session,
        make_thread,
    )

    almaly = district()
    official = OfficialFactory()
    moderator = ModeratorFactory()
    citizen = UserFactory()
    community = CommunityFactory()
    lead = make_member(community, role="lead")
    users = {
        "anonymous": None,
        "unverified": UserFactory(verified=False),
        "citizen": citizen,
        "community_lead": lead,
        "official": official,
        "moderator": moderator,
        "administrator": UserFactory(is_staff=True, is_superuser=True),
    }
    outsider = UserFactory()
    pending = membership_request(actor=outsider, community_id=community.pk)
    member = make_member(community)

    try:  # a poll that takes accounts and ballot codes, where polls know the difference
        open_poll = make_poll(official=official, ballot_mode="both")
    except TypeError:
        open_poll = make_poll(official=official)
    draft_poll = make_poll(official=official, open_now=False)
    codes = event_codes_generate(actor=official, poll_id=open_poll.pk, count=2)

    initiative = make_initiative(community=community, author=lead, status="submitted")
    draft_initiative = make_initiative(community=community, author=lead, status="draft")

    thread = make_thread(author=citizen)
    comment = comment_post(actor=citizen, thread_id=thread.pk, body="The 92 bus is late.")
    reply = comment_post(actor=member, thread_id=thread.pk, body="Agreed.", parent_id=comment.pk)
    flag = flag_create(actor=member, reason="Off topic", comment_id=comment.pk)

    session = make_session(actor=moderator)
    question = question_ask(actor=citizen, session_id=session.pk, text="When is the new park?")

    export = export_create(actor=official, kind="initiatives", format="csv")

    open_round, draft_round = _budget_rounds(official)

    ids = {
        "poll": [open_poll.pk, draft_poll.pk],
        "batch": [codes[0].batch],
        "community": [community.pk],
        "slug": [community.slug],
        "membership": [pending.pk],
        "initiative": [initiative.pk, draft_initiative.pk],
        "thread": [thread.pk],
        "comment": [comment.pk, reply.pk],
        "flag": [flag.pk],
        "session": [session.pk],
        "question": [question.pk],
        "user": [member.pk],
        "export": [getattr(export, "public_id", export.pk)],
        "attachment": [],
        "token": [uuid.uuid4()],
        "kind": ["initiative", "poll"],
        "budget": [open_round.pk, draft_round.pk],
        # A draft's project first: the one officials may still edit and remove.
        "budget_project": [
            *draft_round.projects.values_list("pk", flat=True)[:1],
            *open_round.projects.values_list("pk", flat=True)[:1],
        ],
        "budget_pick": list(open_round.projects.values_list("pk", flat=True)[:1]),
    }
    return World(users=users, ids=ids, choices=choice_ids(open_poll), district_pk=almaly.pk)


def _budget_rounds(official):
    """An open People's Budget round and a draft, each with two projects (services)."""
    from datetime import timedelta

    from django.utils import timezone

    from budgets.services import ProjectInput, RoundInput, project_add, round_create, round_open

    now = timezone.now()
    rounds = []
    for title in ("Open budget", "Draft budget"):
        budget_round = round_create(
            actor=official,
            data=RoundInput(
                title_kk=title,
                title_ru=title,
                title_en=title,
                total_budget=10_000_000,
                eligibility="email",
                results_visibility="live",
                opens_at=now,
                closes_at=now + timedelta(days=1),
            ),
        )
        for cost in (1_000_000, 2_000_000):
            project_add(
                actor=official,
                round_id=budget_round.pk,
                data=ProjectInput(title_kk="Park", title_ru="Park", title_en="Park", cost=cost),
            )
        rounds.append(budget_round)
    round_open(actor=official, round_id=rounds[0].pk)
    return rounds


# Which seeded object a path parameter names: (the last plain word of the route before the
# parameter, the parameter's name). The name alone is the fallback.
PARAM_KINDS = {
    ("polls", "poll_id"): "poll",
    ("codes", "batch"): "batch",
    ("communities", "community_id"): "community",
    ("communities", "slug"): "slug",
    ("members", "membership_id"): "membership",
    ("initiatives", "initiative_id"): "initiative",
    ("initiatives", "pk"): "initiative",
    ("documents", "attachment_id"): "attachment",
    ("threads", "thread_id"): "thread",
    ("threads", "pk"): "thread",
    ("comments", "comment_id"): "comment",
    ("comments", "pk"): "comment",
    ("flags", "flag_id"): "flag",
    ("flags", "pk"): "flag",
    ("sessions", "session_id"): "session",
    ("sessions", "pk"): "session",
    ("questions", "question_id"): "question",
    ("questions", "pk"): "question",
    ("bans", "user_id"): "user",
    ("exports", "export_id"): "export",
    ("exports", "public_id"): "export",
    ("invite", "token"): "token",
    ("about", "kind"): "kind",
    ("budgets", "budget_id"): "budget",
    ("budgets", "round_id"): "budget",
    ("manage", "round_id"): "budget",
    ("projects", "project_id"): "budget_project",
}
_PLACEHOLDER = re.compile(r"\{[^}]+\}|<[^>]+>")


def param_kind(route: str, name: str) -> str | None:
    """The kind of seeded object the parameter `name` of `route` names, or None if unknown."""
    before = re.split(r"\{" + name + r"\}|<(?:\w+:)?" + name + ">", route)[0]
    words = [w for w in _PLACEHOLDER.sub("", before).split("/") if w]
    for word in reversed(words):
        if (word, name) in PARAM_KINDS:
            return PARAM_KINDS[(word, name)]
    for (_word, pname), kind in PARAM_KINDS.items():
        if pname == name:
            return kind
    return None
