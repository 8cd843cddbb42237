"""The staff login in a real browser: password, then TOTP, lands on the home page; both pages pass axe."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from apps.common.roles import TELLER, roles_sync
from tests.browser import assert_accessible, save_screenshot, staff_browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def teller() -> Any:
    roles_sync()
    user = get_user_model().objects.create_user("tina", password="Teller-pass-2026!", is_staff=True)
    user.groups.add(Group.objects.get(name=TELLER))
    return user


def test_login_page_is_accessible(open_page: Any) -> None:
    page = open_page()
    page.goto("/staff/login/")
    save_screenshot(page, "staff-login")
    assert_accessible(page)


def test_teller_logs_in_with_password_and_totp(open_page: Any, teller: Any) -> None:
    page = open_page()
    staff_browser_login(page, teller, "Teller-pass-2026!")
    assert page.url.endswith("/staff/")
    assert "tina" in page.content()
    assert_accessible(page)


def test_wrong_totp_code_keeps_the_user_out(open_page: Any, teller: Any) -> None:
    page = open_page()
    page.goto("/staff/login/")
    page.fill("input[name=username]", "tina")
    page.fill("input[name=password]", "Teller-pass-2026!")
    page.click("form[action$='/staff/login/'] button[type=submit]")
    page.wait_for_url("**/staff/otp/**")
    page.fill("input[name=otp_token]", "000000")
    page.click("form[action$='/staff/otp/'] button[type=submit]")
    assert page.locator("[role=alert]").count() == 1
    page.goto("/staff/")
    assert "/staff/otp/" in page.url or "/staff/login/" in page.url
