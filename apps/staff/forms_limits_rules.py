"""Forms of the limits and rules editors. The services check again (apps.risk.services)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Product, ProductKind
from apps.common.money import CURRENCY_CHOICES
from apps.common.principals import Channel
from apps.risk.models import RuleAction, RuleKind, RuleStatus, Tier
from apps.staff.forms_alerts import ANY

CHANNELS = [(c.value, c.value) for c in Channel]


class RuleFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=ANY + list(RuleStatus.choices))
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=ANY + list(RuleKind.choices))
    code = forms.CharField(label=_("Code"), required=False, max_length=50)


class RuleProposeForm(forms.Form):
    code = forms.SlugField(
        label=_("Code"), max_length=50, help_text=_("An existing code gets a new version; a new code a new rule.")
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", "—"), *RuleKind.choices])
    action = forms.ChoiceField(label=_("Outcome when it matches"), choices=[("", "—"), *RuleAction.choices])
    channels = forms.MultipleChoiceField(
        label=_("Channels"), choices=CHANNELS, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every screened channel."),
    )  # fmt: skip
    parameters = forms.CharField(
        label=_("Parameters (JSON)"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_('For example {"count": 20, "minutes": 10} for velocity.'),
    )
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)

    def clean_parameters(self) -> dict[str, Any]:
        text = self.cleaned_data["parameters"]
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(_("This is not valid JSON: %(error)s") % {"error": exc}) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(_('Write a JSON object, such as {"days": 365}.'))
        return value


def _product_choices() -> list[tuple[str, Any]]:
    products = Product.objects.exclude(kind=ProductKind.INTERNAL).order_by("code")
    return [("", _("Any product")), *((p.code, f"{p.code} · {p.name}") for p in products)]


class LimitFilterForm(forms.Form):
    currency = forms.ChoiceField(label=_("Currency"), required=False, choices=[*ANY, *CURRENCY_CHOICES])
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=[*ANY, *CHANNELS])


class LimitSetForm(forms.Form):
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES)
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=[("", _("Any channel")), *CHANNELS])
    product = forms.ChoiceField(label=_("Product"), required=False)
    tier = forms.ChoiceField(label=_("Customer tier"), required=False, choices=[("", _("Any tier")), *Tier.choices])
    per_transaction = forms.DecimalField(
        label=_("Per transaction"), required=False, min_value=0, max_digits=20, decimal_places=2
    )
    daily = forms.DecimalField(label=_("Daily"), required=False, min_value=0, max_digits=20, decimal_places=2)
    monthly = forms.DecimalField(label=_("Monthly"), required=False, min_value=0, max_digits=20, decimal_places=2)
    reason = forms.CharField(label=_("Reason"), max_length=255)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = _product_choices()  # type: ignore[attr-defined]
        for name in ("per_transaction", "daily", "monthly"):
            self.fields[name].help_text = _("Empty: unlimited.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        daily, monthly = data.get("daily"), data.get("monthly")
        if daily is not None and monthly is not None and monthly < daily:
            self.add_error("monthly", _("The monthly limit cannot be lower than the daily limit."))
        return data
