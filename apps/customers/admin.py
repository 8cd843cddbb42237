"""Customers in the admin: personal data masked unless the user holds customers.view_pii (each
unmasked page is audited), KYC decisions through the service, and a relationship manager sees only
the customers assigned to them (django-guardian object permissions)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from apps.common.admin import ReadOnlyModelAdmin, run_each, staff_actor
from apps.customers.identity import mask_identifier, mask_phone
from apps.customers.models import Customer, KycStatus
from apps.customers.selectors import customer_search, customers_for_staff, staff_may_view_customer
from apps.customers.services import customer_decide_kyc, customer_record_pii_views

PII_MASKED = ["masked_national_id", "masked_phone", "birth_year", "address_on_file"]
PII_SHOWN = ["national_id", "phone", "date_of_birth", "address"]


@admin.register(Customer)
class CustomerAdmin(ReadOnlyModelAdmin):
    """Encrypted columns (national id, phone, address, date of birth) never appear as such: the
    pages show masked values computed from the decrypted ones, and the blind index not at all."""

    list_display = ["full_name", "kind", "masked_national_id", "country", "kyc_status", "risk_rating", "created_at"]
    list_filter = ["kyc_status", "kind", "country", "risk_rating"]
    search_fields = ["full_name"]  # see get_search_results: also e-mail and exact national id
    date_hierarchy = "created_at"
    actions = ["verify_kyc", "reject_kyc"]
    fields = [
        "public_id",
        "kind",
        "full_name",
        "email",
        "country",
        "masked_national_id",
        "masked_phone",
        "birth_year",
        "address_on_file",
        "kyc_status",
        "kyc_decided_by",
        "kyc_decided_at",
        "kyc_note",
        "risk_rating",
        "created_by",
        "created_at",
        "updated_at",
    ]

    def may_see_pii(self, request: HttpRequest) -> bool:
        return self.user_may(request, "view_pii")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None or not self.may_see_pii(request):
            return self.fields
        return [PII_SHOWN[PII_MASKED.index(f)] if f in PII_MASKED else f for f in self.fields or ()]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*self.get_fields(request, obj), *admin.ModelAdmin.get_readonly_fields(self, request, obj)]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Records a `customer.pii_view` audit event whenever the page shows personal data unmasked."""
        response = super().change_view(request, object_id, form_url, extra_context)
        context = getattr(response, "context_data", None) or {}
        original = context.get("original")
        if request.method == "GET" and response.status_code == 200 and original and self.may_see_pii(request):
            customer_record_pii_views(actor=staff_actor(request), customers=[original])
        return response

    def get_queryset(self, request: HttpRequest) -> QuerySet[Customer]:
        queryset = super().get_queryset(request)
        if self.user_may(request, "view_customer"):
            return queryset
        return queryset.filter(pk__in=customers_for_staff(request.user).values("pk"))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if super().has_view_permission(request, obj):
            return True
        if not self.user_may(request, "view_assigned_customer"):
            return False
        return obj is None or staff_may_view_customer(request.user, obj)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or self.user_may(request, "view_assigned_customer")

    @admin.display(description=_("national id"))
    def masked_national_id(self, obj: Customer) -> str:
        return mask_identifier(obj.national_id or "")

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: Customer) -> str:
        return mask_phone(obj.phone or "")

    @admin.display(description=_("year of birth"))
    def birth_year(self, obj: Customer) -> str:
        return (obj.date_of_birth or "")[:4]

    @admin.display(description=_("address on file"), boolean=True)
    def address_on_file(self, obj: Customer) -> bool:
        return bool(obj.address)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Any], search_term: str) -> Any:
        """Name, e-mail or exact national id (through its blind index), as the API searches."""
        if not search_term.strip():
            return queryset, False
        found = customer_search(actor=staff_actor(request), text=search_term).values("pk")
        return queryset.filter(pk__in=found), False

    def has_kyc_permission(self, request: HttpRequest) -> bool:
        return self.user_may(request, "change_customer")

    def _decide(self, request: HttpRequest, queryset: QuerySet[Customer], decision: str, label: Any) -> None:
        actor = staff_actor(request)
        pending = queryset.exclude(kyc_status=decision)
        run_each(
            self,
            request,
            pending,
            lambda customer: customer_decide_kyc(
                actor=actor, customer=customer, decision=decision, note=f"Decided in the admin by {actor.label}"
            ),
            label=label,
        )

    @admin.action(description=_("Mark KYC as verified"), permissions=["kyc"])
    def verify_kyc(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        self._decide(request, queryset, KycStatus.VERIFIED, _("Mark KYC as verified"))

    @admin.action(description=_("Mark KYC as rejected"), permissions=["kyc"])
    def reject_kyc(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        self._decide(request, queryset, KycStatus.REJECTED, _("Mark KYC as rejected"))
