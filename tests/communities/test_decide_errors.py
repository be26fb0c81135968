"""Bug 7: a refused community decision keeps the moderator where they were, with the reason
field marked and an error summary above it."""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from communities.models import Community
from tests.factories import CommunityFactory

pytestmark = pytest.mark.django_db


def url(name, lang="en", **kwargs):
    with translation.override(lang):
        return reverse(name, kwargs=kwargs or None)


def test_a_rejection_without_reason_from_the_queue_comes_back_to_the_queue_item(client, moderator):
    first = CommunityFactory(name="First Group", status=Community.Status.PENDING)
    second = CommunityFactory(name="Second Group", status=Community.Status.PENDING)
    client.force_login(moderator)
    response = client.post(
        url("communities:decide", slug=second.slug),
        {"action": "reject", "reason": "  ", "from": "review", "page": "1"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Communities waiting for review" in html  # the queue, not the community's page
    assert "First Group" in html and "Second Group" in html
    item = html.split(f'id="review-{second.pk}"', 1)[1].split("</form>", 1)[0]
    assert "data-error-summary" in item and 'role="alert"' in item
    assert f'href="#reason-{second.pk}"' in item
    assert re.search(rf'<textarea[^>]*id="reason-{second.pk}"[^>]*aria-invalid="true"', item)
    # The other item carries no error.
    other = html.split(f'id="review-{first.pk}"', 1)[1].split("</form>", 1)[0]
    assert "data-error-summary" not in other and "aria-invalid" not in other
    second.refresh_from_db()
    assert second.status == Community.Status.PENDING


def test_the_queue_form_sends_back_to_the_queue_and_says_where_it_came_from(client, moderator):
    CommunityFactory(status=Community.Status.PENDING)
    client.force_login(moderator)
    html = client.get(url("communities:review", "ru")).content.decode()
    assert 'name="from" value="review"' in html
    assert f'name="next" value="{url("communities:review", "ru")}"' in html


def test_a_rejection_without_reason_on_the_community_page_marks_the_reason_field(client, moderator):
    community = CommunityFactory(status=Community.Status.PENDING)
    client.force_login(moderator)
    response = client.post(url("communities:decide", slug=community.slug), {"action": "reject"})
    assert response.status_code == 400
    html = response.content.decode()
    summary = html.split("data-error-summary", 1)[1].split("</div>", 1)[0]
    assert "Give the reason: the community will see it." in summary
    assert 'href="#id_reason"' in summary
    assert re.search(r'<textarea[^>]*aria-invalid="true"[^>]*id="id_reason"', html)
