"""Fixtures shared by every test: real OAuth2 clients, customers, accounts, money."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from apps.accounts.models import Account
from apps.accounts.services import account_open
from apps.api.services import api_client_create
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.customers.identity import china_resident_id_for
from apps.customers.models import Customer
from apps.customers.services import customer_create, customer_decide_kyc
from apps.transactions.services import deposit_create

pytest_plugins = ["tests.browser"]

ALL_SCOPES = sorted(
    [
        "customers:read",
        "customers:write",
        "kyc:write",
        "pii:read",
        "accounts:read",
        "accounts:write",
        "cash:write",
        "payments:write",
        "approvals:write",
        "treasury:write",
        "reports:read",
        "webhooks:write",
    ]
)


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (CI does)")
    skip_redis = pytest.mark.skip(reason="needs Redis: set REDIS_URL (CI does)")
    from tests.browser import browser_unavailable_reason

    browser_missing = browser_unavailable_reason()
    skip_browser = pytest.mark.skip(reason=browser_missing or "")
    for item in items:
        if "browser" in item.keywords and browser_missing:
            item.add_marker(skip_browser)
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not settings.REDIS_URL:
            item.add_marker(skip_redis)


@pytest.fixture(autouse=True)
def _fresh_emergency_controls() -> None:
    """Each process keeps the active emergency controls for up to a second; a test's rolled-back
    switches must not leak into the next test."""
    from apps.common.controls import controls_forget

    controls_forget()


@pytest.fixture(autouse=True)
def _chart_of_accounts(request: Any) -> None:
    """Transactional tests flush every table, migration-made rows included: put them back."""
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in request.fixturenames or (marker is not None and marker.kwargs.get("transaction")):
        from apps.accounts.services import chart_of_accounts_ensure

        request.getfixturevalue("transactional_db")
        chart_of_accounts_ensure()


class ApiCaller:
    """An OAuth2 client of the API that got its token from the real token endpoint."""

    def __init__(self, client_id: str, client_secret: str, customer: Customer | None = None) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.customer = customer
        self.http = Client()
        response = self.http.post(
            "/api/v1/oauth/token/",
            {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
        )
        assert response.status_code == 200, response.content
        self.token = response.json()["access_token"]

    def _headers(self, key: str | None) -> dict[str, str]:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}
        if key is not None:
            headers["HTTP_IDEMPOTENCY_KEY"] = key
        return headers

    def get(self, path: str, **params: Any) -> Any:
        return self.http.get(path, params, **self._headers(None))

    def post(self, path: str, body: Any = None, *, key: str | None = "auto", raw: str | None = None) -> Any:
        """POST JSON; `key="auto"` sends a fresh Idempotency-Key, None sends none."""
        if key == "auto":
            key = str(uuid.uuid4())
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.http.post(path, data, content_type="application/json", **self._headers(key))


@pytest.fixture
def staff_client(db: Any) -> Callable[..., Client]:
    """`staff_client("admin")`: a session of that staff user past both factors (password, TOTP)."""
    from tests.support import verified_staff_client

    return verified_staff_client


@pytest.fixture
def make_api(db: Any) -> Callable[..., ApiCaller]:
    def make(scopes: list[str] | str = ALL_SCOPES, customer: Customer | None = None, name: str = "test") -> ApiCaller:
        scope_list = scopes.split() if isinstance(scopes, str) else list(scopes)
        issued = api_client_create(name=name, scopes=scope_list, customer=customer)
        return ApiCaller(issued.client_id, issued.client_secret, customer)

    return make


@pytest.fixture
def api(make_api: Callable[..., ApiCaller]) -> ApiCaller:
    """A bank-wide (`system` channel) client holding every scope."""
    return make_api()


@pytest.fixture
def make_customer(db: Any) -> Callable[..., Customer]:
    counter = iter(range(1, 10_000))

    def make(*, verified: bool = True, name: str | None = None, kind: str = "individual") -> Customer:
        n = next(counter)
        if kind == "individual":
            birth = dt.date(1980, 1, 1) + dt.timedelta(days=n)
            customer = customer_create(
                actor=SYSTEM_ACTOR,
                kind=kind,
                full_name=name or f"Customer {n}",
                country="CN",
                national_id=china_resident_id_for(birth, n),
                date_of_birth=birth,
                email=f"c{n}@example.com",
            )
        else:
            customer = customer_create(
                actor=SYSTEM_ACTOR,
                kind=kind,
                full_name=name or f"Company {n}",
                country="SG",
                national_id=f"UEN{n:06d}X",
            )
        if verified:
            customer = customer_decide_kyc(actor=SYSTEM_ACTOR, customer=customer, decision="verified")
        return customer

    return make


@pytest.fixture
def make_account(make_customer: Callable[..., Customer]) -> Callable[..., Account]:
    def make(customer: Customer | None = None, currency: str = "CNY", balance: str | Decimal = "0") -> Account:
        account = account_open(actor=SYSTEM_ACTOR, customer=customer or make_customer(), currency=currency)
        if Decimal(balance) > 0:
            deposit_create(actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal(balance), currency))
            account.refresh_from_db()
        return account

    return make


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how much of the permission matrix was proven (tests/test_permission_matrix.py)."""
    import sys

    matrix = sys.modules.get("tests.test_permission_matrix")
    checked = getattr(matrix, "CHECKED", None)
    if checked:
        per = ", ".join(f"{principal} {n}" for principal, n in checked.items())
        terminalreporter.write_line(
            f"permission matrix: {sum(checked.values())} (URL x principal) pairs checked across "
            f"{len(matrix.PATTERNS)} URL patterns ({per})"
        )
