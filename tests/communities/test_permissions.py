"""The initiative workflow is one rule (communities.permissions): the page, the API, the
dashboard and the service all ask it, so what is offered is exactly what is accepted."""

import pytest

import communities.permissions as rules
from civic.errors import DomainError
from communities.models import Initiative
from communities.permissions import (
    COMMUNITY,
    OFFICIAL,
    initiative_allowed_transitions,
    require_initiative_move,
)
from communities.services import TransitionNotAllowed, initiative_transition
from dashboard.views import official_moves
from tests.factories import OfficialFactory, UserFactory, make_initiative, make_member

pytestmark = pytest.mark.django_db

S = Initiative.Status


def _offered(client, user, initiative) -> dict:
    """What the page and the API offer `user` for `initiative`."""
    client.force_login(user)
    page = client.get(f"/en/initiatives/{initiative.pk}/")
    api = client.get(f"/api/v1/initiatives/{initiative.pk}").json()
    return {
        "page_official": [to for to, _label in page.context["decision_form"].fields["to"].choices]
        if page.context["decision_form"]
        else [],
        "page_member": [to for to, _label in page.context["member_moves"]],
        "api": api["allowed_transitions"],
        "dashboard": official_moves().get(initiative.status, []),
    }


def test_finding_initiative_moves_one_rule(client, monkeypatch):
    initiative = make_initiative(status="under_review")
    official = OfficialFactory()
    member = make_member(initiative.community)
    decisions = [S.ACCEPTED, S.REJECTED, S.CHANGES_REQUESTED]

    offered = _offered(client, official, initiative)
    assert offered["page_official"] == offered["api"] == offered["dashboard"] == decisions
    assert _offered(client, member, initiative)["page_member"] == [S.WITHDRAWN]

    # Take one move out of the rule: every entry point stops offering it, the service refuses it.
    monkeypatch.delitem(rules.TRANSITIONS, (S.UNDER_REVIEW, S.REJECTED))
    offered = _offered(client, official, initiative)
    left = [S.ACCEPTED, S.CHANGES_REQUESTED]
    assert offered["page_official"] == offered["api"] == offered["dashboard"] == left
    with pytest.raises(TransitionNotAllowed):
        initiative_transition(
            actor=official, initiative_id=initiative.pk, to=S.REJECTED, response="No."
        )
    # Put a community move in: the member's page and API offer it, the service takes it.
    monkeypatch.setitem(rules.TRANSITIONS, (S.UNDER_REVIEW, S.DRAFT), COMMUNITY)
    offered = _offered(client, member, initiative)
    assert offered["page_member"] == offered["api"] == [S.WITHDRAWN, S.DRAFT]
    moved = initiative_transition(actor=member, initiative_id=initiative.pk, to=S.DRAFT)
    assert moved.status == S.DRAFT


@pytest.mark.parametrize("status", [s for s in S.values if s != S.DRAFT])
def test_what_is_offered_is_exactly_what_the_check_accepts(status):
    initiative = make_initiative(status="draft")
    Initiative.objects.filter(pk=initiative.pk).update(status=status)
    initiative.refresh_from_db()
    people = {
        "official": OfficialFactory(),
        "member": make_member(initiative.community),
        "outsider": UserFactory(),
    }
    for who, user in people.items():
        accepted = []
        for to in S.values:
            try:
                require_initiative_move(user, initiative, to)
            except DomainError:
                continue
            accepted.append(to)
        assert sorted(initiative_allowed_transitions(user, initiative)) == sorted(accepted), who
        if who == "outsider":
            assert accepted == []
        for side in (COMMUNITY, OFFICIAL):
            mine = initiative_allowed_transitions(user, initiative, side=side)
            assert set(mine) <= set(accepted)
