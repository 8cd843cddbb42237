"""Input fields for money: the amount is parsed from its text, against the currency."""

from __future__ import annotations

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

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            attrs["money"] = Money(parse_amount(attrs["amount"], attrs["currency"]), attrs["currency"])
        except MoneyError as exc:
            raise serializers.ValidationError({"amount": [str(exc)]}) from exc
        return attrs
