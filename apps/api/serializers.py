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
from apps.transactions.models import JournalEntry, Posting

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
    kind = serializers.ChoiceField(choices=["deposit", "withdrawal", "transfer", "reversal", "hold_capture"])
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
