"""Portal money movement through the real pages (Django test client, real database, Celery eager,
the simulated gateway): the confirmation screen, once-only submission, every refusal's message,
step-up on a new beneficiary, the corporate approval flow, and 404 on other customers' ids."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from apps.accounts.services import account_freeze
from apps.common.models import ControlKind
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.compliance.services import emergency_control_activate
from apps.customers.services import customer_set_approval_threshold
from apps.portal.tests import payments_support as support
from apps.transactions.models import (
    InstructionStatus,
    JournalEntry,
    Payment,
    PaymentInstruction,
    PaymentStatus,
    SavedBeneficiary,
)
from apps.transactions.screening import (
    ScreeningDecision,
    ScreeningOutcome,
    register_payment_screener,
    unregister_payment_screener,
)
from tests.browser import current_totp
from tests.support import ledger_state, portal_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _simulator() -> Iterator[None]:
    with override_settings(**support.SIMULATOR):
        yield


@pytest.fixture
def alice() -> dict[str, Any]:
    owner = support.customer(name="Alice Chen")
    main = support.account(owner, "10000")
    savings = support.account(owner)
    user = support.login(owner, f"alice{owner.pk}")
    return {"customer": owner, "main": main, "savings": savings, "user": user, "client": portal_client(user)}


@pytest.fixture
def bob() -> dict[str, Any]:
    owner = support.customer(name="Bob Wang")
    main = support.account(owner, "500")
    user = support.login(owner, f"bob{owner.pk}")
    return {"customer": owner, "main": main, "user": user, "client": portal_client(user)}


def _start_payment(client: Client, source: Any, beneficiary: SavedBeneficiary, amount: str) -> Any:
    return client.post(
        reverse("portal:payment-new"),
        {"from_account": str(source.public_id), "beneficiary": str(beneficiary.public_id), "amount": amount,
         "reference": "invoice 7"},
    )  # fmt: skip


def _confirm_url(response: Any) -> str:
    assert response.status_code == 302, response.content.decode()[:3000]
    assert "/confirm/" in response["Location"], response["Location"]
    return str(response["Location"])


def _text(response: Any) -> str:
    return response.content.decode()


# --- the confirmation screen and once-only submission ------------------------------------------


def test_a_payment_goes_through_a_confirmation_screen_with_fee_and_total_then_settles(
    alice, django_capture_on_commit_callbacks
):
    payee = support.beneficiary(alice["customer"])
    client = alice["client"]
    confirm = _confirm_url(_start_payment(client, alice["main"], payee, "1250.50"))
    assert Payment.objects.count() == 0  # nothing moves before the confirmation
    page = _text(client.get(confirm))
    assert "Check and confirm" in page
    assert "1,250.50\u00a0CNY" in page  # the amount, and the total debited
    assert 'data-testid="fee">0.00\u00a0CNY' in page  # the fee, explicitly zero
    assert 'data-testid="total">1,250.50\u00a0CNY' in page

    with django_capture_on_commit_callbacks(execute=True):  # the job sent at commit: eager Celery
        done = client.post(confirm)
    payment = Payment.objects.get()
    assert done["Location"] == reverse("portal:payment", args=[payment.public_id])
    assert payment.status == PaymentStatus.SETTLED  # submitted to the simulated gateway and booked
    detail = _text(client.get(done["Location"]))
    for status in ("Received", "Screened", "Funds held", "Submitted to the gateway", "Settled"):
        assert status in detail  # the state machine's history
    alice["main"].refresh_from_db()
    assert alice["main"].balance == Decimal("8749.50")


def test_submitting_the_confirmation_twice_pays_once(alice):
    payee = support.beneficiary(alice["customer"])
    client = alice["client"]
    confirm = _confirm_url(_start_payment(client, alice["main"], payee, "100.00"))
    first = client.post(confirm)
    second = client.post(confirm)
    assert Payment.objects.count() == 1
    assert first["Location"] == second["Location"]  # the second submission shows the first's outcome
    alice["main"].refresh_from_db()
    assert alice["main"].available == Decimal("9900.00")  # held once


def test_a_transfer_between_own_accounts_and_to_another_customer_by_number(alice, bob):
    client = alice["client"]
    own = client.post(
        reverse("portal:transfer-new"),
        {"from_account": str(alice["main"].public_id), "kind": "own", "to_own": str(alice["savings"].public_id),
         "amount": "300"},
    )  # fmt: skip
    confirm = _confirm_url(own)
    assert "0.00\u00a0CNY" in _text(client.get(confirm))
    done = client.post(confirm)
    client.post(confirm)  # twice: still one transfer
    entry = JournalEntry.objects.get(kind="transfer")
    assert done["Location"] == reverse("portal:transfer", args=[entry.public_id])
    assert client.get(done["Location"]).status_code == 200

    other = client.post(
        reverse("portal:transfer-new"),
        {"from_account": str(alice["main"].public_id), "kind": "internal", "to_number": bob["main"].number,
         "amount": "200"},
    )  # fmt: skip
    page = _text(client.get(_confirm_url(other)))
    assert bob["main"].number in page
    assert "Bob Wang" not in page  # nothing about the other customer is shown
    client.post(_confirm_url(other))
    bob["main"].refresh_from_db()
    alice["main"].refresh_from_db()
    assert bob["main"].balance == Decimal("700.00")
    assert alice["main"].balance == Decimal("9500.00")


def test_an_unknown_destination_number_is_a_form_message(alice):
    response = alice["client"].post(
        reverse("portal:transfer-new"),
        {"from_account": str(alice["main"].public_id), "kind": "internal", "to_number": "6200000000000000",
         "amount": "1"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "No account of this bank has that number." in _text(response)


# --- refusals, each with its message, nothing moved ---------------------------------------------


def test_insufficient_funds_is_refused_with_what_is_available(alice):
    payee = support.beneficiary(alice["customer"])
    before = ledger_state()
    response = _start_payment(alice["client"], alice["main"], payee, "10000.01")
    assert response.status_code == 200
    assert "Insufficient funds: Available 10000.00 CNY is less than 10000.01." in _text(response)
    assert ledger_state() == before
    assert Payment.objects.count() == 0


def test_funds_gone_between_confirmation_and_submission_are_refused_on_the_confirmation(alice):
    payee = support.beneficiary(alice["customer"])
    client = alice["client"]
    confirm = _confirm_url(_start_payment(client, alice["main"], payee, "9000"))
    confirm_again = _confirm_url(_start_payment(client, alice["main"], payee, "9000"))
    client.post(confirm)  # the first one takes the money
    response = client.post(confirm_again)
    assert response.status_code == 200
    assert "Insufficient funds" in _text(response)
    assert Payment.objects.count() == 1


def test_a_limit_is_refused_with_which_limit_and_what_is_left(alice, bob):
    # Shipped portal limits (risk migration 0002): 50,000 CNY per transaction.
    support.account(alice["customer"])  # a second account does not raise the customer's limit
    alice["main"].refresh_from_db()
    from apps.transactions.services import deposit_create

    deposit_create(actor=SYSTEM_ACTOR, account=alice["main"].public_id, money=Money(Decimal("60000"), "CNY"))
    before = ledger_state()
    response = alice["client"].post(
        reverse("portal:transfer-new"),
        {"from_account": str(alice["main"].public_id), "kind": "internal", "to_number": bob["main"].number,
         "amount": "50000.01"},
    )  # fmt: skip
    confirm = _confirm_url(response)
    refused = alice["client"].post(confirm)
    text = _text(refused)
    assert "A limit would be exceeded: The per-transaction limit of 50000.00 CNY on channel portal" in text
    assert "50000.00 CNY is left." in text
    assert ledger_state() == before

    # A payment to another bank is held to the same portal limits.
    payee = support.beneficiary(alice["customer"])
    refused = alice["client"].post(_confirm_url(_start_payment(alice["client"], alice["main"], payee, "50000.01")))
    assert "The per-transaction limit of 50000.00 CNY on channel portal" in _text(refused)
    assert Payment.objects.count() == 0


def test_a_frozen_account_is_refused_with_its_status(alice):
    payee = support.beneficiary(alice["customer"])
    account_freeze(actor=SYSTEM_ACTOR, account=alice["main"], reason="court order")
    response = _start_payment(alice["client"], alice["main"], payee, "10")
    assert response.status_code == 200
    assert f"The account is not active: Account {alice['main'].number} is Frozen." in _text(response)
    assert Payment.objects.count() == 0


def test_a_screening_block_is_refused_and_a_screening_review_holds_the_payment(alice):
    payee = support.beneficiary(alice["customer"])
    client = alice["client"]

    def block(payment: Any) -> ScreeningDecision:
        return ScreeningDecision(ScreeningOutcome.BLOCK, "test list")

    def review(payment: Any) -> ScreeningDecision:
        return ScreeningDecision(ScreeningOutcome.REVIEW, "test review")

    register_payment_screener(block)
    try:
        refused = client.post(_confirm_url(_start_payment(client, alice["main"], payee, "10")))
    finally:
        unregister_payment_screener(block)
    assert "Blocked by sanctions screening" in _text(refused)
    assert Payment.objects.count() == 0

    register_payment_screener(review)
    try:
        done = client.post(_confirm_url(_start_payment(client, alice["main"], payee, "10")))
    finally:
        unregister_payment_screener(review)
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.PENDING_APPROVAL
    assert "held for a compliance check" in _text(client.get(done["Location"]))


def test_stopped_payments_are_refused_and_the_same_confirmation_works_once_lifted(alice):
    payee = support.beneficiary(alice["customer"])
    client = alice["client"]
    confirm = _confirm_url(_start_payment(client, alice["main"], payee, "10"))
    control = emergency_control_activate(actor=SYSTEM_ACTOR, kind=ControlKind.PAYMENTS_STOPPED, reason="incident")
    refused = client.post(confirm)
    assert "Outgoing payments are stopped" in _text(refused)
    assert Payment.objects.count() == 0
    control.active = False
    control.save(update_fields=["active"])
    from apps.common.controls import controls_forget

    controls_forget()
    assert client.post(confirm).status_code == 302  # nothing was stored for the stopped attempt
    assert Payment.objects.count() == 1


# --- step-up on a new beneficiary ----------------------------------------------------------------


def test_a_new_beneficiary_asks_for_the_totp_code_when_the_customer_uses_one(alice):
    user = alice["user"]
    current_totp(user)  # the customer turned TOTP on (a confirmed device)
    payee = support.beneficiary(alice["customer"])
    client = alice["client"]
    confirm = _confirm_url(_start_payment(client, alice["main"], payee, "10"))
    assert 'name="otp_token"' in _text(client.get(confirm))
    missing = client.post(confirm, {"otp_token": ""})
    wrong = client.post(confirm, {"otp_token": "000000" if current_totp(user) != "000000" else "111111"})
    assert "Enter the six-digit code" in _text(missing)
    assert "That code is not right" in _text(wrong)
    assert Payment.objects.count() == 0
    throttled = client.post(confirm, {"otp_token": current_totp(user)})  # django-otp's throttle after a failure
    assert "Too many wrong codes" in _text(throttled)
    assert Payment.objects.count() == 0
    time.sleep(1.1)  # the first failure's delay (OTP_TOTP_THROTTLE_FACTOR 1 s)
    done = client.post(confirm, {"otp_token": current_totp(user)})
    assert done.status_code == 302
    assert Payment.objects.count() == 1

    # Paid once: no longer new, no code asked.
    again = _confirm_url(_start_payment(client, alice["main"], payee, "10"))
    assert "otp_token" not in _text(client.get(again))
    assert client.post(again).status_code == 302
    assert Payment.objects.count() == 2


def test_a_first_transfer_to_another_customer_asks_for_the_code_too(alice, bob):
    current_totp(alice["user"])
    client = alice["client"]
    data = {"from_account": str(alice["main"].public_id), "kind": "internal", "to_number": bob["main"].number,
            "amount": "5"}  # fmt: skip
    confirm = _confirm_url(client.post(reverse("portal:transfer-new"), data))
    assert "That code is not right" in _text(client.post(confirm, {"otp_token": "12345678"}))
    assert not JournalEntry.objects.filter(kind="transfer").exists()
    time.sleep(1.1)  # django-otp's delay after a wrong code
    assert client.post(confirm, {"otp_token": current_totp(alice["user"])}).status_code == 302
    # Paid before: the next transfer to that account asks for nothing; own accounts never do.
    again = _confirm_url(client.post(reverse("portal:transfer-new"), data))
    assert 'name="otp_token"' not in _text(client.get(again))
    own = {"from_account": str(alice["main"].public_id), "kind": "own", "to_own": str(alice["savings"].public_id),
           "amount": "5"}  # fmt: skip
    assert 'name="otp_token"' not in _text(client.get(_confirm_url(client.post(reverse("portal:transfer-new"), own))))


def test_no_step_up_without_totp(alice):
    payee = support.beneficiary(alice["customer"])
    confirm = _confirm_url(_start_payment(alice["client"], alice["main"], payee, "10"))
    assert "otp_token" not in _text(alice["client"].get(confirm))


# --- the corporate approval flow -----------------------------------------------------------------


def test_a_corporate_payment_waits_for_a_second_user_who_is_not_the_initiator(django_capture_on_commit_callbacks):
    company = support.company()
    payee = support.beneficiary(company.customer)
    clerk, director = portal_client(company.clerk), portal_client(company.director)
    confirm = _confirm_url(_start_payment(clerk, company.account, payee, "5000"))
    assert "need a second person to approve" in _text(clerk.get(confirm))
    created = clerk.post(confirm)
    instruction = PaymentInstruction.objects.get()
    assert created["Location"] == reverse("portal:instruction", args=[instruction.public_id])
    assert Payment.objects.count() == 0  # nothing paid, nothing held
    company.account.refresh_from_db()
    assert company.account.available == Decimal("100000.00")

    # The initiator cannot approve their own, even with the right (the director initiates here).
    page = _text(clerk.get(created["Location"]))
    assert 'value="approve"' not in page
    refused = clerk.post(created["Location"], {"decision": "approve"})
    assert "You may not approve" in _text(refused) or "cannot approve" in _text(refused)
    assert Payment.objects.count() == 0

    listing = _text(director.get(reverse("portal:payments")))
    assert "Waiting for approval" in listing
    assert "Review and approve" in listing
    with django_capture_on_commit_callbacks(execute=True):
        approved = director.post(created["Location"], {"decision": "approve"})
    payment = Payment.objects.get()
    assert approved["Location"] == reverse("portal:payment", args=[payment.public_id])
    assert payment.status == PaymentStatus.SETTLED
    again = director.post(created["Location"], {"decision": "approve"})  # a double submission
    assert "already been approved or rejected" in _text(again)
    assert Payment.objects.count() == 1
    instruction.refresh_from_db()
    assert instruction.status == InstructionStatus.APPROVED
    assert instruction.decided_by == company.director


def test_a_director_cannot_approve_their_own_initiative_and_a_viewer_cannot_approve():
    company = support.company()
    payee = support.beneficiary(company.customer)
    director = portal_client(company.director)
    director.post(_confirm_url(_start_payment(director, company.account, payee, "10")))
    instruction = PaymentInstruction.objects.get()
    url = reverse("portal:instruction", args=[instruction.public_id])
    assert "The user who initiated a payment cannot approve it." in _text(director.post(url, {"decision": "approve"}))
    viewer = portal_client(company.viewer)
    assert "You may not approve payments from this account." in _text(viewer.post(url, {"decision": "approve"}))
    # The clerk (no approve right) cannot either; a rejection by the director is refused too.
    assert Payment.objects.count() == 0
    assert PaymentInstruction.objects.get().status == InstructionStatus.PENDING


def test_a_rejected_corporate_payment_pays_nothing():
    company = support.company()
    payee = support.beneficiary(company.customer)
    clerk, director = portal_client(company.clerk), portal_client(company.director)
    clerk.post(_confirm_url(_start_payment(clerk, company.account, payee, "10")))
    instruction = PaymentInstruction.objects.get()
    url = reverse("portal:instruction", args=[instruction.public_id])
    director.post(url, {"decision": "reject", "note": "wrong invoice"})
    instruction.refresh_from_db()
    assert instruction.status == InstructionStatus.REJECTED
    assert "wrong invoice" in _text(clerk.get(url))
    assert "already been approved or rejected" in _text(director.post(url, {"decision": "approve"}))
    assert Payment.objects.count() == 0


def test_below_the_customers_threshold_a_corporate_user_pays_alone():
    company = support.company()
    customer_set_approval_threshold(
        actor=SYSTEM_ACTOR, customer=company.customer, threshold=Money(Decimal("1000"), "CNY")
    )
    payee = support.beneficiary(company.customer)
    clerk = portal_client(company.clerk)
    clerk.post(_confirm_url(_start_payment(clerk, company.account, payee, "1000")))
    assert Payment.objects.count() == 1
    assert PaymentInstruction.objects.count() == 0
    clerk.post(_confirm_url(_start_payment(clerk, company.account, payee, "1000.01")))
    assert Payment.objects.count() == 1
    assert PaymentInstruction.objects.count() == 1


def test_a_viewer_cannot_pay_from_the_account():
    company = support.company()
    payee = support.beneficiary(company.customer)
    viewer = portal_client(company.viewer)
    response = _start_payment(viewer, company.account, payee, "10")
    assert response.status_code == 200  # the account is not among their choices
    assert "Select a valid choice" in _text(response) or "no account you may pay from" in _text(response)
    assert Payment.objects.count() == 0


# --- beneficiaries --------------------------------------------------------------------------------


def test_beneficiaries_are_added_with_the_payment_apis_rules_and_deleted(alice):
    client = alice["client"]
    bad = client.post(
        reverse("portal:beneficiaries"),
        {"name": "Li Wei", "account_number": "12-34", "bank_code": "X", "country": "ZZ"},
    )
    text = _text(bad)
    assert "Use 1 to 34 letters and digits." in text
    assert "Use 3 to 12 letters and digits" in text
    assert "Use an ISO 3166 alpha-2 country code." in text
    assert SavedBeneficiary.objects.count() == 0
    good = client.post(
        reverse("portal:beneficiaries"),
        {"name": "Li Wei", "account_number": "6222 0202 0011 2233", "bank_code": "icbkcnbj", "country": "cn"},
    )
    assert good.status_code == 302
    saved = SavedBeneficiary.objects.get()
    assert (saved.account_number, saved.bank_code, saved.country) == ("6222020200112233", "ICBKCNBJ", "CN")
    duplicate = client.post(
        reverse("portal:beneficiaries"),
        {"name": "Li Wei", "account_number": "6222020200112233", "bank_code": "ICBKCNBJ", "country": "CN"},
    )
    assert "already in your beneficiaries" in _text(duplicate)
    delete_url = reverse("portal:beneficiary-delete", args=[saved.public_id])
    assert client.get(delete_url).status_code == 200
    assert client.post(delete_url).status_code == 302
    assert SavedBeneficiary.objects.count() == 0


# --- another customer's ids answer 404 and change nothing --------------------------------------


def test_another_customers_ids_answer_404(alice, bob):
    payee = support.beneficiary(bob["customer"])
    bob_client = bob["client"]
    bob_client.post(_confirm_url(_start_payment(bob_client, bob["main"], payee, "10")))
    payment = Payment.objects.get()
    company = support.company()
    company_payee = support.beneficiary(company.customer)
    clerk = portal_client(company.clerk)
    clerk.post(_confirm_url(_start_payment(clerk, company.account, company_payee, "10")))
    instruction = PaymentInstruction.objects.get()
    bob_client.post(
        reverse("portal:transfer-new"),
        {"from_account": str(bob["main"].public_id), "kind": "internal", "to_number": company.account.number,
         "amount": "5"},
    )  # fmt: skip
    entry = JournalEntry.objects.filter(kind="transfer").first()

    client = alice["client"]
    before = (ledger_state(), Payment.objects.count(), SavedBeneficiary.objects.count())
    assert client.get(reverse("portal:payment", args=[payment.public_id])).status_code == 404
    assert client.get(reverse("portal:beneficiary-delete", args=[payee.public_id])).status_code == 404
    assert client.post(reverse("portal:beneficiary-delete", args=[payee.public_id])).status_code == 404
    assert client.get(reverse("portal:instruction", args=[instruction.public_id])).status_code == 404
    assert (
        client.post(reverse("portal:instruction", args=[instruction.public_id]), {"decision": "approve"}).status_code
        == 404
    )
    if entry is not None:
        assert client.get(reverse("portal:transfer", args=[entry.public_id])).status_code == 404
    # Paying from another customer's account or to their beneficiary: not among the choices.
    response = _start_payment(client, bob["main"], payee, "1")
    assert response.status_code == 200
    assert Payment.objects.count() == before[1]
    assert (ledger_state(), Payment.objects.count(), SavedBeneficiary.objects.count()) == before
