"""Maker-checker approvals in the admin, and the unfreeze request on the accounts page.

Approving runs the held action once, as the principal who asked for it; the staff user who
asked can never decide their own request (the service refuses it).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.accounts.admin import AccountAdmin
from apps.accounts.models import Account
from apps.common.admin import ReadOnlyModelAdmin, run_each, staff_actor
from apps.common.errors import ApprovalNotPending
from apps.common.models import ControlKind, EmergencyControl
from apps.compliance.aml import case_assign, case_close, case_escalate
from apps.compliance.models import (
    Approval,
    Case,
    CaseDisposition,
    CaseNote,
    CaseStatus,
    ReportRecord,
    ReportRule,
    Watchlist,
    WatchlistEntry,
)
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
from apps.transactions.admin import PaymentAdmin
from apps.transactions.models import Payment, PaymentStatus


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


class PaymentWithReviewAdmin(PaymentAdmin):
    """The payments page with the decision on payments a screener held for review: each runs
    the payment's `payment.release` approval (maker-checker: its maker is refused), so it is the
    same decision as in Approvals, recorded there and on the payment's history."""

    actions = ["approve_review", "reject_review"]

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("compliance.change_approval"))

    def _decide(self, request: HttpRequest, queryset: QuerySet[Payment], approve: bool, label: Any) -> None:
        actor = staff_actor(request)

        def decide(payment: Payment) -> Any:
            approval = (
                Approval.objects.filter(public_id=payment.approval, action="payment.release").first()
                if payment.approval is not None
                else None
            )
            if approval is None:
                raise ApprovalNotPending()
            if approve:
                return approval_approve(actor=actor, approval=approval, reason=f"Approved by {actor.label}")
            return approval_reject(actor=actor, approval=approval, reason=f"Rejected by {actor.label}")

        run_each(
            self, request, queryset.filter(status=PaymentStatus.PENDING_APPROVAL).order_by("id"), decide, label=label
        )

    @admin.action(description=_("Approve the selected payments held for review"), permissions=["decide"])
    def approve_review(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        self._decide(request, queryset, True, _("Approve the selected payments held for review"))

    @admin.action(description=_("Reject the selected payments held for review"), permissions=["decide"])
    def reject_review(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        self._decide(request, queryset, False, _("Reject the selected payments held for review"))


admin.site.unregister(Payment)
admin.site.register(Payment, PaymentWithReviewAdmin)


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


# --- AML: watchlists, cases, transaction reports (docs/compliance.md) ---


@admin.register(Watchlist)
class WatchlistAdmin(ReadOnlyModelAdmin):
    """Lists are loaded by `manage.py import_watchlist` (audited), never edited by hand."""

    list_display = ["name", "source_format", "entry_count", "updated_at", "version"]


@admin.register(WatchlistEntry)
class WatchlistEntryAdmin(ReadOnlyModelAdmin):
    list_display = ["name", "ref", "entry_type", "country", "birth_date", "watchlist"]
    list_filter = ["watchlist", "entry_type"]
    list_select_related = ["watchlist"]
    search_fields = ["name", "ref"]


class CaseNoteInline(admin.TabularInline):  # type: ignore[type-arg]
    model = CaseNote
    fields = ["created_at", "action", "author", "text", "attachment"]
    readonly_fields = ["created_at", "action", "author", "text", "attachment"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _close_with(disposition: str) -> Any:
    def close(modeladmin: CaseAdmin, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        actor = staff_actor(request)
        run_each(
            modeladmin,
            request,
            queryset.exclude(status=CaseStatus.CLOSED).order_by("pk"),
            lambda case: case_close(actor=actor, case=case, disposition=disposition, reason=f"closed by {actor.label}"),
            label=_("Close"),
        )

    return close


@admin.register(Case)
class CaseAdmin(ReadOnlyModelAdmin):
    """Compliance cases. Assigning, escalating and closing go through the services (audited)."""

    list_display = ["created_at", "kind", "summary", "status", "score", "assignee", "disposition"]
    list_filter = ["status", "kind", "disposition"]
    list_select_related = ["assignee", "customer"]
    search_fields = ["summary", "subject_name"]
    date_hierarchy = "created_at"
    inlines = [CaseNoteInline]
    actions = ["assign_to_me", "escalate", "close_false_positive", "close_true_match", "close_reported"]
    fields = [
        "public_id",
        "kind",
        "status",
        "summary",
        "subject_name",
        "customer",
        "payment",
        "score",
        "detail",
        "assignee",
        "disposition",
        "opened_by",
        "created_at",
        "closed_at",
    ]

    def has_work_permission(self, request: HttpRequest) -> bool:
        return self.user_may(request, "change_case")

    @admin.action(description=_("Assign to me"), permissions=["work"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        actor = staff_actor(request)
        user = request.user
        assert isinstance(user, User)
        run_each(
            self,
            request,
            queryset.exclude(status=CaseStatus.CLOSED).order_by("pk"),
            lambda case: case_assign(actor=actor, case=case, assignee=user),
            label=_("Assign to me"),
        )

    @admin.action(description=_("Escalate"), permissions=["work"])
    def escalate(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        actor = staff_actor(request)
        run_each(
            self,
            request,
            queryset.exclude(status=CaseStatus.CLOSED).order_by("pk"),
            lambda case: case_escalate(actor=actor, case=case, reason=f"escalated by {actor.label}"),
            label=_("Escalate"),
        )

    close_false_positive = admin.action(description=_("Close as a false positive"), permissions=["work"])(
        _close_with(CaseDisposition.FALSE_POSITIVE)
    )
    close_true_match = admin.action(description=_("Close as a true match"), permissions=["work"])(
        _close_with(CaseDisposition.TRUE_MATCH)
    )
    close_reported = admin.action(description=_("Close as reported to the authority"), permissions=["work"])(
        _close_with(CaseDisposition.REPORTED)
    )


@admin.register(ReportRule)
class ReportRuleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The jurisdictions' thresholds are data: compliance tunes them here (auditlog keeps history)."""

    list_display = ["jurisdiction", "code", "flow", "customer_kind", "threshold", "threshold_currency", "active"]
    list_filter = ["jurisdiction", "flow", "active"]
    # A rule with reports cannot be deleted (PROTECT): switch it off instead.


@admin.register(ReportRecord)
class ReportRecordAdmin(ReadOnlyModelAdmin):
    list_display = ["business_date", "rule", "customer", "total", "currency", "transaction_count", "case"]
    list_filter = ["business_date", "rule"]
    list_select_related = ["rule", "customer", "case"]
    date_hierarchy = "business_date"
