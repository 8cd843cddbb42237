"""Portal money movement: transfers, payments to saved beneficiaries and the corporate
approval flow, orchestrated over the existing services.

A movement goes form -> `movement_quote` (what will happen: fee, total, whether a second factor
or a second user is needed) -> confirmation screen -> `movement_confirm`. The confirmation
carries a one-time token; `movement_confirm` runs under the idempotency record of that token
(apps.common.idempotency), so a form submitted twice, even at the same moment, moves money once
and the second submission gets the first one's outcome.

Who may pay from an account: an individual's portal user from any of the customer's accounts;
a corporate customer's user only with the `initiate_payment` right on it (the mandates of
apps.accounts). A corporate movement that `mandate_requires_second_approval` becomes a
PaymentInstruction that a second user holding `approve_payment` approves (or rejects); the
approval performs it once, under the instruction's row lock.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import Account
from apps.accounts.services import (
    account_require_active,
    account_require_currency,
    account_require_funds,
    mandate_check_approver,
    mandate_check_initiator,
    mandate_requires_second_approval,
)
from apps.audit.services import audit_record
from apps.common.controls import controls_assert_customer_not_frozen
from apps.common.errors import (
    ApprovalNotPending,
    DomainError,
    IdempotencyConflict,
    NotFound,
    SameAccount,
    ValidationFailed,
)
from apps.common.idempotency import run_idempotent
from apps.common.models import IdempotencyRecord
from apps.common.money import Money, MoneyError, format_amount, parse_amount
from apps.common.principals import Actor
from apps.common.refusals import refusal_settle
from apps.customers.models import Customer, CustomerKind, PortalUser
from apps.portal.selectors import RIGHT_APPROVE, RIGHT_VIEW, portal_account, portal_has_totp, portal_user_of
from apps.portal.services import portal_actor
from apps.risk.selectors import paid_to_before
from apps.transactions.fees import FeeQuote, movement_fee
from apps.transactions.models import (
    InstructionKind,
    InstructionStatus,
    JournalEntry,
    Payment,
    PaymentInstruction,
    SavedBeneficiary,
)
from apps.transactions.selectors import beneficiary_get
from apps.transactions.services import PendingReview, transfer_submit
from apps.transactions.services_beneficiaries import beneficiary_as_payee, beneficiary_mark_used
from apps.transactions.services_payments import Beneficiary, payment_create

# --- who is acting, and on which accounts ------------------------------------------------------


def portal_user_or_404(user: Any) -> PortalUser:
    """The portal identity of a logged-in portal user; anybody else reaches nothing here."""
    portal_user = portal_user_of(user)
    if portal_user is None:
        raise NotFound()
    return portal_user


def portal_movement_actor(user: Any) -> Actor:
    return portal_actor(portal_user_or_404(user))


def _is_corporate(customer: Customer) -> bool:
    return customer.kind == CustomerKind.CORPORATE


def check_initiator(user: User, account: Account) -> None:
    """NotFound for an account the user may not even see (another customer's looks missing);
    PermissionDenied for a corporate user without the initiate right on it."""
    portal_user = portal_user_or_404(user)
    if portal_account(user, account.public_id, RIGHT_VIEW) is None:
        raise NotFound()
    if _is_corporate(portal_user.customer):
        mandate_check_initiator(user=user, account=account)


class StepUpFailed(ValidationFailed):
    """A wrong or missing code for a step-up: a 400, so the confirmation can be tried again."""

    def __init__(self, message: Any) -> None:
        super().__init__({"otp_token": [message]}, message=message)


def step_up_verify(*, user: User, token: str) -> None:
    """Accept the customer's current TOTP code or raise StepUpFailed. Run in its own transaction,
    never inside one a refusal rolls back: the device's replay guard and failure throttle
    (django-otp) must stay recorded."""
    token = "".join((token or "").split())
    if not token:
        raise StepUpFailed(_("Enter the six-digit code your authenticator app shows."))
    if not (token.isascii() and token.isdigit() and 6 <= len(token) <= 8):
        raise StepUpFailed(_("Enter the digits your authenticator app shows."))
    accepted = throttled = False
    with transaction.atomic():
        for device in TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk"):
            allowed, _why = device.verify_is_allowed()
            if not allowed:
                throttled = True
            elif device.verify_token(token):
                accepted = True
                break
    if throttled and not accepted:
        raise StepUpFailed(_("Too many wrong codes. Wait a few seconds, then enter the current code."))
    if not accepted:
        raise StepUpFailed(_("That code is not right. Codes change every 30 seconds; try the current one."))


# --- the draft, its quote --------------------------------------------------------------------

OWN = "own"  # between the customer's own accounts
INTERNAL = "internal"  # to another customer of the bank, by account number
EXTERNAL = "external"  # to a saved beneficiary at another bank
DRAFT_KINDS = (OWN, INTERNAL, EXTERNAL)


@dataclass(frozen=True)
class Draft:
    """What the customer asked for, as the form gave it (kept in the session until confirmed)."""

    kind: str
    from_account: str  # public id
    amount: str
    currency: str
    reference: str = ""
    to_account: str = ""  # public id (own) or account number (internal)
    beneficiary: str = ""  # public id (external)

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Draft:
        return cls(**{key: str(data.get(key, "")) for key in cls.__dataclass_fields__})

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Quote:
    draft: Draft
    source: Account
    money: Money
    fee: FeeQuote
    target: Account | None = None
    beneficiary: SavedBeneficiary | None = None
    needs_step_up: bool = False
    needs_approval: bool = False

    @property
    def instruction_kind(self) -> str:
        return InstructionKind.PAYMENT if self.draft.kind == EXTERNAL else InstructionKind.TRANSFER

    @property
    def payee(self) -> str:
        """Who receives the money, as the customer may see it."""
        if self.beneficiary is not None:
            return f"{self.beneficiary.name} ({self.beneficiary.bank_code} {self.beneficiary.account_number})"
        assert self.target is not None
        return self.target.number


def _find_account(*, public_id: str, customer_id: int) -> Account:
    try:
        key = uuid.UUID(public_id)
    except ValueError:
        raise NotFound() from None
    account = Account.objects.select_related("customer", "product").filter(public_id=key).first()
    if account is None or account.is_internal or account.customer_id != customer_id:
        raise NotFound()
    return account


def movement_quote(*, user: User, draft: Draft) -> Quote:
    """Check a draft as far as it can be checked before confirmation, and price it. Refusals:
    ValidationFailed (per form field), NotFound (an id that is not the customer's), and the
    account rules (not active, currency, funds) with their own messages."""
    portal_user = portal_user_or_404(user)
    customer = portal_user.customer
    if draft.kind not in DRAFT_KINDS:
        raise ValidationFailed({"kind": [_("Choose what kind of transfer this is.")]})
    source = _find_account(public_id=draft.from_account, customer_id=customer.pk)
    check_initiator(user, source)
    try:
        amount = parse_amount(draft.amount.strip(), draft.currency)
    except MoneyError as exc:
        raise ValidationFailed({"amount": [str(exc)]}) from None
    money = Money(amount, draft.currency)
    target: Account | None = None
    beneficiary: SavedBeneficiary | None = None
    if draft.kind == OWN:
        target = _find_account(public_id=draft.to_account, customer_id=customer.pk)
    elif draft.kind == INTERNAL:
        number = "".join(draft.to_account.split())
        target = (
            Account.objects.filter(number=number, is_internal=False).select_related("customer").first()
            if number.isascii() and number.isdigit()
            else None
        )
        if target is None:
            raise ValidationFailed({"to_account": [_("No account of this bank has that number.")]})
    else:
        beneficiary = beneficiary_get(customer_id=customer.pk, public_id=draft.beneficiary)
    if target is not None and target.pk == source.pk:
        raise SameAccount(_("Choose a destination other than the account you pay from."))
    account_require_active(source)
    account_require_currency(source, money.currency)
    if target is not None:
        account_require_currency(target, money.currency)
    fee = movement_fee(
        kind=InstructionKind.PAYMENT if beneficiary else InstructionKind.TRANSFER, account=source, money=money
    )
    account_require_funds(source, fee.total.amount)
    new_payee = False
    if beneficiary is not None:
        new_payee = beneficiary.first_used_at is None
    elif target is not None and target.customer_id != customer.pk:
        new_payee = not paid_to_before(customer.pk, target.pk)
    return Quote(
        draft=draft,
        source=source,
        money=money,
        fee=fee,
        target=target,
        beneficiary=beneficiary,
        needs_step_up=new_payee and portal_has_totp(user=user),
        needs_approval=_is_corporate(customer) and mandate_requires_second_approval(account=source, amount=money),
    )


# --- performing a movement ---------------------------------------------------------------------


def _perform(
    *,
    actor: Actor,
    kind: str,
    source: Account,
    money: Money,
    reference: str,
    target: Account | None,
    payee: Beneficiary | None,
) -> Payment | JournalEntry | PendingReview:
    """One transfer or payment through the existing services, in one transaction. Both pass the
    risk limits and rules of the portal channel (transfers through the movement checker, payments
    through the payment screener of apps.risk): refused with which limit and what is left."""
    if kind == InstructionKind.PAYMENT:
        assert payee is not None
        return payment_create(
            actor=actor, from_account=source.public_id, money=money, beneficiary=payee, reference=reference
        )
    assert target is not None
    return transfer_submit(
        actor=actor, from_account=source.public_id, to_account=target.public_id, money=money, reference=reference
    )


def _outcome(result: Payment | JournalEntry | PendingReview | PaymentInstruction) -> tuple[int, dict[str, Any]]:
    if isinstance(result, Payment):
        return 202, {"result": "payment", "id": str(result.public_id), "status": result.status}
    if isinstance(result, JournalEntry):
        return 201, {"result": "transfer", "id": str(result.public_id)}
    if isinstance(result, PendingReview):
        return 202, {"result": "review", "id": result.approval}
    return 202, {"result": "instruction", "id": str(result.public_id)}


def refusal_message(refusal: DomainError) -> str:
    """A refusal as one sentence for the customer: what kind of refusal, and the service's detail
    (the account, what is available, which limit and what is left)."""
    title, message = str(refusal.title), str(refusal.message)
    if isinstance(refusal, ValidationFailed):
        details = [str(m) for messages in refusal.errors.values() for m in messages]
        return " ".join(details) or title
    if message and message != title:
        return _("%(title)s: %(detail)s") % {"title": title, "detail": message}
    return title


def _refused(refusal: DomainError) -> tuple[int, dict[str, Any]]:
    return refusal.status, {"result": "refused", "code": str(refusal.code), "message": refusal_message(refusal)}


@dataclass(frozen=True)
class Outcome:
    result: str  # payment | transfer | review | instruction | refused
    id: str = ""
    message: str = ""
    replayed: bool = False


def _replay(principal: str, key: str, fingerprint: str) -> Outcome | None:
    """The stored outcome of a confirmation that already ran, if any."""
    record = IdempotencyRecord.objects.filter(principal=principal, key=key, status_code__isnull=False).first()
    if record is None:
        return None
    if record.fingerprint != fingerprint:
        raise IdempotencyConflict()
    body: dict[str, Any] = record.response or {}
    return Outcome(result=body["result"], id=body.get("id", ""), message=body.get("message", ""), replayed=True)


def movement_confirm(*, user: User, draft: Draft, token: str, otp_token: str = "") -> Outcome:
    """Perform a confirmed draft once per confirmation `token`. A second call with the same token
    (a double submission) performs nothing and answers the first call's outcome. A wrong step-up
    code (StepUpFailed), a refusal found before anything ran and a temporary stop (503: payments
    stopped, read-only) store nothing, so the same confirmation can be submitted again; a refusal
    of the movement itself is the stored outcome."""
    actor = portal_movement_actor(user)
    principal, key, fingerprint = f"portal:{user.pk}", f"confirm:{token}", draft.fingerprint()
    previous = _replay(principal, key, fingerprint)
    if previous is not None:
        return previous
    stepped_up = False
    if movement_quote(user=user, draft=draft).needs_step_up:
        try:
            step_up_verify(user=user, token=otp_token)
        except StepUpFailed:
            previous = _replay(principal, key, fingerprint)  # a twin submission used the code
            if previous is not None:
                return previous
            raise
        stepped_up = True

    def action() -> tuple[int, dict[str, Any]]:
        controls_assert_customer_not_frozen(actor.customer_id)
        quote = movement_quote(user=user, draft=draft)  # again, under the idempotency record
        if quote.needs_step_up and not stepped_up:
            raise StepUpFailed(_("Enter the six-digit code your authenticator app shows."))
        if quote.beneficiary is not None:
            beneficiary_mark_used(beneficiary=quote.beneficiary)
        if quote.needs_approval:
            return _outcome(instruction_create(actor=actor, user=user, quote=quote))
        result = _perform(
            actor=actor,
            kind=quote.instruction_kind,
            source=quote.source,
            money=quote.money,
            reference=draft.reference,
            target=quote.target,
            payee=beneficiary_as_payee(quote.beneficiary) if quote.beneficiary is not None else None,
        )
        return _outcome(result)

    done = run_idempotent(principal=principal, key=key, fingerprint=fingerprint, action=action, on_refusal=_refused)
    body = done.body
    return Outcome(
        result=body["result"], id=body.get("id", ""), message=body.get("message", ""), replayed=done.replayed
    )


# --- corporate approval ------------------------------------------------------------------------


def instruction_create(*, actor: Actor, user: User, quote: Quote) -> PaymentInstruction:
    """A corporate movement that waits for a second user: nothing moves or is held yet."""
    beneficiary = quote.beneficiary
    instruction = PaymentInstruction.objects.create(
        kind=quote.instruction_kind,
        account=quote.source,
        amount=quote.money.amount,
        currency=quote.money.currency,
        reference=quote.draft.reference,
        to_account=quote.target,
        beneficiary=beneficiary,
        beneficiary_name=beneficiary.name if beneficiary else "",
        beneficiary_account=beneficiary.account_number if beneficiary else "",
        beneficiary_bank=beneficiary.bank_code if beneficiary else "",
        beneficiary_country=beneficiary.country if beneficiary else "",
        initiated_by=user,
    )
    audit_record(
        actor=actor.label,
        action="payment_instruction.create",
        object_type="payment_instruction",
        object_id=str(instruction.public_id),
        detail={
            "kind": instruction.kind,
            "amount": format_amount(quote.money.amount, quote.money.currency),
            "currency": quote.money.currency,
            "account": str(quote.source.public_id),
        },
    )
    return instruction


def _lock_pending(*, user: User, public_id: uuid.UUID | str) -> PaymentInstruction:
    portal_user = portal_user_or_404(user)
    try:
        instruction = (
            PaymentInstruction.objects.select_for_update(of=("self",))
            .select_related("account", "account__customer", "initiated_by", "to_account")
            .get(public_id=public_id, account__customer_id=portal_user.customer_id)
        )
    except (PaymentInstruction.DoesNotExist, ValueError, DjangoValidationError):
        raise NotFound() from None
    mandate_check_approver(approver=user, initiator=instruction.initiated_by, account=instruction.account)
    if instruction.status != InstructionStatus.PENDING:
        raise ApprovalNotPending(_("This payment has already been approved or rejected."))
    return instruction


def instruction_approve(*, user: User, public_id: uuid.UUID | str) -> PaymentInstruction:
    """The second user approves: the movement is performed now, once (the instruction's row
    lock and status make a second approval, even at the same moment, an ApprovalNotPending).
    A refusal of the movement (funds, limits, frozen account, stopped payments) leaves the
    instruction pending and moves nothing."""
    actor = portal_movement_actor(user)
    controls_assert_customer_not_frozen(actor.customer_id)
    try:
        return _approve(actor=actor, user=user, public_id=public_id)
    except DomainError as refusal:
        refusal_settle(refusal)  # what a refusal records after its rollback (a risk alert)
        raise


def _approve(*, actor: Actor, user: User, public_id: uuid.UUID | str) -> PaymentInstruction:
    with transaction.atomic():
        instruction = _lock_pending(user=user, public_id=public_id)
        payee = None
        if instruction.kind == InstructionKind.PAYMENT:
            payee = Beneficiary(
                name=instruction.beneficiary_name,
                account_number=instruction.beneficiary_account,
                bank_code=instruction.beneficiary_bank,
                country=instruction.beneficiary_country,
            )
        result = _perform(
            actor=actor,
            kind=instruction.kind,
            source=instruction.account,
            money=Money(instruction.amount, instruction.currency),
            reference=instruction.reference,
            target=instruction.to_account,
            payee=payee,
        )
        if isinstance(result, Payment):
            instruction.payment = result
        elif isinstance(result, JournalEntry):
            instruction.entry = result
        else:
            instruction.review_approval = result.approval
        instruction.status = InstructionStatus.APPROVED
        instruction.decided_by = user
        instruction.decided_at = timezone.now()
        instruction.save(
            update_fields=["payment", "entry", "review_approval", "status", "decided_by", "decided_at", "updated_at"]
        )
        audit_record(
            actor=actor.label,
            action="payment_instruction.approve",
            object_type="payment_instruction",
            object_id=str(instruction.public_id),
            detail={"initiated_by": instruction.initiated_by.get_username()},
        )
    return instruction


def instruction_reject(*, user: User, public_id: uuid.UUID | str, note: str = "") -> PaymentInstruction:
    """The second user refuses it: nothing moves, the initiator sees why."""
    actor = portal_movement_actor(user)
    note = " ".join((note or "").split())
    if len(note) > 255:
        raise ValidationFailed({"note": [_("Use at most 255 characters.")]})
    with transaction.atomic():
        instruction = _lock_pending(user=user, public_id=public_id)
        instruction.status = InstructionStatus.REJECTED
        instruction.decided_by = user
        instruction.decided_at = timezone.now()
        instruction.decision_note = note
        instruction.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "updated_at"])
        audit_record(
            actor=actor.label,
            action="payment_instruction.reject",
            object_type="payment_instruction",
            object_id=str(instruction.public_id),
            detail={"initiated_by": instruction.initiated_by.get_username(), "note": note},
        )
    return instruction


def can_approve(user: User, instruction: PaymentInstruction) -> bool:
    """Whether to offer this user the approve and reject buttons."""
    if instruction.status != InstructionStatus.PENDING or instruction.initiated_by_id == user.pk:
        return False
    portal_user = portal_user_or_404(user)
    if not _is_corporate(portal_user.customer):
        return False
    return portal_account(user, instruction.account.public_id, RIGHT_APPROVE) is not None


def total_text(money: Money) -> str:
    return f"{format_amount(money.amount, money.currency)} {money.currency}"
