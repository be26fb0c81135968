"""Every allauth page in Birge's design: labels above inputs without colons, a large checkbox,
an error summary at the top of a refused form, and the console e-mail said out loud."""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

CONSOLE = "django.core.mail.backends.console.EmailBackend"


def url(name, lang="en", **kwargs):
    with translation.override(lang):
        return reverse(name, kwargs=kwargs or None)


def main_of(response) -> str:
    html = response.content.decode()
    return html.split('<main id="main"', 1)[1].split("</main>", 1)[0]


ANONYMOUS_PAGES = [
    "account_login",
    "account_signup",
    "account_reset_password",
    "account_reset_password_done",
    "account_email_verification_sent",
    "account_inactive",
    "socialaccount_login_error",
    "socialaccount_login_cancelled",
]
SIGNED_IN_PAGES = [
    "account_email",
    "account_change_password",
    "account_logout",
    "account_reauthenticate",
    "socialaccount_connections",
]


def _assert_in_design(response, name):
    # allauth answers a failed third-party sign-in with 401, in the same page design.
    assert response.status_code in (200, 401), name
    html = response.content.decode()
    # Birge's own layout around it, not allauth's "Menu:" list.
    assert 'class="site-header"' in html and "page-account" in html, name
    main = main_of(response)
    assert "Menu:" not in main and "Messages:" not in main, name
    # No form rendered by allauth's as_p ("Email:" labels, <p> around every field).
    labels = re.findall(r"<label[^>]*>(.*?)</label>", main, flags=re.S)
    assert all(not re.sub(r"<[^>]+>", "", text).strip().endswith(":") for text in labels), labels
    for form in re.findall(r"<form\b[^>]*>", main):
        assert "novalidate" in form or 'method="get"' in form, form


@pytest.mark.parametrize("name", ANONYMOUS_PAGES)
def test_anonymous_account_pages_are_in_birges_design(client, name):
    _assert_in_design(client.get(url(name)), name)


@pytest.mark.parametrize("name", SIGNED_IN_PAGES)
def test_signed_in_account_pages_are_in_birges_design(client, citizen, name):
    client.force_login(citizen)
    _assert_in_design(client.get(url(name)), name)


def test_sign_in_labels_sit_above_their_inputs_and_the_checkbox_beside_its_label(client):
    main = main_of(client.get(url("account_login", "ru")))
    # The e-mail: its label, then its input, inside one field (label above input).
    field = re.search(
        r'<div class="field">\s*<label for="id_login">(.*?)</label>\s*<input', main, re.S
    )
    assert field, main[:2000]
    assert "Адрес электронной почты" in field.group(1) or "почт" in field.group(1)
    assert ":" not in re.sub(r"<[^>]+>", "", field.group(1))
    # "Remember me": a checkbox row (the CSS gives it 24 px and a 44 px row), box first.
    check = re.search(
        r'<div class="field field-check">\s*<input type="checkbox"[^>]*id="id_remember"', main
    )
    assert check, main


def test_a_refused_sign_in_lists_its_errors_at_the_top_with_links_to_the_fields(client):
    response = client.post(url("account_login"), {"login": "", "password": ""})
    assert response.status_code == 200
    main = main_of(response)
    summary = main.split("data-error-summary", 1)[1].split("</div>", 1)[0]
    assert 'href="#id_login"' in summary and 'href="#id_password"' in summary
    # The summary comes before the fields, and the fields are marked invalid and described.
    assert main.index("data-error-summary") < main.index('id="id_login"')
    login_input = re.search(r'<input[^>]*id="id_login"[^>]*>', main).group(0)
    assert 'aria-invalid="true"' in login_input and "id_login_error" in login_input
    assert 'id="id_login_error"' in main


def test_a_wrong_password_is_a_summary_too(client, citizen):
    response = client.post(url("account_login"), {"login": citizen.email, "password": "nope-nope"})
    main = main_of(response)
    assert "data-error-summary" in main and 'role="alert"' in main


def test_after_sign_up_the_page_says_the_mail_is_in_the_console(client, settings):
    settings.EMAIL_BACKEND = CONSOLE
    response = client.post(
        url("account_signup"),
        {"email": "new@example.kz", "password1": TEST_PASSWORD, "password2": TEST_PASSWORD},
        follow=True,
    )
    assert response.redirect_chain and response.redirect_chain[-1][0].endswith("/confirm-email/")
    main = main_of(response)
    assert "data-console-mail" in main
    assert "printed in the terminal" in main


def test_with_a_real_mail_server_the_console_note_is_absent(client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    main = main_of(client.get(url("account_email_verification_sent")))
    assert "data-console-mail" not in main


def test_the_console_note_is_translated(client, settings):
    settings.EMAIL_BACKEND = CONSOLE
    main = main_of(client.get(url("account_email_verification_sent", "en")))
    assert "This Birge runs without a mail server." in main
