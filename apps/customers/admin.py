"""Customers in the admin: personal data only masked, KYC decisions through the service."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.common.admin import ReadOnlyModelAdmin, run_each, staff_actor
from apps.customers.identity import mask_identifier, mask_phone
from apps.customers.models import Customer, KycStatus
from apps.customers.selectors import customer_search
from apps.customers.services import customer_decide_kyc


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
