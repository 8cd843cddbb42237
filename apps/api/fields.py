"""Input fields for money: the amount is parsed from its text, against the currency."""

from __future__ import annotations

import copy
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.common.money import SUPPORTED_CURRENCIES, Money, MoneyError, parse_amount


class AmountTextField(serializers.Field):  # type: ignore[type-arg]
    """Takes a JSON string or number and keeps its literal text; `MoneyInput` parses it."""

    default_error_messages = {"invalid": _('Enter the amount as a decimal string, e.g. "1250.50".')}

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str):  # JsonNumber is a str holding the number's literal text
            return data
        self.fail("invalid")

    def to_representation(self, value: Any) -> Any:
        return str(value)


class CurrencyCodeField(serializers.CharField):
    default_error_messages = {"unsupported": _("Unsupported currency; use one of: {codes}.")}

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value not in SUPPORTED_CURRENCIES:
            self.fail("unsupported", codes=", ".join(SUPPORTED_CURRENCIES))
        return value


class MoneyInput(serializers.Serializer):  # type: ignore[type-arg]
    """`amount` + `currency` → `money` (a Money), validated together."""

    amount = AmountTextField()
    currency = CurrencyCodeField(max_length=3)

    def get_fields(self) -> dict[str, serializers.Field]:  # type: ignore[type-arg]
        """Shallow copies of the declared fields. DRF deep-copies them on every instantiation,
        which re-runs each field's `__init__`: a tenth of a transfer's CPU (bench/README.md).
        Binding sets attributes on the copy only, and these input fields keep no other state."""
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            attrs["money"] = Money(parse_amount(attrs["amount"], attrs["currency"]), attrs["currency"])
        except MoneyError as exc:
            raise serializers.ValidationError({"amount": [str(exc)]}) from exc
        return attrs
