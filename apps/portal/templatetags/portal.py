"""Template filters of the portal: money in the reader's locale, masked account numbers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils import formats

from apps.common.money import currency_exponent

register = template.Library()


@register.filter
def money(amount: Any, currency: str) -> str:
    """`{{ account.balance|money:account.currency }}`: grouped, with exactly the currency's minor
    units, in the active language's number format, then the ISO code (`1,234.50 CNY`)."""
    if amount is None or amount == "":
        return ""
    value = Decimal(amount)
    places = currency_exponent(currency)
    text = formats.number_format(value, decimal_pos=places, use_l10n=True, force_grouping=True)
    return f"{text}\u00a0{currency}"


@register.filter
def signed_money(amount: Any, currency: str) -> str:
    """Like `money`, with an explicit + on money in."""
    text = money(amount, currency)
    return f"+{text}" if text and Decimal(amount) > 0 else text.replace("-", "\u2212", 1)


@register.filter
def masked_number(number: str) -> str:
    """An account number with all but the last four characters hidden (`•••• 1234`)."""
    return f"\u2022\u2022\u2022\u2022\u00a0{number[-4:]}" if number else ""
