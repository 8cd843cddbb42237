"""Forms of the portal: login, second factor, password reset, history filters, statements, profile."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.portal.models import ContactField
from apps.portal.selectors import HistoryFilter, portal_user_of

MAX_AMOUNT = Decimal("1000000000000")


class PortalLoginForm(AuthenticationForm):
    """Django's login form (authenticate() runs the axes lockout check first), portal logins only.

    A staff user, or a login that belongs to no customer, gets the same answer as a wrong
    password: the page tells nobody which accounts exist."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autocapitalize": "none"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if portal_user_of(user) is None:
            raise self.get_invalid_login_error()


class OtpTokenForm(forms.Form):
    otp_token = forms.CharField(
        label=_("Six-digit code"),
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*", "autofocus": True}
        ),
    )

    def clean_otp_token(self) -> str:
        token = "".join(self.cleaned_data["otp_token"].split())
        if not token.isascii() or not token.isdigit():
            raise ValidationError(_("Enter the digits your authenticator app shows."))
        return token


class PortalPasswordResetForm(PasswordResetForm):
    """Sends the reset link only to active portal logins (never to staff): an unknown address
    gets the same "we sent it if it exists" page."""

    def get_users(self, email: str) -> Iterator[Any]:
        users = get_user_model()._default_manager.filter(
            email__iexact=email, is_active=True, is_staff=False, is_superuser=False, portal_user__isnull=False
        )
        return (u for u in users if u.has_usable_password() and u.email.lower() == email.lower())


DIRECTIONS = [("", _("In and out")), ("in", _("Money in")), ("out", _("Money out"))]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def _amount_field(label: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=Decimal(0),
        max_value=MAX_AMOUNT,
        decimal_places=4,
        max_digits=18,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )


class HistoryFilterForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())
    amount_min = _amount_field(_("Amount at least"))
    amount_max = _amount_field(_("Amount at most"))
    direction = forms.ChoiceField(label=_("Direction"), choices=DIRECTIONS, required=False)
    text = forms.CharField(label=_("Search"), required=False, max_length=100)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", _("The highest amount is below the lowest."))
        return data

    def filters(self) -> HistoryFilter:
        """The valid filters (an invalid form filters on nothing: the page shows the errors)."""
        if not self.is_valid():
            return HistoryFilter()
        data = self.cleaned_data
        return HistoryFilter(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            amount_min=data.get("amount_min"),
            amount_max=data.get("amount_max"),
            direction=data.get("direction") or "",
            text=data.get("text") or "",
        )


class StatementForm(forms.Form):
    date_from = forms.DateField(label=_("From"), widget=DateInput())
    date_to = forms.DateField(label=_("To"), widget=DateInput())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        today = timezone.now().astimezone(dt.UTC).date()
        if start and end:
            if start > end:
                self.add_error("date_to", _("The end date is before the start date."))
            elif end > today:
                self.add_error("date_to", _("The period may not end in the future."))
            elif (end - start).days + 1 > settings.FINSYS_REPORT_MAX_DAYS:
                self.add_error(
                    "date_to", _("The period is longer than %(days)d days.") % {"days": settings.FINSYS_REPORT_MAX_DAYS}
                )
        return data


class ContactChangeForm(forms.Form):
    field = forms.ChoiceField(label=_("What to change"), choices=ContactField.choices)
    value = forms.CharField(label=_("New e-mail address or phone number"), max_length=254)


class ContactCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Verification code"),
        min_length=6,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def parse_decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except (InvalidOperation, ValueError):
        return None
