"""The support box of an initiative says what its status means (bug 4), and support acts in
place (bug 9): an htmx post answers with the support region, a plain post redirects back."""

import re

import pytest
from django.utils import translation

from communities.models import Support
from tests.factories import UserFactory, make_initiative

pytestmark = pytest.mark.django_db

NEEDED = "supporters needed for review"
MEANS = {
    "under_review": "The akimat is reviewing this initiative now.",
    "accepted": "The akimat accepted this initiative.",
    "rejected": "The akimat rejected this initiative; its answer explains why.",
    "in_progress": "the work is under way",
    "implemented": "This initiative has been implemented.",
}


def _box(client, initiative) -> str:
    page = client.get(f"/en/initiatives/{initiative.pk}/").content.decode()
    return re.search(r'<div id="support-region">.*?</section>', page, re.S).group(0)


@pytest.mark.parametrize("status", sorted(MEANS))
def test_past_gathering_the_box_says_what_the_status_means(client, status):
    initiative = make_initiative(status=status)
    box = _box(client, initiative)
    assert NEEDED not in box
    assert MEANS[status] in box
    assert re.search(r"<strong data-supports>0</strong>\s*supporters", box)


@pytest.mark.parametrize("status", ["submitted", "changes_requested"])
def test_while_gathering_the_box_counts_towards_review(client, status):
    box = _box(client, make_initiative(status=status))
    assert NEEDED in box


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_the_status_sentence_is_in_the_readers_language(client, lang):
    initiative = make_initiative(status="accepted")
    page = client.get(f"/{lang}/initiatives/{initiative.pk}/").content.decode()
    with translation.override(lang):
        from django.utils.translation import gettext

        sentence = gettext(
            "The akimat accepted this initiative. Support is closed; its progress will be "
            "reported here."
        )
    assert sentence in page


def test_support_in_place_and_without_javascript(client):
    initiative = make_initiative()
    citizen = UserFactory()
    client.force_login(citizen)
    box = _box(client, initiative)
    assert 'hx-post="/en/initiatives/' in box and 'aria-pressed="false"' in box
    # With htmx: the region comes back, pressed, with the new count; no page, no message.
    answer = client.post(f"/en/initiatives/{initiative.pk}/support/", HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "<html" not in html and "<strong data-supports>1</strong>" in html
    assert 'aria-pressed="true"' in html and "is-pressed" in html
    assert Support.objects.filter(initiative=initiative, user=citizen).exists()
    again = client.post(f"/en/initiatives/{initiative.pk}/unsupport/", HTTP_HX_REQUEST="true")
    assert "<strong data-supports>0</strong>" in again.content.decode()
    assert 'aria-pressed="false"' in again.content.decode()
    # Without JavaScript: the form posts and comes back to the page.
    plain = client.post(f"/en/initiatives/{initiative.pk}/support/")
    assert plain.status_code == 302 and plain["Location"].endswith(f"/initiatives/{initiative.pk}/")
