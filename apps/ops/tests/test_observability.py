"""Probes, metrics and request ids: /readyz states, /metrics restricted and carrying the business
counters, X-Request-ID in responses and in the log lines of the Celery tasks a request sends."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from celery import shared_task
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families

from apps.common import controls
from apps.common.heartbeat import HEARTBEAT_KEY, heartbeat_write
from apps.common.request_context import TASK_HEADER, request_id_bind, request_id_unbind
from apps.ops import views as ops_views
from apps.ops.middleware import RequestIdMiddleware
from finsys.celery import _carry_request_id

# --- /healthz and /readyz -------------------------------------------------------------------


def test_healthz_answers_ok(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ready_when_database_and_migrations_are(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    if settings.REDIS_URL:
        assert body["checks"]["redis"] == "ok"
        assert body["checks"]["worker"] in {"ok", "stale", "missing"}
    else:
        assert body["checks"] == {"database": "ok", "redis": "not configured", "worker": "eager"}


@pytest.mark.django_db
def test_readyz_is_503_when_redis_does_not_answer(client: Client, settings: Any) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["problems"] == ["redis unavailable: ConnectionError"]
    assert body["checks"]["worker"] == "unknown"


@pytest.mark.django_db
def test_readyz_is_503_while_migrations_are_pending(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    class PendingExecutor:
        def __init__(self, connection: Any) -> None:
            self.loader = type("Loader", (), {"graph": type("Graph", (), {"leaf_nodes": lambda self: []})()})()

        def migration_plan(self, targets: Any) -> list[Any]:
            return [("common", "9999_not_yet")]

    monkeypatch.setattr(ops_views, "_migrations_ok", False)
    monkeypatch.setattr(ops_views, "MigrationExecutor", PendingExecutor)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["problems"] == ["migrations not applied"]


@pytest.mark.django_db
def test_readyz_is_503_when_the_database_fails(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import OperationalError

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr(ops_views.connections[ops_views.DEFAULT_DB_ALIAS], "cursor", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["problems"] == ["database unavailable: OperationalError"]


@pytest.mark.redis
@pytest.mark.django_db
def test_readyz_reports_the_worker_heartbeat_without_failing_on_it(client: Client) -> None:
    cache.delete(HEARTBEAT_KEY)
    missing = client.get("/readyz")
    assert missing.status_code == 200  # a worker problem delays background work; web still serves
    assert missing.json()["checks"]["worker"] == "missing"
    heartbeat_write()
    assert client.get("/readyz").json()["checks"]["worker"] == "ok"
    cache.set(HEARTBEAT_KEY, time.time() - settings.FINSYS_WORKER_STALE_SECONDS - 5, timeout=None)
    stale = client.get("/readyz")
    assert stale.status_code == 200
    assert stale.json()["checks"]["worker"] == "stale"
    cache.delete(HEARTBEAT_KEY)


# --- /metrics -------------------------------------------------------------------------------


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _scrape(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    return _samples(response.content.decode())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("remote", "headers"),
    [
        ("10.1.2.3", {}),
        ("127.0.0.1", {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}),  # through a proxy on this host
        ("127.0.0.1", {"HTTP_FORWARDED": "for=203.0.113.9"}),
        ("10.1.2.3", {"HTTP_AUTHORIZATION": "Bearer wrong-token"}),
        ("10.1.2.3", {"HTTP_AUTHORIZATION": "Basic c2VjcmV0LW1ldHJpY3MtdG9rZW4="}),
    ],
)
def test_metrics_are_refused_to_anyone_not_allowed(
    client: Client, settings: Any, remote: str, headers: dict[str, str]
) -> None:
    settings.METRICS_TOKEN = "secret-metrics-token"
    response = client.get("/metrics", REMOTE_ADDR=remote, **headers)
    assert response.status_code == 403
    assert b"finsys_" not in response.content


@pytest.mark.django_db
def test_metrics_are_served_to_loopback_and_to_the_token_holder(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = "secret-metrics-token"
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    with_token = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer secret-metrics-token")
    assert with_token.status_code == 200
    assert with_token["Content-Type"].startswith("text/plain")
    settings.METRICS_ALLOWED_CIDRS = []
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


@pytest.mark.django_db
def test_metrics_count_transfers_by_kind_and_status_after_commit(
    api: Any, make_account: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    source, target = make_account(balance="100.00"), make_account()
    posted = ("finsys_transactions_total", (("kind", "transfer"), ("status", "posted")))
    refused = ("finsys_transactions_total", (("kind", "transfer"), ("status", "refused")))
    by_code = ("finsys_transaction_refusals_total", (("code", "insufficient_funds"), ("kind", "transfer")))
    latency = ("finsys_movement_duration_seconds_count", (("kind", "transfer"),))
    before = _scrape(client)
    body = {"from_account": str(source.public_id), "to_account": str(target.public_id), "currency": "CNY"}
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/v1/transfers/", {**body, "amount": "30.00"}).status_code == 201
        assert api.post("/api/v1/transfers/", {**body, "amount": "999.00"}).status_code == 422
    after = _scrape(client)
    assert after[posted] - before.get(posted, 0) == 1
    assert after[refused] - before.get(refused, 0) == 1
    assert after[by_code] - before.get(by_code, 0) == 1
    assert after[latency] - before.get(latency, 0) == 1
    # every request is timed and counted by route and status
    created = ("finsys_http_responses_total", (("method", "POST"), ("status", "201")))
    assert after[created] - before.get(created, 0) == 1
    timed = ("finsys_http_request_duration_seconds_count", (("view", "api:transfers"),))
    assert after[timed] - before.get(timed, 0) == 2


@pytest.mark.django_db
def test_a_movement_rolled_back_is_not_counted_as_posted(
    make_account: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    from decimal import Decimal

    from django.db import transaction

    from apps.common.money import Money
    from apps.common.principals import SYSTEM_ACTOR
    from apps.transactions.services import deposit_create

    account = make_account()
    posted = ("finsys_transactions_total", (("kind", "deposit"), ("status", "posted")))
    before = _scrape(client).get(posted, 0)

    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            deposit_create(actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal("5"), "CNY"))
            transaction.set_rollback(True)
        assert _scrape(client).get(posted, 0) == before
        deposit_create(actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal("5"), "CNY"))
    assert _scrape(client).get(posted, 0) == before + 1


@pytest.mark.django_db
def test_metrics_count_failed_logins_of_staff_and_api_clients(client: Client, api: Any) -> None:
    User.objects.create_user("clerk", password="right-password", is_staff=True)
    staff = ("finsys_login_failures_total", (("channel", "staff"),))
    by_api = ("finsys_login_failures_total", (("channel", "api"),))
    before = _scrape(client)
    Client().post("/admin/login/", {"username": "clerk", "password": "wrong-password"})
    bad_secret = Client().post(
        "/api/v1/oauth/token/",
        {"grant_type": "client_credentials", "client_id": api.client_id, "client_secret": "not-the-secret"},
    )
    assert bad_secret.status_code == 401
    after = _scrape(client)
    assert after[staff] - before.get(staff, 0) == 1
    assert after[by_api] - before.get(by_api, 0) == 1


@pytest.mark.django_db
def test_metrics_show_emergency_controls_and_worker_gauges(client: Client) -> None:
    from apps.common.models import ControlKind, EmergencyControl

    EmergencyControl.objects.create(
        kind=ControlKind.PAYMENTS_STOPPED, reason="drill", activated_by="user:test", activated_at="2026-01-01T00:00Z"
    )
    samples = _scrape(client)
    assert samples[("finsys_emergency_controls_active", (("kind", "payments_stopped"),))] == 1
    assert samples[("finsys_emergency_controls_active", (("kind", "read_only"),))] == 0
    if settings.REDIS_URL:
        assert ("finsys_celery_queue_depth", (("queue", "celery"),)) in samples
    else:  # eager: no queue and no worker to report
        assert not any(name.startswith(("finsys_celery_queue_depth", "finsys_worker")) for name, _ in samples)


def test_scrape_time_collector_leaves_out_a_broken_source() -> None:
    from apps.common.metrics import ScrapeTimeCollector, _scrape_gauges, register_scrape_gauge

    def broken() -> float:
        raise RuntimeError("table missing")

    register_scrape_gauge("finsys_test_broken", "A source that fails.", broken)
    register_scrape_gauge("finsys_test_absent", "A source with nothing to report.", lambda: None)
    try:
        names = {family.name for family in ScrapeTimeCollector().collect()}
    finally:
        _scrape_gauges.pop("finsys_test_broken")
        _scrape_gauges.pop("finsys_test_absent")
    assert "finsys_test_broken" not in names
    assert "finsys_test_absent" not in names


# --- request ids ----------------------------------------------------------------------------


def test_a_response_carries_a_new_request_id(client: Client) -> None:
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert len(first) == 32
    assert int(first, 16) >= 0
    assert first != second


@pytest.mark.parametrize("given", ["abc-123", "a" * 128, "req:42/x"])
def test_a_well_formed_incoming_request_id_is_kept(client: Client, given: str) -> None:
    assert client.get("/healthz", HTTP_X_REQUEST_ID=given)["X-Request-ID"] == given


@pytest.mark.parametrize("given", ["", "a" * 129, "has space", "tab\there", "caf\u00e9", '{"json":1}\n'])
def test_a_malformed_incoming_request_id_is_replaced(client: Client, given: str) -> None:
    returned = client.get("/healthz", HTTP_X_REQUEST_ID=given)["X-Request-ID"]
    assert returned != given
    assert len(returned) == 32


@pytest.mark.django_db
def test_api_refusals_carry_the_request_id_too(client: Client) -> None:
    response = client.get("/api/v1/accounts/", HTTP_X_REQUEST_ID="trace-me")
    assert response.status_code == 401
    assert response["X-Request-ID"] == "trace-me"


probe_log = logging.getLogger("finsys.tests.probe")


@shared_task(name="apps.ops.tests.log_probe")
def log_probe() -> None:
    probe_log.warning("probe task ran")


@pytest.fixture
def json_log_lines() -> Iterator[io.StringIO]:
    """What the configured JSON formatter writes, for the loggers these tests use."""
    formatter = logging.getLogger().handlers[0].formatter
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    loggers = [probe_log, logging.getLogger("finsys.request")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def test_a_task_sent_during_a_request_logs_its_request_id(json_log_lines: io.StringIO) -> None:
    def view(request: HttpRequest) -> HttpResponse:
        log_probe.delay()  # eager here: runs inside the request, with its context
        return HttpResponse("ok")

    request = RequestFactory().get("/somewhere?search=Zhang+San", HTTP_X_REQUEST_ID="req-from-client-1")
    response = RequestIdMiddleware(view)(request)
    assert response["X-Request-ID"] == "req-from-client-1"
    lines = [json.loads(line) for line in json_log_lines.getvalue().splitlines()]
    probe = next(line for line in lines if line["event"] == "probe task ran")
    assert probe["request_id"] == "req-from-client-1"
    assert probe["task"] == "apps.ops.tests.log_probe"
    assert probe["level"] == "warning"
    access = next(line for line in lines if line["event"] == "request")
    assert access["request_id"] == "req-from-client-1"
    assert access["path"] == "/somewhere"  # the query string (search terms: names) is not logged
    assert "Zhang" not in json_log_lines.getvalue()
    assert access["status"] == 200


def test_the_request_id_is_put_in_the_headers_of_a_published_task() -> None:
    headers: dict[str, Any] = {}
    tokens = request_id_bind("req-42")
    try:
        _carry_request_id(headers=headers)
    finally:
        request_id_unbind(tokens)
    assert headers[TASK_HEADER] == "req-42"
    outside: dict[str, Any] = {}
    _carry_request_id(headers=outside)  # beat and commands send tasks outside any request
    assert TASK_HEADER not in outside


def test_log_lines_do_not_carry_authorization_headers_or_bodies(json_log_lines: io.StringIO) -> None:
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(status=201)

    request = RequestFactory().post(
        "/api/v1/transfers/",
        data='{"password": "hunter2"}',
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer very-secret-token",
    )
    RequestIdMiddleware(view)(request)
    text = json_log_lines.getvalue()
    assert '"status": 201' in text
    assert "very-secret-token" not in text
    assert "hunter2" not in text


# --- the emergency controls cache -----------------------------------------------------------


@pytest.mark.django_db
def test_the_control_check_costs_no_query_while_cached(settings: Any) -> None:
    settings.FINSYS_CONTROLS_CACHE_SECONDS = 1
    controls.controls_forget()
    controls.active_controls()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(100):
            controls.controls_assert_writable()
            controls.controls_assert_payments_allowed()
    assert len(queries) == 0


@pytest.mark.django_db
def test_metrics_show_the_outbox_backlog_and_time_payments_to_their_final_state(
    make_account: Any, client: Client, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    from decimal import Decimal

    from apps.common.money import Money
    from apps.common.principals import SYSTEM_ACTOR
    from apps.integrations.services import outbox_relay
    from apps.transactions.models import Payment, PaymentStatus
    from apps.transactions.services_payments import Beneficiary, payment_create, payment_submit, payments_settle

    settings.FINSYS_GATEWAY_SIM_LATENCY_MS = 0
    settings.FINSYS_GATEWAY_SIM_TIMEOUT_RATE = 0.0
    settled = ("finsys_payment_settlement_seconds_count", (("outcome", "settled"),))
    backlog = ("finsys_outbox_backlog", ())
    account = make_account(balance="100.00")
    before = _scrape(client)
    payment = payment_create(
        actor=SYSTEM_ACTOR,
        from_account=account.public_id,
        money=Money(Decimal("10.00"), "CNY"),
        beneficiary=Beneficiary(name="Li Wei", account_number="6222020200112233", bank_code="ICBKCNBJ", country="CN"),
    )
    assert _scrape(client)[backlog] > before.get(backlog, 0)  # its status events wait for the relay
    with django_capture_on_commit_callbacks(execute=True):
        payment_submit(payment_id=payment.pk)
        payments_settle()
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SETTLED
    outbox_relay()
    after = _scrape(client)
    assert after[settled] - before.get(settled, 0) == 1
    assert after[backlog] == 0  # relayed: nobody subscribed, nothing left to deliver
