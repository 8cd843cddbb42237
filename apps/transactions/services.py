"""Money movements. Each is one database transaction that locks the accounts it touches in
ascending id order, checks every rule, then writes one balanced JournalEntry with its postings
and the accounts' cached balances together.

Nested inside a caller's transaction they take no savepoint of their own (a round trip saved
on the hot path): a caller that wants to survive a refusal and go on must wrap the call in its
own `transaction.atomic()` savepoint, as apps.common.idempotency.run_idempotent does."""

from __future__ import annotations

import datetime as dt
import functools
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ParamSpec

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Account, GlCode, Hold, HoldStatus
from apps.accounts.services import (
    account_balance_delta,
    account_require_active,
    account_require_can_receive,
    account_require_currency,
    account_require_funds,
    accounts_balances_update_sql,
    accounts_lock,
    accounts_lock_for_movement,
    accounts_store_balances,
    gl_account_pk,
    hold_lock_active,
    hold_settle,
)
from apps.common import metrics
from apps.common.controls import controls_assert_payments_allowed, controls_assert_writable
from apps.common.database import execute_at_commit
from apps.common.errors import (
    AlreadyReversed,
    BlockedByScreening,
    DomainError,
    LimitExceeded,
    NotFound,
    NotReversible,
    SameAccount,
    ValidationFailed,
)
from apps.common.money import Money, format_amount, minor_unit
from apps.common.principals import Actor, require_bank
from apps.common.refusals import refusal_defer, refusal_settle
from apps.integrations.services import outbox_emit
from apps.transactions.models import EntryKind, JournalEntry, Posting
from apps.transactions.screening import Movement, ScreeningOutcome, movement_screen, review_handler

# The largest magnitude a balance column (NUMERIC(20, 4)) holds, with room for holds.
MAX_BALANCE = Decimal("999999999999999.9999")


P = ParamSpec("P")


def _measured(kind: str) -> Callable[[Callable[P, JournalEntry]], Callable[P, JournalEntry]]:
    """Count a movement service's outcome (posted at commit, refused by code) and time it:
    in-process counters only, no database work (apps.common.metrics)."""

    def decorate(service: Callable[P, JournalEntry]) -> Callable[P, JournalEntry]:
        @functools.wraps(service)
        def measured(*args: P.args, **kwargs: P.kwargs) -> JournalEntry:
            started = time.perf_counter()
            try:
                entry = service(*args, **kwargs)
            except DomainError as refusal:
                metrics.movement_refused(kind, refusal.code)
                refusal_settle(refusal)  # called outside any transaction: record the block now
                raise
            metrics.movement_posted(kind, time.perf_counter() - started)
            return entry

        return measured

    return decorate


class UnbalancedEntry(AssertionError):
    """A programming error: postings that do not sum to zero."""


@dataclass(frozen=True)
class Leg:
    account_id: int
    amount: Decimal  # signed: credit positive


def _post(
    *,
    actor: Actor,
    kind: str,
    money: Money,
    reference: str,
    legs: list[Leg],
    accounts: dict[int, Account],
    reverses: JournalEntry | None = None,
    booked_at: dt.datetime | None = None,
    write_at_commit: bool = False,
) -> JournalEntry:
    """Write one balanced entry on already locked and checked accounts.

    Refused while the bank is read-only (an emergency control): every posting passes here, so
    API calls, admin actions, Celery jobs and commands are all stopped.

    `write_at_commit` (PostgreSQL): the entry's statement travels with the transaction's next
    statement or its COMMIT (finsys/postgresql/connection.py), one round trip less; the entry's
    `pk` is set only then. For callers that answer with public ids only (transfer_submit)."""
    controls_assert_writable()
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for leg in legs:  # each leg in its own account's currency (an FX entry has two)
        totals[accounts[leg.account_id].currency] += leg.amount
        if leg.amount != leg.amount.quantize(minor_unit(accounts[leg.account_id].currency)):
            raise UnbalancedEntry("postings carry whole minor units only")
    if len(legs) < 2 or any(total != 0 for total in totals.values()):
        raise UnbalancedEntry(f"entry does not balance: {dict(totals)}")
    for leg in legs:  # before any write: a balance the NUMERIC(20, 4) columns cannot hold
        if abs(accounts[leg.account_id].balance + leg.amount) > MAX_BALANCE:
            raise LimitExceeded(
                _("The account would exceed the largest balance the ledger holds."),
                extra={"account": str(accounts[leg.account_id].public_id)},
            )
    now = booked_at or timezone.now()
    entry = JournalEntry(
        kind=kind,
        amount=money.amount,
        currency=money.currency,
        reference=reference,
        channel=actor.channel,
        created_by=actor.label,
        reverses=reverses,
        created_at=now,
    )
    postings = []
    for leg in legs:
        account = accounts[leg.account_id]
        account_balance_delta(account, leg.amount)
        postings.append(
            Posting(
                entry=entry,
                account=account,
                amount=leg.amount,
                currency=account.currency,
                balance_after=account.balance,
                created_at=now,
            )
        )
    touched = [accounts[pk] for pk in sorted({leg.account_id for leg in legs})]
    if connection.vendor == "postgresql":
        _write_in_one_statement(entry, postings, touched, now, at_commit=write_at_commit)
    else:
        entry.save()
        Posting.objects.bulk_create(postings)
        accounts_store_balances(touched)
    entry.posted_postings = postings  # type: ignore[attr-defined]
    _large_transaction_alert(entry, touched)
    return entry


LARGE_ALERT_KINDS = (EntryKind.DEPOSIT, EntryKind.WITHDRAWAL, EntryKind.TRANSFER)


def _large_transaction_alert(entry: JournalEntry, touched: list[Account]) -> None:
    """A `transaction.large` outbox event per customer whose account a large movement touched,
    in the movement's own transaction (nothing at all below the threshold: the hot path)."""
    threshold = Decimal(settings.FINSYS_LARGE_TRANSACTION_AMOUNT)
    if entry.kind not in LARGE_ALERT_KINDS or threshold <= 0 or entry.amount < threshold:
        return
    for account in touched:
        if account.customer_id is not None:
            outbox_emit(
                kind="transaction.large",
                payload={
                    "transaction": str(entry.public_id),
                    "kind": entry.kind,
                    "amount": format_amount(entry.amount, entry.currency),
                    "currency": entry.currency,
                    "account": str(account.public_id),
                },
                customer_id=account.customer_id,
            )


def _write_in_one_statement(
    entry: JournalEntry, postings: list[Posting], touched: list[Account], now: dt.datetime, *, at_commit: bool
) -> None:
    """The entry, its postings and the accounts' cached balances in one round trip (PostgreSQL
    data-modifying CTEs). Row triggers and the deferred balance check apply as to any INSERT."""
    balances_sql, balances_params = accounts_balances_update_sql(touched, now)
    posting_rows = ", ".join(["(%s::uuid, %s::bigint, %s::numeric, %s, %s::numeric)"] * len(postings))
    params: list[Any] = [
        entry.public_id, entry.kind, entry.amount, entry.currency, entry.reference,
        entry.channel, entry.created_by, entry.reverses_id, now, now,
    ]  # fmt: skip
    for posting in postings:
        params += [posting.public_id, posting.account_id, posting.amount, posting.currency, posting.balance_after]
    sql = (
        "WITH entry AS (INSERT INTO transactions_journalentry"  # noqa: S608 - placeholders and our own SQL only
        " (public_id, kind, amount, currency, reference, channel, created_by, reverses_id, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id),"
        " postings AS (INSERT INTO transactions_posting"
        " (public_id, entry_id, account_id, amount, currency, balance_after, created_at)"
        " SELECT v.public_id, entry.id, v.account_id, v.amount, v.currency, v.balance_after, %s"
        f" FROM entry, (VALUES {posting_rows}) AS v(public_id, account_id, amount, currency, balance_after)),"
        f" balances AS ({balances_sql})"
        " SELECT id FROM entry"
    )

    def stored(row: Any) -> None:
        entry.pk = row[0]
        for posting in postings:
            posting.entry = entry

    for row in (entry, *postings):
        row._state.adding = False
        row._state.db = connection.alias
    if at_commit:
        execute_at_commit(sql, params + balances_params, on_row=stored)
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params + balances_params)
        stored(cursor.fetchone())


@dataclass(frozen=True)
class PendingReview:
    """A transfer the risk rules held for a risk officer: nothing is posted; `approval` (a public
    id) performs it, once, when another principal approves it (API: 202 pending_approval)."""

    approval: str
    reason: str


def _screen(movement: Movement, *, review: bool = False) -> PendingReview | None:
    """Ask the registered checkers (apps.transactions.screening) about a movement on locked
    accounts. Block -> 422 blocked_by_screening with the reason; review -> a PendingReview when
    the caller can answer 202 (`review`), otherwise refused like a block."""
    decision = movement_screen(movement)
    if decision.outcome == ScreeningOutcome.ALLOW:
        return None
    handler = review_handler()
    if decision.outcome == ScreeningOutcome.REVIEW and review and handler is not None:
        return PendingReview(approval=handler(movement, decision), reason=decision.reason)
    raise refusal_defer(
        BlockedByScreening(
            _("Refused by the risk rules: %(reason)s") % {"reason": decision.reason},
            extra={"reason": decision.reason, "outcome": decision.outcome.value},
        ),
        *decision.after_refusal,
    )


def _check_amount(money: Money) -> None:
    if money.amount <= 0 or not money.is_whole_minor_units():
        raise ValidationFailed({"amount": [_("Enter a positive amount in whole minor units.")]})


def _visible(actor: Actor, account: Account | None) -> Account:
    if account is None or (actor.customer_id is not None and account.customer_id != actor.customer_id):
        raise NotFound()
    return account


def _vault(by_gl: dict[tuple[str, str], Account], currency: str) -> Account:
    vault = by_gl.get((GlCode.CASH_VAULT, currency))
    if vault is None:
        raise ValidationFailed({"currency": [_("The bank keeps no cash in this currency.")]})
    return vault


def _cash_movement(
    *, actor: Actor, kind: str, account: uuid.UUID, money: Money, reference: str, booked_at: dt.datetime | None
) -> JournalEntry:
    """Cash across the counter: the customer's account against the cash vault of the currency."""
    _check_amount(money)
    with transaction.atomic(savepoint=False):
        by_public, by_gl, locked = accounts_lock_for_movement(
            public_ids=[account], gl=[(GlCode.CASH_VAULT, money.currency)]
        )
        customer_account = _visible(actor, by_public.get(account))
        account_require_currency(customer_account, money.currency)
        if kind == EntryKind.DEPOSIT:
            account_require_can_receive(customer_account)  # a dormant account takes deposits
        else:
            account_require_active(customer_account)
        if kind == EntryKind.WITHDRAWAL:
            account_require_funds(customer_account, money.amount)
            _screen(Movement(kind=kind, actor=actor, money=money, source=customer_account, reference=reference))
        vault = _vault(by_gl, money.currency)
        credit = money.amount if kind == EntryKind.DEPOSIT else -money.amount  # to the customer
        legs = [Leg(vault.pk, -credit), Leg(customer_account.pk, credit)]
        return _post(
            actor=actor, kind=kind, money=money, reference=reference, legs=legs, accounts=locked, booked_at=booked_at
        )


@_measured(EntryKind.DEPOSIT)
def deposit_create(
    *, actor: Actor, account: uuid.UUID, money: Money, reference: str = "", booked_at: dt.datetime | None = None
) -> JournalEntry:
    """Cash in: debit the cash vault, credit the customer."""
    return _cash_movement(
        actor=actor, kind=EntryKind.DEPOSIT, account=account, money=money, reference=reference, booked_at=booked_at
    )


@_measured(EntryKind.WITHDRAWAL)
def withdrawal_create(
    *, actor: Actor, account: uuid.UUID, money: Money, reference: str = "", booked_at: dt.datetime | None = None
) -> JournalEntry:
    """Cash out: debit the customer, credit the cash vault. Money leaves the bank, so it stops
    when outgoing payments are stopped (an emergency control)."""
    controls_assert_payments_allowed()
    return _cash_movement(
        actor=actor, kind=EntryKind.WITHDRAWAL, account=account, money=money, reference=reference, booked_at=booked_at
    )


def _transfer(
    *,
    actor: Actor,
    from_account: uuid.UUID,
    to_account: uuid.UUID,
    money: Money,
    reference: str,
    booked_at: dt.datetime | None,
    review: bool,
    reviewed: bool,
    write_at_commit: bool = False,
) -> JournalEntry | PendingReview:
    _check_amount(money)
    if from_account == to_account:
        raise SameAccount()
    with transaction.atomic(savepoint=False):
        by_public, _by_gl, locked = accounts_lock_for_movement(public_ids=[from_account, to_account])
        source = _visible(actor, by_public.get(from_account))
        target = by_public.get(to_account)
        if target is None:
            raise NotFound(_("The destination account does not exist."), extra={"field": "to_account"})
        account_require_currency(source, money.currency)
        account_require_active(source)
        account_require_currency(target, money.currency)
        account_require_can_receive(target)
        account_require_funds(source, money.amount)
        if source.customer_id != target.customer_id:
            controls_assert_payments_allowed()
        movement = Movement(
            kind=EntryKind.TRANSFER,
            actor=actor,
            money=money,
            source=source,
            target=target,
            reference=reference,
            reviewed=reviewed,
        )
        pending = _screen(movement, review=review)
        if pending is not None:
            return pending
        legs = [Leg(source.pk, -money.amount), Leg(target.pk, money.amount)]
        return _post(
            actor=actor,
            kind=EntryKind.TRANSFER,
            money=money,
            reference=reference,
            legs=legs,
            accounts=locked,
            booked_at=booked_at,
            write_at_commit=write_at_commit,
        )


@_measured(EntryKind.TRANSFER)
def transfer_create(
    *,
    actor: Actor,
    from_account: uuid.UUID,
    to_account: uuid.UUID,
    money: Money,
    reference: str = "",
    booked_at: dt.datetime | None = None,
    reviewed: bool = False,
) -> JournalEntry:
    """Move money between two customer accounts of the bank, at once.

    The source must be visible to the actor; the destination may be any customer account
    (nothing about it is shown to a customer-bound actor). Money sent to another customer is
    an outgoing payment for the emergency controls; between one customer's accounts it is not.
    A risk rule's `review` is refused here (422 blocked_by_screening): callers that can wait for
    a risk officer use `transfer_submit`. `reviewed`: a risk officer approved it (limits still
    apply, the rules do not ask again).
    """
    result = _transfer(
        actor=actor,
        from_account=from_account,
        to_account=to_account,
        money=money,
        reference=reference,
        booked_at=booked_at,
        review=False,
        reviewed=reviewed,
    )
    assert isinstance(result, JournalEntry)
    return result


def transfer_submit(
    *, actor: Actor, from_account: uuid.UUID, to_account: uuid.UUID, money: Money, reference: str = ""
) -> JournalEntry | PendingReview:
    """A transfer as the API makes it: posted at once, or held for a risk officer (202).

    On PostgreSQL the entry's row is written with the transaction's COMMIT (one round trip
    less): its `pk` is set then; its public ids and postings are there at once."""
    started = time.perf_counter()
    try:
        result = _transfer(
            actor=actor,
            from_account=from_account,
            to_account=to_account,
            money=money,
            reference=reference,
            booked_at=None,
            review=True,
            reviewed=False,
            write_at_commit=True,  # answered by public ids; the entry's row goes with COMMIT
        )
    except DomainError as refusal:
        metrics.movement_refused(EntryKind.TRANSFER, refusal.code)
        refusal_settle(refusal)
        raise
    if isinstance(result, JournalEntry):
        metrics.movement_posted(EntryKind.TRANSFER, time.perf_counter() - started)
    return result


@_measured(EntryKind.REVERSAL)
def transaction_reverse(*, actor: Actor, entry: JournalEntry, reason: str = "") -> JournalEntry:
    """Post the compensating entry of `entry`, once. Refused like any movement."""
    require_bank(actor, _("Only the bank can reverse a transaction."))
    if entry.kind == EntryKind.REVERSAL:
        raise NotReversible()
    originals = list(Posting.objects.filter(entry=entry).values_list("account_id", "amount"))
    with transaction.atomic(savepoint=False):
        locked = accounts_lock(account_id for account_id, _amount in originals)
        # Checked under the account locks: two racing reversals of one entry serialise here.
        if JournalEntry.objects.filter(reverses=entry).exists():
            raise AlreadyReversed()
        legs = [Leg(account_id, -amount) for account_id, amount in originals]
        for leg in legs:
            account = locked[leg.account_id]
            if not account.is_internal:
                if leg.amount < 0:
                    account_require_active(account)
                    account_require_funds(account, -leg.amount)
                else:
                    account_require_can_receive(account)
        money = Money(entry.amount, entry.currency)
        reference = (reason or f"Reversal of {entry.public_id}")[:140]
        return _post(
            actor=actor,
            kind=EntryKind.REVERSAL,
            money=money,
            reference=reference,
            legs=legs,
            accounts=locked,
            reverses=entry,
        )


@_measured(EntryKind.HOLD_CAPTURE)
def hold_capture(*, actor: Actor, hold: Hold, amount: Decimal | None = None, reference: str = "") -> JournalEntry:
    """Take all or part of a hold: debit the account, credit clearing, release the rest."""
    with transaction.atomic(savepoint=False):
        clearing = gl_account_pk(GlCode.CLEARING, hold.currency)
        if clearing is None:
            raise ValidationFailed({"currency": [_("No clearing account in this currency.")]})
        locked = accounts_lock([hold.account_id, clearing])
        current = hold_lock_active(hold)
        captured = current.amount if amount is None else amount
        if captured <= 0 or captured > current.amount:
            raise ValidationFailed({"amount": [_("Capture between zero and the held amount.")]})
        account = locked[current.account_id]
        account_require_active(account)
        money = Money(captured, current.currency)
        _check_amount(money)
        legs = [Leg(account.pk, -captured), Leg(clearing, captured)]
        entry = _post(
            actor=actor,
            kind=EntryKind.HOLD_CAPTURE,
            money=money,
            reference=reference or current.reference,
            legs=legs,
            accounts=locked,
        )
        hold_settle(hold=current, account=account, captured=captured, status=HoldStatus.CAPTURED)
        accounts_store_balances([account])
        return entry


@dataclass(frozen=True)
class BatchItem:
    kind: str
    money: Money
    reference: str
    legs: list[Leg]


def entries_post_batch(
    *,
    actor: Actor,
    items: list[BatchItem],
    accounts: dict[int, Account],
    also_store: Iterable[int] = (),
    booked_at: dt.datetime | None = None,
) -> list[JournalEntry]:
    """Write many balanced entries on already locked accounts, set-based: one INSERT for the
    entries, one for their postings, one UPDATE for the cached balances of every touched
    account and of `also_store` (accounts whose `available` the caller changed, e.g. released
    holds). Each entry is checked as `_post` checks one."""
    extra = set(also_store)
    if not items:
        if extra:
            accounts_store_balances([accounts[pk] for pk in sorted(extra)])
        return []
    now = booked_at or timezone.now()
    entries: list[JournalEntry] = []
    postings_per_entry: list[list[Posting]] = []
    for item in items:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for leg in item.legs:  # each leg in its own account's currency (an FX entry has two)
            totals[accounts[leg.account_id].currency] += leg.amount
            if leg.amount != leg.amount.quantize(minor_unit(accounts[leg.account_id].currency)):
                raise UnbalancedEntry("postings carry whole minor units only")
        if len(item.legs) < 2 or any(total != 0 for total in totals.values()):
            raise UnbalancedEntry(f"entry does not balance: {dict(totals)}")
        entry = JournalEntry(
            kind=item.kind,
            amount=item.money.amount,
            currency=item.money.currency,
            reference=item.reference,
            channel=actor.channel,
            created_by=actor.label,
            created_at=now,
        )
        postings = []
        for leg in item.legs:
            account = accounts[leg.account_id]
            if abs(account.balance + leg.amount) > MAX_BALANCE:
                raise LimitExceeded(
                    _("The account would exceed the largest balance the ledger holds."),
                    extra={"account": str(account.public_id)},
                )
            account_balance_delta(account, leg.amount)
            postings.append(
                Posting(
                    account=account,
                    amount=leg.amount,
                    currency=account.currency,
                    balance_after=account.balance,
                    created_at=now,
                )
            )
        entries.append(entry)
        postings_per_entry.append(postings)
    JournalEntry.objects.bulk_create(entries)
    all_postings: list[Posting] = []
    for entry, postings in zip(entries, postings_per_entry, strict=True):
        for posting in postings:
            posting.entry = entry
        entry.posted_postings = postings  # type: ignore[attr-defined]
        all_postings += postings
    Posting.objects.bulk_create(all_postings)
    touched = sorted({leg.account_id for item in items for leg in item.legs} | extra)
    accounts_store_balances([accounts[pk] for pk in touched])
    return entries
