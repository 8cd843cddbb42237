"""Template filters of the back-office queue pages: money per locale, JSON as written."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import template
from django.utils.formats import number_format

from apps.common.money import format_amount

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    """An amount in its currency's minor unit, grouped and punctuated per the active locale."""
    if amount is None:
        return "—"
    exact = format_amount(Decimal(amount), currency)
    places = len(exact.split(".")[1]) if "." in exact else 0
    return f"{number_format(Decimal(exact), decimal_pos=places, use_l10n=True, force_grouping=True)} {currency}"


@register.filter
def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
