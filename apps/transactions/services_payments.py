"""External payments: the state machine of ARCHITECTURE.md.

    received -> screened -> (pending_approval) -> held -> submitted -> settled | rejected | returned

- `payment_create` (the API's POST) runs received -> screened -> held in one transaction: the
  account is locked, screened, and the amount held (`available` drops). A refusal (funds,
  currency, status, screening) stores nothing. A job to submit it is sent after commit.
- `payment_submit` (a worker) moves held -> submitted and calls the gateway outside any
  transaction, with the payment's id as the idempotency key; failures are retried with
  exponential backoff; after the last attempt the gateway's status decides.
- `payment_record_answer` keeps the gateway's final answer on the payment, and
  `payments_settle` books recorded answers in batches: every account of a batch (customers and
  clearing) is locked in ascending id order up front, settled payments capture their holds into
  the clearing GL account set-based, rejected ones release them.
- `payment_return` books a payment the beneficiary bank sent back after settlement.
- `payment_release` / `payment_decline` decide a payment a screener sent to review
  (`pending_approval`): run by the maker-checker approval that the review handler opened.

A payment in another currency than its account's is converted when it is accepted, at the rate
in force then (the FX quoter that apps.treasury registers in `payment_hooks`): the hold, the
settlement and a return take `fx_debit_amount` of the account's currency, and the settlement and
return entries balance per currency through the bank's FX position accounts.

Every task is idempotent: the payment's status, read under its row lock, decides what is left
to do, so a redelivered or duplicated job does nothing twice. Every transition writes a
PaymentEvent (time, from, to, cause, actor) and a `payment.status_changed` outbox event in the
same transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pycountry
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Account, AccountStatus, GlCode, HoldStatus
from apps.accounts.services import (
    account_require_active,
    account_require_currency,
    account_require_funds,
    accounts_lock,
    accounts_lock_for_movement,
    gl_account_pk,
    hold_create,
    holds_close_many,
    holds_lock_active,
)
from apps.audit.services import audit_record
from apps.common.controls import active_controls, controls_assert_payments_allowed
from apps.common.errors import (
    BlockedByScreening,
    CurrencyMismatchError,
    DomainError,
    FxRateUnavailable,
    NotFound,
    ValidationFailed,
)
from apps.common.jobs import job_enqueue_after_commit
from apps.common.locking import lock_by_pk
from apps.common.metrics import PAYMENT_SETTLEMENT_SECONDS
from apps.common.money import Money, format_amount
from apps.common.principals import Actor, Channel
from apps.common.refusals import refusal_defer, refusal_settle
from apps.integrations.gateway import (
    GatewayAnswer,
    GatewayError,
    GatewayOrder,
    GatewayOutcome,
    payment_gateway,
)
from apps.integrations.models import OutboxEvent
from apps.integrations.services import outbox_emit, outbox_emit_many
from apps.transactions.models import EntryKind, Payment, PaymentEvent, PaymentStatus
from apps.transactions.payment_hooks import PaymentFx, payment_fx_quoter, payment_review_handler
from apps.transactions.screening import ScreeningOutcome, payment_screen
from apps.transactions.services import BatchItem, Leg, entries_post_batch
from apps.transactions.settlement_sql import settle_batch_sql

PROCESS_TASK = "apps.transactions.tasks.process_payment"
GATEWAY_ACTOR = Actor(label="system:gateway", channel=Channel.SYSTEM)
WORKER_ACTOR = Actor(label="system:payments", channel=Channel.SYSTEM)


@dataclass(frozen=True)
class Beneficiary:
    name: str
    account_number: str
    bank_code: str
    country: str


def beneficiary_check(beneficiary: Beneficiary) -> None:
    """Shape rules for the other bank's side (API serializers check lengths before this)."""
    errors: dict[str, list[Any]] = {}
    if not beneficiary.name.strip():
        errors["beneficiary.name"] = [_("Enter the beneficiary's name.")]
    number = beneficiary.account_number
    if not (1 <= len(number) <= 34 and number.isascii() and number.isalnum()):
        errors["beneficiary.account_number"] = [_("Use 1 to 34 letters and digits.")]
    bank = beneficiary.bank_code
    if not (3 <= len(bank) <= 12 and bank.isascii() and bank.isalnum()):
        errors["beneficiary.bank_code"] = [_("Use 3 to 12 letters and digits (a BIC or national bank code).")]
    country = beneficiary.country
    if len(country) != 2 or not country.isascii() or pycountry.countries.get(alpha_2=country) is None:
        errors["beneficiary.country"] = [_("Use an ISO 3166 alpha-2 country code.")]
    if errors:
        raise ValidationFailed(errors)


def _outgoing_stopped() -> bool:
    """An emergency control stops payments from leaving the bank (apps/common/controls.py)."""
    controls = active_controls()
    return controls.payments_stopped or controls.read_only


def _observe_final(payments: Sequence[Payment], now: dt.datetime) -> None:
    """Receipt-to-final-state time of each payment, in the metrics once the batch commits."""
    _observe_timings([(p.status, (now - p.created_at).total_seconds()) for p in payments])


def _observe_timings(timings: list[tuple[str, float]]) -> None:
    def observe() -> None:
        for outcome, seconds in timings:
            PAYMENT_SETTLEMENT_SECONDS.labels(outcome).observe(seconds)

    transaction.on_commit(observe)


def _status_document(payment: Payment) -> dict[str, Any]:
    document = {
        "payment": str(payment.public_id),
        "status": payment.status,
        "amount": format_amount(payment.amount, payment.currency),
        "currency": payment.currency,
        "reference": payment.reference,
    }
    if payment.is_fx:
        document["account_amount"] = format_amount(payment.debit_amount, payment.debit_currency)
        document["account_currency"] = payment.debit_currency
    return document


def _payment_fx(account: Account, money: Money, actor: Actor) -> PaymentFx | None:
    """None for a payment in the account's currency; otherwise the conversion at the rate in
    force. No FX quoter or no rate for the pair: 422 currency_mismatch (API.md), saying why."""
    if account.currency == money.currency:
        return None
    quoter = payment_fx_quoter()
    if quoter is None:
        account_require_currency(account, money.currency)
    try:
        assert quoter is not None
        return quoter(sell=account.currency, buy=money.currency, buy_amount=money.amount, channel=actor.channel)
    except FxRateUnavailable:
        raise CurrencyMismatchError(
            _(
                "Account %(number)s is held in %(account_currency)s and no exchange rate from "
                "%(account_currency)s to %(currency)s is in force: pay in %(account_currency)s."
            )
            % {"number": account.number, "account_currency": account.currency, "currency": money.currency},
            extra={
                "account": str(account.public_id),
                "account_currency": account.currency,
                "reason": "fx_rate_unavailable",
            },
        ) from None


def _transition(
    payment: Payment, to: str, *, cause: str, actor: Actor, customer_id: int | None, emit: bool = True
) -> PaymentEvent:
    """Move a locked (or new) payment to `to`: its event row and (unless `emit` is false) its
    outbox event; the caller saves the payment."""
    event = PaymentEvent.objects.create(
        payment=payment, from_status=payment.status, to_status=to, cause=cause[:255], actor=actor.label
    )
    payment.status = to
    if emit:
        outbox_emit(kind="payment.status_changed", payload=_status_document(payment), customer_id=customer_id)
    return event


def payment_create(
    *, actor: Actor, from_account: uuid.UUID, money: Money, beneficiary: Beneficiary, reference: str = ""
) -> Payment:
    """Accept a payment and hold its funds, in one transaction (see the module docstring)."""
    if money.amount <= 0 or not money.is_whole_minor_units():
        raise ValidationFailed({"amount": [_("Enter a positive amount in whole minor units.")]})
    beneficiary_check(beneficiary)
    controls_assert_payments_allowed()  # 503 while outgoing payments are stopped or the bank is read-only
    try:
        return _payment_accept(
            actor=actor, from_account=from_account, money=money, beneficiary=beneficiary, reference=reference
        )
    except DomainError as refusal:
        refusal_settle(refusal)  # outside any transaction: what a block leaves (a risk alert)
        raise


def _payment_accept(
    *, actor: Actor, from_account: uuid.UUID, money: Money, beneficiary: Beneficiary, reference: str
) -> Payment:
    with transaction.atomic():
        by_public, _by_gl, _locked = accounts_lock_for_movement(public_ids=[from_account])
        account = by_public.get(from_account)
        if account is None or (actor.customer_id is not None and account.customer_id != actor.customer_id):
            raise NotFound()
        fx = _payment_fx(account, money, actor)
        account_require_active(account)
        debit = Money(fx.debit, account.currency) if fx is not None else money
        account_require_funds(account, debit.amount)
        payment = Payment(
            account=account,
            amount=money.amount,
            currency=money.currency,
            beneficiary_name=beneficiary.name,
            beneficiary_account=beneficiary.account_number,
            beneficiary_bank=beneficiary.bank_code,
            beneficiary_country=beneficiary.country,
            reference=reference,
            status=PaymentStatus.RECEIVED,
            channel=actor.channel,
            created_by=actor.label,
        )
        if fx is not None:
            payment.fx_debit_amount = fx.debit
            payment.fx_debit_currency = fx.sell
            payment.fx_mid_rate = fx.mid
            payment.fx_customer_rate = fx.customer_rate
            payment.fx_spread_bps = fx.spread_bps
            payment.fx_rate = uuid.UUID(fx.rate)
        payment.save()
        PaymentEvent.objects.create(
            payment=payment, from_status="", to_status=PaymentStatus.RECEIVED, cause="accepted", actor=actor.label
        )
        customer_id = account.customer_id
        decision = payment_screen(payment)
        if decision.outcome == ScreeningOutcome.BLOCK:
            raise refusal_defer(
                BlockedByScreening(extra={"reason": decision.reason} if decision.reason else None),
                *decision.after_refusal,
            )
        # Integrators hear of the new payment once, in the status it commits in (below).

        def quiet(to: str, cause: str) -> None:
            _transition(payment, to, cause=cause, actor=actor, customer_id=customer_id, emit=False)

        quiet(PaymentStatus.SCREENED, f"screening: {decision.reason}"[:255])
        if decision.outcome == ScreeningOutcome.REVIEW:
            # Nothing is held yet: a second person decides (payment_release / payment_decline),
            # through the approval the review handler (apps.compliance) opens here.
            quiet(PaymentStatus.PENDING_APPROVAL, decision.reason or "review")
            handler = payment_review_handler()
            if handler is not None:
                payment.approval = uuid.UUID(handler(payment, decision, actor))
        else:
            payment.hold = hold_create(
                actor=actor, account=account, amount=debit, reference=f"payment {payment.public_id}"[:140]
            )
            quiet(PaymentStatus.HELD, "funds held")
            payment.next_attempt_at = timezone.now()
        payment.save(update_fields=["status", "hold", "next_attempt_at", "approval", "updated_at"])
        outbox_emit(kind="payment.status_changed", payload=_status_document(payment), customer_id=customer_id)
        _large_payment_alert(payment, account)
        audit_record(
            actor=actor.label,
            action="payment.create",
            object_type="payment",
            object_id=str(payment.public_id),
            detail={
                "amount": str(money.amount),
                "currency": money.currency,
                "status": payment.status,
                **({"debit": f"{debit.amount} {debit.currency}", "rate": str(fx.customer_rate)} if fx else {}),
            },
        )
        if payment.status == PaymentStatus.HELD:
            job_enqueue_after_commit(PROCESS_TASK, payment.pk)
    return payment


def payment_release(*, payment_id: int, decided_by: str, reason: str = "") -> Payment:
    """A second person approved a payment a screener sent to review: hold its funds now and
    send it on (pending_approval -> held; the worker submits it). Idempotent: a payment no
    longer pending approval is returned unchanged, so it is held and submitted once. Refused
    like a new payment when the account is no longer active or lacks the funds (nothing changes;
    the approval stays undecided)."""
    decider = Actor(label=decided_by, channel=Channel.SYSTEM)
    with transaction.atomic():
        account_pk = Payment.objects.filter(pk=payment_id).values_list("account_id", flat=True).first()
        if account_pk is None:
            raise NotFound()
        accounts = accounts_lock([account_pk])  # the account first, then the payment: the global order
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.status != PaymentStatus.PENDING_APPROVAL:
            return payment
        account = accounts[account_pk]
        account_require_active(account)
        account_require_funds(account, payment.debit_amount)
        payment.hold = hold_create(
            actor=decider,
            account=account,
            amount=Money(payment.debit_amount, payment.debit_currency),
            reference=f"payment {payment.public_id}"[:140],
        )
        _transition(
            payment, PaymentStatus.HELD, cause=f"approved by {decided_by}: {reason}".rstrip(": "), actor=decider,
            customer_id=account.customer_id,
        )  # fmt: skip
        payment.next_attempt_at = timezone.now()
        payment.save(update_fields=["status", "hold", "next_attempt_at", "updated_at"])
        audit_record(
            actor=decided_by, action="payment.release", object_type="payment", object_id=str(payment.public_id)
        )
        job_enqueue_after_commit(PROCESS_TASK, payment.pk)
    return payment


def payment_decline(*, payment_id: int, decided_by: str, cause: str) -> Payment:
    """The review ended without an approval (rejected or expired): pending_approval -> rejected.
    Nothing was held, so no money moves. Idempotent like payment_release."""
    decider = Actor(label=decided_by, channel=Channel.SYSTEM)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("account").filter(pk=payment_id).first()
        if payment is None:
            raise NotFound()
        if payment.status != PaymentStatus.PENDING_APPROVAL:
            return payment
        _transition(
            payment, PaymentStatus.REJECTED, cause=cause, actor=decider, customer_id=payment.account.customer_id
        )
        payment.next_attempt_at = None
        payment.save(update_fields=["status", "next_attempt_at", "updated_at"])
        _observe_final([payment], timezone.now())
        audit_record(
            actor=decided_by,
            action="payment.decline",
            object_type="payment",
            object_id=str(payment.public_id),
            detail={"cause": cause[:200]},
        )
    return payment


def _large_payment_alert(payment: Payment, account: Account) -> None:
    threshold = Decimal(settings.FINSYS_LARGE_TRANSACTION_AMOUNT)
    if threshold <= 0 or payment.amount < threshold:
        return
    customer = account.customer
    outbox_emit(
        kind="transaction.large",
        payload=_status_document(payment),
        customer_id=account.customer_id,
        notify_email=customer.email if customer is not None else "",
        message=_("A payment of %(amount)s %(currency)s was made from your account %(number)s.")
        % {
            "amount": format_amount(payment.amount, payment.currency),
            "currency": payment.currency,
            "number": account.number[-4:].rjust(len(account.number), "*"),
        },
    )


def _retry_delay(attempts: int) -> dt.timedelta:
    base = settings.FINSYS_PAYMENT_RETRY_SECONDS
    return dt.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), settings.FINSYS_PAYMENT_RETRY_MAX_SECONDS))


def _order(payment: Payment) -> GatewayOrder:
    return GatewayOrder(
        key=str(payment.public_id),
        amount=payment.amount,
        currency=payment.currency,
        beneficiary={
            "name": payment.beneficiary_name,
            "account_number": payment.beneficiary_account,
            "bank_code": payment.beneficiary_bank,
            "country": payment.beneficiary_country,
        },
        reference=payment.reference,
    )


@dataclass(frozen=True)
class SubmitResult:
    status: str
    retry_in: float | None = None  # this job made an attempt: the next one is due in so many seconds


def payment_submit(*, payment_id: int, now: dt.datetime | None = None) -> SubmitResult:
    """Send a held (or submitted but unanswered) payment to the gateway when an attempt is due,
    or, when the gateway has accepted it already, ask the gateway for its answer.

    The attempt is claimed under the payment's row lock (the attempt counter and the time of the
    next attempt move first), so two workers never call the gateway for one payment at once
    unless a claim has lapsed; even then the idempotency key makes the gateway answer once."""
    moment = now or timezone.now()
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(pk=payment_id).first()
        if payment is None:
            return SubmitResult("missing")
        if payment.status not in (PaymentStatus.HELD, PaymentStatus.SUBMITTED) or payment.gateway_outcome:
            return SubmitResult(payment.status)
        if payment.next_attempt_at is not None and payment.next_attempt_at > moment:
            return SubmitResult(payment.status)  # another job holds this attempt, or it is not due
        if payment.status == PaymentStatus.HELD and _outgoing_stopped():
            return SubmitResult(payment.status)  # held until the switch is lifted; the sweep sends it then
        if payment.status == PaymentStatus.HELD:
            _transition(
                payment, PaymentStatus.SUBMITTED, cause="sent to the gateway", actor=WORKER_ACTOR,
                customer_id=payment.account.customer_id,
            )  # fmt: skip
        payment.submit_attempts += 1
        delay = _retry_delay(payment.submit_attempts)
        payment.next_attempt_at = moment + delay
        payment.save(update_fields=["status", "submit_attempts", "next_attempt_at", "updated_at"])
        attempts = payment.submit_attempts
        order = _order(payment)
        accepted = bool(payment.gateway_reference)  # the gateway has it: ask for its answer
    gateway = payment_gateway()
    try:
        answer = gateway.status(order.key) if accepted else gateway.submit(order)
        if answer.outcome == GatewayOutcome.UNKNOWN:
            answer = gateway.submit(order)
    except GatewayError as exc:
        if attempts < settings.FINSYS_PAYMENT_SUBMIT_MAX_ATTEMPTS:
            _note_error(payment_id, f"attempt {attempts}: {type(exc).__name__}: {exc}")
            return SubmitResult(PaymentStatus.SUBMITTED, delay.total_seconds())
        # The last attempt: the gateway's books decide. Never heard of it: it moved no money.
        try:
            answer = gateway.status(order.key)
        except GatewayError as status_exc:
            _note_error(payment_id, f"status after {attempts} attempts: {type(status_exc).__name__}")
            return SubmitResult(PaymentStatus.SUBMITTED, delay.total_seconds())
        if answer.outcome == GatewayOutcome.UNKNOWN:
            answer = GatewayAnswer(
                GatewayOutcome.REJECTED, reason=f"no answer from the gateway after {attempts} attempts"
            )
    status = payment_record_answer(payment_id=payment_id, answer=answer)
    return SubmitResult(status, delay.total_seconds() if status == PaymentStatus.SUBMITTED else None)


def _note_error(payment_id: int, message: str) -> None:
    with transaction.atomic():
        Payment.objects.filter(pk=payment_id).update(last_error=message[:200], updated_at=timezone.now())


def payment_record_answer(*, payment_id: int, answer: GatewayAnswer) -> str:
    """Keep the gateway's answer on a submitted payment. A final answer (settled / rejected)
    is kept once, the first one wins; `accepted` only notes the gateway's reference (its final
    answer comes by callback, or from a status query when the next attempt is due)."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(pk=payment_id).first()
        if payment is None:
            return "missing"
        if payment.status != PaymentStatus.SUBMITTED or payment.gateway_outcome:
            return payment.status
        if answer.reference:
            payment.gateway_reference = answer.reference[:64]
        if answer.outcome in (GatewayOutcome.SETTLED, GatewayOutcome.REJECTED):
            payment.gateway_outcome = answer.outcome
            payment.gateway_reason = answer.reason[:200]
        payment.save(update_fields=["gateway_reference", "gateway_outcome", "gateway_reason", "updated_at"])
        status = payment.status
    if answer.outcome in (GatewayOutcome.SETTLED, GatewayOutcome.REJECTED):
        payments_settle(payment_ids=[payment_id])
        status = Payment.objects.values_list("status", flat=True).get(pk=payment_id)
    return status


def payments_settle(*, payment_ids: list[int] | None = None, batch_size: int = 500) -> int:
    """Book the recorded gateway answers of submitted payments (all of them when `payment_ids`
    is None), in batches. Returns how many payments reached a final status."""
    done = 0
    while True:
        candidates = Payment.objects.filter(status=PaymentStatus.SUBMITTED).exclude(gateway_outcome="")
        if payment_ids is not None:
            candidates = candidates.filter(pk__in=payment_ids)
        rows = list(
            candidates.order_by("pk").values_list("pk", "account_id", "hold_id", "currency", "fx_debit_currency")[
                :batch_size
            ]
        )
        if not rows:
            return done
        done += _settle_batch(rows)
        if len(rows) < batch_size:
            return done


def _gl_pks(code: str, currencies: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for currency in currencies:
        pk = gl_account_pk(code, currency)
        if pk is None:  # pragma: no cover - every shipped currency has its clearing and FX position
            raise ValidationFailed({"currency": [_("The bank keeps no such account in this currency.")]})
        found[currency] = pk
    return found


def _settlement_legs(payment: Payment, clearing: dict[str, int], position: dict[str, int]) -> list[Leg]:
    """Customer -> clearing in the payment's currency; through the FX position accounts (one
    per currency, balanced per currency) for a payment in another currency than the account's."""
    if not payment.is_fx:
        return [Leg(payment.account_id, -payment.amount), Leg(clearing[payment.currency], payment.amount)]
    debit = payment.debit_amount
    return [
        Leg(payment.account_id, -debit),
        Leg(position[payment.debit_currency], debit),
        Leg(position[payment.currency], -payment.amount),
        Leg(clearing[payment.currency], payment.amount),
    ]


def _settle_batch(rows: Sequence[tuple[int, int, int | None, str, str]]) -> int:
    clearing = _gl_pks(GlCode.CLEARING, {currency for _pk, _account, _hold, currency, _fx in rows})
    fx_currencies = {c for _pk, _a, _h, currency, fx in rows if fx for c in (currency, fx)}
    position = _gl_pks(GlCode.FX_POSITION, fx_currencies)
    if connection.vendor == "postgresql" and not fx_currencies:
        return _settle_batch_set_based(rows, clearing)
    with transaction.atomic(durable=True):
        # One global order: every account of the batch, customers, clearing and FX positions,
        # ascending id.
        accounts = accounts_lock(
            [account for _pk, account, _hold, _cur, _fx in rows] + list(clearing.values()) + list(position.values())
        )
        holds = holds_lock_active(hold for _pk, _account, hold, _cur, _fx in rows if hold is not None)
        payments = [
            p
            for p in lock_by_pk(Payment.objects.all(), [pk for pk, *_rest in rows]).values()
            if p.status == PaymentStatus.SUBMITTED and p.gateway_outcome
        ]
        captured, released, items, settled = [], [], [], []
        for payment in payments:
            hold = holds.get(payment.hold_id) if payment.hold_id else None
            if hold is None:  # pragma: no cover - a payment's hold is closed only here
                raise AssertionError(f"payment {payment.pk} has no active hold")
            if payment.gateway_outcome == GatewayOutcome.SETTLED:
                captured.append(hold)
                settled.append(payment)
                items.append(
                    BatchItem(
                        kind=EntryKind.PAYMENT,
                        money=Money(payment.amount, payment.currency),
                        reference=(payment.reference or f"payment {payment.public_id}")[:140],
                        legs=_settlement_legs(payment, clearing, position),
                    )
                )
            else:
                released.append(hold)
        holds_close_many(holds=captured, accounts=accounts, status=HoldStatus.CAPTURED)
        holds_close_many(holds=released, accounts=accounts, status=HoldStatus.RELEASED)
        entries = entries_post_batch(
            actor=WORKER_ACTOR, items=items, accounts=accounts, also_store=[h.account_id for h in released]
        )
        entry_of = {payment.pk: entry for payment, entry in zip(settled, entries, strict=True)}
        now = timezone.now()
        events, outbox = [], []
        for payment in payments:
            to = PaymentStatus.SETTLED if payment.pk in entry_of else PaymentStatus.REJECTED
            cause = "gateway settled" if to == PaymentStatus.SETTLED else f"gateway rejected: {payment.gateway_reason}"
            events.append(
                PaymentEvent(
                    payment=payment, from_status=payment.status, to_status=to, cause=cause[:255],
                    actor=GATEWAY_ACTOR.label, created_at=now,
                )
            )  # fmt: skip
            payment.status = to
            payment.settlement_entry = entry_of.get(payment.pk)
            payment.next_attempt_at = None
            payment.updated_at = now
            outbox.append(
                OutboxEvent(
                    kind="payment.status_changed",
                    payload=_status_document(payment),
                    customer_id=accounts[payment.account_id].customer_id,
                )
            )
        _payments_store_final(payments, now)
        PaymentEvent.objects.bulk_create(events)
        outbox_emit_many(events=outbox)
        _observe_final(payments, now)
        if payments:
            audit_record(
                actor=GATEWAY_ACTOR.label,
                action="payment.settle_batch",
                detail={"settled": len(settled), "rejected": len(released)},
            )
    return len(payments)


def _settle_batch_set_based(rows: Sequence[tuple[int, int, int | None, str, str]], clearing: dict[str, int]) -> int:
    """The same batch in a few set-based statements (PostgreSQL, no FX payment in the batch):
    apps/transactions/settlement_sql.py."""
    with transaction.atomic(durable=True):
        now = timezone.now()
        booked = settle_batch_sql(
            payment_ids=[pk for pk, *_rest in rows],
            account_ids=[account for _pk, account, *_rest in rows],
            clearing=clearing,
            now=now,
            worker=WORKER_ACTOR,
            gateway=GATEWAY_ACTOR.label,
        )
        timings = [(status, (now - created_at).total_seconds()) for status, created_at in booked]
        _observe_timings(timings)
        if booked:
            settled = sum(1 for status, _seconds in timings if status == PaymentStatus.SETTLED)
            audit_record(
                actor=GATEWAY_ACTOR.label,
                action="payment.settle_batch",
                detail={"settled": settled, "rejected": len(booked) - settled},
            )
    return len(booked)


def _payments_store_final(payments: Sequence[Payment], now: dt.datetime) -> None:
    """Write a settlement batch's final statuses and entries. On PostgreSQL one UPDATE ... FROM
    (VALUES ...): Django's bulk_update composes a CASE per row and field, which took more Python
    time than the rest of a 1,000-payment batch (bench/settlement.py)."""
    if not payments:
        return
    if connection.vendor != "postgresql":
        Payment.objects.bulk_update(payments, ["status", "settlement_entry", "next_attempt_at", "updated_at"])
        return
    rows = ", ".join(["(%s::bigint, %s::varchar, %s::bigint)"] * len(payments))
    params: list[Any] = [now]
    for payment in payments:
        params += [payment.pk, payment.status, payment.settlement_entry_id]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Payment._meta.db_table} AS p SET status = v.status, settlement_entry_id = v.entry_id, "  # noqa: S608 - placeholders only
            f"next_attempt_at = NULL, updated_at = %s FROM (VALUES {rows}) AS v(id, status, entry_id) WHERE p.id = v.id",
            params,
        )


def payment_return(*, payment_id: int, reason: str = "", actor: Actor = GATEWAY_ACTOR) -> str:
    """The beneficiary bank sent a settled payment back: credit the customer from clearing (a
    closed account's money goes to the suspense account for the bank to pay out)."""
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None:
        return "missing"
    if payment.status != PaymentStatus.SETTLED:
        return payment.status
    # The customer gets back exactly what was taken, in the account's currency: a payment in
    # another currency is converted back at the rate it went out at (the bank bears the change).
    clearing = _gl_pks(GlCode.CLEARING, {payment.currency})
    suspense = _gl_pks(GlCode.SUSPENSE, {payment.debit_currency})[payment.debit_currency]
    position = _gl_pks(GlCode.FX_POSITION, {payment.currency, payment.debit_currency}) if payment.is_fx else {}
    with transaction.atomic(durable=True):
        accounts = accounts_lock([payment.account_id, suspense, *clearing.values(), *position.values()])
        locked = Payment.objects.select_for_update().get(pk=payment_id)
        if locked.status != PaymentStatus.SETTLED:
            return locked.status
        target = payment.account_id if accounts[payment.account_id].status != AccountStatus.CLOSED else suspense
        legs = [Leg(leg.account_id if leg.account_id != payment.account_id else target, -leg.amount)
                for leg in _settlement_legs(locked, clearing, position)]  # fmt: skip
        (entry,) = entries_post_batch(
            actor=actor,
            items=[
                BatchItem(
                    kind=EntryKind.PAYMENT_RETURN,
                    money=Money(locked.amount, locked.currency),
                    reference=f"return of payment {locked.public_id}"[:140],
                    legs=legs,
                )
            ],
            accounts=accounts,
        )
        _transition(
            locked, PaymentStatus.RETURNED, cause=f"returned by the beneficiary bank: {reason}", actor=actor,
            customer_id=accounts[payment.account_id].customer_id,
        )  # fmt: skip
        locked.return_entry = entry
        locked.save(update_fields=["status", "return_entry", "updated_at"])
        _observe_final([locked], timezone.now())
        audit_record(actor=actor.label, action="payment.return", object_type="payment", object_id=str(locked.public_id))
    return PaymentStatus.RETURNED


def payment_gateway_report(
    *, public_id: uuid.UUID, outcome: GatewayOutcome, reference: str = "", reason: str = ""
) -> str:
    """A gateway callback: record and book its answer (idempotent: a repeat changes nothing)."""
    payment = Payment.objects.filter(public_id=public_id).first()
    if payment is None:
        raise NotFound()
    if outcome == GatewayOutcome.RETURNED:
        return payment_return(payment_id=payment.pk, reason=reason)
    return payment_record_answer(
        payment_id=payment.pk, answer=GatewayAnswer(outcome=outcome, reference=reference, reason=reason)
    )
