"""Sign-up → verification mail → login, with mandatory verification and rate limits."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from accounts.models import User
from tests.factories import TEST_PASSWORD, UserFactory, district

pytestmark = pytest.mark.django_db

SIGNUP = "/en/accounts/signup/"
LOGIN = "/en/accounts/login/"


def _signup(client, email="aigerim@example.kz", **extra):
    data = {
        "email": email,
        "password1": TEST_PASSWORD,
        "password2": TEST_PASSWORD,
        "display_name": "Aigerim",
        "district": district("bostandyk").pk,
        **extra,
    }
    return client.post(SIGNUP, data)


def test_signup_sends_verification_mail_and_does_not_log_in(client):
    response = _signup(client)
    assert response.status_code == 302
    assert response["Location"].endswith("/accounts/confirm-email/")
    user = User.objects.get(email="aigerim@example.kz")
    assert user.display_name == "Aigerim"
    assert user.district.slug == "bostandyk"
    assert user.preferred_language == "en"
    assert not EmailAddress.objects.get(user=user).verified
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["aigerim@example.kz"]
    # Not signed in until the address is confirmed.
    assert client.get("/api/v1/me").status_code == 401


def test_unverified_user_cannot_log_in(client):
    _signup(client)
    mail.outbox.clear()
    response = client.post(LOGIN, {"login": "aigerim@example.kz", "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert "confirm-email" in response["Location"]
    assert client.get("/api/v1/me").status_code == 401
    # The mail is not sent again within the confirmation cooldown (no mail flooding).
    assert len(mail.outbox) == 0


def test_verification_link_confirms_and_then_login_works(client):
    _signup(client)
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    path = link.split("testserver", 1)[1]
    confirm_page = client.get(path)
    assert confirm_page.status_code == 200
    # GET alone confirms nothing (ACCOUNT_CONFIRM_EMAIL_ON_GET = False).
    assert not EmailAddress.objects.get(email="aigerim@example.kz").verified
    response = client.post(path)
    assert response.status_code == 302
    assert EmailAddress.objects.get(email="aigerim@example.kz").verified
    client.logout()
    response = client.post(LOGIN, {"login": "aigerim@example.kz", "password": TEST_PASSWORD})
    assert response.status_code == 302
    me = client.get("/api/v1/me").json()
    assert me["email"] == "aigerim@example.kz"
    assert me["is_citizen"] is True


def test_signup_rejects_duplicate_email_and_changes_nothing(client):
    UserFactory(email="taken@example.kz")
    response = _signup(client, email="TAKEN@example.kz")
    # Enumeration prevention: the page looks like success, but no second account exists
    # and the owner of the address is told by mail.
    assert User.objects.filter(email__iexact="taken@example.kz").count() == 1
    assert response.status_code in (200, 302)


def test_signup_rejects_bad_input_with_messages(client):
    response = _signup(client, email="not-an-email", password2="different")
    assert response.status_code == 200
    assert not User.objects.exists()
    form = response.context["form"]
    assert "email" in form.errors
    assert form.errors


def test_signup_page_in_kazakh_shows_kazakh_errors(client):
    response = client.post("/kk/accounts/signup/", {"email": "", "password1": "", "password2": ""})
    assert response.status_code == 200
    body = response.content.decode()
    assert "This field is required" not in body
    assert "Бұл өріс" in body  # "This field ..." in Kazakh


def test_unverified_user_cannot_act_as_citizen(client, unverified_user):
    client.force_login(unverified_user)
    response = client.get("/en/profile/")
    assert response.status_code == 403
    assert "Confirm your e-mail address" in response.content.decode()
    assert client.get("/api/v1/me").json()["is_citizen"] is False


def test_verified_citizen_edits_profile(client, citizen):
    client.force_login(citizen)
    response = client.post(
        "/en/profile/",
        {
            "display_name": "  Dana   K. ",
            "district": district("medeu").pk,
            "preferred_language": "kk",
        },
    )
    assert response.status_code == 302
    citizen.refresh_from_db()
    assert citizen.display_name == "Dana K."
    assert citizen.district.slug == "medeu"
    assert citizen.preferred_language == "kk"


def test_profile_rejects_unknown_language_and_keeps_data(client, citizen):
    client.force_login(citizen)
    before = citizen.display_name
    response = client.post("/en/profile/", {"display_name": "X", "preferred_language": "de"})
    assert response.status_code == 200
    assert "preferred_language" in response.context["form"].errors
    citizen.refresh_from_db()
    assert citizen.display_name == before


def test_password_reset_sends_mail(client, citizen):
    response = client.post("/en/accounts/password/reset/", {"email": citizen.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


def test_failed_logins_are_rate_limited_in_the_cache(client, citizen):
    for _ in range(5):
        response = client.post(LOGIN, {"login": citizen.email, "password": "wrong-password"})
        assert response.status_code == 200
    # The sixth attempt is refused even with the right password.
    response = client.post(LOGIN, {"login": citizen.email, "password": TEST_PASSWORD})
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.redis
def test_rate_limit_state_lives_in_redis(client, citizen, settings):
    import redis

    for _ in range(5):
        client.post(LOGIN, {"login": citizen.email, "password": "wrong-password"})
    r = redis.Redis.from_url(settings.REDIS_URL)
    keys = [k.decode() for k in r.scan_iter(match=f"{settings.CACHE_KEY_PREFIX}:*")]
    r.close()
    assert any("allauth" in key or "rl:" in key for key in keys), keys
