"""Output shapes of the API (explicit, read-only) and the input serializers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rest_framework import serializers

from apps.accounts.models import Account, Hold
from apps.api.fields import AmountTextField, MoneyInput
from apps.common.money import format_amount
from apps.compliance.models import Approval
from apps.compliance.selectors import approval_effective_status
from apps.customers.identity import mask_identifier, mask_phone
from apps.customers.models import Customer
from apps.integrations.models import Delivery, WebhookEndpoint
from apps.transactions.models import JournalEntry, Payment, PaymentStatus, Posting

REFERENCE_MAX = 140


def iso(moment: dt.datetime | None) -> str | None:
    """UTC, ISO 8601, as DRF writes it."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# --- customers -----------------------------------------------------------------------------


class CustomerCreateIn(serializers.Serializer):  # type: ignore[type-arg]
    kind = serializers.ChoiceField(choices=["individual", "corporate"])
    full_name = serializers.CharField(max_length=200)
    national_id = serializers.CharField(max_length=64)
    date_of_birth = serializers.DateField(required=False, allow_null=True, input_formats=["%Y-%m-%d"])
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    address = serializers.CharField(max_length=500, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, min_length=2)


class KycDecisionIn(serializers.Serializer):  # type: ignore[type-arg]
    decision = serializers.ChoiceField(choices=["verified", "rejected"])
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


def customer_out(customer: Customer, *, unmasked: bool) -> dict[str, Any]:
    dob = customer.date_of_birth or None
    return {
        "id": str(customer.public_id),
        "kind": customer.kind,
        "full_name": customer.full_name,
        "national_id": customer.national_id if unmasked else mask_identifier(customer.national_id),
        "date_of_birth": dob if unmasked or dob is None else "****-**-**",
        "email": customer.email,
        "phone": customer.phone if unmasked or not customer.phone else mask_phone(customer.phone),
        "address": customer.address if unmasked or not customer.address else "***",
        "country": customer.country,
        "kyc_status": customer.kyc_status,
        "kyc_decided_by": customer.kyc_decided_by or None,
        "kyc_decided_at": iso(customer.kyc_decided_at),
        "risk_rating": customer.risk_rating or None,
        "created_at": iso(customer.created_at),
    }


class CustomerOut(serializers.Serializer):  # type: ignore[type-arg]
    """Schema only: responses are built by customer_out()."""

    id = serializers.UUIDField()
    kind = serializers.CharField()
    full_name = serializers.CharField()
    national_id = serializers.CharField(help_text="Masked unless the token has pii:read")
    date_of_birth = serializers.CharField(allow_null=True)
    email = serializers.CharField()
    phone = serializers.CharField()
    address = serializers.CharField()
    country = serializers.CharField()
    kyc_status = serializers.ChoiceField(choices=["pending", "verified", "rejected"])
    kyc_decided_by = serializers.CharField(allow_null=True)
    kyc_decided_at = serializers.DateTimeField(allow_null=True)
    risk_rating = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


# --- accounts ------------------------------------------------------------------------------


class AccountOpenIn(serializers.Serializer):  # type: ignore[type-arg]
    customer = serializers.UUIDField()
    currency = serializers.CharField(max_length=3)
    product = serializers.CharField(max_length=40, required=False, allow_blank=True)


class ReasonIn(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class AccountOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    id = serializers.UUIDField(source="public_id")
    customer = serializers.UUIDField(source="customer.public_id")
    product = serializers.CharField(source="product.code")
    balance = serializers.SerializerMethodField()
    available = serializers.SerializerMethodField()
    overdraft_limit = serializers.SerializerMethodField()

    class Meta:
        model = Account
        fields = [
            "id",
            "number",
            "customer",
            "currency",
            "product",
            "status",
            "balance",
            "available",
            "overdraft_limit",
            "opened_at",
            "closed_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_balance(self, account: Account) -> str:
        return format_amount(account.balance, account.currency)

    def get_available(self, account: Account) -> str:
        return format_amount(account.available, account.currency)

    def get_overdraft_limit(self, account: Account) -> str:
        return format_amount(account.overdraft_limit, account.currency)


class BalanceAtOut(serializers.Serializer):  # type: ignore[type-arg]
    account = serializers.UUIDField()
    at = serializers.DateTimeField()
    balance = serializers.CharField()
    currency = serializers.CharField()


# --- money movements -----------------------------------------------------------------------


class CashIn(MoneyInput):
    account = serializers.UUIDField()
    reference = serializers.CharField(max_length=REFERENCE_MAX, required=False, allow_blank=True, default="")


class TransferIn(MoneyInput):
    from_account = serializers.UUIDField()
    to_account = serializers.UUIDField()
    reference = serializers.CharField(max_length=REFERENCE_MAX, required=False, allow_blank=True, default="")


def posting_out(posting: Posting) -> dict[str, Any]:
    return {
        "id": str(posting.public_id),
        "account": str(posting.account.public_id),
        "amount": format_amount(posting.amount, posting.currency),
        "balance_after": format_amount(posting.balance_after, posting.currency),
    }


def transaction_out(entry: JournalEntry, postings: list[Posting], *, status: str) -> dict[str, Any]:
    return {
        "id": str(entry.public_id),
        "kind": entry.kind,
        "status": status,
        "amount": format_amount(entry.amount, entry.currency),
        "currency": entry.currency,
        "reference": entry.reference,
        "channel": entry.channel,
        "reverses": str(entry.reverses.public_id) if entry.reverses_id and entry.reverses else None,
        "created_at": iso(entry.created_at),
        "postings": [posting_out(p) for p in postings],
    }


class PostingOut(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.UUIDField()
    account = serializers.UUIDField()
    amount = serializers.CharField(help_text="Signed: credit positive")
    balance_after = serializers.CharField()


class TransactionOut(serializers.Serializer):  # type: ignore[type-arg]
    """Schema only: responses are built by transaction_out()."""

    id = serializers.UUIDField()
    kind = serializers.ChoiceField(
        choices=["deposit", "withdrawal", "transfer", "reversal", "hold_capture", "payment", "payment_return"]
    )
    status = serializers.ChoiceField(choices=["posted", "reversed"])
    amount = serializers.CharField()
    currency = serializers.CharField()
    reference = serializers.CharField()
    channel = serializers.CharField()
    reverses = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    postings = PostingOut(many=True)


class HistoryOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    id = serializers.UUIDField(source="public_id")
    transaction = serializers.UUIDField(source="entry.public_id")
    amount = serializers.SerializerMethodField()
    balance_after = serializers.SerializerMethodField()
    kind = serializers.CharField(source="entry.kind")
    reference = serializers.CharField(source="entry.reference")

    class Meta:
        model = Posting
        fields = ["id", "transaction", "amount", "currency", "balance_after", "kind", "reference", "created_at"]
        read_only_fields = fields

    def get_amount(self, posting: Posting) -> str:
        return format_amount(posting.amount, posting.currency)

    def get_balance_after(self, posting: Posting) -> str:
        return format_amount(posting.balance_after, posting.currency)


# --- holds ---------------------------------------------------------------------------------


class HoldCreateIn(MoneyInput):
    account = serializers.UUIDField()
    reference = serializers.CharField(max_length=REFERENCE_MAX, required=False, allow_blank=True, default="")
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class HoldCaptureIn(serializers.Serializer):  # type: ignore[type-arg]
    amount = AmountTextField(required=False)
    reference = serializers.CharField(max_length=REFERENCE_MAX, required=False, allow_blank=True, default="")


class HoldOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    id = serializers.UUIDField(source="public_id")
    account = serializers.UUIDField(source="account.public_id")
    amount = serializers.SerializerMethodField()
    captured_amount = serializers.SerializerMethodField()

    class Meta:
        model = Hold
        fields = [
            "id",
            "account",
            "amount",
            "currency",
            "captured_amount",
            "status",
            "reference",
            "expires_at",
            "created_at",
            "closed_at",
        ]
        read_only_fields = fields

    def get_amount(self, hold: Hold) -> str:
        return format_amount(hold.amount, hold.currency)

    def get_captured_amount(self, hold: Hold) -> str:
        return format_amount(hold.captured_amount, hold.currency)


# --- approvals -----------------------------------------------------------------------------


class ApprovalOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    id = serializers.UUIDField(source="public_id")
    status = serializers.SerializerMethodField()
    decided_by = serializers.SerializerMethodField()

    class Meta:
        model = Approval
        fields = [
            "id",
            "action",
            "status",
            "summary",
            "requested_by",
            "decided_by",
            "decision_reason",
            "created_at",
            "decided_at",
            "expires_at",
            "result",
        ]
        read_only_fields = fields

    def get_status(self, approval: Approval) -> str:
        return approval_effective_status(approval)

    def get_decided_by(self, approval: Approval) -> str | None:
        return approval.decided_by or None


class PendingApprovalOut(serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.ChoiceField(choices=["pending_approval"])
    approval = serializers.UUIDField()


# --- payments ------------------------------------------------------------------------------


class BeneficiaryIn(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField(max_length=140)
    account_number = serializers.CharField(max_length=34)
    bank_code = serializers.CharField(max_length=12, help_text="BIC or national bank code")
    country = serializers.CharField(max_length=2, min_length=2, help_text="ISO 3166 alpha-2")


class PaymentIn(MoneyInput):
    from_account = serializers.UUIDField()
    beneficiary = BeneficiaryIn()
    reference = serializers.CharField(max_length=REFERENCE_MAX, required=False, allow_blank=True, default="")


PAYMENT_STATUSES = PaymentStatus.choices


def payment_out(payment: Payment) -> dict[str, Any]:
    return {
        "id": str(payment.public_id),
        "status": payment.status,
        "from_account": str(payment.account.public_id),
        "amount": format_amount(payment.amount, payment.currency),
        "currency": payment.currency,
        "beneficiary": {
            "name": payment.beneficiary_name,
            "account_number": payment.beneficiary_account,
            "bank_code": payment.beneficiary_bank,
            "country": payment.beneficiary_country,
        },
        "reference": payment.reference,
        "gateway_reference": payment.gateway_reference or None,
        "transaction": str(payment.settlement_entry.public_id) if payment.settlement_entry_id else None,  # type: ignore[union-attr]
        "return_transaction": str(payment.return_entry.public_id) if payment.return_entry_id else None,  # type: ignore[union-attr]
        "fx": (
            {
                "account_amount": format_amount(payment.debit_amount, payment.debit_currency),
                "account_currency": payment.debit_currency,
                "mid_rate": str(payment.fx_mid_rate),
                "customer_rate": str(payment.fx_customer_rate),
                "spread_bps": payment.fx_spread_bps,
                "rate": str(payment.fx_rate),
            }
            if payment.is_fx
            else None
        ),
        "approval": str(payment.approval) if payment.approval else None,
        "created_at": iso(payment.created_at),
        "updated_at": iso(payment.updated_at),
        "history": [
            {"status": e.to_status, "from_status": e.from_status or None, "cause": e.cause, "at": iso(e.created_at)}
            for e in payment.events.order_by("id")
        ],
    }


class PaymentEventOut(serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.ChoiceField(choices=PAYMENT_STATUSES)
    from_status = serializers.ChoiceField(choices=PAYMENT_STATUSES, allow_null=True)
    cause = serializers.CharField()
    at = serializers.DateTimeField()


class PaymentFxOut(serializers.Serializer):  # type: ignore[type-arg]
    account_amount = serializers.CharField(help_text="Taken from the account (held, then settled), its currency")
    account_currency = serializers.CharField()
    mid_rate = serializers.CharField(help_text="1 account currency = mid_rate payment currency")
    customer_rate = serializers.CharField(help_text="The mid rate less the spread, fixed when accepted")
    spread_bps = serializers.IntegerField()
    rate = serializers.UUIDField(help_text="The exchange rate used")


class PaymentOut(serializers.Serializer):  # type: ignore[type-arg]
    """Schema only: responses are built by payment_out()."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=PAYMENT_STATUSES)
    from_account = serializers.UUIDField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    beneficiary = BeneficiaryIn()
    reference = serializers.CharField()
    gateway_reference = serializers.CharField(allow_null=True)
    transaction = serializers.UUIDField(allow_null=True, help_text="The settlement entry, once settled")
    return_transaction = serializers.UUIDField(allow_null=True)
    fx = PaymentFxOut(
        allow_null=True,
        help_text="A payment in another currency than its account's: what the account gives, and the rate",
    )
    approval = serializers.UUIDField(
        allow_null=True, help_text="The approval that decides a payment held for review (pending_approval)"
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    history = PaymentEventOut(many=True, help_text="Every transition, oldest first")


class GatewayCallbackIn(serializers.Serializer):  # type: ignore[type-arg]
    payment_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["settled", "rejected", "returned"])
    gateway_reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class GatewayCallbackOut(serializers.Serializer):  # type: ignore[type-arg]
    payment = serializers.UUIDField()
    status = serializers.ChoiceField(choices=PAYMENT_STATUSES)


# --- webhooks ------------------------------------------------------------------------------


class WebhookEndpointIn(serializers.Serializer):  # type: ignore[type-arg]
    url = serializers.CharField(max_length=500)
    event_kinds = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, default=list, max_length=20
    )


def webhook_endpoint_out(endpoint: WebhookEndpoint, secret: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(endpoint.public_id),
        "url": endpoint.url,
        "event_kinds": endpoint.event_kinds,
        "is_active": endpoint.is_active,
        "created_at": iso(endpoint.created_at),
    }
    if secret is not None:
        body["secret"] = secret
    return body


class WebhookEndpointOut(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.UUIDField()
    url = serializers.CharField()
    event_kinds = serializers.ListField(child=serializers.CharField())
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    secret = serializers.CharField(required=False, help_text="Only in the answer to the registration")


class DeliveryOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    id = serializers.UUIDField(source="public_id")
    event = serializers.UUIDField(source="event.public_id")
    kind = serializers.CharField(source="event.kind")

    class Meta:
        model = Delivery
        fields = ["id", "event", "kind", "status", "attempts", "next_attempt_at", "last_error", "delivered_at"]
        read_only_fields = fields
