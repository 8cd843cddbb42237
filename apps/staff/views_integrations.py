"""API clients and webhooks administration: create a client (its secret shown once), disable,
enable, rotate its secret; register webhook endpoints for a client (their signing secret shown
once), disable them, see deliveries and dead letters, replay (apps.api / apps.integrations)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from apps.api.models import ApiClient
from apps.api.services import api_client_create, api_client_disable, api_client_enable, api_client_rotate_secret
from apps.common.admin import staff_actor
from apps.common.errors import DomainError
from apps.common.principals import Actor, Channel
from apps.integrations.models import Delivery, WebhookEndpoint
from apps.integrations.services import delivery_replay, webhook_endpoint_create, webhook_endpoint_deactivate
from apps.staff.forms_integrations import (
    ClientCreateForm,
    ClientFilterForm,
    DeliveryFilterForm,
    WebhookCreateForm,
    WebhookFilterForm,
)
from apps.staff.queues_kit import may, paginate, refusal_to_form, require_any

VIEW, CHANGE, ADD = "api.view_apiclient", "api.change_apiclient", "api.add_apiclient"


def _secret_page(request: HttpRequest, title: str, rows: list[tuple[str, str]]) -> HttpResponse:
    """The one time a secret is shown: straight in the POST's answer, never stored or cached."""
    response = render(request, "staff/integrations/secret.html", {"title": title, "rows": rows})
    response["Cache-Control"] = "no-store"
    return response


def _active_filter(queryset: Any, value: str) -> Any:
    if value == "yes":
        return queryset.filter(is_active=True)
    if value == "no":
        return queryset.filter(is_active=False)
    return queryset


@never_cache
@require_any(VIEW, post=(ADD,))
@require_http_methods(["GET", "POST"])
def api_clients(request: HttpRequest) -> HttpResponse:
    form = ClientCreateForm()
    status = 200
    if request.method == "POST":
        form = ClientCreateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                issued = api_client_create(
                    name=data["name"],
                    scopes=data["scopes"],
                    customer=data["customer"],
                    actor_label=staff_actor(request).label,
                )
            except DomainError as refusal:
                refusal_to_form(form, refusal)
            else:
                messages.success(request, _("API client %(name)s is created.") % {"name": issued.client.name})
                return _secret_page(
                    request,
                    _("New API client: %(name)s") % {"name": issued.client.name},
                    [(_("Client id"), issued.client_id), (_("Client secret"), issued.client_secret)],
                )
        status = 400
    filters = ClientFilterForm(request.GET or None)
    clients = ApiClient.objects.select_related("application", "customer").order_by("-id")
    if filters.is_valid():
        clients = _active_filter(clients, filters.cleaned_data["active"])
        if filters.cleaned_data["name"]:
            clients = clients.filter(name__icontains=filters.cleaned_data["name"].strip())
    page, query = paginate(request, clients)
    return render(
        request,
        "staff/integrations/clients.html",
        {"form": form, "filters": filters, "page": page, "query": query,
         "can_add": may(request, ADD), "can_change": may(request, CHANGE)},
        status=status,
    )  # fmt: skip


@never_cache
@require_any(CHANGE)
@require_POST
def api_client_action(request: HttpRequest) -> HttpResponse:
    """Disable, enable or rotate the secret of the client named in the form."""
    client = (
        ApiClient.objects.select_related("application")
        .filter(application__client_id=request.POST.get("client", ""))
        .first()
    )
    if client is None:
        raise Http404
    op, actor = request.POST.get("op", ""), staff_actor(request)
    reason = request.POST.get("reason", "")[:255]
    try:
        if op == "disable":
            api_client_disable(actor=actor, client=client, reason=reason)
            messages.success(request, _("%(name)s is disabled; its tokens no longer work.") % {"name": client.name})
        elif op == "enable":
            api_client_enable(actor=actor, client=client, reason=reason)
            messages.success(request, _("%(name)s may ask for tokens again.") % {"name": client.name})
        elif op == "rotate":
            issued = api_client_rotate_secret(actor=actor, client=client)
            messages.success(
                request, _("%(name)s has a new secret; the old one no longer works.") % {"name": client.name}
            )
            return _secret_page(
                request,
                _("New secret of %(name)s") % {"name": client.name},
                [(_("Client id"), issued.client_id), (_("Client secret"), issued.client_secret)],
            )
        else:
            messages.error(request, _("Unknown action."))
    except DomainError as refusal:
        messages.error(request, str(refusal.message))
    return redirect("staff:api-clients")


def _owner(client: ApiClient) -> Actor:
    """The principal the client acts as (apps.api.authentication), which owns its endpoints."""
    channel = Channel.API if client.customer_id else Channel.SYSTEM
    return Actor(label=f"client:{client.application.client_id}", channel=channel, customer_id=client.customer_id)


@never_cache
@require_any(VIEW, post=(CHANGE,))
@require_http_methods(["GET", "POST"])
def webhooks(request: HttpRequest) -> HttpResponse:
    form = WebhookCreateForm()
    status = 200
    if request.method == "POST":
        form = WebhookCreateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                endpoint, secret = webhook_endpoint_create(
                    actor=staff_actor(request),
                    owner=_owner(data["client"]),
                    url=data["url"],
                    event_kinds=data["event_kinds"],
                )
            except DomainError as refusal:
                refusal_to_form(form, refusal)
            else:
                messages.success(request, _("The webhook endpoint %(url)s is registered.") % {"url": endpoint.url})
                return _secret_page(
                    request,
                    _("New webhook endpoint: %(url)s") % {"url": endpoint.url},
                    [(_("Endpoint id"), str(endpoint.public_id)), (_("Signing secret"), secret)],
                )
        status = 400
    filters = WebhookFilterForm(request.GET or None)
    endpoints = WebhookEndpoint.objects.order_by("-id")
    if filters.is_valid():
        endpoints = _active_filter(endpoints, filters.cleaned_data["active"])
        if filters.cleaned_data["url"]:
            endpoints = endpoints.filter(url__icontains=filters.cleaned_data["url"].strip())
    page, query = paginate(request, endpoints)
    return render(
        request,
        "staff/integrations/webhooks.html",
        {"form": form, "filters": filters, "page": page, "query": query, "can_change": may(request, CHANGE)},
        status=status,
    )


@never_cache
@require_any(VIEW, post=(CHANGE,))
@require_http_methods(["GET", "POST"])
def webhook_detail(request: HttpRequest, webhook_id: uuid.UUID) -> HttpResponse:
    endpoint = WebhookEndpoint.objects.filter(public_id=webhook_id).first()
    if endpoint is None:
        raise Http404
    if request.method == "POST":
        op, actor = request.POST.get("op", ""), staff_actor(request)
        if op == "deactivate":
            webhook_endpoint_deactivate(actor=actor, endpoint=endpoint)
            messages.success(request, _("The endpoint is disabled; no more events go to it."))
        elif op == "replay":
            delivery = _delivery(endpoint, request.POST.get("delivery", ""))
            delivery_replay(actor=actor, delivery=delivery)
            messages.success(request, _("Delivery %(id)s is queued again.") % {"id": delivery.public_id})
        else:
            messages.error(request, _("Unknown action."))
        return redirect(request.get_full_path())
    filters = DeliveryFilterForm(request.GET or None)
    deliveries = Delivery.objects.filter(endpoint=endpoint).select_related("event").order_by("-id")
    if filters.is_valid() and filters.cleaned_data["status"]:
        deliveries = deliveries.filter(status=filters.cleaned_data["status"])
    page, query = paginate(request, deliveries)
    return render(
        request,
        "staff/integrations/webhook.html",
        {"endpoint": endpoint, "filters": filters, "page": page, "query": query, "can_change": may(request, CHANGE)},
    )


def _delivery(endpoint: WebhookEndpoint, public_id: str) -> Delivery:
    try:
        return Delivery.objects.get(endpoint=endpoint, public_id=uuid.UUID(public_id))
    except (ValueError, Delivery.DoesNotExist):
        raise Http404 from None
