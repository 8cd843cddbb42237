"""Treasury in the admin: rates and deals (read-only), settlement files and their lines, and the
reconciliation breaks operations resolve (the note is typed beside the action)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.common.admin import ReadOnlyInline, ReadOnlyModelAdmin, run_each, staff_actor
from apps.treasury.models import Break, FxDeal, FxRate, SettlementFile, SettlementLine
from apps.treasury.services_recon import break_resolve


@admin.register(FxRate)
class FxRateAdmin(ReadOnlyModelAdmin):
    list_display = ["base", "quote", "mid", "valid_from", "valid_to", "set_by", "approved_by"]
    list_filter = ["base", "quote"]
    date_hierarchy = "valid_from"
    fields = ["public_id", "base", "quote", "mid", "valid_from", "valid_to", "set_by", "approved_by", "approval"]


@admin.register(FxDeal)
class FxDealAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "sell_amount", "sell_currency", "buy_amount", "buy_currency", "customer_rate"]
    list_filter = ["sell_currency", "buy_currency"]
    list_select_related = ["entry"]
    date_hierarchy = "created_at"
    fields = [
        "public_id", "entry", "sell_amount", "sell_currency", "buy_amount", "buy_currency",
        "mid_rate", "customer_rate", "spread_bps", "rate", "created_at",
    ]  # fmt: skip


class SettlementLineInline(ReadOnlyInline):
    model = SettlementLine
    fields = ["line_no", "payment_key", "gateway_reference", "amount", "currency", "status", "value_date", "outcome"]
    show_change_link = False


@admin.register(SettlementFile)
class SettlementFileAdmin(ReadOnlyModelAdmin):
    list_display = ["imported_at", "filename", "format", "statement_date", "line_count", "imported_by"]
    list_filter = ["format"]
    search_fields = ["filename", "sha256"]
    date_hierarchy = "imported_at"
    fields = ["public_id", "filename", "format", "sha256", "statement_date", "line_count", "imported_by", "imported_at"]
    inlines = [SettlementLineInline]


class ResolveForm(ActionForm):
    note = forms.CharField(label=gettext_lazy("Resolution note"), max_length=255, required=False)


@admin.register(Break)
class BreakAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "kind", "detail", "payment", "status", "resolved_by", "note"]
    list_filter = ["status", "kind"]
    list_select_related = ["payment"]
    search_fields = ["detail", "note"]
    date_hierarchy = "created_at"
    action_form = ResolveForm
    actions = ["resolve_breaks"]
    fields = [
        "public_id", "kind", "detail", "file", "line", "payment", "status",
        "resolved_by", "resolved_at", "note", "created_at",
    ]  # fmt: skip

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return self.user_may(request, "change_break")

    @admin.action(description=gettext_lazy("Resolve the selected breaks (with the note)"), permissions=["resolve"])
    def resolve_breaks(self, request: HttpRequest, queryset: QuerySet[Break]) -> None:
        actor = staff_actor(request)
        note = str(request.POST.get("note", ""))

        def resolve(brk: Any) -> object:
            return break_resolve(actor=actor, brk=brk, note=note)

        run_each(self, request, queryset, resolve, label=_("Resolve the selected breaks"))
