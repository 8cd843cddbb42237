"""Portal actions of a customer's login: recording logins, log out everywhere, turning TOTP on and
off, and changing contact details with a code sent to the new address or number.

Each writes its audit event in the same transaction. Sessions themselves (Django's login and
logout) belong to the views; these functions change only the stored state.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.services import audit_record
from apps.common.errors import ValidationFailed
from apps.common.principals import Actor, Channel
from apps.common.totp import Enrolment, totp_enrolment_confirm, totp_enrolment_start, totp_verify
from apps.customers.models import CustomerKind, PortalUser
from apps.customers.services import customer_update_contact
from apps.integrations.channels import DeliveryFailed, email_send, sms_send
from apps.portal.models import ContactChange, ContactField, PortalSessionEpoch
from apps.portal.selectors import contact_change_pending

TOTP_DEVICE_NAME = "portal authenticator"
CONTACT_CODE_MINUTES = 15
CONTACT_CODE_ATTEMPTS = 5


def portal_actor(portal_user: PortalUser) -> Actor:
    """The principal of a portal user's business actions: bound to their customer."""
    return Actor(label=_label(portal_user.user), channel=Channel.PORTAL, customer_id=portal_user.customer_id)


def _label(user: Any) -> str:
    return f"portal:{user.get_username()}"


# --- logins and sessions ------------------------------------------------------------------------


def portal_login_record(*, user: Any, ip_address: str, second_factor: bool) -> None:
    """Every factor passed: the login is recorded."""
    with transaction.atomic():
        audit_record(
            actor=_label(user),
            action="portal.login",
            object_type="user",
            object_id=str(user.pk),
            detail={"ip_address": ip_address, "second_factor": second_factor},
        )


def portal_logout_everywhere(*, user: Any) -> int:
    """End every portal session of the user, on every device; returns the new epoch."""
    with transaction.atomic():
        PortalSessionEpoch.objects.get_or_create(user=user)
        PortalSessionEpoch.objects.filter(user=user).update(epoch=F("epoch") + 1)
        epoch = PortalSessionEpoch.objects.values_list("epoch", flat=True).get(user=user)
        audit_record(actor=_label(user), action="portal.logout_everywhere", object_type="user", object_id=str(user.pk))
        return int(epoch)


# --- TOTP -----------------------------------------------------------------------------------------


def portal_totp_enrolment_start(*, user: Any) -> Enrolment:
    """The login's unconfirmed TOTP device with its QR code (apps.common.totp)."""
    return totp_enrolment_start(user=user, device_name=TOTP_DEVICE_NAME)


def portal_totp_enable(*, user: Any, token: str) -> TOTPDevice | None:
    """Confirm the pending device with its first code: from the next login on, the portal asks
    for a code. None when the code is wrong."""
    with transaction.atomic():
        device = totp_enrolment_confirm(user=user, token=token)
        if device is not None:
            audit_record(actor=_label(user), action="portal.totp_enabled", object_type="user", object_id=str(user.pk))
        return device


def portal_totp_verify(*, user: Any, token: str) -> TOTPDevice | None:
    """The confirmed device that accepts this code (each code works once), or None."""
    return totp_verify(user=user, token=token)


def portal_totp_disable(*, user: Any, token: str) -> bool:
    """Turn the second factor off; it takes a current code (a stolen session alone cannot).
    False, and nothing changes, when the code is wrong."""
    with transaction.atomic():
        if portal_totp_verify(user=user, token=token) is None:
            return False
        removed, _unused = TOTPDevice.objects.filter(user=user).delete()
        audit_record(
            actor=_label(user),
            action="portal.totp_disabled",
            object_type="user",
            object_id=str(user.pk),
            detail={"devices_removed": removed},
        )
    return True


# --- contact details --------------------------------------------------------------------------------


def _code_hash(change_user_id: int, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"portal-contact:{change_user_id}:{code}".encode(), hashlib.sha256).hexdigest()


_PHONE = re.compile(r"\+?[0-9]{6,15}")


def _validate_contact(field: str, value: str) -> None:
    """The same checks the customer record applies, before a code is spent on a bad value."""
    if field == ContactField.EMAIL:
        try:
            validate_email(value)
        except DjangoValidationError:
            raise ValidationFailed({"value": [_("Enter a valid e-mail address.")]}) from None
    elif not _PHONE.fullmatch(value):
        raise ValidationFailed({"value": [_("Enter a phone number of 6 to 15 digits, optionally starting with +.")]})


def contact_change_start(*, portal_user: PortalUser, field: str, value: str) -> ContactChange:
    """Ask to change the e-mail or phone: a six-digit code goes to the NEW address or number
    (through the e-mail backend or the SMS provider) and nothing changes until it comes back.
    A customer's phone is the customer's: only individuals' logins change it here."""
    user = portal_user.user
    value = value.strip() if field == ContactField.EMAIL else "".join(value.split())
    if field not in ContactField.values:
        raise ValidationFailed({"field": [_("Choose e-mail or phone.")]})
    if field == ContactField.PHONE and portal_user.customer.kind != CustomerKind.INDIVIDUAL:
        raise ValidationFailed({"field": [_("A company's phone number is changed by the bank.")]})
    _validate_contact(field, value)
    current = user.email if field == ContactField.EMAIL else portal_user.customer.phone
    if value and value == current:
        raise ValidationFailed({"value": [_("That is already your contact detail.")]})
    code = f"{secrets.randbelow(1_000_000):06d}"
    with transaction.atomic():
        ContactChange.objects.filter(user=user, confirmed_at__isnull=True, cancelled=False).update(cancelled=True)
        change = ContactChange.objects.create(
            user=user,
            field=field,
            new_value=value,
            code_hash=_code_hash(user.pk, code),
            expires_at=timezone.now() + dt.timedelta(minutes=CONTACT_CODE_MINUTES),
        )
        audit_record(
            actor=_label(user),
            action="portal.contact_change_requested",
            object_type="user",
            object_id=str(user.pk),
            detail={"field": field},
        )
    text = _("finsys: your verification code is %(code)s. It is valid for %(minutes)d minutes.") % {
        "code": code,
        "minutes": CONTACT_CODE_MINUTES,
    }
    try:  # after commit: the change exists whatever the provider does; a failed send cancels it
        if field == ContactField.EMAIL:
            email_send(to=value, subject=_("finsys verification code"), text=text)
        else:
            sms_send(to=value, text=text)
    except DeliveryFailed:
        ContactChange.objects.filter(pk=change.pk).update(cancelled=True)
        raise ValidationFailed({"value": [_("We could not send a code there. Check it and try again.")]}) from None
    return change


def contact_change_confirm(*, portal_user: PortalUser, code: str) -> ContactChange:
    """Apply the pending change if `code` is its code, within its lifetime. A wrong code counts;
    after CONTACT_CODE_ATTEMPTS wrong codes the change is cancelled."""
    user = portal_user.user
    pending = contact_change_pending(user=user)
    if pending is None:
        raise ValidationFailed({"code": [_("There is no change waiting for a code. Start again.")]})
    with transaction.atomic():
        change = ContactChange.objects.select_for_update().get(pk=pending.pk)
        if change.expires_at <= timezone.now():
            change.cancelled = True
            change.save(update_fields=["cancelled", "updated_at"])
            raise_after = _("The code has expired. Ask for a new one.")
        elif not hmac.compare_digest(change.code_hash, _code_hash(user.pk, "".join(code.split()))):
            change.attempts += 1
            change.cancelled = change.attempts >= CONTACT_CODE_ATTEMPTS
            change.save(update_fields=["attempts", "cancelled", "updated_at"])
            raise_after = (
                _("Too many wrong codes. Ask for a new one.")
                if change.cancelled
                else _("That code is not right. Check the message and try again.")
            )
        else:
            raise_after = ""
            actor = portal_actor(portal_user)
            if change.field == ContactField.EMAIL:
                type(user).objects.filter(pk=user.pk).update(email=change.new_value)
                user.email = change.new_value
                if portal_user.customer.kind == CustomerKind.INDIVIDUAL:
                    customer_update_contact(actor=actor, customer=portal_user.customer, email=change.new_value)
            else:
                customer_update_contact(actor=actor, customer=portal_user.customer, phone=change.new_value)
            change.confirmed_at = timezone.now()
            change.save(update_fields=["confirmed_at", "updated_at"])
            audit_record(
                actor=_label(user),
                action="portal.contact_changed",
                object_type="user",
                object_id=str(user.pk),
                detail={"field": change.field},
            )
    if raise_after:
        raise ValidationFailed({"code": [raise_after]})
    return change


def portal_history_exported(*, portal_user: PortalUser, account: Any, filters: Any) -> None:
    """A customer downloaded their history as CSV: an export audit event (what, not the rows)."""
    with transaction.atomic():
        audit_record(
            actor=_label(portal_user.user),
            action="export.portal_history_csv",
            object_type="account",
            object_id=str(account.public_id),
            detail={
                "from": filters.date_from.isoformat() if filters.date_from else "",
                "to": filters.date_to.isoformat() if filters.date_to else "",
                "direction": filters.direction,
            },
        )
