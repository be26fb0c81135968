"""The admin of communities: actions and saves go through the services, and never write back
fields the workflow owns."""

import pytest
from django.contrib.auth import get_user_model

from communities.models import CategoryThreshold, Community, CommunityDecision, Initiative
from communities.services import support_add
from tests.factories import (
    CommunityFactory,
    ModeratorFactory,
    UserFactory,
    make_initiative,
    make_member,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    # Reviews need the moderator role whoever asks: a superuser who is no moderator is
    # refused by community_decide, in the admin as anywhere.
    admin = ModeratorFactory()
    get_user_model().objects.filter(pk=admin.pk).update(is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_a_superuser_who_is_no_moderator_is_refused_by_the_service(client):
    root = get_user_model().objects.create_superuser(email="root@example.kz", password="x")
    pending = CommunityFactory(status=Community.Status.PENDING)
    client.force_login(root)
    response = client.post(
        "/admin/communities/community/",
        {"action": "community_approve", "_selected_action": [pending.pk], "index": 0},
        follow=True,
    )
    assert b"Only moderators and officials review communities." in response.content
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_reject_asks_for_the_reason_then_decides_through_the_service(admin_client):
    pending = CommunityFactory(status=Community.Status.PENDING)
    changelist = "/admin/communities/community/"
    page = admin_client.post(
        changelist, {"action": "community_reject", "_selected_action": [pending.pk], "index": 0}
    )
    assert page.status_code == 200 and b'name="reason"' in page.content
    pending.refresh_from_db()
    assert pending.status == "pending"  # nothing happens before the reason is given
    done = admin_client.post(
        changelist,
        {"action": "community_reject", "_selected_action": [pending.pk], "apply": "1",
         "reason": "Not a community of Almaty."},
    )  # fmt: skip
    assert done.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "rejected" and pending.status_reason == "Not a community of Almaty."
    assert CommunityDecision.objects.get(community=pending).action == "reject"


def test_suspend_action_exists_and_invites_are_listed(admin_client):
    approved = CommunityFactory()
    lead = make_member(approved, role="lead")
    from communities.services import invite_create

    invite_create(actor=lead, community_id=approved.pk, email="guest@example.kz")
    assert b"guest@example.kz" in admin_client.get("/admin/communities/communityinvite/").content
    admin_client.post(
        "/admin/communities/community/",
        {"action": "community_suspend", "_selected_action": [approved.pk], "apply": "1",
         "reason": "Spam."},
    )  # fmt: skip
    approved.refresh_from_db()
    assert approved.status == "suspended"


def test_saving_an_initiative_never_writes_back_its_count_and_renders_the_body(admin_client):
    initiative = make_initiative(body="Old")
    url = f"/admin/communities/initiative/{initiative.pk}/change/"
    form = admin_client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data["district"] = ""
    # Meanwhile, while the admin has the form open, a citizen supports it.
    support_add(actor=UserFactory(), initiative_id=initiative.pk)
    data.update(body="**Bold** <script>x</script>", supports_count=999, status="accepted")
    for prefix in ("attachments", "history"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    initiative.refresh_from_db()
    assert initiative.supports_count == 1  # neither the stale 0 nor the posted 999
    assert initiative.status == "submitted"
    assert "<strong>Bold</strong>" in initiative.body_html and "<script" not in initiative.body_html


def test_a_threshold_saved_in_the_admin_fills_the_queue(admin_client, settings):
    settings.INITIATIVE_SUPPORT_THRESHOLD = 100
    initiative = make_initiative(category="ecology")
    support_add(actor=UserFactory(), initiative_id=initiative.pk)
    response = admin_client.post(
        "/admin/communities/categorythreshold/add/", {"category": "ecology", "threshold": 1}
    )
    assert response.status_code == 302
    assert CategoryThreshold.objects.get(category="ecology").threshold == 1
    assert Initiative.objects.get(pk=initiative.pk).threshold_reached_at is not None
