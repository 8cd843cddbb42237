"""Forms of the staff login: username and password, then a six-digit code."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


class StaffLoginForm(AuthenticationForm):
    """Django's login form (authenticate() runs the axes lockout check first), staff only.

    A non-staff user gets the same answer as a wrong password: the page tells nobody which
    accounts exist."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise self.get_invalid_login_error()


class OtpTokenForm(forms.Form):
    otp_token = forms.CharField(
        label=_("Six-digit code"),
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]*", "autofocus": True}
        ),
    )

    def clean_otp_token(self) -> str:
        token = "".join(self.cleaned_data["otp_token"].split())
        if not token.isascii() or not token.isdigit():
            raise ValidationError(_("Enter the digits your authenticator app shows."))
        return token
