"""The outbox in the admin, read-only; dead-lettered deliveries can be replayed."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.common.admin import ReadOnlyModelAdmin, run_each, staff_actor
from apps.integrations.models import Delivery, OutboxEvent, WebhookEndpoint
from apps.integrations.services import delivery_replay


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "kind", "public_id", "relayed_at"]
    list_filter = ["kind"]
    date_hierarchy = "created_at"
    # The notification addresses are personal data: not shown.
    fields = ["public_id", "kind", "payload", "customer_id", "created_at", "relayed_at"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyModelAdmin):
    list_display = ["url", "owner", "event_kinds", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "owner"]
    fields = ["public_id", "url", "owner", "customer_id", "event_kinds", "is_active", "created_at"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "channel", "status", "attempts", "next_attempt_at", "last_error", "endpoint"]
    list_filter = ["status", "channel"]
    list_select_related = ["endpoint"]
    fields = [
        "public_id", "event", "channel", "endpoint", "status", "attempts", "next_attempt_at",
        "last_error", "delivered_at", "created_at",
    ]  # fmt: skip
    actions = ["replay"]

    @admin.action(description=_("Replay the selected deliveries"), permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        actor = staff_actor(request)
        run_each(self, request, queryset, lambda d: delivery_replay(actor=actor, delivery=d), label=_("Replay"))

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return self.user_may(request, "change_delivery")
