"""Pages of communities, initiatives and notifications: they render in every language, their
forms call the services, bad input is a clear 4xx that changes nothing, never a 500."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from communities.models import (
    Attachment,
    Community,
    CommunityInvite,
    Initiative,
    InitiativeStatusChange,
    Membership,
    Support,
)
from communities.services import attachment_add, invite_create, support_add
from notifications.models import Notification
from tests.communities.files import PDF, upload
from tests.factories import (
    CommunityFactory,
    OfficialFactory,
    UserFactory,
    district,
    make_initiative,
    make_member,
)

pytestmark = pytest.mark.django_db

LANGS = ["kk", "ru", "en"]


def url(name: str, lang: str = "en", **kwargs) -> str:
    with translation.override(lang):
        return reverse(name, kwargs=kwargs or None)


def html_of(response) -> str:
    return response.content.decode()


def initiative_form(community, **over) -> dict:
    data = {
        "community": community.pk,
        "title": "Shade trees on Abay avenue",
        "summary": "Plant two hundred elms along the avenue.",
        "body": "We plant **elms**.",
        "category": "ecology",
        "district": district("almaly").pk,
        "latitude": "43.2389",
        "longitude": "76.8897",
        "budget_kzt": "12 500 000",
        "timeline": "Spring 2026",
    }
    data.update(over)
    return data


# --- Every page, every language ----------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_renders_in_each_language(client, citizen, official, moderator, lang):
    community = CommunityFactory(name="Green Almaty")
    lead = make_member(community, role="lead")
    initiative = make_initiative(
        community=community,
        author=lead,
        status="under_review",
        title="Tram depot park",
        latitude="43.25",
        longitude="76.93",
    )
    draft = make_initiative(community=community, author=lead, status="draft", title="Draft idea")
    CommunityFactory(name="Waiting Group", status=Community.Status.PENDING)
    Notification.objects.create(
        user=citizen,
        kind="initiative.status",
        key="k",
        params={"title": "Tram depot park", "status": "accepted"},
        url=initiative.get_absolute_url(),
    )
    invite = invite_create(actor=lead, community_id=community.pk, email=citizen.email)

    public = [
        (url("communities:index", lang), "Green Almaty"),
        (url("communities:detail", lang, slug=community.slug), "Tram depot park"),
        (url("initiatives:index", lang), "Tram depot park"),
        (url("initiatives:map", lang), "Tram depot park"),
        (url("initiatives:detail", lang, pk=initiative.pk), "Tram depot park"),
    ]
    as_lead = [
        (url("communities:edit", lang, slug=community.slug), 'name="description"'),
        (url("communities:members", lang, slug=community.slug), 'name="email"'),
        (url("initiatives:new", lang), 'name="budget_kzt"'),
        (url("initiatives:edit", lang, pk=draft.pk), "Draft idea"),
        (url("initiatives:detail", lang, pk=draft.pk), "Draft idea"),
    ]
    as_citizen = [
        (url("communities:register", lang), 'name="logo"'),
        (url("communities:invite", lang, token=invite.token), "Green Almaty"),
        (url("notifications:index", lang), "Tram depot park"),
    ]
    as_moderator = [(url("communities:review", lang), "Waiting Group")]
    as_official = [(url("initiatives:review", lang), "Tram depot park")]

    for user, pages in [
        (None, public),
        (lead, as_lead),
        (citizen, as_citizen),
        (moderator, as_moderator),
        (official, as_official),
    ]:
        if user is not None:
            client.force_login(user)
        for page, expected in pages:
            response = client.get(page)
            assert response.status_code == 200, page
            html = html_of(response)
            assert f'<html lang="{lang}">' in html, page
            assert expected in html, (page, expected)


def test_pages_for_the_wrong_people_are_refused(client, citizen):
    community = CommunityFactory()
    make_member(community, role="lead")
    draft = make_initiative(community=community, status="draft")
    client.force_login(citizen)
    assert client.get(url("communities:edit", slug=community.slug)).status_code == 403
    assert client.get(url("communities:members", slug=community.slug)).status_code == 403
    assert client.get(url("communities:review")).status_code == 403
    assert client.get(url("initiatives:review")).status_code == 403
    assert client.get(url("initiatives:detail", pk=draft.pk)).status_code == 404
    assert client.get(url("initiatives:edit", pk=draft.pk)).status_code == 404
    client.logout()
    response = client.get(url("notifications:index"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_nonexistent_things_are_404(client, citizen):
    client.force_login(citizen)
    assert client.get(url("initiatives:detail", pk=999999)).status_code == 404
    assert client.get(url("communities:detail", slug="no-such-community")).status_code == 404
    assert client.get("/en/initiatives/99999999999999999999/").status_code == 404
    assert client.post(url("initiatives:support", pk=999999)).status_code == 404
    token = "00000000-0000-0000-0000-000000000000"
    assert client.get(url("communities:invite", token=token)).status_code == 404


# --- Communities -------------------------------------------------------------------------------


def test_register_a_community_makes_it_pending_with_the_user_as_lead(client, citizen):
    client.force_login(citizen)
    response = client.post(
        url("communities:register"),
        {
            "name": "Neighbours of Kok-Tobe",
            "kind": "citizen_group",
            "description": "We look after the hill.",
            "focus_areas": ["ecology", "urban_space"],
            "districts": [district("medeu").pk],
            "contact_email": "hill@example.kz",
            "website": "https://kok-tobe.example.kz",
            "logo": upload(
                "logo.png",
                bytes.fromhex(
                    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
                ),
            ),
        },
    )
    community = Community.objects.get(name="Neighbours of Kok-Tobe")
    assert response.status_code == 302
    assert response["Location"] == community.get_absolute_url()
    assert community.status == Community.Status.PENDING
    assert community.focus_areas == ["ecology", "urban_space"]
    assert list(community.districts.values_list("slug", flat=True)) == ["medeu"]
    membership = Membership.objects.get(community=community)
    assert (membership.user, membership.role, membership.state) == (citizen, "lead", "active")
    # The lead sees the status; the public does not see the community at all yet.
    page = html_of(client.get(community.get_absolute_url()))
    assert "Pending review" in page
    logo = client.get(url("communities:logo", slug=community.slug))
    assert logo.status_code == 200
    assert logo["Content-Type"] == "image/png"
    client.logout()
    assert client.get(community.get_absolute_url()).status_code == 404
    assert "Neighbours of Kok-Tobe" not in html_of(client.get(url("communities:index")))


def test_register_with_bad_input_is_400_and_creates_nothing(client, citizen):
    CommunityFactory(name="Taken Name")
    client.force_login(citizen)
    base = {"kind": "ngo", "description": "About us."}
    response = client.post(url("communities:register"), {**base, "name": "taken  NAME"})
    assert response.status_code == 409
    assert "A community with this name already exists." in html_of(response)
    response = client.post(
        url("communities:register"), {**base, "name": "Fresh", "website": "javascript:alert(1)"}
    )
    assert response.status_code == 400
    assert "Enter a valid web address (http or https)." in html_of(response)
    assert not Community.objects.filter(name="Fresh").exists()
    assert Community.objects.count() == 1


def test_unverified_users_cannot_register(client, unverified_user):
    client.force_login(unverified_user)
    response = client.post(
        url("communities:register"), {"name": "X", "kind": "ngo", "description": "Y"}
    )
    assert response.status_code == 403
    assert not Community.objects.exists()


def test_community_list_filters_by_focus_area_and_district(client):
    CommunityFactory(name="Bikes", focus_areas=["transport"]).districts.add(district("almaly"))
    CommunityFactory(name="Parks", focus_areas=["ecology"]).districts.add(district("medeu"))
    CommunityFactory(name="Hidden", focus_areas=["transport"], status="pending")
    html = html_of(client.get(url("communities:index"), {"focus": "transport"}))
    assert "Bikes" in html and "Parks" not in html and "Hidden" not in html
    html = html_of(client.get(url("communities:index"), {"district": district("medeu").pk}))
    assert "Parks" in html and "Bikes" not in html
    # Nonsense filters are ignored, never an error.
    response = client.get(url("communities:index"), {"district": "abc", "focus": "x", "page": "z"})
    assert response.status_code == 200
    assert "Bikes" in html_of(response) and "Parks" in html_of(response)


def test_moderator_approves_and_rejection_needs_a_reason(client, moderator, citizen):
    waiting = CommunityFactory(name="Waiting", status=Community.Status.PENDING)
    other = CommunityFactory(name="Other", status=Community.Status.PENDING)
    client.force_login(citizen)
    response = client.post(url("communities:decide", slug=waiting.slug), {"action": "approve"})
    assert response.status_code == 404  # a pending community is not even visible to them
    client.force_login(moderator)
    review = url("communities:review")
    response = client.post(
        url("communities:decide", slug=waiting.slug), {"action": "approve", "next": review}
    )
    assert response.status_code == 302
    assert response["Location"] == review
    waiting.refresh_from_db()
    assert waiting.status == Community.Status.APPROVED
    response = client.post(url("communities:decide", slug=other.slug), {"action": "reject"})
    assert response.status_code == 400
    assert "Give the reason: the community will see it." in html_of(response)
    other.refresh_from_db()
    assert other.status == Community.Status.PENDING
    response = client.post(
        url("communities:decide", slug=other.slug),
        {"action": "reject", "reason": "Duplicate of Waiting."},
    )
    other.refresh_from_db()
    assert (other.status, other.status_reason) == ("rejected", "Duplicate of Waiting.")
    # Suspension is offered on the community page of an approved community.
    page = html_of(client.get(waiting.get_absolute_url()))
    assert 'value="suspend"' in page and 'value="approve"' not in page
    response = client.post(url("communities:decide", slug=waiting.slug), {"action": "launch"})
    assert response.status_code == 400


def test_join_request_is_approved_by_a_lead_on_the_members_page(client, citizen):
    community = CommunityFactory()
    lead = make_member(community, role="lead")
    client.force_login(citizen)
    response = client.post(url("communities:join", slug=community.slug))
    assert response.status_code == 302
    request = Membership.objects.get(community=community, user=citizen)
    assert request.state == Membership.State.REQUESTED
    client.post(url("communities:join", slug=community.slug))
    assert Membership.objects.filter(community=community, user=citizen).count() == 1
    # Not a lead: cannot approve themselves.
    response = client.post(
        url(
            "communities:member_action",
            slug=community.slug,
            membership_id=request.pk,
            action="approve",
        )
    )
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.state == Membership.State.REQUESTED

    client.force_login(lead)
    assert citizen.public_name in html_of(
        client.get(url("communities:members", slug=community.slug))
    )
    client.post(
        url(
            "communities:member_action",
            slug=community.slug,
            membership_id=request.pk,
            action="approve",
        )
    )
    request.refresh_from_db()
    assert request.state == Membership.State.ACTIVE
    # The only lead cannot step down: a clear 409, nothing changed.
    own = Membership.objects.get(community=community, user=lead)
    response = client.post(
        url("communities:member_action", slug=community.slug, membership_id=own.pk, action="demote")
    )
    assert response.status_code == 409
    assert "A community needs a lead" in html_of(response)
    own.refresh_from_db()
    assert own.role == Membership.Role.LEAD
    response = client.post(
        url(
            "communities:member_action",
            slug=community.slug,
            membership_id=request.pk,
            action="crown",
        )
    )
    assert response.status_code == 404

    client.force_login(citizen)
    client.post(url("communities:leave", slug=community.slug))
    assert not Membership.objects.filter(community=community, user=citizen).exists()


def test_invite_by_email_then_accept_it_with_a_confirm_button(
    client, citizen, mailoutbox, django_capture_on_commit_callbacks
):
    community = CommunityFactory(name="Choir of Almaty")
    lead = make_member(community, role="lead")
    client.force_login(lead)
    response = client.post(url("communities:members", slug=community.slug), {"email": "nope"})
    assert response.status_code == 400
    assert not CommunityInvite.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("communities:members", slug=community.slug), {"email": citizen.email})
    invite = CommunityInvite.objects.get(community=community)
    assert invite.email == citizen.email
    assert str(invite.token) in mailoutbox[-1].body

    client.force_login(citizen)
    page = client.get(url("communities:invite", token=invite.token))
    assert page.status_code == 200
    assert "Accept the invitation" in html_of(page)
    assert not Membership.objects.filter(community=community, user=citizen).exists()
    client.post(url("communities:invite", token=invite.token))
    membership = Membership.objects.get(community=community, user=citizen)
    assert membership.state == Membership.State.ACTIVE

    stranger = UserFactory()
    client.force_login(stranger)
    response = client.post(url("communities:invite", token=invite.token))
    assert response.status_code == 403
    assert not Membership.objects.filter(community=community, user=stranger).exists()


# --- Proposing and editing ---------------------------------------------------------------------


def test_proposing_via_the_form_creates_a_draft(client):
    community = CommunityFactory()
    member = make_member(community)
    client.force_login(member)
    response = client.post(url("initiatives:new"), initiative_form(community))
    initiative = Initiative.objects.get()
    assert response.status_code == 302
    assert response["Location"] == initiative.get_absolute_url()
    assert initiative.status == Initiative.Status.DRAFT
    assert initiative.community == community
    assert initiative.created_by == member
    assert initiative.budget_kzt == Decimal("12500000.00")
    assert initiative.latitude == Decimal("43.238900")
    assert initiative.district.slug == "almaly"
    assert "<strong>elms</strong>" in initiative.body_html
    page = html_of(client.get(initiative.get_absolute_url()))
    assert "Submit to the akimat" in page


def test_budget_abc_is_400_with_the_message_and_creates_nothing(client):
    community = CommunityFactory()
    client.force_login(make_member(community))
    response = client.post(url("initiatives:new"), initiative_form(community, budget_kzt="abc"))
    assert response.status_code == 400
    assert "Budget must be a number." in html_of(response)
    assert 'value="Shade trees on Abay avenue"' in html_of(response)  # what was typed is kept
    response = client.post(
        url("initiatives:new"), initiative_form(community, latitude="51.1", longitude="71.4")
    )
    assert response.status_code == 400
    assert "The location is outside Almaty." in html_of(response)
    with translation.override("ru"):
        response = client.post(
            url("initiatives:new", "ru"), initiative_form(community, category="astrology")
        )
    assert response.status_code == 400
    assert not Initiative.objects.exists()


def test_a_non_member_cannot_propose_for_a_community(client, citizen):
    community = CommunityFactory()
    client.force_login(citizen)
    page = client.get(url("initiatives:new"))
    assert page.status_code == 200
    assert 'name="title"' not in html_of(page)  # no community of theirs: an explanation
    response = client.post(url("initiatives:new"), initiative_form(community))
    assert response.status_code == 403
    assert not Initiative.objects.exists()
    # A member of another community cannot slip this one in either.
    make_member(CommunityFactory(), user=citizen)
    response = client.post(url("initiatives:new"), initiative_form(community))
    assert response.status_code == 400
    assert not Initiative.objects.exists()


def test_members_edit_a_draft_and_submit_it(client):
    initiative = make_initiative(status="draft")
    member = make_member(initiative.community)
    client.force_login(member)
    data = initiative_form(initiative.community, title="Better title")
    data.pop("community")
    response = client.post(url("initiatives:edit", pk=initiative.pk), data)
    assert response.status_code == 302
    initiative.refresh_from_db()
    assert initiative.title == "Better title"
    client.post(url("initiatives:move", pk=initiative.pk), {"to": "submitted"})
    initiative.refresh_from_db()
    assert initiative.status == Initiative.Status.SUBMITTED
    # Not editable any more.
    assert client.get(url("initiatives:edit", pk=initiative.pk)).status_code == 409
    response = client.post(url("initiatives:edit", pk=initiative.pk), data | {"title": "Again"})
    assert response.status_code == 409
    initiative.refresh_from_db()
    assert initiative.title == "Better title"


# --- Support -----------------------------------------------------------------------------------


def test_support_via_post_counts_once_and_can_be_withdrawn(client, citizen):
    initiative = make_initiative(status="submitted")
    client.force_login(citizen)
    support = url("initiatives:support", pk=initiative.pk)
    assert client.post(support).status_code == 302
    assert client.post(support).status_code == 302
    initiative.refresh_from_db()
    assert initiative.supports_count == 1
    assert Support.objects.filter(initiative=initiative, user=citizen).count() == 1
    page = html_of(client.get(initiative.get_absolute_url()))
    assert re.search(r"<strong data-supports>1</strong>", page)
    assert 'aria-pressed="true"' in page
    assert "Press again to withdraw your support." in page
    client.post(url("initiatives:unsupport", pk=initiative.pk))
    initiative.refresh_from_db()
    assert initiative.supports_count == 0
    # GET never changes anything.
    assert client.get(support).status_code == 405
    initiative.refresh_from_db()
    assert initiative.supports_count == 0


def test_support_of_a_decided_initiative_is_409_and_changes_nothing(client, citizen):
    initiative = make_initiative(status="accepted")
    client.force_login(citizen)
    response = client.post(url("initiatives:support", pk=initiative.pk))
    assert response.status_code == 409
    assert "only while the initiative is open" in html_of(response)
    initiative.refresh_from_db()
    assert initiative.supports_count == 0


def test_anonymous_support_is_sent_to_sign_in(client):
    initiative = make_initiative(status="submitted")
    response = client.post(url("initiatives:support", pk=initiative.pk))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    initiative.refresh_from_db()
    assert initiative.supports_count == 0


# --- Decisions ---------------------------------------------------------------------------------


def test_an_officials_decision_is_recorded_and_shown_prominently(client, official):
    initiative = make_initiative(status="under_review")
    client.force_login(official)
    page = html_of(client.get(initiative.get_absolute_url()))
    assert 'name="to"' in page
    assert '<option value="accepted">' in page and '<option value="implemented">' not in page
    response = client.post(
        url("initiatives:decide", pk=initiative.pk),
        {"to": "accepted", "response": "The akimat will fund it in 2026."},
    )
    assert response.status_code == 302
    initiative.refresh_from_db()
    assert initiative.status == Initiative.Status.ACCEPTED
    assert initiative.official_response == "The akimat will fund it in 2026."
    assert initiative.responded_by == official
    client.logout()
    page = html_of(client.get(initiative.get_absolute_url()))
    box = re.search(r'<section class="official-response".*?</section>', page, re.S).group(0)
    assert "The akimat will fund it in 2026." in box
    assert official.public_name in box
    history = re.search(r'<ol class="history">.*?</ol>', page, re.S).group(0)
    assert history.count("<li") == 4  # draft, submitted, under review, accepted


def test_a_decision_without_a_response_is_400(client, official):
    initiative = make_initiative(status="under_review")
    client.force_login(official)
    response = client.post(url("initiatives:decide", pk=initiative.pk), {"to": "rejected"})
    assert response.status_code == 400
    assert "A decision needs the official response" in html_of(response)
    initiative.refresh_from_db()
    assert initiative.status == Initiative.Status.UNDER_REVIEW


def test_a_citizen_posting_a_decision_gets_403_and_nothing_changes(client, citizen):
    initiative = make_initiative(status="under_review")
    history = InitiativeStatusChange.objects.filter(initiative=initiative).count()
    member = make_member(initiative.community)
    for user in (citizen, member):
        client.force_login(user)
        for view in ("initiatives:decide", "initiatives:move"):
            response = client.post(
                url(view, pk=initiative.pk), {"to": "accepted", "response": "Approved by me."}
            )
            assert response.status_code == 403, (user, view)
    assert "Only akimat officials" in html_of(response)
    initiative.refresh_from_db()
    assert initiative.status == Initiative.Status.UNDER_REVIEW
    assert initiative.official_response == "Official answer."
    assert InitiativeStatusChange.objects.filter(initiative=initiative).count() == history


def test_review_queue_lists_what_waits_for_officials(client, official):
    waiting = make_initiative(status="under_review", title="Waiting one")
    make_initiative(status="submitted", title="Too few supporters")
    client.force_login(official)
    html = html_of(client.get(url("initiatives:review")))
    assert "Waiting one" in html
    assert "Too few supporters" not in html
    assert waiting.get_absolute_url() in html


# --- Escaping ----------------------------------------------------------------------------------


def test_html_in_a_title_is_escaped_on_list_map_and_detail(client):
    evil = '<script>alert("x")</script>'
    initiative = make_initiative(
        status="submitted",
        title=evil,
        summary="<img src=x onerror=alert(1)>",
        latitude="43.25",
        longitude="76.9",
        body="<script>bad()</script> **ok**",
    )
    for page in (
        url("initiatives:index"),
        url("initiatives:map"),
        initiative.get_absolute_url(),
        initiative.community.get_absolute_url(),
    ):
        html = html_of(client.get(page))
        assert "&lt;script&gt;alert(" in html or "\\u003Cscript\\u003E" in html, page
        assert evil not in html, page
        assert "<img src=x" not in html, page
        assert "<script>bad()" not in html, page
    detail = html_of(client.get(initiative.get_absolute_url()))
    assert "<strong>ok</strong>" in detail  # the sanitized Markdown is shown as HTML


# --- The dossier -------------------------------------------------------------------------------


def test_download_is_an_attachment_with_a_safe_filename(client, citizen):
    initiative = make_initiative(status="submitted")
    member = make_member(initiative.community)
    attachment = attachment_add(
        actor=member,
        initiative_id=initiative.pk,
        title="Estimate",
        kind="estimate",
        upload=upload('../../etc/"smeta" 2025;.pdf', PDF),
    )
    client.force_login(citizen)
    page = html_of(client.get(initiative.get_absolute_url()))
    link = url("initiatives:attachment", pk=initiative.pk, attachment_id=attachment.pk)
    assert link in page
    response = client.get(link)
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    filename = re.search(r'filename="([^"]*)"', disposition).group(1)
    assert filename == attachment.original_name
    assert filename.endswith(".pdf")
    assert not set('/\\";') & set(filename)
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF
    # Only through its own initiative.
    other = make_initiative(status="submitted")
    wrong = url("initiatives:attachment", pk=other.pk, attachment_id=attachment.pk)
    assert client.get(wrong).status_code == 404


def test_documents_of_a_draft_are_hidden_from_outsiders(client, citizen):
    initiative = make_initiative(status="draft")
    member = make_member(initiative.community)
    attachment = attachment_add(
        actor=member,
        initiative_id=initiative.pk,
        title="Plan",
        kind="design",
        upload=upload("plan.pdf", PDF),
    )
    link = url("initiatives:attachment", pk=initiative.pk, attachment_id=attachment.pk)
    client.force_login(citizen)
    assert client.get(link).status_code == 404
    client.force_login(member)
    assert client.get(link).status_code == 200


def test_members_upload_documents_and_versions_are_listed(client, citizen):
    initiative = make_initiative(status="submitted")
    member = make_member(initiative.community)
    client.force_login(member)
    upload_url = url("initiatives:attachment_upload", pk=initiative.pk)
    for _ in range(2):
        response = client.post(
            upload_url, {"title": "Design", "kind": "design", "file": upload("d.pdf", PDF)}
        )
        assert response.status_code == 302
    assert list(Attachment.objects.values_list("version", flat=True).order_by("version")) == [1, 2]
    page = html_of(client.get(initiative.get_absolute_url()))
    assert "version 2" in page and "Older versions" in page
    # A file that lies about itself is refused with the reason; nothing is stored.
    response = client.post(
        upload_url, {"title": "Fake", "kind": "other", "file": upload("x.pdf", b"MZ\x90\x00exe")}
    )
    assert response.status_code == 400
    assert "This kind of file is not accepted" in html_of(response)
    client.force_login(citizen)
    response = client.post(
        upload_url, {"title": "Spam", "kind": "other", "file": upload("s.pdf", PDF)}
    )
    assert response.status_code == 403
    assert Attachment.objects.count() == 2


# --- Lists, the map, pagination ---------------------------------------------------------------


def test_list_filters_search_and_sort(client):
    community = CommunityFactory(name="Cyclists")
    lead = make_member(community, role="lead")
    bikes = make_initiative(
        community=community, author=lead, title="Bike lanes on Tole bi", category="transport"
    )
    make_initiative(status="under_review", title="Pocket park", category="ecology")
    support_add(actor=UserFactory(), initiative_id=bikes.pk)
    html = html_of(client.get(url("initiatives:index"), {"category": "transport"}))
    assert "Bike lanes on Tole bi" in html and "Pocket park" not in html
    html = html_of(client.get(url("initiatives:index"), {"status": "under_review"}))
    assert "Pocket park" in html and "Bike lanes" not in html
    html = html_of(client.get(url("initiatives:index"), {"community": community.slug}))
    assert "Bike lanes" in html and "Pocket park" not in html
    html = html_of(client.get(url("initiatives:index"), {"q": "pocket"}))
    assert "Pocket park" in html and "Bike lanes" not in html
    html = html_of(client.get(url("initiatives:index"), {"sort": "supported"}))
    assert html.index("Bike lanes") < html.index("Pocket park")
    html = html_of(client.get(url("initiatives:index"), {"sort": "newest"}))
    assert html.index("Pocket park") < html.index("Bike lanes")
    for junk in (
        {"district": "abc"},
        {"district": "99999999999999999999"},
        {"community": "<script>"},
        {"status": "draft"},
        {"sort": "evil"},
    ):
        response = client.get(url("initiatives:index"), junk)
        assert response.status_code == 200, junk
    response = client.get(url("initiatives:index"), {"q": "a\x00b"})
    assert response.status_code == 400
    assert "characters that are not allowed" in html_of(response)


def test_drafts_never_appear_in_public_lists(client):
    make_initiative(status="draft", title="Secret draft")
    for page in (url("initiatives:index"), url("initiatives:map")):
        assert "Secret draft" not in html_of(client.get(page))


def test_map_lists_located_initiatives_in_html(client):
    located = make_initiative(
        status="submitted", title="Fountain", latitude="43.2567", longitude="76.9286"
    )
    make_initiative(status="submitted", title="Citywide bus cards")
    response = client.get(url("initiatives:map"))
    html = html_of(response)
    assert response.status_code == 200
    items = re.search(r'<ul class="located-list".*?</ul>', html, re.S).group(0)
    assert "Fountain" in items and located.get_absolute_url() in items
    assert "43.25670, 76.92860" in items
    assert "Citywide bus cards" not in html
    assert response.context["markers"] == [
        {
            "id": located.pk,
            "title": "Fountain",
            "status": "Submitted",
            "progress": None,
            "supports": 0,
            "lat": 43.2567,
            "lng": 76.9286,
            "url": located.get_absolute_url(),
        }
    ]
    assert 'id="initiative-markers"' in html
    assert "vendor/leaflet/leaflet.js" in html
    assert client.get("/static/vendor/leaflet/leaflet.js").status_code == 200
    assert client.get("/static/vendor/leaflet/images/marker-icon.png").status_code == 200


def test_pagination_never_fails(client):
    community = CommunityFactory()
    lead = make_member(community, role="lead")
    for n in range(21):
        make_initiative(community=community, author=lead, title=f"Initiative number {n:02d}")
    index = url("initiatives:index")

    def titles(params):
        response = client.get(index, params)
        assert response.status_code == 200, params
        return re.findall(r"Initiative number \d\d", html_of(response))

    first = titles({"sort": "newest"})
    assert len(first) == 20
    assert first[0] == "Initiative number 20"
    last = titles({"sort": "newest", "page": "2"})
    assert last == ["Initiative number 00"]
    assert titles({"sort": "newest", "page": "99999"}) == last
    assert titles({"sort": "newest", "page": "-1"}) == last
    assert titles({"sort": "newest", "page": "abc"}) == first
    assert titles({"sort": "newest", "page": "99999999999999999999999"}) == last
    html = html_of(client.get(index, {"sort": "newest", "page": "1"}))
    assert 'href="?sort=newest&amp;page=2"' in html
    assert "Page 1 of 2" in html


# --- Notifications -----------------------------------------------------------------------------


def test_notifications_page_shows_the_official_response_and_marks_read(
    client, official, django_capture_on_commit_callbacks
):
    initiative = make_initiative(status="under_review", title="Tram depot park")
    member = make_member(initiative.community)
    client.force_login(official)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            url("initiatives:decide", pk=initiative.pk),
            {"to": "accepted", "response": "Funded from the 2026 city budget."},
        )
    note = Notification.objects.get(user=member)
    assert note.read_at is None
    client.force_login(member)
    html = html_of(client.get(url("notifications:index")))
    assert "“Tram depot park” is now: Accepted" in html
    assert "Funded from the 2026 city budget." in html
    assert f'href="{initiative.get_absolute_url()}"' in html
    assert "is-unread" in html
    assert 'class="badge badge-unread">1<' in html  # the header's count
    response = client.post(url("notifications:mark_all_read"))
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.read_at is not None
    html = html_of(client.get(url("notifications:index")))
    assert "is-unread" not in html
    assert "badge-unread" not in html
    assert client.get(url("notifications:mark_all_read")).status_code == 405


def test_notifications_link_only_to_this_site(client, citizen):
    Notification.objects.create(
        user=citizen,
        kind="initiative.status",
        key="a",
        params={"title": "T", "status": "accepted"},
        url="//evil.example/x",
    )
    client.force_login(citizen)
    html = html_of(client.get(url("notifications:index")))
    assert "evil.example" not in html
    assert "“T” is now: Accepted" in html


def test_other_peoples_notifications_are_not_shown(client, citizen):
    other = OfficialFactory()
    Notification.objects.create(
        user=other, kind="initiative.status", key="b", params={"title": "Private"}, url="/en/"
    )
    client.force_login(citizen)
    assert "Private" not in html_of(client.get(url("notifications:index")))


# --- Review fixes -----------------------------------------------------------------------------


def test_a_used_invitation_link_answers_a_clear_409(client, citizen):
    from communities.services import invite_accept, membership_leave

    community = CommunityFactory(name="Choir of Almaty")
    lead = make_member(community, role="lead")
    invite = invite_create(actor=lead, community_id=community.pk, email=citizen.email)
    invite_accept(actor=citizen, token=invite.token)
    membership_leave(actor=citizen, community_id=community.pk)
    client.force_login(citizen)
    response = client.post(url("communities:invite", token=invite.token))
    assert response.status_code == 409
    assert "This invitation has already been used." in html_of(response)
    assert not Membership.objects.filter(community=community, user=citizen).exists()


def test_the_review_queue_notice_shows_only_in_the_queue(client, settings):
    from communities.services import initiative_transition

    def notice_shown(initiative) -> bool:
        page = html_of(client.get(url("initiatives:detail", pk=initiative.pk)))
        [tag] = re.findall(r"<p class=\"notice\" data-threshold-reached[^>]*>", page)
        return "hidden" not in tag

    settings.INITIATIVE_SUPPORT_THRESHOLD = 1
    waiting = make_initiative()
    assert not notice_shown(waiting)
    support_add(actor=UserFactory(), initiative_id=waiting.pk)
    assert notice_shown(waiting)  # submitted, threshold reached: in the queue
    decided = make_initiative(status="under_review")
    support_add(actor=UserFactory(), initiative_id=decided.pk)
    initiative_transition(
        actor=OfficialFactory(), initiative_id=decided.pk, to="accepted", response="Yes."
    )
    assert Initiative.objects.get(pk=decided.pk).threshold_reached_at is not None
    assert not notice_shown(decided)  # decided: no longer in any queue


def test_members_see_their_withdrawn_drafts_the_public_does_not(client, citizen):
    community = CommunityFactory()
    lead = make_member(community, role="lead")
    make_initiative(community=community, author=lead, status="withdrawn", title="Quiet idea")
    page = url("communities:detail", slug=community.slug)
    assert "Quiet idea" not in html_of(client.get(page))
    assert "Quiet idea" not in html_of(client.get(url("initiatives:index")))
    client.force_login(lead)
    assert "Quiet idea" in html_of(client.get(page))


def test_the_community_page_reads_drafts_with_their_district_in_one_query(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    community = CommunityFactory()
    lead = make_member(community, role="lead")
    for n in range(3):
        make_initiative(
            community=community, author=lead, status="draft", title=f"Draft {n}",
            district_id=district("almaly").pk,
        )  # fmt: skip
    client.force_login(lead)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url("communities:detail", slug=community.slug)).status_code == 200
    # Each draft card names its district: read with the drafts, not once per card.
    district_reads = [
        q["sql"] for q in queries if q["sql"].startswith('SELECT "accounts_district"')
    ]
    assert len(district_reads) <= 1, district_reads  # the community's own districts, at most
    assert (
        html_of(client.get(url("communities:detail", slug=community.slug))).count(
            district("almaly").name
        )
        >= 3
    )


def test_the_community_review_page_is_paginated(client, moderator):
    for n in range(25):
        CommunityFactory(name=f"Waiting {n:02d}", status=Community.Status.PENDING)
    client.force_login(moderator)
    first = html_of(client.get(url("communities:review")))
    assert "Page 1 of 2" in first and first.count('name="action" value="approve"') == 20
    second = html_of(client.get(url("communities:review"), {"page": 2}))
    assert second.count('name="action" value="approve"') == 5
