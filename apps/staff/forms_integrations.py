"""Forms of the API clients and webhooks administration."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from apps.api.models import ApiClient
from apps.customers.models import Customer
from apps.integrations.models import DeliveryStatus
from apps.integrations.services import EVENT_KINDS
from apps.staff.forms_alerts import ANY

ACTIVE = [*ANY, ("yes", _("Active")), ("no", _("Disabled"))]


class ClientFilterForm(forms.Form):
    active = forms.ChoiceField(label=_("State"), required=False, choices=ACTIVE)
    name = forms.CharField(label=_("Name"), required=False, max_length=100)


class ClientCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Give the client at least one scope.")},
    )  # fmt: skip
    customer = forms.UUIDField(
        label=_("Customer id"),
        required=False,
        help_text=_("Empty: a bank-wide client. A customer's id: the client acts for that customer only."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scopes = settings.OAUTH2_PROVIDER["SCOPES"]
        self.fields["scopes"].choices = [(s, f"{s} · {d}") for s, d in scopes.items()]  # type: ignore[attr-defined]

    def clean_customer(self) -> Customer | None:
        public_id = self.cleaned_data.get("customer")
        if public_id is None:
            return None
        customer = Customer.objects.filter(public_id=public_id).first()
        if customer is None:
            raise forms.ValidationError(_("No customer has this id."))
        return customer


class WebhookFilterForm(forms.Form):
    active = forms.ChoiceField(label=_("State"), required=False, choices=ACTIVE)
    url = forms.CharField(label=_("URL"), required=False, max_length=200)


class WebhookCreateForm(forms.Form):
    client = forms.ModelChoiceField(
        label=_("API client"), queryset=ApiClient.objects.none(),
        help_text=_("The integrator the endpoint belongs to; it sees and replays its deliveries."),
        error_messages={"invalid_choice": _("Choose an active API client from the list.")},
    )  # fmt: skip
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    event_kinds = forms.MultipleChoiceField(
        label=_("Events"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(k, k) for k in EVENT_KINDS], help_text=_("None ticked: every event the client may see."),
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        clients = ApiClient.objects.filter(is_active=True).select_related("application").order_by("name")
        self.fields["client"].queryset = clients  # type: ignore[attr-defined]


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=ANY + list(DeliveryStatus.choices))
