"""Products, accounts and holds in the admin. Balances are shown, never edited: they change only
with the ledger's postings; freezing, closing and releasing go through the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Account, Hold, Product
from apps.accounts.selectors import accounts_for_staff
from apps.accounts.services import account_close, account_freeze, hold_release
from apps.common.admin import ReadOnlyInline, ReadOnlyModelAdmin, run_each, staff_actor
from apps.common.money import format_amount

ACCOUNT_FIELDS: list[Any] = [
    "public_id",
    "number",
    "customer",
    "product",
    "currency",
    "status",
    "status_reason",
    "frozen_by_bank",
    "is_internal",
    "gl_code",
    "balance_display",
    "available_display",
    "overdraft_limit",
    "opened_at",
    "closed_at",
    "created_at",
    "updated_at",
]


@admin.register(Product)
class ProductAdmin(ReadOnlyModelAdmin):
    list_display = ["code", "name", "currency", "kind", "overdraft_limit", "is_active"]
    list_filter = ["kind", "currency", "is_active"]
    search_fields = ["code", "name"]


class HoldInline(ReadOnlyInline):
    model = Hold
    fields = ["amount", "currency", "status", "reference", "expires_at", "created_at"]
    ordering = ["-id"]


@admin.register(Account)
class AccountAdmin(ReadOnlyModelAdmin):
    list_display = [
        "number",
        "customer",
        "product",
        "status",
        "balance_display",
        "available_display",
        "currency",
        "opened_at",
    ]
    list_filter = ["status", "currency", "is_internal", "product__kind", "gl_code"]
    list_select_related = ["customer", "product"]
    search_fields = ["number", "customer__full_name"]
    date_hierarchy = "opened_at"
    actions = ["freeze_accounts", "close_accounts"]
    fields = ACCOUNT_FIELDS
    inlines = [HoldInline]

    @admin.display(description=_("balance"), ordering="balance")
    def balance_display(self, obj: Account) -> str:
        return format_amount(obj.balance, obj.currency)

    @admin.display(description=_("available"), ordering="available")
    def available_display(self, obj: Account) -> str:
        return format_amount(obj.available, obj.currency)

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return self.user_may(request, "change_account")

    # A relationship manager (customers.view_assigned_customer) sees their customers' accounts only.
    def _assigned_only(self, request: HttpRequest) -> bool:
        return not self.user_may(request, "view_account") and bool(
            request.user.has_perm("customers.view_assigned_customer")
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Account]:
        queryset = super().get_queryset(request)
        if self._assigned_only(request):
            return queryset.filter(pk__in=accounts_for_staff(request.user).values("pk"))
        return queryset

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if super().has_view_permission(request, obj):
            return True
        if not self._assigned_only(request):
            return False
        return obj is None or accounts_for_staff(request.user).filter(pk=obj.pk).exists()

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or self._assigned_only(request)

    @admin.action(description=_("Freeze the selected accounts"), permissions=["manage"])
    def freeze_accounts(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        actor = staff_actor(request)
        reason = f"Frozen in the admin by {actor.label}"
        run_each(
            self,
            request,
            queryset.filter(is_internal=False),
            lambda account: account_freeze(actor=actor, account=account, reason=reason),
            label=_("Freeze the selected accounts"),
        )

    @admin.action(description=_("Close the selected accounts (zero balance only)"), permissions=["manage"])
    def close_accounts(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        actor = staff_actor(request)
        reason = f"Closed in the admin by {actor.label}"
        run_each(
            self,
            request,
            queryset.filter(is_internal=False),
            lambda account: account_close(actor=actor, account=account, reason=reason),
            label=_("Close the selected accounts (zero balance only)"),
        )


@admin.register(Hold)
class HoldAdmin(ReadOnlyModelAdmin):
    list_display = ["account", "amount_display", "status", "reference", "expires_at", "created_at"]
    list_filter = ["status", "currency"]
    list_select_related = ["account"]
    search_fields = ["account__number", "reference"]
    date_hierarchy = "created_at"
    actions = ["release_holds"]
    fields = [
        "public_id",
        "account",
        "amount",
        "currency",
        "captured_amount",
        "status",
        "reference",
        "expires_at",
        "closed_at",
        "created_by",
        "created_at",
    ]

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, obj: Hold) -> str:
        return f"{format_amount(obj.amount, obj.currency)} {obj.currency}"

    def has_release_permission(self, request: HttpRequest) -> bool:
        return self.user_may(request, "change_hold")

    @admin.action(description=_("Release the selected holds"), permissions=["release"])
    def release_holds(self, request: HttpRequest, queryset: QuerySet[Hold]) -> None:
        actor = staff_actor(request)
        run_each(
            self,
            request,
            queryset,
            lambda hold: hold_release(actor=actor, hold=hold),
            label=_("Release the selected holds"),
        )
