"""The per-process bearer-token cache: faster repeat calls, revocation at most a few seconds late."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.api.authentication import token_cache
from apps.api.models import ApiClient


@pytest.fixture
def cached_tokens(settings):
    settings.API_TOKEN_CACHE_SECONDS = 5
    token_cache.clear()
    yield
    token_cache.clear()


def test_a_cached_token_skips_the_token_query(api, cached_tokens):
    assert api.get("/api/v1/accounts/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/v1/accounts/").status_code == 200
    assert not any("oauth2_provider_accesstoken" in q["sql"] for q in queries.captured_queries)


def test_a_disabled_client_is_refused_once_its_cache_entry_is_gone(api, cached_tokens):
    assert api.get("/api/v1/accounts/").status_code == 200
    ApiClient.objects.filter(application__client_id=api.client_id).update(is_active=False)
    token_cache.clear()  # what the TTL does within API_TOKEN_CACHE_SECONDS
    refused = api.get("/api/v1/accounts/")
    assert refused.status_code == 401
    assert refused.json()["code"] == "not_authenticated"


def test_without_the_cache_a_disabled_client_is_refused_at_once(api, settings):
    settings.API_TOKEN_CACHE_SECONDS = 0
    assert api.get("/api/v1/accounts/").status_code == 200
    ApiClient.objects.filter(application__client_id=api.client_id).update(is_active=False)
    assert api.get("/api/v1/accounts/").status_code == 401


def test_a_cached_token_answers_401_once_it_expires(api, cached_tokens, settings):
    """The cache never outlives the token: an entry lasts at most until the token's expiry."""
    import datetime as dt
    import time

    from django.utils import timezone
    from oauth2_provider.models import AccessToken

    from tests.support import assert_problem

    settings.API_TOKEN_CACHE_SECONDS = 300
    AccessToken.objects.update(expires=timezone.now() + dt.timedelta(seconds=1))
    assert api.get("/api/v1/accounts/").status_code == 200  # resolved and cached
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/v1/accounts/").status_code == 200
    assert not any("oauth2_provider_accesstoken" in q["sql"] for q in queries.captured_queries)
    time.sleep(max(0.0, (AccessToken.objects.get().expires - timezone.now()).total_seconds()) + 0.05)
    assert_problem(api.get("/api/v1/accounts/"), 401, "not_authenticated")
