"""Business actions on customers. Each is one database transaction."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pycountry
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from apps.audit.services import audit_record, audit_record_many
from apps.common.errors import ValidationFailed
from apps.common.money import Money
from apps.common.principals import Actor, require_bank
from apps.customers.hooks import customer_name_set
from apps.customers.identity import (
    IdentityError,
    birth_date_from_national_id,
    national_id_digest,
    validate_national_id,
)
from apps.customers.models import Customer, CustomerKind, KycStatus, PortalUser
from apps.customers.selectors import customers_rejected_pii_due

_PHONE = re.compile(r"\+?[0-9]{6,15}")


def _check_country(code: str, errors: dict[str, list[Any]]) -> str:
    code = (code or "").strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        errors.setdefault("country", []).append(_("Enter an ISO 3166 alpha-2 country code, e.g. CN."))
    return code


def customer_create(
    *,
    actor: Actor,
    kind: str,
    full_name: str,
    national_id: str,
    country: str,
    date_of_birth: dt.date | None = None,
    email: str = "",
    phone: str = "",
    address: str = "",
) -> Customer:
    """Register a customer with KYC pending. Refuses invalid data with every problem named."""
    require_bank(actor, _("Only the bank registers customers."))
    errors: dict[str, list[Any]] = {}
    if kind not in CustomerKind.values:
        errors["kind"] = [_("Choose individual or corporate.")]
    full_name = " ".join((full_name or "").split())
    if not full_name:
        errors["full_name"] = [_("Enter the customer's name.")]
    country = _check_country(country, errors)
    canonical_id = ""
    if "country" not in errors and "kind" not in errors:
        try:
            canonical_id = validate_national_id(national_id or "", country=country, kind=kind)
        except IdentityError as exc:
            errors["national_id"] = [str(exc)]
    if kind == CustomerKind.INDIVIDUAL:
        if date_of_birth is None:
            errors["date_of_birth"] = [_("Enter the date of birth of an individual.")]
        elif date_of_birth > timezone.localdate() or date_of_birth.year < 1900:
            errors["date_of_birth"] = [_("Enter a real date of birth.")]
        elif canonical_id:
            embedded = birth_date_from_national_id(canonical_id, country=country, kind=kind)
            if embedded is not None and embedded != date_of_birth:
                errors["date_of_birth"] = [_("The date of birth does not match the national id.")]
    elif date_of_birth is not None:
        errors["date_of_birth"] = [_("A corporate customer has no date of birth.")]
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            errors["email"] = [_("Enter a valid e-mail address.")]
    phone = re.sub(r"[\s()-]", "", phone or "")
    if phone and not _PHONE.fullmatch(phone):
        errors["phone"] = [_("Enter a phone number of 6 to 15 digits, optionally with a leading +.")]
    if errors:
        raise ValidationFailed(errors)

    with transaction.atomic():
        customer = Customer.objects.create(
            kind=kind,
            full_name=full_name,
            email=email,
            country=country,
            national_id=canonical_id,
            national_id_index=national_id_digest(canonical_id),
            phone=phone,
            address=(address or "").strip(),
            date_of_birth=date_of_birth.isoformat() if date_of_birth else "",
            created_by=actor.label,
        )
        audit_record(
            actor=actor.label, action="customer.create", object_type="customer", object_id=str(customer.public_id)
        )
        customer_name_set(customer)  # sanctions screening after commit (apps/customers/hooks.py)
    return customer


def customer_rename(*, actor: Actor, customer: Customer, full_name: str, reason: str = "") -> Customer:
    """Change a customer's legal name (marriage, corporate rename); screened again after commit."""
    require_bank(actor, _("Only the bank changes a customer's name."))
    full_name = " ".join((full_name or "").split())
    if not full_name or len(full_name) > 200:
        raise ValidationFailed({"full_name": [_("Enter the customer's name.")]})
    with transaction.atomic(durable=True):
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if locked.full_name == full_name:
            return locked
        locked.full_name = full_name
        locked.save(update_fields=["full_name", "updated_at"])
        audit_record(
            actor=actor.label,
            action="customer.rename",
            object_type="customer",
            object_id=str(locked.public_id),
            detail={"reason": reason[:255]},
        )
        customer_name_set(locked)
    return locked


def customer_decide_kyc(*, actor: Actor, customer: Customer, decision: str, note: str = "") -> Customer:
    """Record a KYC decision (verified or rejected), who made it and when."""
    require_bank(actor, _("Only the bank decides KYC."))
    if decision not in (KycStatus.VERIFIED, KycStatus.REJECTED):
        raise ValidationFailed({"decision": [_("Choose verified or rejected.")]})
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        locked.kyc_status = decision
        locked.kyc_decided_by = actor.label
        locked.kyc_decided_at = timezone.now()
        locked.kyc_note = note
        locked.save(update_fields=["kyc_status", "kyc_decided_by", "kyc_decided_at", "kyc_note", "updated_at"])
        audit_record(
            actor=actor.label,
            action="customer.kyc_decide",
            object_type="customer",
            object_id=str(locked.public_id),
            detail={"decision": decision},
        )
    return locked


def customer_record_pii_views(*, actor: Actor, customers: list[Customer]) -> None:
    """Every unmasked view of personal data leaves an audit event (one INSERT for a whole page)."""
    audit_record_many(
        actor=actor.label,
        action="customer.pii_view",
        object_type="customer",
        object_ids=[str(customer.public_id) for customer in customers],
    )


PURGED_NAME = "(personal data purged)"


def customers_purge_rejected_pii(*, actor: Actor, decided_before: dt.datetime, limit: int = 500) -> list[str]:
    """Erase the personal data of up to `limit` rejected applicants past retention; returns their public ids.

    The customer row stays (its id, kind, country, KYC decision and dates), so audit events and
    reports that name it still resolve; the encrypted fields, the blind index, the e-mail, the
    name and the KYC note are blanked. The ciphertext is gone, not just unreadable.
    """
    require_bank(actor, _("Only the bank purges personal data."))
    with transaction.atomic():
        due = list(
            customers_rejected_pii_due(decided_before=decided_before)
            .select_for_update(of=("self",))
            .values_list("pk", "public_id")[:limit]
        )
        if not due:
            return []
        Customer.objects.filter(pk__in=[pk for pk, _public in due]).update(
            full_name=PURGED_NAME,
            email="",
            national_id="",
            national_id_index="",
            phone="",
            address="",
            date_of_birth="",
            kyc_note="",
            updated_at=timezone.now(),
        )
        public_ids = [str(public_id) for _pk, public_id in due]
        audit_record_many(actor=actor.label, action="customer.pii_purge", object_type="customer", object_ids=public_ids)
    return public_ids


RM_OBJECT_PERMISSION = "customers.view_customer"  # held on each customer assigned to a manager


def customer_assign_relationship_manager(*, actor: Actor, customer: Customer, manager: User | None) -> Customer:
    """Make `manager` (a staff user in a role holding customers.view_assigned_customer) the
    customer's relationship manager: they get django-guardian's view permission on this customer,
    and the previous manager loses it. `None` leaves the customer without a manager."""
    require_bank(actor)
    if manager is not None and not (
        manager.is_staff and manager.is_active and manager.has_perm("customers.view_assigned_customer")
    ):
        raise ValidationFailed({"manager": [_("Choose an active staff user in the relationship manager role.")]})
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        previous = locked.relationship_manager
        if previous is not None and previous != manager:
            remove_perm(RM_OBJECT_PERMISSION, previous, locked)
        if manager is not None:
            assign_perm(RM_OBJECT_PERMISSION, manager, locked)
        locked.relationship_manager = manager
        locked.save(update_fields=["relationship_manager", "updated_at"])
        audit_record(
            actor=actor.label,
            action="customer.assign_relationship_manager",
            object_type="customer",
            object_id=str(locked.public_id),
            detail={
                "previous": previous.get_username() if previous is not None else None,
                "manager": manager.get_username() if manager is not None else None,
            },
        )
    return locked


def customer_set_approval_threshold(*, actor: Actor, customer: Customer, threshold: Money | None) -> Customer:
    """Corporate mandates: payments above `threshold` need a second portal user's approval
    (None: every payment does, the safe default for a corporate customer)."""
    require_bank(actor)
    if customer.kind != CustomerKind.CORPORATE:
        raise ValidationFailed({"threshold": [_("Only corporate customers have an approval threshold.")]})
    if threshold is not None and threshold.amount < 0:
        raise ValidationFailed({"threshold": [_("The threshold cannot be negative.")]})
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        locked.approval_threshold = threshold.amount if threshold is not None else None
        locked.approval_threshold_currency = threshold.currency if threshold is not None else ""
        locked.save(update_fields=["approval_threshold", "approval_threshold_currency", "updated_at"])
        audit_record(
            actor=actor.label,
            action="customer.set_approval_threshold",
            object_type="customer",
            object_id=str(locked.public_id),
            detail={"threshold": str(threshold) if threshold is not None else None},
        )
    return locked


def portal_user_create(*, actor: Actor, customer: Customer, user: User) -> PortalUser:
    """Link a (non-staff) login to a customer; its per-account rights are granted separately."""
    require_bank(actor)
    if user.is_staff or user.is_superuser:
        raise ValidationFailed({"user": [_("Staff users cannot be portal users: use a separate login.")]})
    if PortalUser.objects.filter(user=user).exists():
        raise ValidationFailed({"user": [_("This login already belongs to a customer.")]})
    with transaction.atomic():
        portal_user = PortalUser.objects.create(user=user, customer=customer)
        audit_record(
            actor=actor.label,
            action="portal_user.create",
            object_type="customer",
            object_id=str(customer.public_id),
            detail={"user": user.get_username()},
        )
    return portal_user


def customer_update_contact(
    *, actor: Actor, customer: Customer, email: str | None = None, phone: str | None = None
) -> Customer:
    """Change a customer's e-mail and/or phone (the portal calls it once the customer proved the
    new address or number with a code). The customer's own principal may change only itself;
    the audit event names which field changed, never the values."""
    if actor.customer_id is not None and actor.customer_id != customer.pk:
        raise ValidationFailed({"customer": [_("Not your customer record.")]})
    errors: dict[str, list[Any]] = {}
    if email is not None:
        email = email.strip()
        try:
            validate_email(email)
        except DjangoValidationError:
            errors["email"] = [_("Enter a valid e-mail address.")]
    if phone is not None:
        phone = "".join(phone.split())
        if not _PHONE.fullmatch(phone):
            errors["phone"] = [_("Enter a phone number of 6 to 15 digits, optionally starting with +.")]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        changed: list[str] = []
        if email is not None and email != locked.email:
            locked.email = email
            changed.append("email")
        if phone is not None and phone != locked.phone:
            locked.phone = phone
            changed.append("phone")
        if changed:
            locked.save(update_fields=[*changed, "updated_at"])
            audit_record(
                actor=actor.label,
                action="customer.contact_change",
                object_type="customer",
                object_id=str(locked.public_id),
                detail={"fields": changed},
            )
    return locked
