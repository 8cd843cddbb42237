"""The address the lockout counts by cannot be chosen by the client."""

from django.test import RequestFactory

from apps.common.lockout import client_ip

rf = RequestFactory()


def test_without_a_proxy_the_connection_address_counts_and_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6")) == "10.0.0.1"


def test_behind_proxies_the_address_the_outermost_proxy_saw_counts(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4")) == "1.2.3.4"
    spoofed = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4")
    assert client_ip(spoofed) == "1.2.3.4"
    settings.TRUSTED_PROXY_COUNT = 2
    assert (
        client_ip(rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4, 10.0.0.1")) == "1.2.3.4"
    )
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4")) == "10.0.0.2"
