"""The communities and initiatives API: shapes, status codes, and bad input that changes
nothing."""

import json

import pytest
from django.test import Client

from communities.models import (
    Attachment,
    Community,
    CommunityDecision,
    Initiative,
    InitiativeStatusChange,
    Membership,
    Support,
)
from communities.services import attachment_add, initiative_transition, support_add
from tests.communities.files import PDF, upload
from tests.factories import (
    CommunityFactory,
    ModeratorFactory,
    OfficialFactory,
    UserFactory,
    district,
    make_initiative,
    make_member,
)

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"


def send(client, method, url, payload=None, **extra):
    body = payload if isinstance(payload, str) else json.dumps(payload or {})
    return getattr(client, method)(url, body, content_type="application/json", **extra)


def assert_json_error(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]


def community_payload(**over):
    data = {
        "name": "Трамвай депо",
        "kind": "citizen_group",
        "description": "Neighbours of the old tram depot.",
        "focus_areas": ["urban_space", "transport"],
        "district_ids": [district("almaly").pk],
        "contact_email": "depot@example.kz",
        "website": "https://depot.example.kz",
    }
    data.update(over)
    return data


def initiative_payload(for_community, **over):
    data = {
        "community": for_community.pk,
        "title": "Reconstruction of the former tram depot",
        "summary": "A public space in the old depot.",
        "body": "We propose **a park**.",
        "category": "urban_space",
        "district": district("almaly").pk,
        "latitude": "43.238949",
        "longitude": 76.889709,
        "budget_kzt": "1500000.50",
        "timeline": "2026",
    }
    data.update(over)
    return data


@pytest.fixture
def community():
    return CommunityFactory()


@pytest.fixture
def member(community):
    return make_member(community)


@pytest.fixture
def lead(community):
    return make_member(community, role="lead")


# --- OpenAPI ----------------------------------------------------------------------------------


def test_openapi_lists_every_path_with_its_error_responses(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    expected = {
        "/api/v1/communities": {"get": {"200"}, "post": {"201", "400", "401", "403", "422"}},
        "/api/v1/communities/{community_id}": {"get": {"200", "404"}},
        "/api/v1/communities/{community_id}/decision": {"post": {"200", "400", "403", "409"}},
        "/api/v1/initiatives": {"get": {"200", "422"}, "post": {"201", "400", "403", "422"}},
        "/api/v1/initiatives/{initiative_id}": {
            "get": {"200", "404"},
            "patch": {"200", "400", "403", "409", "422"},
        },
        "/api/v1/initiatives/{initiative_id}/support": {
            "post": {"200", "401", "404", "409"},
            "delete": {"200", "401", "404", "409"},
        },
        "/api/v1/initiatives/{initiative_id}/transition": {
            "post": {"200", "400", "401", "403", "404", "409"}
        },
        "/api/v1/initiatives/{initiative_id}/attachments": {"post": {"201", "400", "403"}},
        "/api/v1/review-queue": {"get": {"200", "401", "403"}},
    }
    for path, methods in expected.items():
        assert path in paths, path
        for method, codes in methods.items():
            assert codes <= set(paths[path][method]["responses"]), (path, method)
    detail = paths["/api/v1/initiatives/{initiative_id}"]["get"]["responses"]["200"]
    assert detail["content"]["application/json"]["schema"]["$ref"].endswith("InitiativeDetailOut")


# --- Communities ------------------------------------------------------------------------------


def test_community_list_shows_approved_ones_filtered_and_paged(client):
    almaly, medeu = district("almaly"), district("medeu")
    green = CommunityFactory(name="Green Almaly", focus_areas=["ecology"])
    green.districts.set([almaly])
    riders = CommunityFactory(name="Riders of Medeu", focus_areas=["transport"])
    riders.districts.set([medeu])
    CommunityFactory(name="Not yet", status=Community.Status.PENDING)
    CommunityFactory(name="Rejected one", status=Community.Status.REJECTED)

    body = client.get("/api/v1/communities").json()
    assert body["count"] == 2
    assert [c["name"] for c in body["items"]] == ["Green Almaly", "Riders of Medeu"]
    first = body["items"][0]
    assert first["status"] == "approved" and first["focus_areas"] == ["ecology"]
    assert first["districts"] == [{"id": almaly.pk, "slug": "almaly", "name": almaly.name}]

    by_focus = client.get("/api/v1/communities?focus=transport").json()
    assert [c["id"] for c in by_focus["items"]] == [riders.pk]
    by_district = client.get(f"/api/v1/communities?district={almaly.pk}").json()
    assert [c["id"] for c in by_district["items"]] == [green.pk]
    page = client.get("/api/v1/communities?limit=1&offset=1").json()
    assert page["count"] == 2 and [c["id"] for c in page["items"]] == [riders.pk]


@pytest.mark.parametrize(
    "query", ["limit=101", "limit=0", "offset=-1", "focus=weather", f"district={HUGE}"]
)
def test_community_list_refuses_bad_paging_and_filters(client, query):
    CommunityFactory()
    assert_json_error(client.get(f"/api/v1/communities?{query}"), 422)


def test_registering_a_community_answers_201_pending(client, citizen):
    client.force_login(citizen)
    response = send(client, "post", "/api/v1/communities", community_payload(name_kk="Депо"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert body["name"] == "Трамвай депо" and body["name_kk"] == "Депо"
    assert body["my_role"] == "lead"
    assert [d["slug"] for d in body["districts"]] == ["almaly"]
    community = Community.objects.get(pk=body["id"])
    assert community.status == Community.Status.PENDING
    assert Membership.objects.get(community=community).user == citizen


def test_registering_needs_a_signed_in_verified_citizen(client, unverified_user):
    response = send(client, "post", "/api/v1/communities", community_payload())
    assert_json_error(response, 401)
    client.force_login(unverified_user)
    response = send(client, "post", "/api/v1/communities", community_payload())
    assert_json_error(response, 403)
    assert response.json()["code"] == "email_unverified"
    assert not Community.objects.exists()


@pytest.mark.parametrize(
    ("over", "status"),
    [
        ({"status": "approved"}, 422),
        ({"created_by": 1}, 422),
        ({"name": ""}, 400),
        ({"name": "x" * 121}, 400),
        ({"name": "Depot\x00"}, 400),
        ({"description": "\x00"}, 400),
        ({"kind": "cartel"}, 400),
        ({"focus_areas": ["weather"]}, 400),
        ({"focus_areas": "ecology"}, 422),
        ({"district_ids": [999999]}, 400),
        ({"district_ids": [int(HUGE)]}, 422),
        ({"district_ids": [True]}, 422),
        ({"contact_email": "not-an-email"}, 400),
        ({"website": "javascript:alert(1)"}, 400),
    ],
)
def test_bad_community_registrations_change_nothing(client, citizen, over, status):
    client.force_login(citizen)
    response = send(client, "post", "/api/v1/communities", community_payload(**over))
    assert_json_error(response, status)
    assert not Community.objects.exists()
    assert not Membership.objects.exists()


def test_a_taken_name_is_a_409(client, citizen):
    CommunityFactory(name="ТРАМВАЙ  ДЕПО")
    client.force_login(citizen)
    response = send(client, "post", "/api/v1/communities", community_payload())
    assert_json_error(response, 409)
    assert Community.objects.count() == 1


@pytest.mark.parametrize("payload", ["{not json", "[1, 2]", ""])
def test_malformed_json_is_a_json_4xx(client, citizen, payload):
    client.force_login(citizen)
    response = send(client, "post", "/api/v1/communities", payload)
    assert 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json")
    assert not Community.objects.exists()


def test_a_pending_community_is_seen_only_by_its_members_and_reviewers(client, citizen):
    pending = CommunityFactory(status=Community.Status.PENDING, status_reason="")
    lead = make_member(pending, role="lead")
    url = f"/api/v1/communities/{pending.pk}"
    assert_json_error(client.get(url), 404)
    client.force_login(citizen)
    assert_json_error(client.get(url), 404)
    client.force_login(lead)
    body = client.get(url).json()
    assert body["status"] == "pending" and body["my_role"] == "lead"
    client.force_login(ModeratorFactory())
    assert client.get(url).json()["my_role"] is None


def test_community_detail_of_missing_or_huge_ids(client, community):
    assert client.get(f"/api/v1/communities/{community.pk}").json()["id"] == community.pk
    assert_json_error(client.get(f"/api/v1/communities/{community.pk + 1000}"), 404)
    assert client.get(f"/api/v1/communities/{HUGE}").status_code in (404, 422)
    assert_json_error(client.get("/api/v1/communities/abc"), 422)


def test_moderators_and_officials_decide_on_communities(client, citizen):
    pending = CommunityFactory(status=Community.Status.PENDING)
    url = f"/api/v1/communities/{pending.pk}/decision"
    client.force_login(ModeratorFactory())
    response = send(client, "post", url, {"action": "approve"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"
    client.force_login(OfficialFactory())
    response = send(client, "post", url, {"action": "suspend", "reason": "Spam."})
    assert response.status_code == 200
    assert response.json()["status"] == "suspended"
    assert response.json()["status_reason"] == "Spam."
    assert list(
        CommunityDecision.objects.filter(community=pending).values_list("action", flat=True)
    ) == ["suspend", "approve"]


def test_bad_community_decisions_change_nothing(client, citizen):
    pending = CommunityFactory(status=Community.Status.PENDING)
    url = f"/api/v1/communities/{pending.pk}/decision"
    assert_json_error(send(client, "post", url, {"action": "approve"}), 401)
    client.force_login(citizen)
    assert_json_error(send(client, "post", url, {"action": "approve"}), 403)
    client.force_login(ModeratorFactory())
    assert_json_error(send(client, "post", url, {"action": "reject"}), 400)  # no reason
    assert_json_error(send(client, "post", url, {"action": "dissolve"}), 400)
    assert_json_error(send(client, "post", url, {"action": "suspend", "reason": "x"}), 409)
    assert_json_error(send(client, "post", url, {"action": "approve", "status": "x"}), 422)
    assert_json_error(send(client, "post", f"/api/v1/communities/{HUGE}/decision", {}), 422)
    response = send(client, "post", f"/api/v1/communities/{HUGE}/decision", {"action": "approve"})
    assert_json_error(response, 404)
    pending.refresh_from_db()
    assert pending.status == Community.Status.PENDING
    assert not CommunityDecision.objects.exists()


# --- Initiatives: reading ---------------------------------------------------------------------


def test_initiative_list_filters_sorts_and_pages(client, community):
    other = CommunityFactory()
    medeu = district("medeu")
    park = make_initiative(community=community, title="A park by the river", category="ecology")
    bus = make_initiative(
        community=other, title="Night buses", category="transport", district_id=medeu.pk
    )
    accepted = make_initiative(community=community, title="Bike lanes", status="accepted")
    make_initiative(community=community, title="Secret draft", status="draft")
    for user in UserFactory.create_batch(2):
        support_add(actor=user, initiative_id=bus.pk)

    def ids(query=""):
        body = client.get(f"/api/v1/initiatives{query}").json()
        return [i["id"] for i in body["items"]], body["count"]

    assert ids() == ([bus.pk, accepted.pk, park.pk], 3)  # most supported first, no drafts
    assert ids("?status=accepted") == ([accepted.pk], 1)
    assert ids("?category=transport") == ([bus.pk], 1)
    assert ids(f"?district={medeu.pk}") == ([bus.pk], 1)
    assert ids(f"?community={other.pk}") == ([bus.pk], 1)
    assert ids("?q=river") == ([park.pk], 1)
    assert ids("?sort=decided")[0][0] == accepted.pk
    assert ids("?limit=1&offset=1") == ([accepted.pk], 3)
    assert ids("?status=draft") == ([], 0)
    assert ids(f"?district={2**63 - 1}") == ([], 0)
    item = client.get("/api/v1/initiatives?category=transport").json()["items"][0]
    assert item["supports_count"] == 2
    assert item["community"] == {"id": other.pk, "name": other.name, "slug": other.slug}
    assert item["district"]["slug"] == "medeu"


@pytest.mark.parametrize(
    "query",
    [
        "status=lost",
        "category=weather",
        "sort=random",
        "limit=1000",
        "offset=99999999999",
        f"community={HUGE}",
        "q=" + "x" * 201,
    ],
)
def test_initiative_list_refuses_bad_queries(client, query):
    make_initiative()
    assert_json_error(client.get(f"/api/v1/initiatives?{query}"), 422)


def test_search_with_odd_characters_does_not_fail(client):
    fountain = make_initiative(title="Fountain")
    for q in ("Foun%00tain", "%00"):  # no person types a NUL: refused, as every filter is
        response = client.get(f"/api/v1/initiatives?q={q}")
        assert response.status_code == 400, (q, response.content)
        assert response.json()["code"] == "invalid_characters"
    for q, found in (
        ("Fountain", [fountain.pk]),
        ("%27%22%3B--", []),
        ("%E2%80%AE", []),
        ("%25", []),
        ("_", []),
    ):
        response = client.get(f"/api/v1/initiatives?q={q}")
        assert response.status_code == 200, (q, response.content)
        assert [i["id"] for i in response.json()["items"]] == found, q


def test_initiative_detail_shape(client, citizen, community, lead):
    initiative = make_initiative(
        community=community,
        author=lead,
        body="**Trees** <script>alert(1)</script>",
        budget_kzt="2500000.00",
        latitude="43.25",
        longitude="76.95",
        district_id=district("almaly").pk,
    )
    attachment_add(
        actor=lead,
        initiative_id=initiative.pk,
        title="Plan",
        kind="design",
        upload=upload("plan.pdf", PDF),
    )
    support_add(actor=citizen, initiative_id=initiative.pk)
    client.force_login(citizen)
    body = client.get(f"/api/v1/initiatives/{initiative.pk}").json()
    assert body["id"] == initiative.pk and body["status"] == "submitted"
    assert body["supports_count"] == 1 and body["supported_by_me"] is True
    assert body["threshold"] == 100 and body["threshold_reached"] is False
    assert body["budget_kzt"] == "2500000.00"
    assert (body["latitude"], body["longitude"]) == (43.25, 76.95)
    assert body["community"] == {"id": community.pk, "name": community.name, "slug": community.slug}
    assert body["district"]["slug"] == "almaly"
    assert "<strong>Trees</strong>" in body["body_html"]
    assert "<script" not in body["body_html"]
    assert [(h["from"], h["to"], h["official"]) for h in body["history"]] == [
        ("", "draft", False),
        ("draft", "submitted", False),
    ]
    [doc] = body["attachments"]
    assert doc["title"] == "Plan" and doc["version"] == 1 and doc["kind"] == "design"
    assert doc["content_type"] == "application/pdf" and doc["size"] == len(PDF)
    # The URL is the download view (storage paths under MEDIA_URL are served by nothing).
    download = client.get(doc["url"])
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="plan.pdf"'
    assert b"".join(download.streaming_content) == PDF
    client.logout()
    assert client.get(f"/api/v1/initiatives/{initiative.pk}").json()["supported_by_me"] is False


def test_drafts_are_404_to_outsiders(client, citizen, community, member):
    draft = make_initiative(community=community, status="draft")
    url = f"/api/v1/initiatives/{draft.pk}"
    assert_json_error(client.get(url), 404)
    client.force_login(citizen)
    assert_json_error(client.get(url), 404)
    client.force_login(member)
    assert client.get(url).json()["status"] == "draft"
    client.force_login(OfficialFactory())
    assert client.get(url).json()["status"] == "draft"


def test_missing_and_out_of_range_initiative_ids(client, citizen):
    client.force_login(citizen)
    assert_json_error(client.get("/api/v1/initiatives/987654"), 404)
    assert client.get(f"/api/v1/initiatives/{HUGE}").status_code in (404, 422)
    for method in ("post", "delete"):
        response = send(client, method, f"/api/v1/initiatives/{HUGE}/support")
        assert response.status_code in (404, 422)
        assert_json_error(send(client, method, "/api/v1/initiatives/987654/support"), 404)
    response = send(client, "post", f"/api/v1/initiatives/{HUGE}/transition", {"to": "withdrawn"})
    assert response.status_code in (404, 422)
    assert send(client, "patch", f"/api/v1/initiatives/{HUGE}", {}).status_code in (404, 422)


# --- Initiatives: proposing -------------------------------------------------------------------


def test_a_member_proposes_a_draft(client, community, member):
    client.force_login(member)
    response = send(client, "post", "/api/v1/initiatives", initiative_payload(community))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["supports_count"] == 0 and body["supported_by_me"] is False
    assert body["budget_kzt"] == "1500000.50"
    assert (body["latitude"], body["longitude"]) == (43.238949, 76.889709)
    assert body["district"]["slug"] == "almaly"
    assert body["body_html"] == "<p>We propose <strong>a park</strong>.</p>"
    assert body["history"][0]["from"] == "" and body["history"][0]["to"] == "draft"
    initiative = Initiative.objects.get(pk=body["id"])
    assert initiative.community == community and initiative.created_by == member
    assert str(initiative.budget_kzt) == "1500000.50"


@pytest.mark.parametrize(
    ("budget", "stored"),
    [(999999999999.99, "999999999999.99"), (1000000000000, "1000000000000.00"), (0, "0.00")],
)
def test_a_budget_given_as_a_json_number_keeps_its_precision(
    client, community, member, budget, stored
):
    client.force_login(member)
    payload = initiative_payload(community, budget_kzt=budget)
    response = send(client, "post", "/api/v1/initiatives", payload)
    assert response.status_code == 201, response.content
    assert response.json()["budget_kzt"] == stored
    assert str(Initiative.objects.get().budget_kzt) == stored


def test_who_may_propose(client, citizen, unverified_user, community):
    pending = CommunityFactory(status=Community.Status.PENDING)
    pending_lead = make_member(pending, role="lead")
    make_member(community, user=unverified_user)

    response = send(client, "post", "/api/v1/initiatives", initiative_payload(community))
    assert_json_error(response, 401)
    client.force_login(pending_lead)
    response = send(client, "post", "/api/v1/initiatives", initiative_payload(pending))
    assert_json_error(response, 403)
    assert response.json()["code"] == "community_not_approved"
    client.force_login(citizen)  # not a member
    response = send(client, "post", "/api/v1/initiatives", initiative_payload(community))
    assert_json_error(response, 403)
    client.force_login(unverified_user)
    response = send(client, "post", "/api/v1/initiatives", initiative_payload(community))
    assert_json_error(response, 403)
    client.force_login(citizen)
    payload = initiative_payload(community, community=987654)
    assert_json_error(send(client, "post", "/api/v1/initiatives", payload), 404)
    assert not Initiative.objects.exists()


@pytest.mark.parametrize(
    "budget", [-1, "-0.01", "NaN", "nan", "Infinity", 1e30, "1e30", "abc", "", "12,5", [1], {}]
)
def test_bad_budgets_are_400_and_change_nothing(client, community, member, budget):
    client.force_login(member)
    response = send(
        client, "post", "/api/v1/initiatives", initiative_payload(community, budget_kzt=budget)
    )
    if budget == "":  # empty means "no budget given"
        assert response.status_code == 201
        assert response.json()["budget_kzt"] is None
        return
    expected = 422 if isinstance(budget, list | dict) else 400
    assert_json_error(response, expected)
    if expected == 400:
        assert "Budget" in response.json()["detail"]
    assert not Initiative.objects.exists()


def test_a_json_nan_literal_or_true_budget_is_refused(client, community, member):
    client.force_login(member)
    raw = json.dumps(initiative_payload(community, budget_kzt="X")).replace('"X"', "NaN")
    assert_json_error(send(client, "post", "/api/v1/initiatives", raw), 400)
    payload = initiative_payload(community, budget_kzt=True)
    assert_json_error(send(client, "post", "/api/v1/initiatives", payload), 422)
    assert not Initiative.objects.exists()


@pytest.mark.parametrize(
    ("over", "status"),
    [
        ({"title": ""}, 400),
        ({"title": "   "}, 400),
        ({"title": "x" * 201}, 400),
        ({"summary": "x" * 501}, 400),
        ({"title": "Park\x00"}, 400),
        ({"summary": "a\x00b"}, 400),
        ({"body": "\x00"}, 400),
        ({"timeline": "soon\x00"}, 400),
        ({"category": "weather"}, 400),
        ({"district": 987654}, 400),
        ({"district": int(HUGE)}, 422),
        ({"latitude": "51.169392", "longitude": "71.449074"}, 400),  # Astana
        ({"latitude": 43.25, "longitude": None}, 400),
        ({"latitude": "north", "longitude": "76.9"}, 400),
        ({"latitude": 1e308, "longitude": 1e308}, 400),
        ({"status": "accepted"}, 422),
        ({"supports_count": 1000}, 422),
        ({"user": 1}, 422),
        ({"created_by": 1}, 422),
        ({"official_response": "Yes"}, 422),
        ({"title": 12}, 422),
    ],
)
def test_bad_proposals_change_nothing(client, community, member, over, status):
    client.force_login(member)
    response = send(client, "post", "/api/v1/initiatives", initiative_payload(community, **over))
    assert_json_error(response, status)
    assert not Initiative.objects.exists()
    assert not InitiativeStatusChange.objects.exists()


def test_outside_almaty_has_its_own_code(client, community, member):
    client.force_login(member)
    payload = initiative_payload(community, latitude=55.75, longitude=37.62)
    response = send(client, "post", "/api/v1/initiatives", payload)
    assert_json_error(response, 400)
    assert response.json()["code"] == "outside_almaty"


def test_html_in_the_title_is_returned_as_data(client, community, member):
    client.force_login(member)
    title = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    payload = initiative_payload(
        community, title=title, body="<script>alert(1)</script>[x](javascript:alert(1))"
    )
    response = send(client, "post", "/api/v1/initiatives", payload)
    assert response.status_code == 201, response.content
    body = client.get(f"/api/v1/initiatives/{response.json()['id']}").json()
    assert body["title"] == title
    assert response["Content-Type"].startswith("application/json")
    assert "<script" not in body["body_html"]
    assert "javascript:" not in body["body_html"]


# --- Initiatives: editing ---------------------------------------------------------------------


def test_members_edit_drafts_field_by_field(client, community, member):
    draft = make_initiative(community=community, status="draft", budget_kzt="100.00")
    url = f"/api/v1/initiatives/{draft.pk}"
    client.force_login(member)
    response = send(client, "patch", url, {"title": "A better title", "body": "*new*"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["title"] == "A better title"
    assert body["summary"] == draft.summary  # not sent, not changed
    assert body["budget_kzt"] == "100.00"
    assert body["body_html"] == "<p><em>new</em></p>"
    response = send(client, "patch", url, {"budget_kzt": None})
    assert response.json()["budget_kzt"] is None
    draft.refresh_from_db()
    assert draft.title == "A better title" and draft.budget_kzt is None


def test_bad_edits_change_nothing(client, citizen, community, member):
    draft = make_initiative(community=community, status="draft")
    submitted = make_initiative(community=community, title="Already submitted")
    url = f"/api/v1/initiatives/{draft.pk}"
    assert_json_error(send(client, "patch", url, {"title": "Anon"}), 401)
    client.force_login(citizen)
    assert_json_error(send(client, "patch", url, {"title": "Outsider"}), 404)
    sub_url = f"/api/v1/initiatives/{submitted.pk}"
    assert_json_error(send(client, "patch", sub_url, {"title": "Outsider"}), 403)
    client.force_login(member)
    assert_json_error(send(client, "patch", sub_url, {"title": "Too late"}), 409)
    assert_json_error(send(client, "patch", url, {"status": "accepted"}), 422)
    assert_json_error(send(client, "patch", url, {"community": 1}), 422)
    assert_json_error(send(client, "patch", url, {"budget_kzt": "-5"}), 400)
    assert_json_error(send(client, "patch", url, {"title": None}), 400)
    assert_json_error(send(client, "patch", url, {"title": "x\x00"}), 400)
    draft.refresh_from_db()
    submitted.refresh_from_db()
    assert draft.title == "Reconstruction of the former tram depot"
    assert submitted.title == "Already submitted"
    assert draft.status == "draft" and draft.budget_kzt is None


# --- Support ----------------------------------------------------------------------------------


def test_support_is_idempotent_both_ways(client, citizen):
    initiative = make_initiative()
    url = f"/api/v1/initiatives/{initiative.pk}/support"
    client.force_login(citizen)
    for _ in range(2):
        response = send(client, "post", url)
        assert response.status_code == 200, response.content
        assert response.json() == {"supported": True, "supports_count": 1}
    assert Support.objects.filter(initiative=initiative).count() == 1
    for _ in range(2):
        response = send(client, "delete", url)
        assert response.status_code == 200
        assert response.json() == {"supported": False, "supports_count": 0}
    assert not Support.objects.exists()
    initiative.refresh_from_db()
    assert initiative.supports_count == 0


def test_reaching_the_threshold_shows_in_the_api(client, settings):
    settings.INITIATIVE_SUPPORT_THRESHOLD = 2
    initiative = make_initiative()
    url = f"/api/v1/initiatives/{initiative.pk}"
    for user in UserFactory.create_batch(2):
        client.force_login(user)
        send(client, "post", f"{url}/support")
    body = client.get(url).json()
    assert body["threshold"] == 2 and body["threshold_reached"] is True


def closed_initiative(status):
    """An initiative that was public and is closed now; "withdrawn" after submission (a
    withdrawn draft was never public, see test_a_withdrawn_draft_stays_hidden)."""
    if status != "withdrawn":
        return make_initiative(status=status)
    initiative = make_initiative(status="submitted")
    return initiative_transition(
        actor=initiative.created_by, initiative_id=initiative.pk, to="withdrawn"
    )


@pytest.mark.parametrize("status", ["withdrawn", "accepted", "rejected", "implemented"])
def test_supporting_a_closed_initiative_is_a_409(client, citizen, status):
    initiative = closed_initiative(status)
    client.force_login(citizen)
    response = send(client, "post", f"/api/v1/initiatives/{initiative.pk}/support")
    assert_json_error(response, 409)
    assert response.json()["code"] == "not_open_for_support"
    initiative.refresh_from_db()
    assert initiative.supports_count == 0
    assert not Support.objects.exists()


def test_support_after_a_decision_cannot_be_withdrawn(client, citizen):
    initiative = make_initiative(status="under_review")
    support_add(actor=citizen, initiative_id=initiative.pk)
    client.force_login(OfficialFactory())
    send(
        client,
        "post",
        f"/api/v1/initiatives/{initiative.pk}/transition",
        {"to": "accepted", "response": "We will build it."},
    )
    client.force_login(citizen)
    response = send(client, "delete", f"/api/v1/initiatives/{initiative.pk}/support")
    assert_json_error(response, 409)
    initiative.refresh_from_db()
    assert initiative.supports_count == 1 and Support.objects.count() == 1


def test_support_needs_a_verified_citizen_and_a_public_initiative(client, unverified_user, citizen):
    initiative = make_initiative()
    draft = make_initiative(status="draft", title="Draft")
    url = f"/api/v1/initiatives/{initiative.pk}/support"
    assert_json_error(send(client, "post", url), 401)
    client.force_login(unverified_user)
    assert_json_error(send(client, "post", url), 403)
    client.force_login(citizen)
    assert_json_error(send(client, "post", f"/api/v1/initiatives/{draft.pk}/support"), 404)
    assert not Support.objects.exists()
    initiative.refresh_from_db()
    assert initiative.supports_count == 0


def test_post_without_the_csrf_token_is_refused(citizen):
    initiative = make_initiative()
    url = f"/api/v1/initiatives/{initiative.pk}/support"
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(citizen)
    response = browser.post(url)
    assert_json_error(response, 403)
    assert not Support.objects.exists()
    browser.get("/en/")
    token = browser.cookies["csrftoken"].value
    response = browser.post(url, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200, response.content
    assert Support.objects.count() == 1


def test_proposing_without_the_csrf_token_is_refused(community, member):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)
    response = send(browser, "post", "/api/v1/initiatives", initiative_payload(community))
    assert_json_error(response, 403)
    assert not Initiative.objects.exists()


# --- The workflow -----------------------------------------------------------------------------


def move(client, initiative, to, response=""):
    return send(
        client,
        "post",
        f"/api/v1/initiatives/{initiative.pk}/transition",
        {"to": to, "response": response},
    )


def test_the_workflow_through_the_api(client, community, lead):
    draft = make_initiative(community=community, author=lead, status="draft")
    client.force_login(lead)
    response = move(client, draft, "submitted")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "submitted"
    official = OfficialFactory()
    client.force_login(official)
    assert move(client, draft, "under_review").json()["status"] == "under_review"
    body = move(client, draft, "accepted", "The akimat will build it in 2026.").json()
    assert body["status"] == "accepted"
    assert body["official_response"] == "The akimat will build it in 2026."
    assert body["responded_at"] and body["decided_at"]
    assert [(h["from"], h["to"]) for h in body["history"]] == [
        ("", "draft"),
        ("draft", "submitted"),
        ("submitted", "under_review"),
        ("under_review", "accepted"),
    ]
    assert body["history"][-1]["official"] is True
    assert body["history"][-1]["response"] == "The akimat will build it in 2026."


@pytest.mark.parametrize("who", ["citizen", "lead", "member"])
@pytest.mark.parametrize("to", ["under_review", "accepted", "rejected"])
def test_official_moves_are_403_for_everyone_else(client, citizen, community, lead, who, to):
    initiative = make_initiative(community=community, author=lead, status="under_review")
    actor = {"citizen": citizen, "lead": lead, "member": make_member(community)}[who]
    client.force_login(actor)
    response = move(client, initiative, to, "We accept our own proposal.")
    assert_json_error(response, 403)
    initiative.refresh_from_db()
    assert initiative.status == "under_review"
    assert initiative.official_response == "Official answer."
    assert initiative.history.count() == 3


def test_moves_the_workflow_forbids_are_409(client, community, lead):
    implemented = make_initiative(community=community, author=lead, status="implemented")
    client.force_login(lead)
    assert_json_error(move(client, implemented, "withdrawn"), 409)
    assert_json_error(move(client, implemented, "submitted"), 409)
    client.force_login(OfficialFactory())
    assert_json_error(move(client, implemented, "under_review"), 409)
    response = move(client, implemented, "rejected", "Too late.")
    assert_json_error(response, 409)
    implemented.refresh_from_db()
    assert implemented.status == "implemented"
    assert implemented.history.count() == 6


def test_bad_transitions_change_nothing(client, community, lead):
    initiative = make_initiative(community=community, author=lead, status="under_review")
    official = OfficialFactory()
    url = f"/api/v1/initiatives/{initiative.pk}/transition"
    assert_json_error(send(client, "post", url, {"to": "withdrawn"}), 401)
    client.force_login(official)
    assert_json_error(move(client, initiative, "approved_by_magic"), 400)
    response = move(client, initiative, "rejected", "   ")
    assert_json_error(response, 400)
    assert response.json()["code"] == "response_required"
    assert_json_error(move(client, initiative, "accepted", "ok\x00"), 400)
    assert_json_error(move(client, initiative, "accepted", "x" * 5001), 400)
    assert_json_error(send(client, "post", url, {"to": "accepted", "official": True}), 422)
    assert_json_error(send(client, "post", url, {}), 422)
    initiative.refresh_from_db()
    assert initiative.status == "under_review"
    assert initiative.official_response == "Official answer."
    assert initiative.history.count() == 3


def test_outsiders_cannot_move_drafts_they_cannot_see(client, citizen, community):
    draft = make_initiative(community=community, status="draft")
    client.force_login(citizen)
    assert_json_error(move(client, draft, "withdrawn"), 404)
    assert_json_error(move(client, draft, "submitted"), 404)
    draft.refresh_from_db()
    assert draft.status == "draft"


# --- Dossier ----------------------------------------------------------------------------------


def test_members_upload_documents_and_versions_follow(client, citizen, community, member):
    initiative = make_initiative(community=community, status="draft")
    url = f"/api/v1/initiatives/{initiative.pk}/attachments"
    client.force_login(member)
    for version in (1, 2):
        response = client.post(
            url, {"title": "Plan", "kind": "design", "file": upload("plan.pdf", PDF)}
        )
        assert response.status_code == 201, response.content
        assert response.json()["version"] == version
        assert response.json()["content_type"] == "application/pdf"
    response = client.post(url, {"title": "Fake", "file": upload("evil.pdf", b"<html>")})
    assert_json_error(response, 400)
    response = client.post(url, {"title": "Plan", "kind": "weird", "file": upload("p.pdf", PDF)})
    assert_json_error(response, 400)
    assert_json_error(client.post(url, {"title": "No file"}), 422)
    client.force_login(citizen)
    response = client.post(url, {"title": "Plan", "file": upload("plan.pdf", PDF)})
    assert_json_error(response, 404)  # a draft: outsiders do not see it
    client.logout()
    response = client.post(url, {"title": "Plan", "file": upload("plan.pdf", PDF)})
    assert_json_error(response, 401)
    assert list(Attachment.objects.values_list("title", "version")) == [
        ("Plan", 2),
        ("Plan", 1),
    ]


# --- Review queue -----------------------------------------------------------------------------


def test_the_review_queue_is_for_officials(client, citizen, settings):
    settings.INITIATIVE_SUPPORT_THRESHOLD = 1
    waiting = make_initiative(title="Waiting", status="under_review")
    popular = make_initiative(title="Popular")
    make_initiative(title="Unnoticed")
    support_add(actor=citizen, initiative_id=popular.pk)
    assert_json_error(client.get("/api/v1/review-queue"), 401)
    for user in (citizen, ModeratorFactory()):
        client.force_login(user)
        assert_json_error(client.get("/api/v1/review-queue"), 403)
    client.force_login(OfficialFactory())
    body = client.get("/api/v1/review-queue").json()
    assert body["count"] == 2
    assert {i["id"] for i in body["items"]} == {waiting.pk, popular.pk}
    assert client.get("/api/v1/review-queue?limit=1").json()["count"] == 2
    assert len(client.get("/api/v1/review-queue?limit=1").json()["items"]) == 1


# --- Review fixes -----------------------------------------------------------------------------


def test_the_logo_url_is_the_logo_view_and_it_serves_the_image(client, citizen):
    from communities.services import CommunityInput, community_decide, community_register
    from tests.communities.files import PNG

    community = community_register(
        actor=citizen,
        data=CommunityInput(name="Logo club", kind="ngo", description="We have a logo."),
        logo=upload("logo.png", PNG),
    )
    community_decide(actor=ModeratorFactory(), community_id=community.pk, action="approve")
    body = client.get(f"/api/v1/communities/{community.pk}").json()
    assert not body["logo"].startswith("/media/")
    image = client.get(body["logo"])
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image["Content-Disposition"].startswith("inline; filename=")
    assert b"".join(image.streaming_content) == PNG
    listed = client.get("/api/v1/communities").json()["items"]
    assert [c["logo"] for c in listed if c["id"] == community.pk] == [body["logo"]]
    no_logo = CommunityFactory()
    assert client.get(f"/api/v1/communities/{no_logo.pk}").json()["logo"] is None


def test_the_upload_answer_links_to_the_download_view(client, community, lead):
    initiative = make_initiative(community=community, author=lead)
    client.force_login(lead)
    response = client.post(
        f"/api/v1/initiatives/{initiative.pk}/attachments",
        {"title": "Plan", "kind": "design", "file": upload("«».pdf", PDF)},
    )
    assert response.status_code == 201, response.content
    download = client.get(response.json()["url"])
    assert download["Content-Disposition"] == 'attachment; filename="document.pdf"'
    assert b"".join(download.streaming_content) == PDF


@pytest.mark.parametrize("name", ["!!!", "()", "«»"])
def test_an_upload_name_with_nothing_usable_is_a_400_not_a_500(client, community, lead, name):
    initiative = make_initiative(community=community, author=lead)
    client.force_login(lead)
    response = client.post(
        f"/api/v1/initiatives/{initiative.pk}/attachments",
        {"title": "Plan", "kind": "design", "file": upload(name, PDF)},
    )
    assert_json_error(response, 400)
    assert not Attachment.objects.exists()


def test_invalid_utf8_in_a_json_body_is_a_4xx(client, community, lead):
    client.force_login(lead)
    raw = b'{"community": %d, "title": "Bad \xff\xfe title", "summary": "s", "category": "ecology"}'
    response = client.post(
        "/api/v1/initiatives", raw % community.pk, content_type="application/json"
    )
    assert 400 <= response.status_code < 500, response.content
    assert not Initiative.objects.exists()


def test_invalid_utf8_in_form_input_is_a_4xx(client, community, lead):
    initiative = make_initiative(community=community, author=lead)
    client.force_login(lead)
    boundary = "BoUnDaRy"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n'.encode()
        + b"Plan \xff\xfe bad"
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\ndesign'
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.pdf"'
        "\r\nContent-Type: application/pdf\r\n\r\n".encode()
        + PDF
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = client.post(
        f"/api/v1/initiatives/{initiative.pk}/attachments",
        body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert 400 <= response.status_code < 500, response.content
    assert not Attachment.objects.exists()


def test_a_forbidden_move_without_a_response_is_a_409_not_a_400(client, community, lead):
    implemented = make_initiative(community=community, author=lead, status="implemented")
    client.force_login(OfficialFactory())
    response = move(client, implemented, "rejected")  # no response, and not allowed anyway
    assert_json_error(response, 409)
    assert response.json()["code"] != "response_required"


def test_a_withdrawn_draft_is_404_to_outsiders_and_listed_nowhere(client, citizen, community, lead):
    withdrawn = make_initiative(community=community, author=lead, status="withdrawn")
    assert_json_error(client.get(f"/api/v1/initiatives/{withdrawn.pk}"), 404)
    client.force_login(citizen)
    assert_json_error(client.get(f"/api/v1/initiatives/{withdrawn.pk}"), 404)
    assert_json_error(send(client, "post", f"/api/v1/initiatives/{withdrawn.pk}/support"), 404)
    for sort in ("supported", "newest", "decided"):
        items = client.get("/api/v1/initiatives", {"sort": sort}).json()["items"]
        assert withdrawn.pk not in [i["id"] for i in items]
    client.force_login(lead)
    assert client.get(f"/api/v1/initiatives/{withdrawn.pk}").status_code == 200


def test_a_resubmitted_initiative_shows_no_stale_decision(client, community, lead):
    initiative = make_initiative(community=community, author=lead, status="changes_requested")
    client.force_login(lead)
    before = client.get(f"/api/v1/initiatives/{initiative.pk}").json()
    assert before["decided_at"] is not None and before["official_response"]
    body = move(client, initiative, "submitted").json()
    assert body["status"] == "submitted" and body["decided_at"] is None
    assert body["official_response"] == "" and body["responded_at"] is None
    assert [h["response"] for h in body["history"] if h["to"] == "changes_requested"] == [
        "Official answer."
    ]
