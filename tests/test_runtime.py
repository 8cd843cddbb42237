"""The project as operators and outside suites start it: production refusals, gunicorn with
the default settings module, and a real Celery worker on Redis."""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import urllib.request
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from tests.processes import BIN, PYTHON, ROOT, start_gunicorn, start_worker, stop, unique_queue
from tests.processes import http_call as _call
from tests.processes import process_env as _env
from tests.processes import test_database_url as _test_database_url


def test_production_mode_refuses_to_start_without_its_keys() -> None:
    result = subprocess.run(
        [PYTHON, "manage.py", "check"],
        cwd=ROOT,
        env={k: v for k, v in _env(FINSYS_ENV="production").items() if k != "DATABASE_URL"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "refuses to start without" in result.stderr
    for name in (
        "SECRET_KEY",
        "FIELD_ENCRYPTION_KEYS",
        "BLIND_INDEX_KEY",
        "AUDIT_SIGNING_KEY",
        "BACKUP_ENCRYPTION_KEY",
        "DATABASE_URL",
    ):
        assert name in result.stderr


def test_production_mode_starts_with_its_keys_and_enforces_https() -> None:
    keys = {
        "FINSYS_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "FIELD_ENCRYPTION_KEYS": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "BLIND_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "AUDIT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "BACKUP_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
    }
    probe = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.DEBUG, "
        "s.SESSION_COOKIE_HTTPONLY, s.X_FRAME_OPTIONS, s.SECURE_REFERRER_POLICY, s.SECURE_HSTS_SECONDS, "
        "s.PASSWORD_HASHERS[0].rsplit('.', 1)[1], len(s.AUTH_PASSWORD_VALIDATORS), s.STAFF_IDLE_TIMEOUT_SECONDS, "
        "'unsafe-inline' in repr(s.CONTENT_SECURITY_POLICY), 'apps.common.middleware.BrowserCSPMiddleware' in s.MIDDLEWARE, "
        "s.MIDDLEWARE[-1], s.AUTHENTICATION_BACKENDS[0])"
    )
    script = f"import os; from finsys.settings import default_module; os.environ.setdefault('DJANGO_SETTINGS_MODULE', default_module()); {probe}"
    result = subprocess.run(
        [PYTHON, "-c", script], cwd=ROOT, env=_env(**keys), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        *["True", "True", "True", "False"],  # HTTPS redirect, secure cookies, no debug
        *["True", "DENY", "same-origin", "31536000"],  # HttpOnly session cookie, framing, referrer, HSTS
        *["Argon2PasswordHasher", "4", "900"],  # Argon2 first, Django's validators, 15 minutes idle
        *["False", "True"],  # a CSP without unsafe-inline
        *["axes.middleware.AxesMiddleware", "axes.backends.AxesStandaloneBackend"],  # STACK.md pitfall 6
    ]
    deploy = subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_env(**keys),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert deploy.returncode == 0, deploy.stderr + deploy.stdout
    assert "System check identified no issues" in deploy.stdout, deploy.stdout  # not even a silenced warning shown


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_the_api_with_default_settings_and_create_api_client() -> None:
    """API.md's last section: no DJANGO_SETTINGS_MODULE, DEBUG=0, gunicorn.conf.py, plain HTTP."""
    env = _env(
        DATABASE_URL=_test_database_url(),
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECRET_KEY=secrets.token_urlsafe(50),
        GUNICORN_WORKERS="1",
        GUNICORN_THREADS="2",
    )
    created = subprocess.run(
        [
            PYTHON,
            "manage.py",
            "create_api_client",
            "outside-suite",
            "--scopes",
            "customers:write customers:read kyc:write accounts:write accounts:read cash:write payments:write",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    lines = created.stdout.strip().splitlines()
    assert len(lines) == 1
    credentials = json.loads(lines[0])
    assert set(credentials) == {"client_id", "client_secret"}
    assert credentials["client_secret"].isalnum()
    refused = subprocess.run(
        [PYTHON, "manage.py", "create_api_client", "x", "--scopes", "root:all"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert refused.stdout == ""

    server, base = start_gunicorn(env)
    try:
        ready = _call(f"{base}/readyz")
        assert ready[0] == 200, ready
        assert ready[1]["status"] == "ready"
        status, token = _call(f"{base}/api/v1/oauth/token/", form={"grant_type": "client_credentials", **credentials})
        assert status == 200, token
        assert _call(
            f"{base}/api/v1/oauth/token/",
            form={"grant_type": "client_credentials", "client_id": credentials["client_id"], "client_secret": "wrong"},
        )[1] == {"error": "invalid_client"}
        bearer = token["access_token"]
        status, customer = _call(
            f"{base}/api/v1/customers/",
            {"kind": "corporate", "full_name": "Acme Ltd", "national_id": "ACME-0001", "country": "SG"},
            token=bearer,
        )
        assert status == 201, customer
        assert _call(f"{base}/api/v1/customers/{customer['id']}/kyc/", {"decision": "verified"}, token=bearer)[0] == 200
        status, account = _call(
            f"{base}/api/v1/accounts/", {"customer": customer["id"], "currency": "USD"}, token=bearer
        )
        assert status == 201, account
        key = str(uuid.uuid4())
        first = _call(
            f"{base}/api/v1/deposits/",
            {"account": account["id"], "amount": "10.50", "currency": "USD"},
            token=bearer,
            key=key,
        )
        again = _call(
            f"{base}/api/v1/deposits/",
            {"account": account["id"], "amount": "10.50", "currency": "USD"},
            token=bearer,
            key=key,
        )
        assert first[0] == 201
        assert again == first
        assert _call(f"{base}/api/v1/accounts/{account['id']}/", token=bearer)[1]["balance"] == "10.50"
        status, schema = _call(f"{base}/api/v1/schema/?format=json")
        assert status == 200
        assert "/api/v1/transfers/" in schema["paths"]
        # gunicorn.conf.py's multiprocess metrics: the deposit counted at commit, one failed login
        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
            metrics = response.read().decode()
        assert 'finsys_transactions_total{kind="deposit",status="posted"} 1.0' in metrics
        assert 'finsys_login_failures_total{channel="api"} 1.0' in metrics
    finally:
        stop(server)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_celery_worker_releases_expired_holds(make_account: Any) -> None:
    from apps.accounts.models import Hold, HoldStatus
    from apps.accounts.services import hold_create
    from apps.accounts.tasks import release_expired_holds
    from apps.common.money import Money
    from apps.common.principals import SYSTEM_ACTOR
    from finsys.celery import app

    account = make_account(balance="100")
    hold = hold_create(
        actor=SYSTEM_ACTOR,
        account=account,
        amount=Money(Decimal("40"), "CNY"),
        expires_at=timezone.now() + timedelta(seconds=1),
    )
    Hold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    env = _env(DATABASE_URL=_test_database_url())
    queue = unique_queue()
    worker = start_worker(env, queue)
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        result = release_expired_holds.apply_async(queue=queue)
        assert result.get(timeout=60) == 1
        hold.refresh_from_db()
        account.refresh_from_db()
        assert hold.status == HoldStatus.EXPIRED
        assert account.available == account.balance == Decimal("100")
    finally:
        app.conf.task_always_eager = eager
        stop(worker)


def test_beat_schedules_the_hold_expiry_and_key_purge_tasks() -> None:
    from finsys.celery import app

    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {
        "apps.accounts.tasks.release_expired_holds",
        "apps.common.tasks.purge_expired_idempotency_keys",
    } <= scheduled
    assert scheduled <= set(app.tasks)


@pytest.mark.redis
def test_a_real_worker_logs_the_request_id_of_the_request_that_sent_the_task() -> None:
    import threading

    from apps.common.request_context import request_id_bind, request_id_unbind
    from apps.common.tasks import worker_heartbeat
    from finsys.celery import app

    queue = f"test-{uuid.uuid4().hex}"
    worker = subprocess.Popen(
        [str(BIN / "celery"), "-A", "finsys", "worker", "--pool", "solo", "-Q", queue, "--loglevel", "INFO"],
        cwd=ROOT,
        env=_env(LOG_LEVEL="INFO"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    seen = threading.Event()

    def read() -> None:
        assert worker.stderr is not None
        for line in worker.stderr:
            lines.append(line)
            if "worker heartbeat" in line:
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    tokens = request_id_bind("req-from-the-web-1")  # as RequestIdMiddleware does during a request
    try:
        worker_heartbeat.apply_async(queue=queue)
        assert seen.wait(timeout=60), "".join(lines)[-2000:]
    finally:
        request_id_unbind(tokens)
        app.conf.task_always_eager = eager
        worker.terminate()
        worker.wait(timeout=30)
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    beat = next(line for line in logged if line["event"] == "worker heartbeat")
    assert beat["request_id"] == "req-from-the-web-1"
    assert beat["task"] == "apps.common.tasks.worker_heartbeat"
    ready = next(line for line in logged if line["event"].endswith("ready."))
    assert "request_id" not in ready  # bound only while the task ran
