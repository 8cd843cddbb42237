"""The token endpoint behind the login lockout: five wrong secrets for one client id from one IP
lock that pair for 30 minutes (429, RFC 6749 JSON, Retry-After), audited."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken

from apps.api.services import api_client_create
from apps.audit.models import AuditEvent

TOKEN = "/api/v1/oauth/token/"


@pytest.fixture
def issued(db: Any) -> Any:
    return api_client_create(name="lockout", scopes=["accounts:read"])


def _form(client: Client, client_id: str, secret: str, **extra: Any) -> Any:
    return client.post(
        TOKEN, {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}, **extra
    )


def _basic(client: Client, client_id: str, secret: str) -> Any:
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return client.post(TOKEN, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {credentials}")


def test_five_bad_secrets_lock_the_client_at_that_ip_with_429_and_an_audit_event(issued: Any) -> None:
    http = Client()
    for _ in range(4):
        refused = _form(http, issued.client_id, "wrong")
        assert refused.status_code == 401
        assert refused.json() == {"error": "invalid_client"}
    assert not AuditEvent.objects.filter(action="auth.lockout").exists()

    locked = _form(http, issued.client_id, "wrong")
    assert locked.status_code == 429
    assert locked["Content-Type"] == "application/json"
    assert locked["Retry-After"] == "1800"
    body = locked.json()
    assert body["error"] == "invalid_client"
    assert "30 minutes" in body["error_description"]

    tokens = AccessToken.objects.count()
    right = _form(http, issued.client_id, issued.client_secret)  # even the right secret, from this IP
    assert right.status_code == 429
    assert AccessToken.objects.count() == tokens

    [event] = AuditEvent.objects.filter(action="auth.lockout")
    assert (event.object_type, event.object_id) == ("api_client", issued.client_id)
    assert event.detail["ip_address"] == "127.0.0.1"
    assert event.detail["path"] == TOKEN
    attempt = AccessAttempt.objects.get(username=issued.client_id)
    assert issued.client_secret not in attempt.post_data
    assert "wrong" not in attempt.post_data  # the secret field is masked in what axes stores

    assert _form(Client(REMOTE_ADDR="10.0.0.7"), issued.client_id, issued.client_secret).status_code == 200
    other = api_client_create(name="other", scopes=["accounts:read"])
    assert _form(http, other.client_id, other.client_secret).status_code == 200  # per client id

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=31))
    assert _form(http, issued.client_id, issued.client_secret).status_code == 200


def test_bad_secrets_by_basic_auth_count_the_same_and_a_token_issued_resets_the_count(issued: Any) -> None:
    http = Client()
    for _ in range(4):
        assert _basic(http, issued.client_id, "wrong").status_code == 401
    assert _basic(http, issued.client_id, issued.client_secret).status_code == 200
    assert not AccessAttempt.objects.exists()
    for _ in range(4):
        assert _basic(http, issued.client_id, "wrong").status_code == 401
    assert _basic(http, issued.client_id, "wrong").status_code == 429
    assert _basic(http, issued.client_id, issued.client_secret).status_code == 429
    assert AuditEvent.objects.filter(action="auth.lockout").count() == 1


def test_malformed_credentials_answer_rfc_6749_errors_not_5xx(issued: Any) -> None:
    http = Client()
    garbage = http.post(TOKEN, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION="Basic !!!not-base64")
    assert garbage.status_code in (400, 401)
    assert "error" in garbage.json()
    assert http.post(TOKEN, {"grant_type": "client_credentials"}).status_code in (400, 401)
    assert _form(http, "x" * 5000, "wrong").status_code == 401
