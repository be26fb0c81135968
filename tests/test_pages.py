"""Pages: the home page, and the error pages in the user's language."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("lang", "heading"),
    [
        ("kk", "Алматы бірге шешеді"),
        ("ru", "Алматы решает вместе"),
        ("en", "Almaty decides together"),
    ],
)
def test_home_explains_and_links_sections(client, lang, heading):
    html = client.get(f"/{lang}/").content.decode()
    assert heading in html
    for section in ("polls", "initiatives", "communities", "dialogue"):
        assert f'href="/{lang}/{section}/"' in html
    # Landmarks and the skip link for keyboard and screen-reader users.
    for landmark in (
        '<header class="site-header" role="banner">',
        '<main id="main"',
        'role="contentinfo"',
        'class="skip-link"',
    ):
        assert landmark in html
    assert 'name="viewport"' in html


def test_root_redirects_to_a_language(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 302
    assert response["Location"] == "/ru/"


@pytest.mark.parametrize(
    ("lang", "text"),
    [("kk", "Бет табылмады"), ("ru", "Страница не найдена"), ("en", "Page not found")],
)
def test_404_in_the_users_language(client, lang, text):
    response = client.get(f"/{lang}/no-such-page/")
    assert response.status_code == 404
    assert text in response.content.decode()


def test_403_in_the_users_language(client, unverified_user):
    client.force_login(unverified_user)
    response = client.get("/ru/profile/")
    assert response.status_code == 403
    assert "Подтвердите адрес электронной почты" in response.content.decode()


@pytest.mark.urls("tests.urls_boom")
@pytest.mark.parametrize(
    ("lang", "text"), [("kk", "Сервер қатесі"), ("ru", "Ошибка сервера"), ("en", "Server error")]
)
def test_500_in_the_users_language(lang, text):
    client = Client(raise_request_exception=False)
    response = client.get(f"/{lang}/boom/")
    assert response.status_code == 500
    assert text in response.content.decode()


def test_static_files_are_served_with_licences(client):
    assert client.get("/static/css/birge.css").status_code == 200
    assert client.get("/static/vendor/htmx/htmx.min.js").status_code == 200
    licence = b"".join(client.get("/static/vendor/htmx/LICENSE").streaming_content)
    assert b"BSD" in licence or b"Permission" in licence


def test_csrf_failure_is_our_403_in_the_users_language(citizen):
    client = Client(enforce_csrf_checks=True)
    client.force_login(citizen)
    response = client.post("/ru/profile/", {"display_name": "X"})
    assert response.status_code == 403
    assert "Обновите страницу" in response.content.decode()
    citizen.refresh_from_db()
    assert citizen.display_name != "X"


def test_a_link_to_a_post_only_address_gets_a_page_not_a_blank(client, citizen):
    from tests.factories import make_initiative

    initiative = make_initiative()
    client.force_login(citizen)
    response = client.get(f"/kk/initiatives/{initiative.pk}/support/")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    page = response.content.decode()
    assert '<html lang="kk">' in page and "error-page" in page
    # The API keeps its own answer.
    assert client.get(f"/api/v1/initiatives/{initiative.pk}/support").status_code == 405


def test_a_nul_byte_in_a_filter_or_form_is_a_400_everywhere(client, citizen):
    from tests.factories import OfficialFactory

    api = client.get("/api/v1/polls", {"status": "a\x00b"})
    assert api.status_code == 400
    assert api.json()["code"] == "invalid_characters"
    client.force_login(OfficialFactory())
    page = client.get("/kk/audit/", {"action": "a\x00b"})
    assert page.status_code == 400 and '<html lang="kk">' in page.content.decode()
    export = client.post(
        "/ru/dashboard/exports/", {"kind": "initiatives", "format": "csv", "q": "a\x00b"}
    )
    assert export.status_code == 400
    # A path part that a view looks up (allauth's provider id) never reaches the query.
    provider = client.get("/en/accounts/oidc/a%00b/login/")
    assert provider.status_code == 400
    from dashboard.models import Export

    assert not Export.objects.exists()
    # A NUL in a JSON body is the services' to refuse: a district slug is no exception.
    client.force_login(citizen)
    me = client.patch("/api/v1/me", {"district": "a\x00b"}, content_type="application/json")
    assert me.status_code == 404 and me.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "url", ["/en/residents/", "/en/communities/register/", "/en/accounts/signup/"]
)
def test_every_described_field_points_at_its_help_text(client, citizen, url):
    """Django sets aria-describedby="<id>_helptext": the help paragraph must carry that id, or a
    screen reader never reads the hint (the IIN's twelve digits, a district's meaning)."""
    import re

    if "signup" not in url:
        client.force_login(citizen)
    html = client.get(url).content.decode()
    described = set(re.findall(r'aria-describedby="([^"]+)"', html))
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    targets = {t for d in described for t in d.split()}
    assert targets, url  # the page has described fields
    assert targets <= ids, targets - ids
