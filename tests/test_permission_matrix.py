"""The permission matrix, proven on every URL: each pattern the resolver serves (API, admin,
probes, the portal, and the back office as it arrives) needs a policy in tests/url_policies.py,
and is requested once per principal - anonymous, every staff role, on the API a bank client and a
customer-bound client, and two portal logins: an individual customer's (the owner of every id in
the example paths) and a corporate customer's (to whom those ids belong to another customer, so
id-bearing portal URLs must answer 404) - to check that the answer matches the policy and the roles in
apps/common/roles.py. Each request runs in a savepoint that is rolled back, so pairs do not
change what later pairs see. The number of pairs checked is printed in the terminal summary.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from collections import Counter
from decimal import Decimal
from typing import Any

import django.test.client
import pytest
from axes.models import AccessAttempt, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask, SolarSchedule
from oauth2_provider.models import AccessToken, Grant, IDToken, RefreshToken

from apps.accounts.services import hold_create, mandate_grant
from apps.audit.models import AuditCheckpoint
from apps.audit.services import checkpoint_create
from apps.common.models import EmergencyControl
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.common.roles import ROLES, role_holds
from apps.compliance.aml import case_open, watchlist_import
from apps.compliance.models import Case, ReportRecord, ReportRule, Watchlist, WatchlistEntry
from apps.customers.models import Customer, PortalUser
from apps.customers.services import customer_assign_relationship_manager
from apps.eod.models import BusinessDay, StepRun
from apps.integrations.models import Delivery, WebhookEndpoint
from apps.integrations.services import outbox_relay
from apps.reports.services import report_request
from apps.risk.models import Alert, FxPositionLimit, OverdraftFacility, RiskProfile
from apps.support.services import FaqData, faq_create, feedback_submit
from apps.transactions.models import JournalEntry, PaymentInstruction
from apps.transactions.services_beneficiaries import beneficiary_save
from apps.treasury.models import Break, FxDeal, FxRate, SettlementFile
from apps.treasury.services_recon import settlement_file_import
from tests.support import payment_body, portal_client, portal_login_user, verified_staff_client
from tests.url_policies import Policy, policy_for

CHECKED: Counter[str] = Counter()  # principal -> pairs checked; reported by conftest's summary
API_PRINCIPALS = ("bank_client", "bound_client")
PORTAL_PRINCIPALS = ("portal_individual", "portal_corporate")
PRINCIPALS = ("anonymous", *ROLES, *API_PRINCIPALS, *PORTAL_PRINCIPALS)
SERVED_METHODS = ("get", "post", "put", "patch", "delete")


def url_patterns(patterns: Any = None, prefix: str = "", namespace: str = "") -> list[tuple[str, str | None, Any]]:
    """Every (full route, namespaced name or None, callback) the resolver serves, through includes."""
    found: list[tuple[str, str | None, Any]] = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            found += url_patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            assert isinstance(pattern, URLPattern)
            name = f"{namespace}{pattern.name}" if pattern.name else None
            found.append((prefix + str(pattern.pattern), name, pattern.callback))
    return found


PATTERNS = url_patterns()


def methods_of(route: str, callback: Any) -> list[str]:
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if route.startswith("api/") and view_class is not None:
        return [m.upper() for m in SERVED_METHODS if hasattr(view_class, m)] or ["GET"]
    return ["GET"]


def test_every_url_pattern_has_a_policy():
    missing = [f"{name or '(unnamed)'}  {route}" for route, name, _cb in PATTERNS if policy_for(route, name) is None]
    assert not missing, (
        "URL patterns without an access policy; add one line each to URL_POLICIES in tests/url_policies.py:\n  "
        + "\n  ".join(missing)
    )


def test_a_url_without_a_policy_is_reported():
    """The check above cannot pass by accident: an unknown route has no policy."""
    assert policy_for("staff/brand-new/", "staff:brand-new") is None
    assert policy_for("admin/customers/customer/", "admin:customers_customer_changelist") is not None


# --- the world every principal is tried in ---------------------------------------------------------


def _watchlist() -> Any:
    data = b"name,aliases,country,birth_date,list_id\nMatrix Listed Person,,XX,,M-1\n"
    return watchlist_import(actor=SYSTEM_ACTOR, name="matrix", source_format="csv", data=data)


def _admin_rows(bound_customer: Customer, bound_account: Any, user: User) -> dict[type[models.Model], Any]:
    """One row of every model the admin shows (those the test setup did not make are made here)."""
    application = AccessToken.objects.select_related("application").first().application
    later = timezone.now() + dt.timedelta(hours=1)
    makers: dict[type[models.Model], Any] = {
        IntervalSchedule: lambda: IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS),
        CrontabSchedule: lambda: CrontabSchedule.objects.create(minute="0", hour="1"),
        SolarSchedule: lambda: SolarSchedule.objects.create(event="sunrise", latitude=31.2, longitude=121.5),
        ClockedSchedule: lambda: ClockedSchedule.objects.create(clocked_time=later),
        PeriodicTask: lambda: PeriodicTask.objects.create(
            name="matrix", task="noop", crontab=CrontabSchedule.objects.create(minute="5", hour="2")
        ),
        Grant: lambda: Grant.objects.create(
            user=user, application=application, code="c", expires=later, redirect_uri="https://x.example/cb"
        ),
        IDToken: lambda: IDToken.objects.create(user=user, application=application, expires=later),
        RefreshToken: lambda: RefreshToken.objects.create(user=user, application=application, token="r"),
        AccessAttempt: lambda: AccessAttempt.objects.create(
            username="someone", ip_address="10.0.0.9", user_agent="", path_info="/staff/login/", failures_since_start=1
        ),
        AccessLog: lambda: AccessLog.objects.create(
            username=user.username, ip_address="10.0.0.9", user_agent="", path_info="/staff/login/"
        ),
        AuditCheckpoint: lambda: checkpoint_create(actor="test:matrix")[0],
        FxRate: lambda: FxRate.objects.create(
            base="USD", quote="CNY", mid=Decimal(7), valid_from=timezone.now(), set_by="test:a", approved_by="test:b"
        ),
        FxDeal: lambda: FxDeal.objects.create(
            entry=JournalEntry.objects.order_by("pk").first(),
            sell_currency="CNY",
            sell_amount=Decimal(7),
            buy_currency="USD",
            buy_amount=Decimal(1),
            mid_rate=Decimal("0.15"),
            customer_rate=Decimal("0.14"),
            spread_bps=50,
            rate=FxRate.objects.order_by("pk").first(),
        ),
        SettlementFile: lambda: (
            settlement_file_import(
                actor=SYSTEM_ACTOR,
                content=b"gateway_reference,payment_id,amount,currency,status,value_date\nG,nobody,1.00,CNY,settled,2026-01-01\n",
                filename="matrix.csv",
                fmt="csv",
            ).file
        ),
        Break: lambda: Break.objects.order_by("pk").first(),
        # Lifted at once: an active switch would refuse the requests this test makes.
        EmergencyControl: lambda: EmergencyControl.objects.create(
            kind="read_only", active=False, reason="matrix", activated_by="test", activated_at=timezone.now()
        ),
        BusinessDay: lambda: BusinessDay.objects.create(date=dt.date(2027, 1, 1), state="closed"),
        StepRun: lambda: StepRun.objects.create(business_date=dt.date(2027, 1, 1), step="snapshot"),
        Watchlist: lambda: _watchlist().watchlist,
        WatchlistEntry: lambda: (_watchlist(), WatchlistEntry.objects.order_by("pk").first())[1],
        Case: lambda: case_open(kind="screening_hit", summary="matrix", customer_id=bound_customer.pk),
        ReportRecord: lambda: ReportRecord.objects.create(
            rule=ReportRule.objects.order_by("pk").first(),
            customer=bound_customer,
            business_date=dt.date(2026, 3, 2),
            total=Decimal("50000"),
            currency="CNY",
            transaction_count=1,
        ),
    }
    makers[Alert] = lambda: Alert.objects.create(
        customer=bound_customer, outcome="review", reason="matrix", kind="transfer", amount=Decimal(1), currency="CNY"
    )
    makers[RiskProfile] = lambda: RiskProfile.objects.create(customer=bound_customer)
    makers[OverdraftFacility] = lambda: OverdraftFacility.objects.create(
        account=bound_account, customer=bound_customer, limit=Decimal(100), currency=bound_account.currency,
        rate=Decimal(10), valid_from=dt.date(2026, 3, 2), requested_by="matrix",
    )  # fmt: skip
    makers[FxPositionLimit] = lambda: FxPositionLimit.objects.create(currency="USD", limit=Decimal(1000))
    rows: dict[type[models.Model], Any] = {Customer: bound_customer, type(bound_account): bound_account}
    for model in admin.site._registry:
        if model in rows:
            continue
        row = model._default_manager.order_by("pk").first()
        if row is None and model in makers:
            row = makers[model]()
        assert row is not None, f"the matrix test needs a row of {model._meta.label}: add a maker in _admin_rows"
        rows[model] = row
    return rows


@pytest.fixture
def world(api, make_api, make_customer, make_account) -> dict[str, Any]:
    mine = make_customer(name="Matrix Customer")
    account = make_account(customer=mine, balance="100")
    second = make_account(customer=mine)
    bound = make_api(customer=mine)
    moved = api.post(
        "/api/v1/transfers/",
        {"from_account": str(account.public_id), "to_account": str(second.public_id), "amount": "1", "currency": "CNY"},
    )
    assert moved.status_code == 201, moved.content
    hold = hold_create(actor=SYSTEM_ACTOR, account=account, amount=Money(Decimal("2"), "CNY"))
    paid = api.post("/api/v1/payments/", payment_body(str(account.public_id), "3.00", "matrix"))
    assert paid.status_code == 202, paid.content
    # The bank client's webhook endpoint, and a delivery of the payment's events to it.
    hook = api.post("/api/v1/webhooks/", {"url": "https://example.com/hook", "event_kinds": []})
    assert hook.status_code == 201, hook.content
    endpoint = WebhookEndpoint.objects.get(public_id=hook.json()["id"])
    outbox_relay()
    maker = make_api(name="maker")  # another principal asks, so the bank client may decide
    assert maker.post(f"/api/v1/accounts/{second.public_id}/freeze/", {}, key=None).status_code == 200
    unfreeze = maker.post(f"/api/v1/accounts/{second.public_id}/unfreeze/", {}, key=None)
    assert unfreeze.status_code == 202, unfreeze.content

    users: dict[str, User] = {}
    clients: dict[str, Client] = {"anonymous": Client()}
    for role in ROLES:
        user = User.objects.create_user(username=f"matrix-{role}", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        users[role] = user
        clients[role] = verified_staff_client(user)  # password and TOTP: what every staff page needs
    customer_assign_relationship_manager(
        actor=SYSTEM_ACTOR, customer=mine, manager=User.objects.get(pk=users["relationship_manager"].pk)
    )
    # Portal logins: the owner of `mine` (an individual), and a user of another, corporate customer
    # who holds the view right on that company's account only.
    clients["portal_individual"] = portal_client(portal_login_user(mine, "matrix-portal-individual"))
    company = make_customer(name="Matrix Company", kind="corporate")
    company_account = make_account(customer=company, balance="10")
    corporate_login = portal_login_user(company, "matrix-portal-corporate")
    mandate_grant(
        actor=SYSTEM_ACTOR,
        portal_user=PortalUser.objects.get(user=corporate_login),
        account=company_account,
        rights={"view_account_portal"},
    )
    clients["portal_corporate"] = portal_client(corporate_login)
    # The portal's money pages (ids of `mine`): a saved beneficiary, a confirmation screen in the
    # individual's session, and a payment instruction awaiting approval on their account.
    payee = beneficiary_save(
        actor=SYSTEM_ACTOR, customer=mine, name="Matrix Payee", account_number="6222020200112233",
        bank_code="ICBKCNBJ", country="CN",
    )  # fmt: skip
    started = clients["portal_individual"].post(
        "/portal/payments/new/",
        {"from_account": str(account.public_id), "beneficiary": str(payee.public_id), "amount": "1"},
    )
    assert started.status_code == 302, started.content
    instruction = PaymentInstruction.objects.create(
        kind="transfer", account=account, amount=Decimal("1"), currency="CNY", to_account=second,
        initiated_by=User.objects.get(username="matrix-portal-individual"),
    )  # fmt: skip
    report = report_request(
        actor=Actor(label="matrix:bound", channel=Channel.API, customer_id=mine.pk),
        kind="statement",
        format="csv",
        account_public_id=account.public_id,
        start_date=timezone.now().date(),
        end_date=timezone.now().date(),
    )
    # a support ticket of the customer (the relationship manager's) and an FAQ entry
    ticket = feedback_submit(
        actor=SYSTEM_ACTOR,
        portal_user=PortalUser.objects.get(user__username="matrix-portal-individual"),
        subject="Matrix",
        message="Matrix feedback",
    )
    faq_entry = faq_create(
        actor=SYSTEM_ACTOR, data=FaqData(question_en="Q?", question_zh="问", answer_en="A.", answer_zh="答。")
    )
    rows = _admin_rows(mine, account, users["teller"])
    return {
        "clients": clients,
        "tokens": {"bank_client": api.token, "bound_client": bound.token},
        "api_kwargs": {
            "customer_id": mine.public_id,
            "account_id": account.public_id,
            "transaction_id": moved.json()["id"],
            "hold_id": hold.public_id,
            "approval_id": unfreeze.json()["approval"],
            "payment_id": paid.json()["id"],
            "webhook_id": endpoint.public_id,
            "report_id": report.public_id,
            "delivery_id": Delivery.objects.filter(endpoint=endpoint).values_list("public_id", flat=True).get(),
            "beneficiary_id": payee.public_id,
            "instruction_id": instruction.public_id,
            "confirmation": started["Location"].rstrip("/").rsplit("/", 1)[-1],
            "ticket_id": ticket.public_id,
            "faq_id": faq_entry.pk,
            "case_id": rows[Case].public_id,  # back office pages
            "alert_id": rows[Alert].public_id,
        },
        "rows": rows,
        "user": users["teller"],
        "customer": mine,
    }


def concrete_path(route: str, world: dict[str, Any]) -> str:
    if route == "admin/(?P<url>.*)$":
        return "/admin/no-such-page/"
    if route.startswith("admin/^(?P<app_label>"):
        return "/admin/api/"
    assert "(?P" not in route, f"no example path for the regex route {route}: add one in concrete_path"

    def value(match: re.Match[str]) -> str:
        name = match.group(2)
        if name in world["api_kwargs"]:
            return str(world["api_kwargs"][name])
        if name == "uidb64":
            return "MQ"
        if name == "token":
            return "not-a-token"
        if name == "content_type_id":
            return str(ContentType.objects.get_for_model(Customer).pk)
        if name == "id":
            return str(world["user"].pk)
        if name == "object_id":
            if route.startswith("admin/r/"):
                return str(world["customer"].pk)
            for model, row in world["rows"].items():
                if route.startswith(f"admin/{model._meta.app_label}/{model._meta.model_name}/"):
                    return str(row.pk)
        raise AssertionError(f"no example value for <{match.group(0)}> in {route}: add one in concrete_path")

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


# --- what each principal should get -----------------------------------------------------------------


@pytest.fixture
def fast_requests(monkeypatch) -> Any:
    """Hundreds of expected 401/403/404s: formatting each one's traceback for the log costs more
    than the request itself; so does the test client's copy of every template context, which
    nothing here reads."""
    monkeypatch.setattr(django.test.client, "store_rendered_templates", lambda *args, **kwargs: None)
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


def expected(policy: Policy, principal: str, method: str, route: str = "") -> str:
    if policy.kind == "public":
        return "allowed"
    if policy.kind == "to_login":
        return "login"
    if policy.kind == "signed":
        return "unauthenticated"
    if policy.kind == "api":
        if principal == "bank_client":
            return "allowed"
        if principal == "bound_client":
            return "denied" if method in policy.bank_only else "allowed"
        return "unauthenticated"  # no bearer token: sessions do not count on the API
    if policy.kind in ("portal", "portal_step"):
        if principal in PORTAL_PRINCIPALS:
            if principal == "portal_corporate" and "<" in route:
                return "not_found"  # the example ids are the individual customer's
            return "allowed"
        if principal == "anonymous" or policy.kind == "portal_step":
            return "portal_login"
        return "denied"  # staff users: the portal is not theirs
    if principal == "anonymous" or principal in PORTAL_PRINCIPALS:
        return "login"  # portal sessions are not staff sessions: sent to the staff login
    if policy.kind == "nobody":
        return "denied"
    assert policy.kind == "staff", policy
    return "allowed" if not policy.perms or any(role_holds(principal, p) for p in policy.perms) else "denied"


def outcome(response: Any, policy: Policy) -> str:
    status = response.status_code
    if status == 501:
        return "allowed"  # a known route whose feature is not built yet (payments)
    if status >= 500:
        return f"error {status}"
    if status == 401:
        return "unauthenticated"
    if status == 403 or (policy.kind == "staff" and policy.denied != 403 and status == policy.denied):
        return "denied"
    if status in (301, 302) and response["Location"].split("?")[0].endswith(("/staff/login/", "/admin/login/")):
        return "login"
    if status in (301, 302) and response["Location"].split("?")[0].endswith("/portal/login/"):
        return "portal_login"
    if status == 404 and policy.kind == "portal":
        return "not_found"
    return "allowed"


def request(world: dict[str, Any], principal: str, method: str, path: str, policy: Policy) -> Any:
    client = world["clients"].get(principal) or Client()
    headers = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    if principal in API_PRINCIPALS:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {world['tokens'][principal]}"
    with transaction.atomic():  # a savepoint: whatever the request changes is undone
        if method == "GET":
            response = client.get(path, **headers)
        else:
            body = json.dumps(policy.body or {})
            response = client.generic(method, path, body, content_type="application/json", **headers)
        transaction.set_rollback(True)
    return response


def test_every_url_answers_every_principal_as_its_policy_says(world, fast_requests):
    """One request per (URL pattern, method, principal); every mismatch is listed."""
    mismatches = []
    for route, name, callback in PATTERNS:
        policy = policy_for(route, name)
        assert policy is not None, f"{name or route} has no policy (see test_every_url_pattern_has_a_policy)"
        path = concrete_path(route, world)
        for principal in PRINCIPALS:
            if principal in API_PRINCIPALS and not route.startswith("api/"):
                continue  # API clients hold bearer tokens: to pages they are anonymous visitors
            for method in methods_of(route, callback):
                want = expected(policy, principal, method, route)
                response = request(world, principal, method, path, policy)
                got = outcome(response, policy)
                CHECKED[principal] += 1
                if got != want:
                    mismatches.append(
                        f"{principal}: {method} {path} ({name or route}): expected {want}, got {got} {response.status_code}"
                    )
    assert set(CHECKED) == set(PRINCIPALS)
    assert not mismatches, "\n  ".join(["answers that differ from tests/url_policies.py:", *mismatches])
