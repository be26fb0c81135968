"""A real browser against a real ASGI server: the language switcher and the phone layout."""

import pytest

from tests.conftest import AsgiServer, server_env
from tests.test_server import _migrate_and_seed

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture(scope="module")
def live_server_url(tmp_path_factory):
    db = tmp_path_factory.mktemp("browser") / "db.sqlite3"
    env = server_env(DATABASE_URL=f"sqlite:///{db}", REDIS_URL="")
    _migrate_and_seed(env)
    server = AsgiServer(env).start()
    yield server.url
    server.stop()


def test_language_switcher_and_phone_layout(browser, live_server_url, artifacts_dir):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = context.new_page()
    page.goto(live_server_url + "/")
    assert page.url.endswith("/en/")
    assert page.locator("h1").inner_text() == "Almaty decides together"
    # No horizontal scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # On a phone the language switcher is in the header's menu.
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("button", name="Қазақша").click()
    page.wait_for_url("**/kk/")
    assert page.locator("h1").inner_text() == "Алматы бірге шешеді"
    assert page.locator("html").get_attribute("lang") == "kk"

    # The choice sticks: the bare address now opens in Kazakh.
    page.goto(live_server_url + "/")
    assert page.url.endswith("/kk/")

    # Keyboard users reach the skip link first, and it is visible when focused.
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    assert page.locator(".skip-link").bounding_box()["x"] >= 0
    page.screenshot(path=str(artifacts_dir / "home-kk-phone.png"), full_page=True)
    context.close()


def test_demo_citizen_signs_in(browser, live_server_url):
    context = browser.new_context(locale="ru-RU")
    page = context.new_page()
    page.goto(live_server_url + "/ru/accounts/login/")
    page.get_by_label("Адрес электронной почты").fill("citizen@demo.birge.kz")
    page.get_by_label("Пароль").fill("birge-citizen-2026")
    page.locator("main button[type=submit]").click()
    page.wait_for_url("**/ru/")
    assert page.get_by_role("link", name="Айгерим").is_visible()
    context.close()
