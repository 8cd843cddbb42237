"""The back office end to end in headless Chromium, in English and in Chinese:

a teller logs in with TOTP, onboards a customer (screening clear, KYC verified at the counter),
opens an account and deposits cash (the receipt shows it); an operations user sends a large
transfer from that account, which the risk rules hold for review (the shipped rule
`new-beneficiary-large`, with the branch channel screened as FINSYS_RISK_CHANNELS can set it);
a risk officer approves it; the account pages show the right balances. Each main page is saved
as a 1280 px screenshot and checked with axe-core (no serious or critical violation)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings

from apps.accounts.models import Account, Product
from apps.common.roles import OPERATIONS, RISK_OFFICER, TELLER
from apps.customers.identity import china_resident_id_for
from apps.risk.models import Rule, RuleStatus
from apps.risk.services import movement_check
from apps.staff.tests.support_backoffice import staff_user
from apps.transactions.screening import register_movement_checker
from tests.browser import assert_accessible, save_screenshot, staff_browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Back-office-2026!"
BORN = dt.date(1988, 3, 9)
# What each language shows: the amounts as the locale groups them, and a word of the page.
LOCALES = {
    "en": {"accept": "en-US", "deposit": "80,000.00 CNY", "left": "20,000.00 CNY", "sent": "60,000.00 CNY",
           "receipt": "Receipt", "approvals": "Approvals"},
    "zh-hans": {"accept": "zh-Hans", "deposit": "80000.00 CNY", "left": "20000.00 CNY", "sent": "60000.00 CNY",
                "receipt": "收据", "approvals": "审批"},
}  # fmt: skip


@pytest.fixture
def branch_screened() -> Iterator[None]:
    """The shipped rule that holds a large transfer to a new beneficiary (a transactional test's
    flush removes migration data after the first run), with the branch channel screened."""
    if not Rule.objects.filter(code="new-beneficiary-large", status=RuleStatus.ACTIVE).exists():
        Rule.objects.create(
            code="new-beneficiary-large", version=1, kind="new_beneficiary_large", action="review",
            parameters={"amount": "50000", "currency": "CNY"}, status=RuleStatus.ACTIVE,
            created_by="test:seed", approved_by="test:seed",
        )  # fmt: skip
    register_movement_checker(movement_check, channels=[*settings.FINSYS_RISK_CHANNELS, "branch"])
    yield
    register_movement_checker(movement_check, channels=settings.FINSYS_RISK_CHANNELS)


def opened(open_page: Any, accept: str) -> Any:
    """A 1280 px page; generous timeouts: the machine running the suite may be busy."""
    page = open_page(locale=accept)
    page.set_default_timeout(60_000)
    page.set_default_navigation_timeout(90_000)
    return page


def shot(page: Any, name: str, lang: str) -> None:
    save_screenshot(page, f"back-office-{name}-{lang}")
    assert_accessible(page)


@pytest.mark.parametrize("lang", list(LOCALES))
def test_teller_onboards_deposits_and_a_held_transfer_is_approved(
    open_page: Any, lang: str, branch_screened: None, make_account: Any
) -> None:
    words = LOCALES[lang]
    teller = staff_user(TELLER, "tina")
    teller.set_password(PASSWORD)
    teller.save()
    operations = staff_user(OPERATIONS, "oscar")
    operations.set_password(PASSWORD)
    operations.save()
    officer = staff_user(RISK_OFFICER, "rita")
    officer.set_password(PASSWORD)
    officer.save()
    beneficiary = make_account()  # another customer's account, never paid before
    product = Product.objects.get(code="CURRENT-CNY")

    # --- the teller ------------------------------------------------------------------------
    page = opened(open_page, words["accept"])
    staff_browser_login(page, teller, PASSWORD)
    assert page.locator("html").get_attribute("lang") == lang
    shot(page, "dashboard", lang)
    page.goto("/staff/customers/new/")
    page.check("input[name=kind][value=individual]")
    page.fill("input[name=full_name]", "Chen Jing")
    page.fill("input[name=country]", "CN")
    page.fill("input[name=national_id]", china_resident_id_for(BORN, 7))
    page.fill("input[name=date_of_birth]", BORN.isoformat())
    page.fill("input[name=email]", "chen.jing@example.com")
    page.click("#onboard-form button[type=submit]")
    page.wait_for_url("**/staff/customers/new/review/")
    assert_accessible(page)
    page.check("input[name=verify_kyc]")
    page.click("#register-form button[type=submit]")
    page.wait_for_url("**/staff/customers/*-*/")
    assert page.locator("#kyc-status").inner_text().strip() != ""
    page.click("a[href$='/open-account/']")
    page.select_option("select[name=product]", str(product.pk))
    page.click("#open-account-form button[type=submit]")
    page.wait_for_url("**/staff/accounts/*-*/")
    account = Account.objects.get(customer__full_name="Chen Jing")
    assert account.customer is not None
    assert account.customer.kyc_status == "verified"
    page.click("a[href*='/staff/teller/?account=']")
    assert page.input_value("input[name=account]") == account.number
    page.fill("input[name=amount]", "80000.00")
    page.fill("input[name=reference]", "cash in")
    page.click("#cash-form button[type=submit]")
    page.wait_for_url("**/staff/teller/receipts/*-*/")
    assert words["deposit"] in page.locator("#receipt-amount").inner_text()
    assert words["receipt"] in page.locator("h1").inner_text()
    shot(page, "teller-receipt", lang)
    page.goto(f"/staff/customers/{account.customer.public_id}/")
    shot(page, "customer", lang)

    # --- operations: a large transfer, held by the risk rules ----------------------------------
    ops = opened(open_page, words["accept"])
    staff_browser_login(ops, operations, PASSWORD)
    ops.goto("/staff/teller/transfer/")
    ops.fill("input[name=from_account]", account.number)
    ops.fill("input[name=to_account]", beneficiary.number)
    ops.fill("input[name=amount]", "60000.00")
    ops.click("#transfer-form button[type=submit]")
    ops.wait_for_url("**/staff/approvals/*-*/")
    account.refresh_from_db()
    assert account.balance == Decimal("80000.00")  # nothing posted while it waits
    ops.goto("/staff/approvals/")
    assert words["approvals"] in ops.locator("h1").inner_text()
    shot(ops, "approvals", lang)

    # --- a risk officer approves it ---------------------------------------------------------------
    checker = opened(open_page, words["accept"])
    staff_browser_login(checker, officer, PASSWORD)
    checker.goto("/staff/approvals/")
    checker.click("table.data a[href*='/staff/approvals/']")
    checker.fill("#approve-form input[name=note]", "called the customer")
    checker.click("#approve-form button[type=submit]")
    checker.wait_for_load_state("networkidle")
    assert checker.locator("#approval-status").inner_text().strip() != ""
    checker.goto(f"/staff/accounts/{account.public_id}/")
    assert words["left"] in checker.locator("#account-balance").inner_text()
    shot(checker, "account", lang)
    checker.goto(f"/staff/accounts/{beneficiary.public_id}/")
    assert words["sent"] in checker.locator("#account-balance").inner_text()
    account.refresh_from_db()
    beneficiary.refresh_from_db()
    assert (account.balance, beneficiary.balance) == (Decimal("20000.00"), Decimal("60000.00"))
