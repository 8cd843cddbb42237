"""Template helpers of the back office: the navigation, money and masked values per locale.

{% load backoffice %}
{% staff_navigation %}              the permission-aware menu (apps/staff/navigation.py)
{{ account.balance|money:account.currency }}   "1,234.50 CNY" (grouping per the locale)
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils import formats

from apps.common.money import Money, MoneyError, currency_exponent
from apps.staff.navigation import navigation_for

register = template.Library()


@register.inclusion_tag("staff/includes/navigation.html", takes_context=True)
def staff_navigation(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"items": navigation_for(user, getattr(request, "path", "")) if user is not None else []}


@register.filter
def money(value: Any, currency: str = "") -> str:
    """An amount with the currency's minor-unit places, grouped as the active locale groups."""
    if isinstance(value, Money):
        amount, currency = value.amount, value.currency
    else:
        if value is None or value == "":
            return ""
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            return str(value)
    try:
        places = currency_exponent(currency)
    except MoneyError:
        places = 2
    text = formats.number_format(amount, decimal_pos=places, use_l10n=True, force_grouping=True)
    return f"{text} {currency}".strip()


@register.filter
def signed_money(value: Any, currency: str = "") -> str:
    """Like `money`, with a leading + for credits."""
    text = money(value, currency)
    try:
        positive = Decimal(str(value)) > 0
    except InvalidOperation:
        positive = False
    return f"+{text}" if positive else text
