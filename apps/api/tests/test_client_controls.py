"""API client controls: disable, enable and rotate a client's secret (services, command, admin),
and per-client throttling (429 `throttled` with Retry-After)."""

from __future__ import annotations

import json
import time
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from oauth2_provider.models import AccessToken

from apps.api.authentication import revoked_cache_key, token_cache
from apps.api.models import ApiClient
from apps.api.services import api_client_disable, api_client_enable, api_client_get, api_client_rotate_secret
from apps.audit.models import AuditEvent
from apps.common.principals import SYSTEM_ACTOR
from apps.common.roles import roles_sync
from tests.support import assert_problem, ledger_state, verified_staff_client


def token_response(client_id: str, secret: str):
    return Client().post(
        "/api/v1/oauth/token/",
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


def test_a_disabled_client_gets_no_token_and_its_tokens_are_refused_at_once(
    api, settings, django_capture_on_commit_callbacks
):
    settings.API_TOKEN_CACHE_SECONDS = 5  # even with the per-process token cache on
    token_cache.clear()
    assert api.get("/api/v1/accounts/").status_code == 200  # now cached
    client = api_client_get(client_id=api.client_id)
    with django_capture_on_commit_callbacks(execute=True):
        api_client_disable(actor=SYSTEM_ACTOR, client=client, reason="leaked")

    assert_problem(api.get("/api/v1/accounts/"), 401, "not_authenticated")
    refused = token_response(api.client_id, api.client_secret)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    assert not AccessToken.objects.filter(application__client_id=api.client_id).exists()
    event = AuditEvent.objects.get(action="api_client.disable")
    assert event.object_id == api.client_id
    assert event.detail == {"reason": "leaked", "tokens_revoked": 1}
    token_cache.clear()


def test_a_cached_token_of_a_client_disabled_in_another_process_is_refused(api, settings):
    """Another web process disabled it: this one only sees the marker in the shared cache, which
    it looks at again after API_REVOCATION_CHECK_SECONDS."""
    settings.API_TOKEN_CACHE_SECONDS = 5
    settings.API_REVOCATION_CHECK_SECONDS = 0.2
    token_cache.clear()
    assert api.get("/api/v1/accounts/").status_code == 200
    client = ApiClient.objects.get(application__client_id=api.client_id)
    ApiClient.objects.filter(pk=client.pk).update(is_active=False)
    assert api.get("/api/v1/accounts/").status_code == 200  # this process's cache still trusts it

    cache.set(revoked_cache_key(client.application.client_id), True, 10)  # what the other process's service did
    time.sleep(0.25)
    assert_problem(api.get("/api/v1/accounts/"), 401, "not_authenticated")
    token_cache.clear()


def test_an_enabled_client_gets_tokens_again(api):
    client = api_client_get(client_id=api.client_id)
    api_client_disable(actor=SYSTEM_ACTOR, client=client)
    api_client_enable(actor=SYSTEM_ACTOR, client=client, reason="rotated on their side")
    response = token_response(api.client_id, api.client_secret)
    assert response.status_code == 200, response.content
    assert AuditEvent.objects.filter(action="api_client.enable", object_id=api.client_id).count() == 1


def test_rotating_the_secret_stops_the_old_secret_and_old_tokens(api):
    client = api_client_get(client_id=api.client_id)
    issued = api_client_rotate_secret(actor=SYSTEM_ACTOR, client=client)
    assert issued.client_secret != api.client_secret
    assert issued.client_secret.isalnum()
    assert token_response(api.client_id, api.client_secret).status_code == 401
    assert_problem(api.get("/api/v1/accounts/"), 401, "not_authenticated")
    fresh = token_response(api.client_id, issued.client_secret)
    assert fresh.status_code == 200
    client.refresh_from_db()
    assert issued.client_secret not in client.application.client_secret  # stored hashed only
    event = AuditEvent.objects.get(action="api_client.rotate_secret")
    assert issued.client_secret not in json.dumps(event.detail)


def test_the_api_client_command_disables_enables_and_rotates(api):
    call_command("api_client", "disable", api.client_id, "--reason", "test", stdout=StringIO(), stderr=StringIO())
    assert token_response(api.client_id, api.client_secret).status_code == 401
    call_command("api_client", "enable", api.client_id, stdout=StringIO(), stderr=StringIO())
    out = StringIO()
    call_command("api_client", "rotate-secret", api.client_id, stdout=out, stderr=StringIO())
    printed = json.loads(out.getvalue())
    assert printed["client_id"] == api.client_id
    assert token_response(api.client_id, printed["client_secret"]).status_code == 200
    assert token_response(api.client_id, api.client_secret).status_code == 401


def test_the_api_client_command_refuses_an_unknown_client(db):
    with pytest.raises(CommandError, match="no API client"):
        call_command("api_client", "disable", "nope", stdout=StringIO(), stderr=StringIO())


def _staff(username: str, role: str) -> Client:
    roles_sync()
    user = User.objects.create_user(username=username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return verified_staff_client(user)


def test_the_admin_disables_a_client_for_administrators_only(api):
    pk = ApiClient.objects.get(application__client_id=api.client_id).pk
    url = reverse("admin:api_apiclient_changelist")
    form = {"action": "disable_clients", "_selected_action": [pk]}
    auditor = _staff("aud", "auditor")
    auditor.post(url, form)
    assert ApiClient.objects.get(pk=pk).is_active  # the auditor only looks
    administrator = _staff("adm", "administrator")
    administrator.post(url, form)
    assert not ApiClient.objects.get(pk=pk).is_active
    assert AuditEvent.objects.get(action="api_client.disable").actor == "user:adm"


def test_the_admin_shows_a_rotated_secret_once_and_not_in_a_message(api):
    pk = ApiClient.objects.get(application__client_id=api.client_id).pk
    administrator = _staff("adm", "administrator")
    page = administrator.post(
        reverse("admin:api_apiclient_changelist"), {"action": "rotate_secret", "_selected_action": [pk]}
    )
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    secret = page.context_data["client_secret"]
    assert secret in page.content.decode()
    assert token_response(api.client_id, secret).status_code == 200
    assert token_response(api.client_id, api.client_secret).status_code == 401
    later = administrator.get(reverse("admin:api_apiclient_changelist")).content.decode()
    assert secret not in later


# --- throttling ----------------------------------------------------------------------------------


@pytest.fixture
def tight_rates(settings):
    settings.API_THROTTLE_RATES = {"system": None, "api": "3/min"}


def test_a_customer_bound_client_over_its_rate_gets_429_throttled_with_retry_after(
    tight_rates, make_api, make_customer
):
    bound = make_api(customer=make_customer())
    other = make_api(customer=make_customer())
    for _ in range(3):
        assert bound.get("/api/v1/accounts/").status_code == 200
    before = ledger_state()
    refused = bound.get("/api/v1/accounts/")
    assert_problem(refused, 429, "throttled")
    assert 1 <= int(refused["Retry-After"]) <= 61
    # A money movement over the budget is refused before it runs: nothing moves.
    assert_problem(
        bound.post("/api/v1/deposits/", {"account": "x", "amount": "1", "currency": "CNY"}), 429, "throttled"
    )
    assert ledger_state() == before
    # The budget is per client.
    assert other.get("/api/v1/accounts/").status_code == 200


def test_bank_systems_are_not_throttled_by_default(tight_rates, api):
    for _ in range(5):
        assert api.get("/api/v1/accounts/").status_code == 200


def test_the_system_channel_can_be_throttled_too(settings, api):
    settings.API_THROTTLE_RATES = {"system": "2/min", "api": None}
    assert api.get("/api/v1/accounts/").status_code == 200
    assert api.get("/api/v1/accounts/").status_code == 200
    assert_problem(api.get("/api/v1/accounts/"), 429, "throttled")


@pytest.mark.redis
def test_throttle_counts_live_in_redis_shared_by_every_process(tight_rates, make_api, make_customer, settings):
    assert "redis" in settings.CACHES["default"]["BACKEND"].lower()
    bound = make_api(customer=make_customer())
    assert bound.get("/api/v1/accounts/").status_code == 200
    keys = [k for k in cache._cache.get_client().scan_iter(f"*api-throttle:{bound.client_id}:*")]
    assert len(keys) == 1


def test_with_the_shared_cache_down_requests_are_served_and_cached_tokens_rechecked(
    tight_rates, make_api, make_customer, settings, monkeypatch
):
    settings.API_TOKEN_CACHE_SECONDS = 5
    token_cache.clear()
    bound = make_api(customer=make_customer())
    assert bound.get("/api/v1/accounts/").status_code == 200  # cached in this process

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    for name in ("get", "incr", "add"):
        monkeypatch.setattr(cache, name, down)
    for _ in range(4):  # over the 3/min budget, but nothing can count it: served
        assert bound.get("/api/v1/accounts/").status_code == 200
    ApiClient.objects.filter(application__client_id=bound.client_id).update(is_active=False)
    # The process cache is not trusted without the shared revocation check: the database says no.
    assert_problem(bound.get("/api/v1/accounts/"), 401, "not_authenticated")
    token_cache.clear()
