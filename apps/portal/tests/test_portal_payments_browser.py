"""The portal's money pages in headless Chromium at a phone (390x844) and a laptop (1280x800):
log in, pay a saved beneficiary through the confirmation screen and see it settle (the simulated
gateway accepts it, its signed callback settles it), and a corporate payment initiated by one user
and approved by a second. Screenshots of the transfer form, the confirmation and the payment
status at both sizes; axe-core on each page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

from apps.integrations.signing import signature_header
from apps.portal.tests import payments_support as support
from apps.transactions.models import Payment, PaymentStatus
from tests.browser import LAPTOP, PHONE, assert_accessible, save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = [pytest.param(PHONE, id="phone"), pytest.param(LAPTOP, id="laptop")]
# The simulator accepts the order and would call back on a port nobody listens on: the payment
# stays `submitted` until the test delivers the gateway's signed answer itself.
GATEWAY = {**support.SIMULATOR, "FINSYS_GATEWAY_SIM_CALLBACK_URL": "http://127.0.0.1:9/"}


@pytest.fixture(autouse=True)
def _gateway() -> Iterator[None]:
    with override_settings(**GATEWAY):
        yield


def _size(viewport: tuple[int, int]) -> str:
    return "phone" if viewport == PHONE else "laptop"


def _login(page: Any, user: Any) -> None:
    page.goto("/portal/login/")
    page.fill("input[name=username]", user.get_username())
    page.fill("input[name=password]", support.PASSWORD)
    page.click("form[action$='/portal/login/'] button[type=submit]")
    page.wait_for_load_state("networkidle")


def _gateway_settles(payment: Payment) -> None:
    """The gateway's signed callback, as the payment network sends it."""
    raw = json.dumps({"payment_id": str(payment.public_id), "status": "settled", "gateway_reference": "SIMB1"}).encode()
    response = Client().post(
        "/api/v1/gateway/callback/",
        raw,
        content_type="application/json",
        HTTP_X_FINSYS_SIGNATURE=signature_header(settings.FINSYS_GATEWAY_CALLBACK_SECRET, raw),
    )
    assert response.status_code == 200, response.content


def _open_menu(page: Any) -> None:
    """On a phone the navigation may be folded; open it when there is a toggle."""
    toggle = page.locator("[aria-controls='portal-nav'], button.nav-toggle")
    if toggle.count() and toggle.first.is_visible():
        toggle.first.click()


@pytest.mark.parametrize("viewport", SIZES)
def test_pay_a_saved_beneficiary_and_see_it_settle(open_page, viewport):
    owner = support.customer(name="Mei Lin")
    source = support.account(owner, "5000")
    support.account(owner)
    user = support.login(owner, f"mei{_size(viewport)}")
    support.beneficiary(owner, name="Li Wei")
    size = _size(viewport)

    page = open_page(viewport=viewport)
    _login(page, user)
    page.goto("/portal/transfers/new/")
    page.wait_for_selector("form.movement-form")
    save_screenshot(page, f"portal-transfer-form-{size}")
    assert_accessible(page)

    page.goto("/portal/payments/new/")
    page.select_option("select[name=from_account]", str(source.public_id))
    page.fill("input[name=amount]", "1250.50")
    page.fill("input[name=reference]", "Rent November")
    page.click("form.movement-form button[type=submit]")
    page.wait_for_url("**/portal/confirm/**")
    assert page.locator("[data-testid=fee]").inner_text().replace("\u00a0", " ") == "0.00 CNY"
    assert page.locator("[data-testid=total]").inner_text().replace("\u00a0", " ") == "1,250.50 CNY"
    save_screenshot(page, f"portal-payment-confirm-{size}")
    assert_accessible(page)

    page.click("form.confirm-form button[type=submit]")
    page.wait_for_url("**/portal/payments/*/")
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.SUBMITTED
    assert "Submitted to the gateway" in page.locator("[data-testid=payment-status]").inner_text()
    source.refresh_from_db()
    assert source.available == Decimal("3749.50")  # held while the gateway works on it

    _gateway_settles(payment)
    page.reload()
    assert page.locator("[data-testid=payment-status]").inner_text() == "Settled"
    assert page.locator("ol.timeline li").count() == 5  # received, screened, held, submitted, settled
    save_screenshot(page, f"portal-payment-status-{size}")
    assert_accessible(page)
    source.refresh_from_db()
    assert (source.balance, source.available) == (Decimal("3749.50"), Decimal("3749.50"))

    # A second click on the browser's back-and-resubmit cannot pay again.
    page.go_back()
    page.wait_for_url("**/portal/confirm/**")
    page.click("form.confirm-form button[type=submit]")
    page.wait_for_url("**/portal/payments/*/")
    assert Payment.objects.count() == 1


@pytest.mark.parametrize("viewport", SIZES)
def test_a_corporate_payment_is_approved_by_a_second_user(open_page, viewport):
    company = support.company()
    support.beneficiary(company.customer, name="Shenzhen Parts Ltd")
    size = _size(viewport)

    clerk = open_page(viewport=viewport)
    _login(clerk, company.clerk)
    clerk.goto("/portal/payments/new/")
    clerk.fill("input[name=amount]", "20000")
    clerk.click("form.movement-form button[type=submit]")
    clerk.wait_for_url("**/portal/confirm/**")
    assert "second person to approve" in clerk.content()
    clerk.click("form.confirm-form button[type=submit]")
    clerk.wait_for_url("**/portal/approvals/*/")
    assert clerk.locator("[data-testid=instruction-status]").inner_text() == "Waiting for approval"
    assert clerk.locator("button[value=approve]").count() == 0  # never their own
    assert Payment.objects.count() == 0

    director = open_page(viewport=viewport)
    _login(director, company.director)
    director.goto("/portal/payments/")
    save_screenshot(director, f"portal-approvals-{size}")
    assert_accessible(director)
    director.click("table.pending a")
    director.wait_for_url("**/portal/approvals/*/")
    assert_accessible(director)
    director.click("button[value=approve]")
    director.wait_for_url("**/portal/payments/*/")
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.SUBMITTED
    _gateway_settles(payment)
    director.reload()
    assert director.locator("[data-testid=payment-status]").inner_text() == "Settled"
    save_screenshot(director, f"portal-corporate-payment-status-{size}")
    clerk.reload()
    assert clerk.locator("[data-testid=instruction-status]").inner_text() == "Approved and executed"
    assert Payment.objects.count() == 1
