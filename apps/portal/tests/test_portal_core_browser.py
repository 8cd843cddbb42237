"""The customer portal in a real browser at a phone (390x844) and a laptop (1280) size: log in,
see the accounts, filter the history, download a PDF statement, and get 404 for another customer's
account; screenshots of login, overview, history and profile; axe-core on each page; and a login
done with the keyboard alone."""

from __future__ import annotations

from typing import Any

import pytest

from apps.portal.tests.conftest import PASSWORD
from tests.browser import LAPTOP, PHONE, assert_accessible, save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = [pytest.param(PHONE, "phone", id="phone"), pytest.param(LAPTOP, "laptop", id="laptop")]


def _history_rows(page: Any) -> int:
    return page.locator("table.history tbody tr").count()


@pytest.mark.parametrize(("viewport", "size"), SIZES)
def test_customer_logs_in_filters_history_downloads_a_statement(
    open_page: Any, alice: Any, bob: Any, viewport: tuple[int, int], size: str
) -> None:
    page = open_page(viewport=viewport)
    page.goto("/portal/")
    assert "/portal/login/" in page.url  # anonymous: sent to the login
    save_screenshot(page, f"portal-login-{size}")
    assert_accessible(page)

    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action$='/portal/login/'] button[type=submit]")
    page.wait_for_url("**/portal/")
    main = alice.accounts[0]
    assert page.locator(".account-number", has_text=main.number).count() == 1
    assert page.get_by_text("869.51\u00a0CNY").count() >= 1
    save_screenshot(page, f"portal-overview-{size}")
    assert_accessible(page)

    page.click(f"a[href='/portal/accounts/{main.public_id}/']")
    page.wait_for_url(f"**/portal/accounts/{main.public_id}/")
    assert _history_rows(page) == 3
    page.click("details.filters summary")
    page.fill("input[name=text]", "rent")
    page.click("form.filter-form button[type=submit]")
    page.wait_for_url("**text=rent**")
    assert _history_rows(page) == 1
    assert "rent March" in page.locator("table.history tbody").inner_text()
    save_screenshot(page, f"portal-history-{size}")
    assert_accessible(page)

    page.fill("#statement-from", "2026-03-01")
    page.fill("#statement-to", "2026-03-31")
    page.click("form.statement-form button[type=submit]")
    page.wait_for_url("**/portal/statements/**")
    link = page.locator("a", has_text="Download PDF")
    link.wait_for(timeout=20_000)  # the page refreshes itself until the worker is done
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"

    response = page.goto(f"/portal/accounts/{bob.accounts[0].public_id}/")
    assert response is not None
    assert response.status == 404
    assert bob.accounts[0].number not in page.content()

    page.goto("/portal/profile/")
    assert alice.customer.national_id not in page.content()
    save_screenshot(page, f"portal-profile-{size}")
    assert_accessible(page)


def test_login_with_the_keyboard_only(open_page: Any, alice: Any) -> None:
    page = open_page(viewport=PHONE)
    page.goto("/portal/login/")
    for _ in range(12):  # Tab through the skip link, the brand and the language switch
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.name") == "username":
            break
    else:
        pytest.fail("the username field cannot be reached with Tab")
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.name") == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/portal/")
    assert page.locator("h1").inner_text() == "Your accounts"
