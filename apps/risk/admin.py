"""Risk in the back office: the alert queue (assign, close with a disposition), rules and limits
as they stand (changed through `manage.py risk_rule` / `risk_limit` and approvals), profiles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.common.admin import ReadOnlyModelAdmin, run_each, staff_actor
from apps.common.principals import Actor
from apps.risk.models import Alert, Disposition, FxPositionLimit, LimitRule, OverdraftFacility, RiskProfile, Rule
from apps.risk.services import alert_assign, alert_close, customer_risk_score
from apps.risk.services_credit import facility_end


@admin.register(Alert)
class AlertAdmin(ReadOnlyModelAdmin):
    list_display = [
        "created_at",
        "category",
        "outcome",
        "reason",
        "kind",
        "amount",
        "currency",
        "status",
        "assignee",
        "disposition",
    ]
    list_filter = ["status", "category", "outcome", "disposition", "kind"]
    search_fields = ["reason", "reference", "assignee"]
    date_hierarchy = "created_at"
    actions = ["assign_to_me", "close_true_positive", "close_false_positive", "close_escalated"]
    fields = [
        "public_id", "category", "rule", "customer", "outcome", "reason", "kind", "reference", "amount", "currency", "score",
        "status", "assignee", "disposition", "notes", "closed_by", "closed_at", "created_at",
    ]  # fmt: skip

    def has_work_permission(self, request: HttpRequest) -> bool:
        return self.user_may(request, "change_alert")

    def _each(
        self, request: HttpRequest, queryset: QuerySet[Alert], label: Any, run: Callable[[Actor, Alert], object]
    ) -> None:
        actor = staff_actor(request)
        run_each(self, request, queryset.order_by("id"), lambda alert: run(actor, alert), label=label)

    @admin.action(description=_("Assign to me"), permissions=["work"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        username = request.user.get_username()
        self._each(
            request, queryset, _("Assign to me"), lambda a, alert: alert_assign(actor=a, alert=alert, assignee=username)
        )

    @admin.action(description=_("Close: true positive"), permissions=["work"])
    def close_true_positive(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        self._close(request, queryset, Disposition.TRUE_POSITIVE)

    @admin.action(description=_("Close: false positive"), permissions=["work"])
    def close_false_positive(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        self._close(request, queryset, Disposition.FALSE_POSITIVE)

    @admin.action(description=_("Close: escalated"), permissions=["work"])
    def close_escalated(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        self._close(request, queryset, Disposition.ESCALATED)

    def _close(self, request: HttpRequest, queryset: QuerySet[Alert], disposition: str) -> None:
        self._each(
            request,
            queryset,
            Disposition(disposition).label,
            lambda a, alert: alert_close(actor=a, alert=alert, disposition=disposition),
        )


@admin.register(Rule)
class RuleAdmin(ReadOnlyModelAdmin):
    list_display = ["code", "version", "kind", "action", "status", "created_by", "approved_by", "updated_at"]
    list_filter = ["status", "kind", "action"]
    search_fields = ["code"]
    fields = ["code", "version", "kind", "parameters", "action", "channels", "status", "created_by", "approved_by"]


@admin.register(LimitRule)
class LimitRuleAdmin(ReadOnlyModelAdmin):
    list_display = ["__str__", "per_transaction", "daily", "monthly", "valid_from", "created_by", "approved_by"]
    list_filter = ["currency", "channel", "tier"]
    fields = [
        "channel", "product", "tier", "currency", "per_transaction", "daily", "monthly", "valid_from", "created_by",
        "approved_by",
    ]  # fmt: skip


@admin.register(RiskProfile)
class RiskProfileAdmin(ReadOnlyModelAdmin):
    list_display = ["customer", "tier", "pep", "score", "scored_at"]
    list_filter = ["tier", "pep"]
    list_select_related = ["customer"]
    actions = ["rescore"]
    fields = ["customer", "tier", "pep", "score", "factors", "scored_at"]

    def has_rescore_permission(self, request: HttpRequest) -> bool:
        return self.user_may(request, "change_riskprofile")

    @admin.action(description=_("Recompute the risk score"), permissions=["rescore"])
    def rescore(self, request: HttpRequest, queryset: QuerySet[RiskProfile]) -> None:
        run_each(
            self,
            request,
            queryset.select_related("customer").order_by("id"),
            lambda profile: customer_risk_score(customer=profile.customer),
            label=_("Recompute the risk score"),
        )


@admin.register(OverdraftFacility)
class OverdraftFacilityAdmin(ReadOnlyModelAdmin):
    """Facilities are asked for with `manage.py risk_facility request` and approved in the
    approvals queue by another person; here they are seen and, when needed, ended at once."""

    list_display = [
        "__str__",
        "customer",
        "limit",
        "currency",
        "rate",
        "valid_from",
        "valid_to",
        "status",
        "approved_by",
    ]
    list_filter = ["status", "currency"]
    list_select_related = ["customer"]
    search_fields = ["public_id", "account__number"]
    actions = ["end_now"]
    fields = [
        "public_id", "account", "customer", "limit", "currency", "rate", "valid_from", "valid_to", "status",
        "approval", "credit_score", "requested_by", "approved_by", "ended_at", "end_reason", "created_at",
    ]  # fmt: skip

    def has_end_permission(self, request: HttpRequest) -> bool:
        return self.user_may(request, "change_overdraftfacility")

    @admin.action(description=_("End the facility now"), permissions=["end"])
    def end_now(self, request: HttpRequest, queryset: QuerySet[OverdraftFacility]) -> None:
        actor = staff_actor(request)
        run_each(
            self,
            request,
            queryset.order_by("id"),
            lambda facility: facility_end(
                actor=actor, facility=facility, reason=f"ended in the admin by {actor.label}"
            ),
            label=_("End the facility now"),
        )


@admin.register(FxPositionLimit)
class FxPositionLimitAdmin(ReadOnlyModelAdmin):
    """Changed with `manage.py fx_position limit` (raising waits for a second person)."""

    list_display = ["currency", "limit", "created_by", "approved_by", "created_at"]
    list_filter = ["currency"]
    fields = ["currency", "limit", "created_by", "approved_by", "created_at"]
