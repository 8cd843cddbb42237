"""Foreign exchange: the rates in force, asking for a new rate (maker-checker) and
cross-currency transfers (docs/treasury.md). /transfers/ keeps refusing a currency mismatch
exactly as API.md says; converting is asked for explicitly here."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.fields import MoneyInput
from apps.api.idempotent import idempotency_key, respond_idempotently, respond_optionally_idempotent
from apps.api.serializers import REFERENCE_MAX, PendingApprovalOut, PostingOut, iso
from apps.api.views.base import ERRORS_READ, ERRORS_WRITE, ApiView
from apps.api.views.money import IDEMPOTENCY_PARAM, _posted
from apps.common.idempotency import Outcome
from apps.common.money import format_amount
from apps.compliance.services import fx_rate_request
from apps.treasury.selectors import fx_quote, fx_rates_in_force
from apps.treasury.services import fx_transfer_create


class FxRateOut(serializers.Serializer):  # type: ignore[type-arg]
    base = serializers.CharField()
    quote = serializers.CharField()
    mid = serializers.CharField(help_text="1 base = mid quote")
    base_to_quote = serializers.CharField(help_text="What a customer gets in quote for 1 base (mid less the spread)")
    quote_to_base = serializers.CharField(help_text="What a customer gets in base for 1 quote (mid less the spread)")
    spread_bps = serializers.IntegerField()
    valid_from = serializers.DateTimeField()
    valid_to = serializers.DateTimeField(allow_null=True)


class FxRatesOut(serializers.Serializer):  # type: ignore[type-arg]
    results = FxRateOut(many=True)


class FxRateIn(serializers.Serializer):  # type: ignore[type-arg]
    base = serializers.CharField(max_length=3, help_text="ISO 4217 code of a supported currency")
    quote = serializers.CharField(max_length=3, help_text="ISO 4217 code of a supported currency")
    mid = serializers.CharField(max_length=32, help_text='Decimal string, e.g. "7.1234"; at most 10 places')
    valid_from = serializers.DateTimeField(required=False, allow_null=True, default=None)
    valid_to = serializers.DateTimeField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    def validate_mid(self, value: str) -> Decimal:
        try:
            mid = Decimal(value)
        except InvalidOperation:
            raise serializers.ValidationError("Enter a decimal string.") from None
        if not mid.is_finite():
            raise serializers.ValidationError("Enter a decimal string.")
        return mid


class FxTransferIn(MoneyInput):
    """`amount` + `currency`: what leaves `from_account`, in its currency."""

    from_account = serializers.UUIDField()
    to_account = serializers.UUIDField()
    reference = serializers.CharField(max_length=REFERENCE_MAX, required=False, allow_blank=True, default="")


class FxDealOut(serializers.Serializer):  # type: ignore[type-arg]
    sell_amount = serializers.CharField()
    sell_currency = serializers.CharField()
    buy_amount = serializers.CharField()
    buy_currency = serializers.CharField()
    mid_rate = serializers.CharField()
    customer_rate = serializers.CharField()
    spread_bps = serializers.IntegerField()


class FxTransferOut(serializers.Serializer):  # type: ignore[type-arg]
    """Schema only: a transaction as /transactions/{id}/ shows it (kind "transfer"), plus `fx`."""

    id = serializers.UUIDField()
    kind = serializers.CharField()
    status = serializers.CharField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    reference = serializers.CharField()
    channel = serializers.CharField()
    reverses = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    postings = PostingOut(many=True)
    fx = FxDealOut()


class FxRatesView(ApiView):
    required_scopes = {"GET": ["accounts:read"], "POST": ["treasury:write"]}

    @extend_schema(responses={200: FxRatesOut, **ERRORS_READ})
    def get(self, request: Request) -> Response:
        channel = self.actor(request).channel
        results: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        for rate in fx_rates_in_force():
            pair = (rate.base, rate.quote)
            if pair in seen:
                continue  # an older rate of the pair, overlapping the newest
            seen.add(pair)
            forward = fx_quote(sell=rate.base, buy=rate.quote, channel=channel)
            backward = fx_quote(sell=rate.quote, buy=rate.base, channel=channel)
            results.append(
                {
                    "base": rate.base,
                    "quote": rate.quote,
                    "mid": str(rate.mid.normalize()),
                    "base_to_quote": str(forward.customer_rate.normalize()),
                    "quote_to_base": str(backward.customer_rate.normalize()),
                    "spread_bps": forward.spread_bps,
                    "valid_from": iso(rate.valid_from),
                    "valid_to": iso(rate.valid_to),
                }
            )
        return Response({"results": results})

    @extend_schema(request=FxRateIn, responses={202: PendingApprovalOut, **ERRORS_WRITE})
    def post(self, request: Request) -> Response:
        data = self.valid(FxRateIn, request)
        actor = self.actor(request)

        def action() -> Outcome:
            approval = fx_rate_request(
                actor=actor,
                base=data["base"],
                quote=data["quote"],
                mid=data["mid"],
                valid_from=data["valid_from"],
                valid_to=data["valid_to"],
                reason=data["reason"],
            )
            return 202, {"status": "pending_approval", "approval": str(approval.public_id)}

        return respond_optionally_idempotent(request, action)


class FxTransferView(ApiView):
    required_scopes = {"POST": ["payments:write"]}

    @extend_schema(request=FxTransferIn, parameters=[IDEMPOTENCY_PARAM], responses={201: FxTransferOut, **ERRORS_WRITE})
    def post(self, request: Request) -> Response:
        key = idempotency_key(request)
        data = self.valid(FxTransferIn, request)
        actor = self.actor(request)

        def action() -> Outcome:
            entry = fx_transfer_create(
                actor=actor,
                from_account=data["from_account"],
                to_account=data["to_account"],
                money=data["money"],
                reference=data["reference"],
            )
            deal = entry.fx_deal
            body = _posted(entry, actor)
            body["fx"] = {
                "sell_amount": format_amount(deal.sell_amount, deal.sell_currency),
                "sell_currency": deal.sell_currency,
                "buy_amount": format_amount(deal.buy_amount, deal.buy_currency),
                "buy_currency": deal.buy_currency,
                "mid_rate": str(deal.mid_rate.normalize()),
                "customer_rate": str(deal.customer_rate.normalize()),
                "spread_bps": deal.spread_bps,
            }
            return 201, body

        return respond_idempotently(request, key, action)
