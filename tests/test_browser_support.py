"""The browser-test helpers themselves: axe finds what it must, screenshots are written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import axe_violations, save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_axe_reports_a_critical_violation(open_page: Any) -> None:
    page = open_page()
    page.set_content('<html lang="en"><body><main><img src="/x.png"><button></button></main></body></html>')
    ids = {violation["id"] for violation in axe_violations(page)}
    assert {"image-alt", "button-name"} <= ids


def test_screenshot_is_written(open_page: Any) -> None:
    page = open_page()
    page.set_content('<html lang="en"><body><h1>finsys</h1></body></html>')
    path = save_screenshot(page, "selftest")
    assert path.stat().st_size > 1000
    path.unlink()
