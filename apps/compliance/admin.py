"""Maker-checker approvals in the admin, and the unfreeze request on the accounts page.

Approving runs the held action once, as the principal who asked for it; the staff user who
asked can never decide their own request (the service refuses it).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.accounts.admin import AccountAdmin
from apps.accounts.models import Account
from apps.common.admin import ReadOnlyModelAdmin, run_each, staff_actor
from apps.common.models import ControlKind, EmergencyControl
from apps.compliance.models import Approval
from apps.compliance.services import (
    account_reactivate_request,
    account_unfreeze_request,
    approval_approve,
    approval_reject,
    emergency_control_activate,
    emergency_control_lift_request,
)
from apps.customers.admin import CustomerAdmin
from apps.customers.models import Customer


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "action", "summary", "status", "requested_by", "decided_by", "expires_at"]
    list_filter = ["status", "action", "requested_channel"]
    list_select_related = ["customer"]
    search_fields = ["summary", "requested_by", "decided_by"]
    date_hierarchy = "created_at"
    actions = ["approve", "reject"]
    fields = [
        "public_id",
        "action",
        "summary",
        "status",
        "customer",
        "payload",
        "requested_by",
        "requested_channel",
        "request_reason",
        "decided_by",
        "decision_reason",
        "decided_at",
        "expires_at",
        "result",
        "created_at",
    ]

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return self.user_may(request, "change_approval")

    @admin.action(description=_("Approve (runs the held action)"), permissions=["decide"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Approval]) -> None:
        actor = staff_actor(request)
        run_each(
            self,
            request,
            queryset.order_by("id"),
            lambda approval: approval_approve(actor=actor, approval=approval, reason=f"Approved by {actor.label}"),
            label=_("Approve (runs the held action)"),
        )

    @admin.action(description=_("Reject"), permissions=["decide"])
    def reject(self, request: HttpRequest, queryset: QuerySet[Approval]) -> None:
        actor = staff_actor(request)
        run_each(
            self,
            request,
            queryset.order_by("id"),
            lambda approval: approval_reject(actor=actor, approval=approval, reason=f"Rejected by {actor.label}"),
            label=_("Reject"),
        )


class AccountWithApprovalsAdmin(AccountAdmin):
    """The accounts page with the unfreeze request, which needs a second person (maker-checker).

    Accounts sit below compliance, so the request action is added here, where approvals live."""

    actions = [*(AccountAdmin.actions or []), "request_unfreeze", "request_reactivation"]

    @admin.action(description=_("Request unfreezing (a second person approves)"), permissions=["manage"])
    def request_unfreeze(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        actor = staff_actor(request)

        def ask(account: Account) -> Any:
            return account_unfreeze_request(actor=actor, account=account, reason=f"Requested by {actor.label}")

        run_each(
            self,
            request,
            queryset.filter(is_internal=False).select_related("customer"),
            ask,
            label=_("Request unfreezing (a second person approves)"),
        )

    @admin.action(
        description=_("Request reactivation of dormant accounts (a second person approves)"), permissions=["manage"]
    )
    def request_reactivation(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        actor = staff_actor(request)

        def ask(account: Account) -> Any:
            return account_reactivate_request(actor=actor, account=account, reason=f"Requested by {actor.label}")

        run_each(
            self,
            request,
            queryset.filter(is_internal=False).select_related("customer"),
            ask,
            label=_("Request reactivation of dormant accounts (a second person approves)"),
        )


admin.site.unregister(Account)
admin.site.register(Account, AccountWithApprovalsAdmin)


@admin.register(EmergencyControl)
class EmergencyControlAdmin(ReadOnlyModelAdmin):
    """Kill switches. Switched on by `manage.py emergency_control activate` or, for one customer,
    the customers page; lifting waits for a second person in Approvals."""

    list_display = ["activated_at", "kind", "customer", "active", "activated_by", "reason", "deactivated_by"]
    list_filter = ["active", "kind"]
    list_select_related = ["customer"]
    search_fields = ["reason", "activated_by", "deactivated_by"]
    actions = ["request_lift"]
    fields = [
        "kind",
        "customer",
        "active",
        "reason",
        "activated_by",
        "activated_at",
        "deactivated_by",
        "deactivated_at",
        "deactivation_reason",
        "detail",
    ]

    def has_lift_permission(self, request: HttpRequest) -> bool:
        return self.user_may(request, "change_emergencycontrol")

    @admin.action(description=_("Request lifting (a second person approves)"), permissions=["lift"])
    def request_lift(self, request: HttpRequest, queryset: QuerySet[EmergencyControl]) -> None:
        actor = staff_actor(request)
        run_each(
            self,
            request,
            queryset.filter(active=True).select_related("customer"),
            lambda control: emergency_control_lift_request(
                actor=actor, control=control, reason=f"Requested by {actor.label}"
            ),
            label=_("Request lifting (a second person approves)"),
        )


class CustomerWithControlsAdmin(CustomerAdmin):
    """The customers page with the emergency freeze. Customers sit below compliance, so the
    action is added here, where the switches are handled."""

    actions = [*(CustomerAdmin.actions or []), "freeze_everywhere"]

    def has_emergency_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("common.add_emergencycontrol"))

    @admin.action(
        description=_("Freeze everywhere (emergency; lifting needs a second person)"), permissions=["emergency"]
    )
    def freeze_everywhere(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        actor = staff_actor(request)
        run_each(
            self,
            request,
            queryset.order_by("pk"),
            lambda customer: emergency_control_activate(
                actor=actor,
                kind=ControlKind.CUSTOMER_FROZEN,
                customer=customer,
                reason=f"Frozen from the admin by {actor.label}",
            ),
            label=_("Freeze everywhere (emergency; lifting needs a second person)"),
        )


admin.site.unregister(Customer)
admin.site.register(Customer, CustomerWithControlsAdmin)
