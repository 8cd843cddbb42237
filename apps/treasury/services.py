"""Foreign exchange: rates (applied once a second person approved them) and cross-currency
transfers at the rate in force less the spread.

A cross-currency transfer is ONE journal entry with four postings that balance per currency
through the bank's FX position GL accounts (docs/treasury.md):

    customer (sell currency)      - sell amount
    FX position (sell currency)   + sell amount
    FX position (buy currency)    - buy amount
    customer (buy currency)       + buy amount

The buy amount is sell amount x customer rate, rounded DOWN to the buy currency's minor unit
(bank-favourable: the customer never gets a fraction of a cent the rate does not give). The
rate, spread and both amounts are kept on an FxDeal row linked to the entry.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal, InvalidOperation, localcontext
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from apps.accounts.models import GlCode
from apps.accounts.services import (
    account_require_active,
    account_require_currency,
    account_require_funds,
    accounts_lock_for_movement,
)
from apps.audit.services import audit_record
from apps.common.controls import controls_assert_payments_allowed, controls_assert_writable
from apps.common.errors import NotFound, SameAccount, ValidationFailed
from apps.common.money import SUPPORTED_CURRENCIES, Money, minor_unit
from apps.common.principals import Actor
from apps.transactions.models import EntryKind, JournalEntry
from apps.transactions.payment_hooks import PaymentFx
from apps.transactions.services import BatchItem, Leg, entries_post_batch
from apps.treasury.models import RATE_DIGITS, RATE_PLACES, FxDeal, FxRate
from apps.treasury.selectors import RATE_UNIT, fx_quote

MAX_MID = Decimal(10) ** (RATE_DIGITS - RATE_PLACES)


def fx_rate_check(
    *, base: str, quote: str, mid: Decimal, valid_from: dt.datetime, valid_to: dt.datetime | None
) -> None:
    """The rules a rate must meet, checked when it is asked for and again when approved."""
    errors: dict[str, list[Any]] = {}
    if base not in SUPPORTED_CURRENCIES:
        errors["base"] = [_("Use a supported currency.")]
    if quote not in SUPPORTED_CURRENCIES:
        errors["quote"] = [_("Use a supported currency.")]
    if base == quote:
        errors["quote"] = [_("A rate needs two different currencies.")]
    if not (0 < mid < MAX_MID) or mid != mid.quantize(RATE_UNIT):
        errors["mid"] = [_("Enter a positive rate with at most 10 decimal places.")]
    if valid_to is not None and valid_to <= max(valid_from, timezone.now()):
        errors["valid_to"] = [_("The end of validity must be in the future and after its start.")]
    if errors:
        raise ValidationFailed(errors)


def fx_rate_payload(
    *, base: str, quote: str, mid: Decimal, valid_from: dt.datetime | None, valid_to: dt.datetime | None
) -> dict[str, Any]:
    """Check a requested rate and shape it as an approval's payload (JSON)."""
    start = valid_from or timezone.now()
    fx_rate_check(base=base, quote=quote, mid=mid, valid_from=start, valid_to=valid_to)
    return {
        "base": base,
        "quote": quote,
        "mid": str(mid),
        "valid_from": start.isoformat(),
        "valid_to": valid_to.isoformat() if valid_to else None,
    }


def fx_rate_set(*, actor: Actor, payload: dict[str, Any], approved_by: str, approval: str | None = None) -> FxRate:
    """Put an approved rate in force (the maker-checker action "fx.rate_set" runs this as the
    person who asked for it). A rate of the same pair, either way round, that is still open
    ends where the new one starts."""
    try:
        mid = Decimal(payload["mid"])
    except (InvalidOperation, KeyError, TypeError):
        raise ValidationFailed({"mid": [_("Enter a positive rate with at most 10 decimal places.")]}) from None
    valid_from = parse_datetime(payload["valid_from"]) or timezone.now()
    valid_to = parse_datetime(payload["valid_to"]) if payload.get("valid_to") else None
    base, quote = payload["base"], payload["quote"]
    fx_rate_check(base=base, quote=quote, mid=mid, valid_from=valid_from, valid_to=valid_to)
    with transaction.atomic():
        pair = Q(base=base, quote=quote) | Q(base=quote, quote=base)
        open_rates = FxRate.objects.select_for_update().filter(pair, valid_from__lt=valid_from)
        for previous in open_rates.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=valid_from)).order_by("pk"):
            previous.valid_to = valid_from
            previous.save(update_fields=["valid_to", "updated_at"])
        rate = FxRate.objects.create(
            base=base,
            quote=quote,
            mid=mid,
            valid_from=valid_from,
            valid_to=valid_to,
            set_by=actor.label,
            approved_by=approved_by,
            approval=uuid.UUID(approval) if approval else None,
        )
        audit_record(
            actor=approved_by,
            action="fx.rate_set",
            object_type="fx_rate",
            object_id=str(rate.public_id),
            detail={"pair": f"{base}/{quote}", "mid": str(mid), "set_by": actor.label},
        )
    return rate


def fx_convert(amount: Decimal, *, rate: Decimal, currency: str) -> Decimal:
    """`amount` x `rate` in `currency`, rounded down to its minor unit (bank-favourable)."""
    return (amount * rate).quantize(minor_unit(currency), rounding=ROUND_DOWN)


def payment_fx_quote(*, sell: str, buy: str, buy_amount: Decimal, channel: str) -> PaymentFx:
    """What an outgoing payment of `buy_amount` `buy` takes from an account in `sell`, at the
    customer rate in force now (registered as the payments' FX quoter, apps/treasury/apps.py).

    The payment's amount is fixed (the beneficiary gets exactly it), so the account's side is
    `buy_amount / customer rate` rounded UP to the minor unit of `sell`: bank-favourable like
    every conversion here (its `debit x rate` is never less than the amount paid out).
    Raises FxRateUnavailable when no rate of the pair is in force."""
    quote = fx_quote(sell=sell, buy=buy, channel=channel)
    with localcontext() as exact:
        exact.prec = 60
        debit = (buy_amount / quote.customer_rate).quantize(minor_unit(sell), rounding=ROUND_CEILING)
    return PaymentFx(
        sell=sell,
        debit=debit,
        mid=quote.mid,
        customer_rate=quote.customer_rate,
        spread_bps=quote.spread_bps,
        rate=str(quote.rate.public_id),
    )


def fx_transfer_create(
    *, actor: Actor, from_account: uuid.UUID, to_account: uuid.UUID, money: Money, reference: str = ""
) -> JournalEntry:
    """Convert `money` (in the source account's currency) at the customer rate in force and
    credit the destination account in its own currency, in one balanced entry.

    Refused like a transfer (not found, same account, currency of the source, active accounts,
    funds), and with 422 fx_rate_unavailable when no rate of the pair is valid, and a
    validation error when both accounts share a currency (that is a plain transfer)."""
    if money.amount <= 0 or not money.is_whole_minor_units():
        raise ValidationFailed({"amount": [_("Enter a positive amount in whole minor units.")]})
    if from_account == to_account:
        raise SameAccount()
    controls_assert_writable()
    with transaction.atomic():
        by_public, _by_gl, _locked = accounts_lock_for_movement(public_ids=[from_account, to_account])
        source = by_public.get(from_account)
        if source is None or (actor.customer_id is not None and source.customer_id != actor.customer_id):
            raise NotFound()
        target = by_public.get(to_account)
        if target is None:
            raise NotFound(_("The destination account does not exist."), extra={"field": "to_account"})
        account_require_currency(source, money.currency)
        if target.currency == source.currency:
            raise ValidationFailed(
                {"to_account": [_("Both accounts are in the same currency: make a transfer instead.")]}
            )
        account_require_active(source)
        account_require_active(target)
        account_require_funds(source, money.amount)
        if source.customer_id != target.customer_id:
            controls_assert_payments_allowed()
        quote = fx_quote(sell=source.currency, buy=target.currency, channel=actor.channel)
        bought = fx_convert(money.amount, rate=quote.customer_rate, currency=target.currency)
        if bought <= 0:
            raise ValidationFailed({"amount": [_("The amount is too small to convert.")]})
        # The FX position accounts are locked after the customers': they are bank accounts that
        # many deals touch, and every deal takes them in the same (ascending id) order.
        _c, by_gl, locked_gl = accounts_lock_for_movement(
            public_ids=[], gl=[(GlCode.FX_POSITION, source.currency), (GlCode.FX_POSITION, target.currency)]
        )
        position_sell = by_gl.get((GlCode.FX_POSITION, source.currency))
        position_buy = by_gl.get((GlCode.FX_POSITION, target.currency))
        if position_sell is None or position_buy is None:  # pragma: no cover - the chart has one per currency
            raise ValidationFailed({"currency": [_("The bank keeps no FX position in this currency.")]})
        accounts = {source.pk: source, target.pk: target, **locked_gl}
        (entry,) = entries_post_batch(
            actor=actor,
            items=[
                BatchItem(
                    kind=EntryKind.TRANSFER,
                    money=money,
                    reference=reference
                    or f"FX {money.currency}->{target.currency} @ {quote.customer_rate.normalize()}"[:140],
                    legs=[
                        Leg(source.pk, -money.amount),
                        Leg(position_sell.pk, money.amount),
                        Leg(position_buy.pk, -bought),
                        Leg(target.pk, bought),
                    ],
                )
            ],
            accounts=accounts,
        )
        deal = FxDeal.objects.create(
            entry=entry,
            sell_currency=source.currency,
            sell_amount=money.amount,
            buy_currency=target.currency,
            buy_amount=bought,
            mid_rate=quote.mid,
            customer_rate=quote.customer_rate,
            spread_bps=quote.spread_bps,
            rate=quote.rate,
        )
        entry.fx_deal = deal
        audit_record(
            actor=actor.label,
            action="fx.transfer",
            object_type="journal_entry",
            object_id=str(entry.public_id),
            detail={
                "sell": f"{money.amount} {money.currency}",
                "buy": f"{bought} {target.currency}",
                "rate": str(quote.customer_rate),
            },
        )
    return entry
