"""Reads of treasury data: the rates in force, quotes, the bank's open FX position, breaks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.accounts.models import Account, GlCode
from apps.common.errors import FxRateUnavailable
from apps.treasury.models import RATE_PLACES, Break, BreakStatus, FxRate

RATE_UNIT = Decimal(1).scaleb(-RATE_PLACES)
BPS = Decimal(10000)


def fx_rates_in_force(*, at: dt.datetime | None = None) -> QuerySet[FxRate]:
    """Every rate valid at `at` (now by default), the newest per pair first."""
    moment = at or timezone.now()
    return (
        FxRate.objects.filter(valid_from__lte=moment)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=moment))
        .order_by("base", "quote", "-valid_from", "-id")
    )


def fx_spread_bps(channel: str) -> int:
    """The spread for a channel (FINSYS_FX_SPREAD_BPS_BY_CHANNEL), else FINSYS_FX_SPREAD_BPS."""
    by_channel: dict[str, int] = settings.FINSYS_FX_SPREAD_BPS_BY_CHANNEL
    return int(by_channel.get(channel, settings.FINSYS_FX_SPREAD_BPS))


@dataclass(frozen=True)
class FxQuote:
    """Converting `sell` into `buy`: 1 sell = `mid` buy; the customer gets `customer_rate`."""

    sell: str
    buy: str
    mid: Decimal
    customer_rate: Decimal
    spread_bps: int
    rate: FxRate


def fx_quote(*, sell: str, buy: str, channel: str, at: dt.datetime | None = None) -> FxQuote:
    """The customer's rate to convert `sell` into `buy` now: the mid rate of the pair in force
    (stored either way round; an inverse is 1/mid, half-even to 10 places) less the spread, so
    the bank always buys low and sells high. Raises FxRateUnavailable (422) when none is valid."""
    rates = fx_rates_in_force(at=at).filter(Q(base=sell, quote=buy) | Q(base=buy, quote=sell))
    rate = rates.order_by("-valid_from", "-id").first()
    if rate is None:
        raise FxRateUnavailable(extra={"sell": sell, "buy": buy})
    mid = rate.mid if rate.base == sell else (Decimal(1) / rate.mid).quantize(RATE_UNIT, rounding=ROUND_HALF_EVEN)
    spread = fx_spread_bps(channel)
    # Rounded down: never better for the customer than the spread says.
    customer_rate = (mid * (BPS - spread) / BPS).quantize(RATE_UNIT, rounding="ROUND_DOWN")
    return FxQuote(sell=sell, buy=buy, mid=mid, customer_rate=customer_rate, spread_bps=spread, rate=rate)


def fx_net_positions() -> dict[str, Decimal]:
    """The bank's net open FX position per currency: the balance of its FX position GL account
    (credit positive: positive = the bank holds more of the currency than before its deals)."""
    rows = Account.objects.filter(is_internal=True, gl_code=GlCode.FX_POSITION).values_list("currency", "balance")
    return {currency: balance for currency, balance in rows.order_by("currency")}


def breaks_open() -> QuerySet[Break]:
    return Break.objects.filter(status=BreakStatus.OPEN).select_related("payment", "file").order_by("id")
