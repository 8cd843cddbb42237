"""The ledger in the admin: journal entries and postings are append-only, so these pages only
list, search and show them. A mistake is corrected by a reversing entry (transaction_reverse)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.common.admin import ReadOnlyInline, ReadOnlyModelAdmin, run_each, staff_actor
from apps.common.money import format_amount
from apps.transactions.models import JournalEntry, Payment, PaymentEvent, Posting
from apps.transactions.services import transaction_reverse


class PostingInline(ReadOnlyInline):
    model = Posting
    fields = ["account", "amount", "currency", "balance_after", "created_at"]
    ordering = ["id"]
    show_change_link = False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "kind", "amount_display", "reference", "channel", "created_by", "public_id"]
    list_filter = ["kind", "currency", "channel"]
    search_fields = ["reference", "created_by"]  # and a public id, see ReadOnlyModelAdmin
    date_hierarchy = "created_at"
    actions = ["reverse_entries"]
    fields = [
        "public_id",
        "kind",
        "amount",
        "currency",
        "reference",
        "channel",
        "created_by",
        "reverses",
        "created_at",
    ]
    inlines = [PostingInline]

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, obj: JournalEntry) -> str:
        return f"{format_amount(obj.amount, obj.currency)} {obj.currency}"

    def has_reverse_permission(self, request: HttpRequest) -> bool:
        """Reversing posts a new, compensating entry: it needs the right to add entries."""
        return self.user_may(request, "add_journalentry")

    @admin.action(description=_("Reverse the selected transactions"), permissions=["reverse"])
    def reverse_entries(self, request: HttpRequest, queryset: QuerySet[JournalEntry]) -> None:
        actor = staff_actor(request)

        def reverse(entry: JournalEntry) -> Any:
            return transaction_reverse(actor=actor, entry=entry, reason=f"Reversed in the admin by {actor.label}")

        run_each(self, request, queryset.order_by("id"), reverse, label=_("Reverse the selected transactions"))


@admin.register(Posting)
class PostingAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "account", "amount", "currency", "balance_after", "entry"]
    list_filter = ["currency", "account__is_internal"]
    list_select_related = ["account", "entry"]
    search_fields = ["account__number", "entry__reference"]
    date_hierarchy = "created_at"
    fields = ["public_id", "entry", "account", "amount", "currency", "balance_after", "created_at"]


class PaymentEventInline(ReadOnlyInline):
    model = PaymentEvent
    fields = ["created_at", "from_status", "to_status", "cause", "actor"]
    ordering = ["id"]
    show_change_link = False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyModelAdmin):
    """Payments move only through their state machine (workers, gateway callbacks)."""

    list_display = ["created_at", "status", "amount_display", "account", "beneficiary_name", "submit_attempts"]
    list_filter = ["status", "currency"]
    list_select_related = ["account"]
    search_fields = ["reference", "beneficiary_name", "gateway_reference", "account__number"]
    date_hierarchy = "created_at"
    fields = [
        "public_id", "status", "account", "amount", "currency", "beneficiary_name", "beneficiary_account",
        "beneficiary_bank", "beneficiary_country", "reference", "hold", "settlement_entry", "return_entry",
        "gateway_outcome", "gateway_reference", "gateway_reason", "submit_attempts", "next_attempt_at",
        "last_error", "fx_debit_amount", "fx_debit_currency", "fx_mid_rate", "fx_customer_rate", "fx_spread_bps",
        "fx_rate", "approval", "channel", "created_by", "created_at", "updated_at",
    ]  # fmt: skip
    inlines = [PaymentEventInline]

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, obj: Payment) -> str:
        return f"{format_amount(obj.amount, obj.currency)} {obj.currency}"
