"""Forms of the portal's money pages: transfers, payments, their confirmation, beneficiaries.

They only collect and shape input; the rules (rights, funds, limits, currencies, beneficiary
shape) are the services' (apps/portal/services_payments.py, apps/transactions)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Account
from apps.common.money import MoneyError, format_amount, parse_amount
from apps.portal.services_payments import EXTERNAL, INTERNAL, OWN, Draft
from apps.transactions.models import SavedBeneficiary


def _account_label(account: Account) -> str:
    return f"{account.number} · {account.product.name} · {format_amount(account.available, account.currency)} {account.currency}"


def _set_choices(form: forms.Form, name: str, choices: list[tuple[str, str]]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


class _MovementForm(forms.Form):
    from_account = forms.ChoiceField(label=_("From account"))
    amount = forms.CharField(
        label=_("Amount"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text=_("In the currency of the account you pay from, e.g. 1250.50"),
    )
    reference = forms.CharField(label=_("Reference (optional)"), max_length=140, required=False)

    def __init__(self, *args: Any, accounts: list[Account], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.accounts = {str(a.public_id): a for a in accounts}
        _set_choices(self, "from_account", [(key, _account_label(a)) for key, a in self.accounts.items()])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        account = self.accounts.get(data.get("from_account", ""))
        amount = (data.get("amount") or "").strip()
        if account is not None and amount:
            try:
                parse_amount(amount, account.currency)
            except MoneyError as exc:
                self.add_error("amount", str(exc))
        data["reference"] = " ".join((data.get("reference") or "").split())
        return data

    def source(self) -> Account:
        return self.accounts[self.cleaned_data["from_account"]]


class TransferForm(_MovementForm):
    """Between the customer's own accounts, or to another customer of the bank by number."""

    kind = forms.ChoiceField(
        label=_("Transfer to"),
        choices=[(OWN, _("One of your accounts")), (INTERNAL, _("Another customer of this bank"))],
        widget=forms.RadioSelect,
        initial=OWN,
    )
    to_own = forms.ChoiceField(label=_("To your account"), required=False)
    to_number = forms.CharField(
        label=_("To account number"),
        max_length=34,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    field_order = ["from_account", "kind", "to_own", "to_number", "amount", "reference"]

    def __init__(self, *args: Any, accounts: list[Account], own_accounts: list[Account], **kwargs: Any) -> None:
        super().__init__(*args, accounts=accounts, **kwargs)
        _set_choices(self, "to_own", [("", "—")] + [(str(a.public_id), _account_label(a)) for a in own_accounts])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("kind") == OWN and not data.get("to_own"):
            self.add_error("to_own", _("Choose the account to transfer to."))
        if data.get("kind") == INTERNAL:
            number = "".join((data.get("to_number") or "").split())
            if not number:
                self.add_error("to_number", _("Enter the account number to transfer to."))
            elif not (number.isascii() and number.isdigit()):
                self.add_error("to_number", _("An account number of this bank has digits only."))
            data["to_number"] = number
        return data

    def draft(self) -> Draft:
        data = self.cleaned_data
        source = self.source()
        return Draft(
            kind=data["kind"],
            from_account=str(source.public_id),
            amount=data["amount"].strip(),
            currency=source.currency,
            reference=data["reference"],
            to_account=data["to_own"] if data["kind"] == OWN else data["to_number"],
        )


class PaymentForm(_MovementForm):
    """To a saved beneficiary at another bank."""

    beneficiary = forms.ChoiceField(label=_("Pay to"))

    field_order = ["from_account", "beneficiary", "amount", "reference"]

    def __init__(self, *args: Any, accounts: list[Account], beneficiaries: list[SavedBeneficiary], **kwargs: Any):
        super().__init__(*args, accounts=accounts, **kwargs)
        _set_choices(
            self,
            "beneficiary",
            [(str(b.public_id), f"{b.nickname or b.name} · {b.bank_code} {b.account_number}") for b in beneficiaries],
        )

    def draft(self) -> Draft:
        data = self.cleaned_data
        source = self.source()
        return Draft(
            kind=EXTERNAL,
            from_account=str(source.public_id),
            amount=data["amount"].strip(),
            currency=source.currency,
            reference=data["reference"],
            beneficiary=data["beneficiary"],
        )


class ConfirmForm(forms.Form):
    otp_token = forms.CharField(
        label=_("Code from your authenticator app"),
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]*"}),
    )


class BeneficiaryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=140)
    account_number = forms.CharField(
        label=_("Account number or IBAN"), max_length=40, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    bank_code = forms.CharField(label=_("Bank code (BIC or national code)"), max_length=20)
    country = forms.CharField(
        label=_("Country (two letters, e.g. CN)"), max_length=2, min_length=2, widget=forms.TextInput(attrs={"size": 2})
    )
    nickname = forms.CharField(label=_("Nickname (optional)"), max_length=60, required=False)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    note = forms.CharField(label=_("Note for the initiator (optional)"), max_length=255, required=False)

    def clean_note(self) -> str:
        note = " ".join((self.cleaned_data.get("note") or "").split())
        if "\x00" in note:
            raise ValidationError(_("Enter plain text."))
        return note
