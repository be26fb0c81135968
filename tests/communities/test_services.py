"""Services of communities and initiatives: registration, review, members, the workflow,
support, the dossier and notifications. Bad input is refused and changes nothing."""

from decimal import Decimal

import pytest
from django.core import mail
from django.utils import translation

from civic.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from communities.models import (
    Attachment,
    CategoryThreshold,
    Community,
    CommunityDecision,
    Initiative,
    InitiativeStatusChange,
    Membership,
    Support,
)
from communities.selectors import dossier, initiative_list, review_queue
from communities.services import (
    CommunityInput,
    InitiativeInput,
    attachment_add,
    community_decide,
    community_register,
    initiative_create,
    initiative_transition,
    initiative_update,
    invite_accept,
    invite_create,
    membership_approve,
    membership_leave,
    membership_request,
    membership_set_role,
    support_add,
    support_remove,
    supports_verify,
)
from notifications.models import Notification
from tests.communities.files import PDF, PNG, upload, xlsx_bytes
from tests.factories import (
    CommunityFactory,
    OfficialFactory,
    UserFactory,
    district,
    make_initiative,
    make_member,
)

pytestmark = pytest.mark.django_db


def _community_input(**over) -> CommunityInput:
    data = {
        "name": "Трамвай депо",
        "kind": "citizen_group",
        "description": "Neighbours of the old tram depot.",
        "focus_areas": ["urban_space", "transport"],
        "district_ids": [district("almaly").pk],
        "contact_email": "depo@example.kz",
        "website": "https://depo.example.kz",
    }
    data.update(over)
    return CommunityInput(**data)


def _initiative_input(**over) -> InitiativeInput:
    data = {"title": "Bike lane on Abay", "summary": "A protected lane.", "category": "transport"}
    data.update(over)
    return InitiativeInput(**data)


# --- Communities ------------------------------------------------------------------------------


def test_registration_is_pending_and_makes_the_registrant_its_lead(citizen):
    community = community_register(actor=citizen, data=_community_input())
    assert community.status == Community.Status.PENDING
    assert community.slug
    assert list(community.districts.values_list("slug", flat=True)) == ["almaly"]
    m = Membership.objects.get(community=community, user=citizen)
    assert (m.role, m.state) == ("lead", "active")


@pytest.mark.parametrize(
    "over",
    [
        {"name": ""},
        {"name": "x" * 121},
        {"name": "bad\x00name"},
        {"kind": "party"},
        {"focus_areas": ["weather"]},
        {"focus_areas": "ecology"},
        {"district_ids": [999999]},
        {"contact_email": "not-an-email"},
        {"website": "javascript:alert(1)"},
    ],
)
def test_registration_refuses_bad_input_and_creates_nothing(citizen, over):
    with pytest.raises(InvalidInput):
        community_register(actor=citizen, data=_community_input(**over))
    assert not Community.objects.exists()
    assert not Membership.objects.exists()


def test_registration_needs_a_verified_user_and_a_free_name(citizen):
    with pytest.raises(Forbidden):
        community_register(actor=UserFactory(verified=False), data=_community_input())
    with pytest.raises(NotAuthenticated):
        from django.contrib.auth.models import AnonymousUser

        community_register(actor=AnonymousUser(), data=_community_input())
    community_register(actor=citizen, data=_community_input())
    with pytest.raises(Conflict):
        community_register(actor=UserFactory(), data=_community_input(name="ТРАМВАЙ ДЕПО"))
    assert Community.objects.count() == 1


def test_review_records_who_and_when_and_requires_reasons(citizen, moderator, official):
    community = community_register(actor=citizen, data=_community_input())
    with pytest.raises(Forbidden):
        community_decide(actor=citizen, community_id=community.pk, action="approve")
    with pytest.raises(InvalidInput):
        community_decide(actor=moderator, community_id=community.pk, action="reject")
    community = community_decide(actor=moderator, community_id=community.pk, action="approve")
    assert community.status == "approved" and community.decided_at
    with pytest.raises(Conflict):
        community_decide(actor=moderator, community_id=community.pk, action="reject", reason="x")
    community_decide(
        actor=official, community_id=community.pk, action="suspend", reason="Spam posts."
    )
    community = community_decide(actor=official, community_id=community.pk, action="reinstate")
    assert community.status == "approved"
    decisions = list(
        CommunityDecision.objects.filter(community=community)
        .order_by("pk")
        .values_list("action", "actor_id", "reason")
    )
    assert decisions == [
        ("approve", moderator.pk, ""),
        ("suspend", official.pk, "Spam posts."),
        ("reinstate", official.pk, ""),
    ]


def test_rejection_reason_is_kept_for_the_applicant(citizen, moderator):
    community = community_register(actor=citizen, data=_community_input())
    community_decide(
        actor=moderator, community_id=community.pk, action="reject", reason="Add contacts."
    )
    community.refresh_from_db()
    assert (community.status, community.status_reason) == ("rejected", "Add contacts.")


# --- Members ----------------------------------------------------------------------------------


def test_join_request_is_approved_by_a_lead_only():
    community = CommunityFactory()
    lead = make_member(community, role="lead")
    joiner, stranger = UserFactory(), UserFactory()
    m = membership_request(actor=joiner, community_id=community.pk)
    assert m.state == "requested"
    assert membership_request(actor=joiner, community_id=community.pk).pk == m.pk
    with pytest.raises(Forbidden):
        membership_approve(actor=stranger, membership_id=m.pk)
    with pytest.raises(Forbidden):
        membership_approve(actor=joiner, membership_id=m.pk)
    assert membership_approve(actor=lead, membership_id=m.pk).state == "active"


def test_the_last_lead_cannot_leave_or_step_down():
    community = CommunityFactory()
    lead = make_member(community, role="lead")
    member = make_member(community)
    with pytest.raises(Conflict) as exc:
        membership_leave(actor=lead, community_id=community.pk)
    assert exc.value.code == "last_lead"
    own = Membership.objects.get(community=community, user=lead)
    with pytest.raises(Conflict):
        membership_set_role(actor=lead, membership_id=own.pk, role="member")
    other = Membership.objects.get(community=community, user=member)
    membership_set_role(actor=lead, membership_id=other.pk, role="lead")
    membership_leave(actor=lead, community_id=community.pk)
    assert list(Membership.objects.filter(community=community).values_list("user_id", "role")) == [
        (member.pk, "lead")
    ]


def test_invite_by_email_is_sent_and_accepted_only_by_its_addressee(
    django_capture_on_commit_callbacks,
):
    community = CommunityFactory()
    lead = make_member(community, role="lead")
    invitee, other = UserFactory(email="guest@example.kz"), UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        invite = invite_create(actor=lead, community_id=community.pk, email="Guest@Example.kz")
    assert invite.email == "guest@example.kz"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["guest@example.kz"]
    assert str(invite.token) in mail.outbox[0].body
    with pytest.raises(Forbidden):
        invite_accept(actor=other, token=invite.token)
    with pytest.raises(NotFound):
        invite_accept(actor=invitee, token="not-a-uuid")
    membership = invite_accept(actor=invitee, token=invite.token)
    assert (membership.state, membership.role) == ("active", "member")
    with pytest.raises(Forbidden):
        invite_create(actor=invitee, community_id=community.pk, email="x@example.kz")


# --- Initiatives ------------------------------------------------------------------------------


def test_a_member_of_an_approved_community_drafts_an_initiative():
    community = CommunityFactory()
    lead = make_member(community, role="lead")
    initiative = initiative_create(
        actor=lead,
        community_id=community.pk,
        data=_initiative_input(
            budget_kzt="1 500 000.50",
            latitude="43.2389",
            longitude=76.8897,
            district_id=district("almaly").pk,
            body="**Bold** <script>alert(1)</script> [link](javascript:alert(2))",
        ),
    )
    assert initiative.status == "draft"
    assert initiative.budget_kzt == Decimal("1500000.50")
    assert "<strong>Bold</strong>" in initiative.body_html
    assert "<script" not in initiative.body_html and "javascript:" not in initiative.body_html
    assert InitiativeStatusChange.objects.filter(initiative=initiative, to_status="draft").exists()


def test_unapproved_community_and_non_members_cannot_propose():
    pending = CommunityFactory(status=Community.Status.PENDING)
    lead = make_member(pending, role="lead")
    with pytest.raises(Forbidden) as exc:
        initiative_create(actor=lead, community_id=pending.pk, data=_initiative_input())
    assert exc.value.code == "community_not_approved"
    approved = CommunityFactory()
    with pytest.raises(Forbidden):
        initiative_create(actor=UserFactory(), community_id=approved.pk, data=_initiative_input())
    with pytest.raises(NotFound):
        initiative_create(actor=lead, community_id=10**20, data=_initiative_input())
    assert not Initiative.objects.exists()


@pytest.mark.parametrize(
    "over",
    [
        {"budget_kzt": -1},
        {"budget_kzt": "-0.01"},
        {"budget_kzt": "NaN"},
        {"budget_kzt": float("nan")},
        {"budget_kzt": float("inf")},
        {"budget_kzt": "1e30"},
        {"budget_kzt": "abc"},
        {"budget_kzt": True},
        {"title": ""},
        {"title": "x" * 201},
        {"title": "nul\x00byte"},
        {"summary": "   "},
        {"category": "weather"},
        {"latitude": "51.1694", "longitude": "71.4491"},  # Astana
        {"latitude": "43.25"},
        {"latitude": "abc", "longitude": "76.9"},
        {"district_id": 999999},
        {"body": "x" * 20001},
    ],
)
def test_bad_initiative_input_is_refused_and_creates_nothing(over):
    community = CommunityFactory()
    lead = make_member(community, role="lead")
    with pytest.raises(InvalidInput):
        initiative_create(actor=lead, community_id=community.pk, data=_initiative_input(**over))
    assert not Initiative.objects.exists()


def test_the_full_workflow_with_official_responses_and_public_history():
    initiative = make_initiative(status="draft")
    lead = initiative.created_by
    official = OfficialFactory()
    initiative = initiative_transition(actor=lead, initiative_id=initiative.pk, to="submitted")
    assert initiative.submitted_at is not None
    initiative_transition(actor=official, initiative_id=initiative.pk, to="under_review")
    initiative = initiative_transition(
        actor=official,
        initiative_id=initiative.pk,
        to="accepted",
        response="Adopted by the akimat.",
    )
    assert initiative.official_response == "Adopted by the akimat."
    assert initiative.responded_by == official and initiative.decided_at
    initiative_transition(actor=official, initiative_id=initiative.pk, to="in_progress")
    initiative_transition(actor=official, initiative_id=initiative.pk, to="implemented")
    history = list(
        InitiativeStatusChange.objects.filter(initiative=initiative).values_list(
            "from_status", "to_status", "official"
        )
    )
    assert history == [
        ("", "draft", False),
        ("draft", "submitted", False),
        ("submitted", "under_review", True),
        ("under_review", "accepted", True),
        ("accepted", "in_progress", True),
        ("in_progress", "implemented", True),
    ]


def test_only_officials_decide_and_only_allowed_moves_happen():
    initiative = make_initiative(status="under_review")
    lead = initiative.created_by
    citizen = UserFactory()
    for actor in (citizen, lead):
        with pytest.raises(Forbidden):
            initiative_transition(
                actor=actor, initiative_id=initiative.pk, to="accepted", response="Yes."
            )
    official = OfficialFactory()
    with pytest.raises(InvalidInput) as exc:
        initiative_transition(actor=official, initiative_id=initiative.pk, to="rejected")
    assert exc.value.code == "response_required"
    with pytest.raises(Conflict):
        initiative_transition(actor=official, initiative_id=initiative.pk, to="implemented")
    with pytest.raises(InvalidInput):
        initiative_transition(actor=official, initiative_id=initiative.pk, to="approved!")
    with pytest.raises(Forbidden):  # a citizen cannot withdraw someone else's initiative
        initiative_transition(actor=citizen, initiative_id=initiative.pk, to="withdrawn")
    initiative.refresh_from_db()
    assert initiative.status == "under_review"


def test_changes_requested_lets_the_community_edit_and_resubmit():
    initiative = make_initiative(status="changes_requested")
    lead = initiative.created_by
    initiative = initiative_update(
        actor=lead,
        initiative_id=initiative.pk,
        data=_initiative_input(title="Bike lane on Abay, revised"),
    )
    assert initiative.title.endswith("revised")
    initiative = initiative_transition(actor=lead, initiative_id=initiative.pk, to="submitted")
    assert initiative.status == "submitted"
    with pytest.raises(Conflict):
        initiative_update(actor=lead, initiative_id=initiative.pk, data=_initiative_input())


def test_withdrawal_before_a_decision_only():
    initiative = make_initiative(status="submitted")
    lead = initiative.created_by
    assert initiative_transition(
        actor=lead, initiative_id=initiative.pk, to="withdrawn"
    ).status == ("withdrawn")
    decided = make_initiative(status="accepted")
    with pytest.raises(Conflict):
        initiative_transition(actor=decided.created_by, initiative_id=decided.pk, to="withdrawn")


# --- Support ----------------------------------------------------------------------------------


def test_support_is_once_per_citizen_and_withdrawable(citizen):
    initiative = make_initiative(status="submitted")
    assert support_add(actor=citizen, initiative_id=initiative.pk).changed is True
    again = support_add(actor=citizen, initiative_id=initiative.pk)
    assert (again.changed, again.initiative.supports_count) == (False, 1)
    assert Support.objects.filter(initiative=initiative).count() == 1
    assert support_remove(actor=citizen, initiative_id=initiative.pk).initiative.supports_count == 0
    assert support_remove(actor=citizen, initiative_id=initiative.pk).changed is False
    assert supports_verify() == []


def test_support_refused_for_drafts_decided_withdrawn_and_unverified(citizen):
    with pytest.raises(NotFound):
        support_add(actor=citizen, initiative_id=make_initiative(status="draft").pk)
    with pytest.raises(NotFound):  # a withdrawn draft was never public
        support_add(actor=citizen, initiative_id=make_initiative(status="withdrawn").pk)
    submitted = make_initiative()
    initiative_transition(actor=submitted.created_by, initiative_id=submitted.pk, to="withdrawn")
    for initiative in [submitted] + [
        make_initiative(status=status) for status in ("accepted", "rejected", "implemented")
    ]:
        with pytest.raises(Conflict):
            support_add(actor=citizen, initiative_id=initiative.pk)
        assert Initiative.objects.get(pk=initiative.pk).supports_count == 0
    with pytest.raises(Forbidden):
        support_add(actor=UserFactory(verified=False), initiative_id=make_initiative().pk)
    with pytest.raises(NotFound):
        support_add(actor=citizen, initiative_id=2**63)
    assert not Support.objects.exists()


def test_withdrawing_support_after_the_decision_is_refused(citizen):
    initiative = make_initiative(status="under_review")
    support_add(actor=citizen, initiative_id=initiative.pk)
    initiative_transition(
        actor=OfficialFactory(), initiative_id=initiative.pk, to="accepted", response="Yes."
    )
    with pytest.raises(Conflict):
        support_remove(actor=citizen, initiative_id=initiative.pk)
    assert Initiative.objects.get(pk=initiative.pk).supports_count == 1
    assert Support.objects.filter(initiative=initiative, user=citizen).exists()


def test_reaching_the_threshold_puts_an_initiative_into_the_review_queue(settings):
    settings.INITIATIVE_SUPPORT_THRESHOLD = 100
    CategoryThreshold.objects.create(category="ecology", threshold=2)
    eco = make_initiative(category="ecology")
    other = make_initiative(category="transport")
    support_add(actor=UserFactory(), initiative_id=eco.pk)
    support_add(actor=UserFactory(), initiative_id=other.pk)
    assert eco.pk not in set(review_queue().values_list("pk", flat=True))
    support_add(actor=UserFactory(), initiative_id=eco.pk)
    eco.refresh_from_db()
    assert eco.threshold_reached_at is not None
    assert list(review_queue().values_list("pk", flat=True)) == [eco.pk]


def test_supports_verify_finds_and_repairs_drift(citizen):
    initiative = make_initiative()
    support_add(actor=citizen, initiative_id=initiative.pk)
    Initiative.objects.filter(pk=initiative.pk).update(supports_count=5)
    assert supports_verify() == [(initiative.pk, 5, 1)]
    supports_verify(repair=True)
    assert Initiative.objects.get(pk=initiative.pk).supports_count == 1


# --- Lists ------------------------------------------------------------------------------------


def test_lists_filter_search_and_sort_and_never_show_drafts():
    a = make_initiative(title="Clean the Esentai river", category="ecology")
    b = make_initiative(title="Bike lane on Abay", category="transport")
    make_initiative(title="Secret draft", status="draft")
    support_add(actor=UserFactory(), initiative_id=b.pk)
    assert list(initiative_list().values_list("pk", flat=True)) == [b.pk, a.pk]
    assert list(initiative_list(category="ecology").values_list("pk", flat=True)) == [a.pk]
    assert list(initiative_list(q="Esentai").values_list("pk", flat=True)) == [a.pk]
    assert list(initiative_list(q="river").values_list("pk", flat=True)) == [a.pk]
    assert list(initiative_list(q="draft").values_list("pk", flat=True)) == []
    assert list(initiative_list(status="draft").values_list("pk", flat=True)) == []


# --- Dossier ----------------------------------------------------------------------------------


def test_dossier_keeps_versions_and_stores_files_under_safe_names():
    initiative = make_initiative(status="draft")
    lead = initiative.created_by
    first = attachment_add(
        actor=lead, initiative_id=initiative.pk, title="Design", kind="design",
        upload=upload("../../etc/проект.pdf", PDF),
    )  # fmt: skip
    second = attachment_add(
        actor=lead, initiative_id=initiative.pk, title="Design", kind="design",
        upload=upload("project-v2.pdf", PDF),
    )  # fmt: skip
    sheet = attachment_add(
        actor=lead, initiative_id=initiative.pk, title="Estimate", kind="estimate",
        upload=upload("smeta.xlsx", xlsx_bytes()),
    )  # fmt: skip
    assert (first.version, second.version, sheet.version) == (1, 2, 1)
    assert first.original_name == "проект.pdf"
    assert ".." not in first.file.name and "etc" not in first.file.name
    assert first.content_type == "application/pdf"
    assert sheet.content_type.endswith("spreadsheetml.sheet")
    docs = dossier(initiative)
    assert [(d["title"], d["latest"].version, len(d["older"])) for d in docs] == [
        ("Design", 2, 1),
        ("Estimate", 1, 0),
    ]
    with first.file.open("rb") as fh:
        assert fh.read() == PDF


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("estimate.pdf", b"just text pretending to be a PDF"),
        ("photo.png", PDF),  # a PDF named as an image
        ("script.pdf.exe", PDF),
        ("page.html", b"<html><script>alert(1)</script></html>"),
        ("archive.xlsx", b"PK\x03\x04 not really a zip"),
        ("empty.pdf", b""),
        ("...", PDF),
    ],
)
def test_files_that_lie_or_are_unsafe_are_refused(name, content):
    initiative = make_initiative(status="draft")
    with pytest.raises(InvalidInput):
        attachment_add(
            actor=initiative.created_by, initiative_id=initiative.pk, title="Doc", kind="other",
            upload=upload(name, content),
        )  # fmt: skip
    assert not Attachment.objects.exists()


def test_too_large_files_and_outsiders_are_refused(settings):
    settings.ATTACHMENT_MAX_BYTES = 100
    initiative = make_initiative(status="draft")
    with pytest.raises(InvalidInput):
        attachment_add(
            actor=initiative.created_by, initiative_id=initiative.pk, title="Photo", kind="photo",
            upload=upload("big.png", PNG + b"\0" * 200),
        )  # fmt: skip
    with pytest.raises(Forbidden):
        attachment_add(
            actor=UserFactory(), initiative_id=initiative.pk, title="Photo", kind="photo",
            upload=upload("p.png", PNG),
        )  # fmt: skip
    assert not Attachment.objects.exists()


# --- Notifications ----------------------------------------------------------------------------


def test_members_hear_of_moves_and_supporters_of_decisions_once_each(
    django_capture_on_commit_callbacks,
):
    from communities.tasks import notify_status_change

    initiative = make_initiative(status="under_review")
    lead = initiative.created_by
    member = make_member(initiative.community)
    supporter = UserFactory(email="supporter@example.kz", preferred_language="kk")
    support_add(actor=supporter, initiative_id=initiative.pk)
    mail.outbox.clear()
    official = OfficialFactory()
    with django_capture_on_commit_callbacks(execute=True):
        initiative_transition(
            actor=official,
            initiative_id=initiative.pk,
            to="rejected",
            response="<b>No</b> budget this year.",
        )
    change = InitiativeStatusChange.objects.get(initiative=initiative, to_status="rejected")
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [lead.email, member.email, supporter.email]
    )
    supporter_mail = next(m for m in mail.outbox if m.to == [supporter.email])
    assert "<b>No</b> budget this year." in supporter_mail.body  # plain text, shown as text
    with translation.override("kk"):
        rejected_kk = str(Initiative.Status.REJECTED.label)
    assert rejected_kk != "Rejected" and rejected_kk in supporter_mail.subject  # in their language
    # A retried task sends nothing twice.
    notify_status_change.run(change.pk)
    notify_status_change.run(change.pk)
    assert len(mail.outbox) == 3
    assert Notification.objects.filter(key=f"initiative-change:{change.pk}").count() == 3
    assert set(Notification.objects.filter(user=supporter).values_list("kind", flat=True)) == {
        "initiative.decided"
    }


# --- Review fixes: input, uploads, visibility, workflow, thresholds, slugs --------------------


@pytest.mark.parametrize("bad", ["Tram\r\nBcc: x@example.kz", "Tram\ndepot", "Tab\there", "Bell\x07", "Sep\u2028x", "C1\x85x"])
def test_single_line_fields_refuse_control_characters(bad):
    from civic.validation import clean_text

    with pytest.raises(InvalidInput):
        clean_text(bad, name="Title", max_length=200, required=True, multiline=False)
    community = CommunityFactory()
    lead = make_member(community, role="lead")
    with pytest.raises(InvalidInput):
        community_register(actor=UserFactory(), data=_community_input(name=bad))
    with pytest.raises(InvalidInput):
        initiative_create(actor=lead, community_id=community.pk, data=_initiative_input(title=bad))
    with pytest.raises(InvalidInput):
        initiative_create(
            actor=lead, community_id=community.pk, data=_initiative_input(summary=bad)
        )
    assert not Initiative.objects.exists()
    assert not Community.objects.exclude(pk=community.pk).exists()


def test_multi_line_text_keeps_line_feeds_and_tabs_and_refuses_other_controls():
    from civic.validation import clean_text

    kept = clean_text("a\r\nb\rc\n\td", name="Body", max_length=100, required=True)
    assert kept == "a\nb\nc\n\td"
    for bad in ("a\x07b", "a\x1bb", "a\x0bb", "a\x7fb"):
        with pytest.raises(InvalidInput):
            clean_text(bad, name="Body", max_length=100, required=True)
    # The old call (no multiline argument) still works: polls and dialogue use it.
    assert clean_text("  Title  ", name="T", max_length=10, required=True) == "Title"
    # Edges are stripped before the single-line check: a trailing newline is no error.
    assert clean_text("Title\n", name="T", max_length=10, required=True, multiline=False) == "Title"
    community = CommunityFactory()
    lead = make_member(community, role="lead")
    initiative = initiative_create(
        actor=lead,
        community_id=community.pk,
        data=_initiative_input(body="First line\r\nSecond\tline"),
    )
    assert initiative.body == "First line\nSecond\tline"


@pytest.mark.parametrize(
    "name,stored",
    [("!!!.pdf", "document.pdf"), ("().pdf", "document.pdf"), ("«».pdf", "document.pdf"),
     ("Жоба жоспары.pdf", "Жоба_жоспары.pdf"), ("../../etc/plan.PDF", "plan.pdf")],
)  # fmt: skip
def test_odd_file_names_are_made_safe(name, stored):
    initiative = make_initiative()
    a = attachment_add(
        actor=initiative.created_by, initiative_id=initiative.pk, title="Plan", kind="design",
        upload=upload(name, PDF),
    )  # fmt: skip
    assert a.original_name == stored


@pytest.mark.parametrize("name", ["!!!", "()", "«»", "...", "a\x00.pdf"])
def test_file_names_with_nothing_usable_are_refused_not_a_crash(name):
    initiative = make_initiative()
    with pytest.raises(InvalidInput):
        attachment_add(
            actor=initiative.created_by, initiative_id=initiative.pk, title="Plan",
            kind="design", upload=upload(name, PDF),
        )  # fmt: skip
    assert not Attachment.objects.exists()


def test_a_zip_with_a_huge_mimetype_entry_is_not_read_whole(monkeypatch):
    import io
    import zipfile

    from communities import services

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        # Compresses to a few kilobytes, would be 50 MB in memory if read whole.
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet" + " " * 50_000_000)
    data = buf.getvalue()
    assert len(data) < 200_000
    reads = []
    real_open = zipfile.ZipFile.open

    def spy_open(self, name, *args, **kwargs):
        entry = real_open(self, name, *args, **kwargs)
        real_read = entry.read
        entry.read = lambda n=-1: reads.append(n) or real_read(n)
        return entry

    monkeypatch.setattr(zipfile.ZipFile, "open", spy_open)
    assert services._office_type(upload("sheet.ods", data)) is None
    assert reads and all(0 < n <= services.MIMETYPE_ENTRY_MAX + 1 for n in reads)
    monkeypatch.undo()
    # A real (tiny) mimetype entry is still recognized.
    ods = io.BytesIO()
    with zipfile.ZipFile(ods, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    assert services._office_type(upload("s.ods", ods.getvalue())) == (
        "application/vnd.oasis.opendocument.spreadsheet"
    )


def test_a_withdrawn_draft_stays_hidden_but_its_members_see_it(citizen):
    from communities.selectors import can_view_initiative, initiative_get

    community = CommunityFactory()
    lead = make_member(community, role="lead")
    withdrawn = make_initiative(community=community, author=lead, status="withdrawn")
    assert withdrawn.status == "withdrawn" and withdrawn.submitted_at is None
    assert withdrawn not in initiative_list(sort="newest")
    assert initiative_get(initiative_id=withdrawn.pk, user=citizen) is None
    assert not can_view_initiative(withdrawn, UserFactory())
    assert initiative_get(initiative_id=withdrawn.pk, user=lead) == withdrawn
    with pytest.raises(NotFound):
        support_add(actor=citizen, initiative_id=withdrawn.pk)
    # Withdrawn after submission: it was public, and it stays on the record.
    public = make_initiative(community=community, author=lead)
    initiative_transition(actor=lead, initiative_id=public.pk, to="withdrawn")
    assert list(initiative_list(status="withdrawn")) == [Initiative.objects.get(pk=public.pk)]


def test_newest_puts_the_latest_submission_first_never_a_null():
    from communities.selectors import SORTS

    make_initiative(title="First")
    make_initiative(title="Second")
    assert [i.title for i in initiative_list(sort="newest")] == ["Second", "First"]
    # PostgreSQL sorts NULL first in a descending order unless told: never-submitted ones
    # (a community's own list holds them) go last.
    make_initiative(status="draft", title="Draft")
    ordered = Initiative.objects.order_by(*SORTS["newest"]).values_list("title", flat=True)
    assert list(ordered) == ["Second", "First", "Draft"]


def test_a_used_invitation_or_one_of_a_suspended_community_is_refused(moderator):
    community = CommunityFactory()
    lead = make_member(community, role="lead")
    invitee = UserFactory(email="guest@example.kz")
    invite = invite_create(actor=lead, community_id=community.pk, email=invitee.email)
    membership = invite_accept(actor=invitee, token=invite.token)
    membership_leave(actor=invitee, community_id=community.pk)
    with pytest.raises(Conflict) as exc:
        invite_accept(actor=invitee, token=invite.token)  # the link is used: no rejoining
    assert exc.value.code == "invite_used" and exc.value.status == 409
    assert not Membership.objects.filter(pk=membership.pk).exists()

    second = invite_create(actor=lead, community_id=community.pk, email="two@example.kz")
    community_decide(actor=moderator, community_id=community.pk, action="suspend", reason="Spam.")
    with pytest.raises(Conflict) as exc:
        invite_accept(actor=UserFactory(email="two@example.kz"), token=second.token)
    assert exc.value.code == "community_not_approved"
    second.refresh_from_db()
    assert second.accepted_at is None
    assert not Membership.objects.filter(community=community, user__email="two@example.kz").exists()


def test_a_forbidden_move_is_a_conflict_even_without_a_response():
    implemented = make_initiative(status="implemented")
    with pytest.raises(Conflict):  # not InvalidInput("response_required")
        initiative_transition(actor=OfficialFactory(), initiative_id=implemented.pk, to="rejected")
    review = make_initiative(status="under_review")
    with pytest.raises(InvalidInput) as exc:
        initiative_transition(actor=OfficialFactory(), initiative_id=review.pk, to="rejected")
    assert exc.value.code == "response_required"


def test_supporters_hear_of_a_request_for_changes(django_capture_on_commit_callbacks):
    initiative = make_initiative(status="under_review")
    supporter = UserFactory()
    support_add(actor=supporter, initiative_id=initiative.pk)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        initiative_transition(
            actor=OfficialFactory(), initiative_id=initiative.pk, to="changes_requested",
            response="Add a cost estimate.",
        )  # fmt: skip
    note = Notification.objects.get(user=supporter)
    assert note.kind == "initiative.status" and note.params["status"] == "changes_requested"
    assert supporter.email in [m.to[0] for m in mail.outbox]


def test_resubmission_clears_the_earlier_decision_but_history_keeps_it():
    initiative = make_initiative(status="changes_requested")
    assert initiative.decided_at is not None and initiative.official_response
    lead = initiative.created_by
    initiative = initiative_transition(actor=lead, initiative_id=initiative.pk, to="submitted")
    initiative.refresh_from_db()
    assert initiative.status == "submitted"
    assert initiative.decided_at is None
    assert initiative.official_response == "" and initiative.responded_by is None
    requested = initiative.history.get(to_status="changes_requested")
    assert requested.response == "Official answer." and requested.official


def test_lowering_a_threshold_puts_initiatives_over_it_into_the_queue(settings, moderator):
    from communities.services import threshold_set

    settings.INITIATIVE_SUPPORT_THRESHOLD = 100
    over = make_initiative(category="ecology")
    under = make_initiative(category="ecology")
    other = make_initiative(category="transport")
    decided = make_initiative(category="ecology", status="under_review")
    for user in [UserFactory() for _ in range(3)]:
        for i in (over, other, decided):
            support_add(actor=user, initiative_id=i.pk)
    support_add(actor=UserFactory(), initiative_id=under.pk)
    initiative_transition(
        actor=OfficialFactory(), initiative_id=decided.pk, to="accepted", response="Yes."
    )
    assert list(review_queue()) == []
    with pytest.raises(Forbidden):
        threshold_set(actor=UserFactory(), category="ecology", threshold=3)
    with pytest.raises(InvalidInput):
        threshold_set(actor=moderator, category="ecology", threshold=0)
    assert threshold_set(actor=moderator, category="ecology", threshold=3) == 1
    assert CategoryThreshold.objects.get(category="ecology").threshold == 3
    assert list(review_queue()) == [Initiative.objects.get(pk=over.pk)]
    assert Initiative.objects.get(pk=decided.pk).threshold_reached_at is None  # closed
    assert threshold_set(actor=moderator, category="ecology", threshold=3) == 0  # twice: same
    # Back to the default: whoever reached it keeps that.
    assert threshold_set(actor=moderator, category="ecology", threshold=None) == 0
    assert not CategoryThreshold.objects.exists()
    assert list(review_queue()) == [Initiative.objects.get(pk=over.pk)]


@pytest.mark.parametrize(
    "name,slug",
    [("Жасыл Алматы", "zhasyl-almaty"), ("Қала үшін бірге", "qala-ushin-birge"),
     ("Әлеуметтік көмек", "aleumettik-komek"), ("Green Almaty", "green-almaty"),
     ("Щука и ёж", "shchuka-i-yozh"), ("!!!", "community")],
)  # fmt: skip
def test_slugs_are_readable_latin_for_kazakh_and_russian_names(name, slug):
    community = community_register(actor=UserFactory(), data=_community_input(name=name))
    assert community.slug == slug


def test_a_taken_slug_gets_the_next_free_number_in_one_query(django_assert_max_num_queries):
    from communities.services import _free_slug

    for n in ("", "-2", "-3"):
        CommunityFactory(slug=f"zhasyl-almaty{n}")
    with django_assert_max_num_queries(1):
        assert _free_slug("zhasyl-almaty") == "zhasyl-almaty-4"
    assert _free_slug("review") == "review-2"  # reserved paths are never a slug
    second = community_register(actor=UserFactory(), data=_community_input(name="Жасыл Алматы"))
    assert second.slug == "zhasyl-almaty-4"


def test_a_name_race_in_community_update_is_a_conflict(monkeypatch):
    from django.db import IntegrityError

    from communities.services import community_update

    community = community_register(actor=UserFactory(), data=_community_input(name="Old name"))
    lead = community.memberships.get().user

    def collide(*args, **kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(Community, "save", collide)
    with pytest.raises(Conflict) as exc:
        community_update(
            actor=lead, community_id=community.pk, data=_community_input(name="New name")
        )
    assert exc.value.code == "name_taken"
    monkeypatch.undo()
    assert Community.objects.get(pk=community.pk).name == "Old name"
