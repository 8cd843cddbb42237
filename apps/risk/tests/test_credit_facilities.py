"""Overdraft facilities: asked for by one person, approved by another (never the maker); an
active facility lets the account go below zero down to its limit and not a cent further (422
insufficient_funds), ends by date or by hand without forgiving what is drawn; the credit score
explains its suggestion from the customer's own ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Account
from apps.common.errors import CustomerNotVerified, InsufficientFunds, PermissionDenied, ValidationFailed
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.compliance.services import approval_approve, approval_reject
from apps.risk.models import FacilityStatus, OverdraftFacility, RiskProfile
from apps.risk.services_credit import credit_score, facilities_sync, facility_end, facility_request
from apps.transactions.services import deposit_create, transfer_create, withdrawal_create
from tests.support import assert_problem, ledger_state

MAKER = Actor(label="user:credit-maker", channel=Channel.BRANCH)
CHECKER = Actor(label="user:credit-checker", channel=Channel.BRANCH)


def grant(account: Account, limit: str, **terms) -> OverdraftFacility:
    facility = facility_request(
        actor=MAKER, account=account, limit=Money(Decimal(limit), account.currency), rate=Decimal("12.5"), **terms
    )
    assert facility.approval is not None
    approval_approve(actor=CHECKER, approval=facility.approval)
    facility.refresh_from_db()
    return facility


def limit_of(account: Account) -> Decimal:
    account.refresh_from_db()
    return account.overdraft_limit


def test_a_facility_lends_nothing_until_another_person_approves_it(make_account):
    account = make_account(balance="100")
    facility = facility_request(
        actor=MAKER, account=account, limit=Money(Decimal("500"), "CNY"), rate=Decimal("12.5"), reason="salary gap"
    )
    assert facility.status == FacilityStatus.PENDING
    assert facility.approval.action == "risk.facility_approve"
    assert facility.credit_score["factors"]["kyc"]["value"] == "verified"
    assert limit_of(account) == 0
    with pytest.raises(InsufficientFunds), transaction.atomic():
        withdrawal_create(actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal("100.01"), "CNY"))
    with pytest.raises(PermissionDenied):
        approval_approve(actor=MAKER, approval=facility.approval)  # the maker can never approve their own
    facility.refresh_from_db()
    assert facility.status == FacilityStatus.PENDING
    assert limit_of(account) == 0
    approval_approve(actor=CHECKER, approval=facility.approval)
    facility.refresh_from_db()
    assert (facility.status, facility.approved_by) == (FacilityStatus.ACTIVE, "user:credit-checker")
    assert limit_of(account) == Decimal("500")


def test_a_rejected_request_is_declined_and_lends_nothing(make_account):
    account = make_account()
    facility = facility_request(actor=MAKER, account=account, limit=Money(Decimal("500"), "CNY"), rate=Decimal(8))
    approval_reject(actor=CHECKER, approval=facility.approval, reason="no income")
    assert facilities_sync()["declined"] == 1
    facility.refresh_from_db()
    assert facility.status == FacilityStatus.DECLINED
    assert limit_of(account) == 0


def test_bad_requests_are_refused_and_ask_nobody(make_account, make_customer):
    account = make_account()
    usd = make_account(currency="USD")
    from apps.compliance.models import Approval

    for kwargs in (
        {"account": account, "limit": Money(Decimal(0), "CNY"), "rate": Decimal(5)},
        {"account": account, "limit": Money(Decimal("0.001"), "CNY"), "rate": Decimal(5)},
        {"account": account, "limit": Money(Decimal(100), "USD"), "rate": Decimal(5)},
        {"account": usd, "limit": Money(Decimal(100), "CNY"), "rate": Decimal(5)},
        {"account": account, "limit": Money(Decimal(100), "CNY"), "rate": Decimal(-1)},
        {"account": account, "limit": Money(Decimal(100), "CNY"), "rate": Decimal(101)},
        {
            "account": account,
            "limit": Money(Decimal(100), "CNY"),
            "rate": Decimal(5),
            "valid_from": timezone.localdate(),
            "valid_to": timezone.localdate() - dt.timedelta(days=1),
        },
    ):
        with pytest.raises(ValidationFailed):
            facility_request(actor=MAKER, **kwargs)
    with pytest.raises(PermissionDenied):
        facility_request(
            actor=Actor(label="client:x", channel=Channel.API, customer_id=account.customer_id),
            account=account,
            limit=Money(Decimal(100), "CNY"),
            rate=Decimal(5),
        )
    facility_request(actor=MAKER, account=account, limit=Money(Decimal(100), "CNY"), rate=Decimal(5))
    with pytest.raises(ValidationFailed):  # one request waiting per account
        facility_request(actor=MAKER, account=account, limit=Money(Decimal(200), "CNY"), rate=Decimal(5))
    assert Approval.objects.filter(action="risk.facility_approve").count() == 1
    unverified = make_customer(verified=False)
    other = Account.objects.create(
        number="6200000000000097", customer=unverified, product=account.product, currency="CNY", status="active"
    )
    with pytest.raises(CustomerNotVerified):
        facility_request(actor=MAKER, account=other, limit=Money(Decimal(100), "CNY"), rate=Decimal(5))


def test_overdraft_goes_down_to_the_limit_and_not_a_cent_further_through_the_api(make_account, api):
    source, target = make_account(balance="100"), make_account()
    grant(source, "500")

    def transfer(amount: str):
        return api.post(
            "/api/v1/transfers/",
            {
                "from_account": str(source.public_id),
                "to_account": str(target.public_id),
                "amount": amount,
                "currency": "CNY",
            },
        )

    assert transfer("599.99").status_code == 201
    source.refresh_from_db()
    assert (source.balance, source.available) == (Decimal("-499.99"), Decimal("-499.99"))
    before = ledger_state()
    problem = assert_problem(transfer("0.02"), 422, "insufficient_funds")
    assert problem["overdraft_limit"] == "500.00"
    assert "overdraft limit of 500.00 CNY" in problem["detail"]
    assert ledger_state() == before
    assert transfer("0.01").status_code == 201
    source.refresh_from_db()
    assert source.balance == Decimal("-500.00")
    assert_problem(transfer("0.01"), 422, "insufficient_funds")
    assert ledger_state()[0] == before[0] + 1


def test_ending_a_facility_stops_drawing_keeps_the_debt_and_follows_repayment_down(make_account):
    account, target = make_account(), make_account()
    facility = grant(account, "1000")
    transfer_create(
        actor=SYSTEM_ACTOR,
        from_account=account.public_id,
        to_account=target.public_id,
        money=Money(Decimal(300), "CNY"),
    )
    with pytest.raises(ValidationFailed):
        facility_end(actor=MAKER, facility=facility, reason=" ")
    facility_end(actor=MAKER, facility=facility, reason="customer asked")
    facility.refresh_from_db()
    assert facility.status == FacilityStatus.ENDED
    assert limit_of(account) == Decimal(300)  # what is drawn stays owed; nothing more can be drawn
    with pytest.raises(InsufficientFunds), transaction.atomic():
        withdrawal_create(actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal("0.01"), "CNY"))
    deposit_create(actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal(200), "CNY"))
    assert facilities_sync()["lowered"] == 1
    assert limit_of(account) == Decimal(100)
    deposit_create(actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal(150), "CNY"))
    facilities_sync()
    assert limit_of(account) == 0
    assert facilities_sync()["lowered"] == 0  # idempotent


def test_a_facility_starts_on_its_first_day_and_ends_after_its_last(make_account):
    account = make_account()
    today = timezone.localdate()
    facility = grant(account, "400", valid_from=today + dt.timedelta(days=2), valid_to=today + dt.timedelta(days=5))
    assert facility.status == FacilityStatus.SCHEDULED
    assert limit_of(account) == 0
    assert facilities_sync(today=today + dt.timedelta(days=1))["started"] == 0
    assert facilities_sync(today=today + dt.timedelta(days=2))["started"] == 1
    assert limit_of(account) == Decimal(400)
    assert facilities_sync(today=today + dt.timedelta(days=5))["ended"] == 0  # its last day
    assert facilities_sync(today=today + dt.timedelta(days=6))["ended"] == 1
    facility.refresh_from_db()
    assert facility.status == FacilityStatus.ENDED
    assert limit_of(account) == 0


def test_a_new_facility_replaces_the_active_one(make_account):
    account = make_account()
    first = grant(account, "400")
    second = grant(account, "250")
    first.refresh_from_db()
    assert (first.status, second.status) == (FacilityStatus.ENDED, FacilityStatus.ACTIVE)
    assert limit_of(account) == Decimal(250)


def test_the_credit_score_explains_its_suggestion_from_the_ledger(make_customer, make_account):
    customer = make_customer()
    account = make_account(customer=customer)
    now = timezone.now()
    for days_ago in (85, 55, 25):  # three months with 3,000 CNY coming in
        deposit_create(
            actor=SYSTEM_ACTOR,
            account=account.public_id,
            money=Money(Decimal(3000), "CNY"),
            booked_at=now - dt.timedelta(days=days_ago) + dt.timedelta(hours=1),
        )
    score = credit_score(customer=customer, currency="CNY", now=now)
    # day-end balances over 90 days: 3,000 for 85 days, 3,000 more for 55, 3,000 more for 25
    assert score.factors["average_balance"] == {"value": "5500.00", "points": 20}
    assert score.factors["inflows"] == {"value": "3000.00", "months_with_inflow": 3, "points": 20}
    assert score.factors["kyc"] == {"value": "verified", "points": 20}
    assert score.factors["tenure_months"] == {"value": 0, "points": 0}
    assert score.factors["risk_score"] == {"value": None, "points": 10}
    assert score.score == 70
    assert score.suggested_limit == Decimal(1000)  # 3,000 x 50 % x 0.70 = 1,050, down to 100s
    RiskProfile.objects.create(customer=customer, score=65)
    risky = credit_score(customer=customer, currency="CNY", now=now)
    assert risky.factors["risk_score"] == {"value": 65, "points": 0}
    assert risky.suggested_limit == 0  # too risky for credit at all


def test_a_customer_without_history_is_suggested_nothing(make_customer):
    score = credit_score(customer=make_customer(), currency="CNY")
    assert score.suggested_limit == 0
    assert score.factors["inflows"]["months_with_inflow"] == 0
