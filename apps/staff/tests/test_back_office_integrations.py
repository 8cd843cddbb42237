"""API clients and webhooks administration in the back office."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from apps.api.models import ApiClient
from apps.audit.models import AuditEvent
from apps.integrations.models import Delivery, DeliveryStatus, OutboxEvent, WebhookEndpoint
from apps.staff.tests.queues_support import client_of

pytestmark = pytest.mark.django_db


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def _token(client_id: str, secret: str) -> int:
    return (
        Client()
        .post(
            "/api/v1/oauth/token/",
            {
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "scope": "accounts:read",
            },
        )
        .status_code
    )


def test_create_a_client_the_secret_is_shown_once_then_disable_enable_rotate():
    _u, admin = client_of("administrator", "ada")
    created = admin.post("/staff/integrations/api-clients/", {"name": "Partner", "scopes": ["accounts:read"]})
    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    body = created.content.decode()
    client_id, secret = re.findall(r"<code>([A-Za-z0-9]{32,48})</code>", body)
    assert len(secret) == 48
    assert "shown only this once" in body
    client = ApiClient.objects.get(application__client_id=client_id)
    assert secret not in admin.get("/staff/integrations/api-clients/").content.decode()
    assert _token(client_id, secret) == 200

    admin.post("/staff/integrations/api-clients/action/", {"client": client_id, "op": "disable"})
    client.refresh_from_db()
    assert not client.is_active
    assert _token(client_id, secret) != 200
    admin.post("/staff/integrations/api-clients/action/", {"client": client_id, "op": "enable"})
    client.refresh_from_db()
    assert client.is_active
    rotated = admin.post("/staff/integrations/api-clients/action/", {"client": client_id, "op": "rotate"})
    new_secret = re.findall(r"<code>([A-Za-z0-9]{48})</code>", rotated.content.decode())[0]
    assert new_secret != secret
    assert _token(client_id, secret) != 200
    assert _token(client_id, new_secret) == 200
    actions = set(AuditEvent.objects.filter(object_id=client_id).values_list("action", flat=True))
    assert actions == {"api_client.create", "api_client.disable", "api_client.enable", "api_client.rotate_secret"}


def test_client_form_validation():
    _u, admin = client_of("administrator", "ada")
    count = ApiClient.objects.count()
    no_scope = admin.post("/staff/integrations/api-clients/", {"name": "X"})
    assert no_scope.status_code == 400
    assert "at least one scope" in no_scope.content.decode()
    unknown = admin.post("/staff/integrations/api-clients/", {"name": "X", "scopes": ["god:mode"]})
    assert unknown.status_code == 400
    assert "Select a valid choice" in unknown.content.decode()
    nobody = admin.post(
        "/staff/integrations/api-clients/",
        {"name": "X", "scopes": ["accounts:read"], "customer": "00000000-0000-0000-0000-000000000000"},
    )
    assert nobody.status_code == 400
    assert "No customer has this id." in nobody.content.decode()
    assert ApiClient.objects.count() == count


def test_auditor_reads_clients_and_webhooks_but_cannot_act(make_api):
    caller = make_api(name="integrator")
    _u, auditor = client_of("auditor")
    assert auditor.get("/staff/integrations/api-clients/").status_code == 200
    assert auditor.get("/staff/integrations/webhooks/").status_code == 200
    refused = auditor.post("/staff/integrations/api-clients/action/", {"client": caller.client_id, "op": "disable"})
    assert refused.status_code == 403
    assert ApiClient.objects.get(application__client_id=caller.client_id).is_active
    _t, teller = client_of("teller")
    assert teller.get("/staff/integrations/api-clients/").status_code == 403
    assert teller.get("/staff/integrations/webhooks/").status_code == 403


def test_register_a_webhook_for_a_client_see_dead_letters_replay_and_disable(make_api):
    caller = make_api(name="integrator")
    api_client = ApiClient.objects.get(application__client_id=caller.client_id)
    _u, admin = client_of("administrator", "ada")
    bad = admin.post("/staff/integrations/webhooks/", {"client": api_client.pk, "url": "not a url"})
    assert bad.status_code == 400
    assert "Enter a valid URL" in bad.content.decode()
    nobody = admin.post("/staff/integrations/webhooks/", {"client": 999999, "url": "https://x.example/hook"})
    assert nobody.status_code == 400
    assert "Choose an active API client" in nobody.content.decode()
    insecure = admin.post(
        "/staff/integrations/webhooks/", {"client": api_client.pk, "url": "https://user:pw@x.example/hook"}
    )
    assert insecure.status_code == 400
    assert "https URL" in insecure.content.decode()
    assert not WebhookEndpoint.objects.exists()
    made = admin.post(
        "/staff/integrations/webhooks/",
        {"client": api_client.pk, "url": "https://hooks.example/finsys", "event_kinds": ["payment.status_changed"]},
    )
    assert "whsec_" in made.content.decode()
    assert "no-store" in made["Cache-Control"]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.owner == f"client:{caller.client_id}"  # the integrator sees it on the API
    assert caller.get("/api/v1/webhooks/").json()["results"][0]["id"] == str(endpoint.public_id)

    event = OutboxEvent.objects.create(kind="payment.status_changed", payload={"status": "settled"})
    dead = Delivery.objects.create(
        event=event, channel="webhook", endpoint=endpoint, status=DeliveryStatus.DEAD, attempts=8,
        next_attempt_at=timezone.now(), last_error="HTTP 500",
    )  # fmt: skip
    url = f"/staff/integrations/webhooks/{endpoint.public_id}/"
    letters = admin.get(url, {"status": "dead"})
    assert [d.pk for d in letters.context["page"]] == [dead.pk]
    assert "HTTP 500" in letters.content.decode()
    replayed = admin.post(url, {"op": "replay", "delivery": str(dead.public_id)}, follow=True)
    assert "queued again" in _messages(replayed)
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == (DeliveryStatus.PENDING, 0)
    assert admin.post(url, {"op": "replay", "delivery": "junk"}).status_code == 404
    admin.post(url, {"op": "deactivate"})
    endpoint.refresh_from_db()
    assert not endpoint.is_active
