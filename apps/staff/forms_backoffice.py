"""Forms of the back office. They check the shape of what was typed (required, a date, an amount
in the currency's minor units); the services check every business rule and their refusals come
back as form errors (apps/staff/backoffice.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Product, ProductKind
from apps.common.money import CURRENCY_CHOICES, MoneyError, currency_exponent
from apps.customers.models import CustomerKind, KycStatus

TOKEN_FIELD = "form_token"  # noqa: S105 - a field name, not a secret


class OneTimeTokenForm(forms.Form):
    """A form that carries a fresh random token: the idempotency key of the money movement it
    asks for, so a double submission posts once (apps.common.idempotency)."""

    form_token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault(TOKEN_FIELD, str(uuid.uuid4()))


def _positive_amount(value: Decimal | None) -> Decimal:
    if value is None or value <= 0:
        raise forms.ValidationError(_("Enter an amount greater than zero."))
    return value


# --- customers ---------------------------------------------------------------------------------


class CustomerSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Name, e-mail, national id or customer id"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"type": "search"}),
    )  # fmt: skip
    kyc = forms.ChoiceField(label=_("KYC"), required=False, choices=[("", _("Any")), *KycStatus.choices])
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("Any")), *CustomerKind.choices])


class CustomerDetailsForm(forms.Form):
    """Step 1 of onboarding: who the customer is."""

    kind = forms.ChoiceField(label=_("Kind"), choices=CustomerKind.choices, widget=forms.RadioSelect)
    full_name = forms.CharField(label=_("Full legal name"), max_length=200)
    country = forms.CharField(
        label=_("Country"), max_length=2, min_length=2, help_text=_("ISO 3166 alpha-2 code, e.g. CN or SG.")
    )
    national_id = forms.CharField(
        label=_("National id or registration number"),
        max_length=40,
        help_text=_("Resident id card number of an individual; company registration number of a corporate."),
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Individuals only."),
    )  # fmt: skip
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=20)
    address = forms.CharField(
        label=_("Address"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean_country(self) -> str:
        return str(self.cleaned_data["country"]).strip().upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, born = data.get("kind"), data.get("date_of_birth")
        if kind == CustomerKind.INDIVIDUAL and born is None and "date_of_birth" not in self.errors:
            self.add_error("date_of_birth", _("Enter the date of birth of an individual."))
        if kind == CustomerKind.CORPORATE and born is not None:
            self.add_error("date_of_birth", _("A corporate customer has no date of birth."))
        return data

    def as_session(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        born = data.get("date_of_birth")
        data["date_of_birth"] = born.isoformat() if born else ""
        return data

    @staticmethod
    def from_session(data: dict[str, Any]) -> dict[str, Any]:
        values = dict(data)
        values["date_of_birth"] = dt.date.fromisoformat(data["date_of_birth"]) if data.get("date_of_birth") else None
        return values


class OnboardingSubmitForm(forms.Form):
    verify_kyc = forms.BooleanField(
        label=_("I checked the customer's identity documents: mark KYC as verified now"), required=False
    )


class KycDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[(KycStatus.VERIFIED, KycStatus.VERIFIED.label), (KycStatus.REJECTED, KycStatus.REJECTED.label)],
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


# --- accounts ----------------------------------------------------------------------------------


class AccountOpenForm(forms.Form):
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.none(), empty_label=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        products = (
            Product.objects.filter(is_active=True).exclude(kind=ProductKind.INTERNAL).order_by("currency", "code")
        )
        field = self.fields["product"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = products
        field.label_from_instance = lambda p: f"{p.name} ({p.currency})"  # type: ignore[method-assign,assignment]


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=255)


class HoldForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), max_digits=20, decimal_places=4)
    reference = forms.CharField(label=_("Reference"), max_length=140, required=False)
    expires_at = forms.DateTimeField(
        label=_("Expires"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def clean_amount(self) -> Decimal:
        return _positive_amount(self.cleaned_data.get("amount"))


class PostingFilterForm(forms.Form):
    DIRECTIONS = [("", _("Both")), ("in", _("Money in")), ("out", _("Money out"))]
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    direction = forms.ChoiceField(label=_("Direction"), required=False, choices=DIRECTIONS)
    min_amount = forms.DecimalField(
        label=_("Minimum amount"), required=False, min_value=0, max_digits=20, decimal_places=4
    )
    max_amount = forms.DecimalField(
        label=_("Maximum amount"), required=False, min_value=0, max_digits=20, decimal_places=4
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", _("The end date is before the start date."))
        low, high = data.get("min_amount"), data.get("max_amount")
        if low is not None and high is not None and low > high:
            self.add_error("max_amount", _("The maximum is below the minimum."))
        return data


class AccountSearchForm(forms.Form):
    q = forms.CharField(label=_("Account number or customer name"), required=False, max_length=200,
                        widget=forms.TextInput(attrs={"type": "search"}))  # fmt: skip
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[])
    currency = forms.ChoiceField(label=_("Currency"), required=False, choices=[("", _("Any")), *CURRENCY_CHOICES])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from apps.accounts.models import AccountStatus

        super().__init__(*args, **kwargs)
        field = self.fields["status"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("Any")), *AccountStatus.choices]


# --- the counter -------------------------------------------------------------------------------


class CashForm(OneTimeTokenForm):
    KINDS = [("deposit", _("Cash deposit")), ("withdrawal", _("Cash withdrawal"))]
    kind = forms.ChoiceField(label=_("Movement"), choices=KINDS, widget=forms.RadioSelect, initial="deposit")
    account = forms.CharField(label=_("Account number"), max_length=34)
    amount = forms.DecimalField(label=_("Amount"), max_digits=20, decimal_places=4)
    reference = forms.CharField(label=_("Reference"), max_length=140, required=False)

    def clean_amount(self) -> Decimal:
        return _positive_amount(self.cleaned_data.get("amount"))


class TransferForm(OneTimeTokenForm):
    from_account = forms.CharField(label=_("From account number"), max_length=34)
    to_account = forms.CharField(label=_("To account number"), max_length=34)
    amount = forms.DecimalField(label=_("Amount"), max_digits=20, decimal_places=4)
    reference = forms.CharField(label=_("Reference"), max_length=140, required=False)

    def clean_amount(self) -> Decimal:
        return _positive_amount(self.cleaned_data.get("amount"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("from_account") and data.get("from_account") == data.get("to_account"):
            self.add_error("to_account", _("The source and destination accounts are the same."))
        return data


def check_minor_units(form: forms.Form, amount: Decimal, currency: str) -> bool:
    """The amount has no more decimals than the currency; adds the form error otherwise."""
    try:
        places = currency_exponent(currency)
    except MoneyError as error:
        form.add_error(None, str(error))
        return False
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        form.add_error(
            "amount",
            _("%(currency)s amounts have at most %(places)d decimal places.")
            % {"currency": currency, "places": places},
        )
        return False
    return True


# --- approvals ---------------------------------------------------------------------------------


class DecisionForm(forms.Form):
    DECISIONS = [("approve", _("Approve")), ("reject", _("Reject"))]
    decision = forms.ChoiceField(label=_("Decision"), choices=DECISIONS, widget=forms.HiddenInput)
    note = forms.CharField(label=_("Note"), max_length=255, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "reject" and not (data.get("note") or "").strip():
            self.add_error("note", _("Say why you reject it."))
        return data


class ApprovalFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[])
    action = forms.CharField(label=_("Action"), required=False, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from apps.compliance.models import ApprovalStatus

        super().__init__(*args, **kwargs)
        field = self.fields["status"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("Any")), *ApprovalStatus.choices]
