"""A customer's saved beneficiaries (the portal's address book): added with the same shape rules
as a payment's beneficiary, deleted by the customer, marked used by their first payment."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import audit_record
from apps.common.errors import NotFound, ValidationFailed
from apps.common.principals import Actor
from apps.customers.models import Customer
from apps.transactions.models import SavedBeneficiary
from apps.transactions.services_payments import Beneficiary, beneficiary_check

_PREFIX = "beneficiary."


def _normalised(name: str, account_number: str, bank_code: str, country: str) -> Beneficiary:
    return Beneficiary(
        name=" ".join((name or "").split()),
        account_number="".join((account_number or "").split()).upper(),
        bank_code="".join((bank_code or "").split()).upper(),
        country=(country or "").strip().upper(),
    )


def beneficiary_save(
    *,
    actor: Actor,
    customer: Customer,
    name: str,
    account_number: str,
    bank_code: str,
    country: str,
    nickname: str = "",
) -> SavedBeneficiary:
    """Add someone at another bank to the customer's address book. Refused with every problem
    named per field (name, account_number, bank_code, country, nickname), as the payment API
    refuses a payment's beneficiary; one entry per account number and bank."""
    if actor.customer_id is not None and actor.customer_id != customer.pk:
        raise NotFound()
    beneficiary = _normalised(name, account_number, bank_code, country)
    errors: dict[str, list[Any]] = {}
    if len(beneficiary.name) > 140:
        errors["name"] = [_("Use at most 140 characters.")]
    nickname = " ".join((nickname or "").split())
    if len(nickname) > 60:
        errors["nickname"] = [_("Use at most 60 characters.")]
    try:
        beneficiary_check(beneficiary)
    except ValidationFailed as refusal:
        for field, messages in refusal.errors.items():
            errors.setdefault(field.removeprefix(_PREFIX), []).extend(messages)
    if errors:
        raise ValidationFailed(errors)
    duplicate = ValidationFailed({"account_number": [_("This account at this bank is already in your beneficiaries.")]})
    with transaction.atomic():
        if SavedBeneficiary.objects.filter(
            customer=customer, account_number=beneficiary.account_number, bank_code=beneficiary.bank_code
        ).exists():
            raise duplicate
        try:
            with transaction.atomic():  # a twin submission may have inserted the same entry meanwhile
                saved = SavedBeneficiary.objects.create(
                    customer=customer,
                    name=beneficiary.name,
                    account_number=beneficiary.account_number,
                    bank_code=beneficiary.bank_code,
                    country=beneficiary.country,
                    nickname=nickname,
                    created_by=actor.label,
                )
        except IntegrityError:
            raise duplicate from None
        audit_record(
            actor=actor.label,
            action="beneficiary.create",
            object_type="beneficiary",
            object_id=str(saved.public_id),
            detail={"customer": str(customer.public_id), "bank_code": saved.bank_code, "country": saved.country},
        )
    return saved


def beneficiary_delete(*, actor: Actor, beneficiary: SavedBeneficiary) -> None:
    """Take an entry out of the address book (payments already made keep their own copy)."""
    if actor.customer_id is not None and actor.customer_id != beneficiary.customer_id:
        raise NotFound()
    with transaction.atomic():
        public_id = str(beneficiary.public_id)
        beneficiary.delete()
        audit_record(actor=actor.label, action="beneficiary.delete", object_type="beneficiary", object_id=public_id)


def beneficiary_as_payee(beneficiary: SavedBeneficiary) -> Beneficiary:
    return Beneficiary(
        name=beneficiary.name,
        account_number=beneficiary.account_number,
        bank_code=beneficiary.bank_code,
        country=beneficiary.country,
    )


def beneficiary_mark_used(*, beneficiary: SavedBeneficiary) -> None:
    """The first payment to it went ahead: it is no longer a new beneficiary (no more step-up)."""
    if beneficiary.first_used_at is None:
        now = timezone.now()
        SavedBeneficiary.objects.filter(pk=beneficiary.pk, first_used_at__isnull=True).update(first_used_at=now)
        beneficiary.first_used_at = now
