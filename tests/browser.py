"""Browser-test fixtures: headless Debian Chromium driven by Playwright against `live_server`.

Tests that use them carry `@pytest.mark.browser`; they are skipped, with the reason printed,
when /usr/bin/chromium or Playwright is missing (CI installs both). Never `playwright install`:
its download fails here (STACK.md, "Browser tests").

    @pytest.mark.browser
    @pytest.mark.django_db(transaction=True)
    def test_teller_deposits_cash(open_page, live_server) -> None:
        page = open_page()                       # 1280x800, English
        staff_browser_login(page, teller, "pw")  # password, then a TOTP code
        ...
        save_screenshot(page, "staff-dashboard")
        assert_accessible(page)                  # axe-core: no serious or critical violation

Screenshots go to var/artifacts/screenshots/ (or $FINSYS_ARTIFACTS_DIR/screenshots/).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("FINSYS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_SOURCE = Path(__file__).parent / "browser_assets" / "axe-core-4.14.1.min.js"
ROOT = Path(__file__).resolve().parent.parent
PHONE = (390, 844)
LAPTOP = (1280, 800)


def browser_unavailable_reason() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"needs Chromium at {CHROMIUM} (apt-get install chromium; CI installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs Playwright (pip install -r requirements-dev.txt)"
    return None


def artifacts_dir() -> Path:
    base = Path(os.environ.get("FINSYS_ARTIFACTS_DIR", ROOT / "var" / "artifacts"))
    path = base / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the whole run."""
    # Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run in
    # a thread with a running loop unless told it is fine (it is: the loop only drives the browser).
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(chromium: Any, live_server: Any) -> Iterator[Callable[..., Any]]:
    """Opens a page in a fresh browser context (own cookies) with `live_server` as base URL.

    `open_page(viewport=PHONE, locale="zh-Hans")`: the size and the Accept-Language sent."""
    contexts: list[Any] = []

    def open_(*, viewport: tuple[int, int] = LAPTOP, locale: str = "en-US") -> Any:
        context = chromium.new_context(
            base_url=live_server.url,
            viewport={"width": viewport[0], "height": viewport[1]},
            locale=locale,
            extra_http_headers={"Accept-Language": locale},
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


def save_screenshot(page: Any, name: str) -> Path:
    """Full-page PNG of what the page shows now, as var/artifacts/screenshots/<name>.png."""
    path = artifacts_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict[str, Any]]:
    """axe-core's violations of these impacts on the page as it is now.

    axe is evaluated through the DevTools protocol, which the page's CSP does not govern, so the
    pages keep their strict policy under test."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate("async () => await window.axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in result["violations"]
        if violation["impact"] in impacts
    ]


def assert_accessible(page: Any) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    violations = axe_violations(page)
    assert not violations, f"{page.url}: {violations}"


def current_totp(user: Any) -> str:
    """A fresh code of the user's confirmed TOTP device (created if missing), unused so far.

    django-otp refuses a code twice (replay protection). When this 30 s step's code has been
    used, the next step's code is accepted now if the device's tolerance (one step by default,
    for phones whose clock runs ahead) reaches it, as from a phone a little ahead; otherwise
    wait for the next step."""
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="browser test", confirmed=True)
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if device.last_t is not None and totp.t() <= device.last_t < totp.t() + device.tolerance:
        totp.time = device.t0 + (device.last_t + 1 - device.drift) * device.step  # the next step
    while device.last_t is not None and totp.t() <= device.last_t:
        time.sleep(0.5)
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return str(totp.token()).zfill(device.digits)


def staff_browser_login(page: Any, user: Any, password: str, next_path: str = "") -> None:
    """Logs a staff user in through the real pages: username and password, then a TOTP code."""
    page.goto("/staff/login/" + (f"?next={next_path}" if next_path else ""))
    page.fill("input[name=username]", user.get_username())
    page.fill("input[name=password]", password)
    page.click("form[action$='/staff/login/'] button[type=submit]")
    page.wait_for_url("**/staff/otp/**")
    page.fill("input[name=otp_token]", current_totp(user))
    page.click("form[action$='/staff/otp/'] button[type=submit]")
    page.wait_for_load_state("networkidle")
