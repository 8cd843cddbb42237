"""The end-of-day close of a business date (docs/end-of-day.md, ADR 0009).

`business_day_close` runs the steps of `Step` in order. Each step is one durable transaction
that first locks the date's BusinessDay row (two closes of one date serialise there), then
looks for the step's StepRun: if it exists the step is "already done" and nothing happens;
otherwise the step does its work and writes its StepRun in the same transaction. So a step has
effect exactly once per date, a failed close (read-only mode, a ledger check that fails) can be
re-run later and resumes at the first step not done, and re-running a closed date changes
nothing.

Business dates are local dates in settings.TIME_ZONE; "the end of the day" is the next local
midnight. Every calendar day is a business day.
"""

from __future__ import annotations

import calendar
import datetime as dt
import decimal
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import AccountStatus, GlCode, ProductKind
from apps.accounts.services import accounts_lock_for_batch, accounts_mark_dormant, gl_account_pk
from apps.common import metrics
from apps.common.controls import controls_assert_writable
from apps.common.errors import DomainError, ValidationFailed
from apps.common.money import Money, minor_unit
from apps.common.principals import Actor
from apps.eod.models import (
    ACCRUAL_PLACES,
    BalanceSnapshot,
    BusinessDay,
    DayState,
    FeeCharge,
    FeeOutcome,
    InterestAccrual,
    InterestCapitalisation,
    Step,
    StepRun,
)
from apps.eod.selectors import fee_candidates
from apps.integrations.services import outbox_emit
from apps.transactions import ledger_bulk
from apps.transactions.ledger_check import ledger_check
from apps.transactions.models import EntryKind
from apps.transactions.selectors import account_balances_at, accounts_inactive_since
from apps.transactions.services import BatchItem, Leg, entries_post_batch

logger = logging.getLogger(__name__)

DAYS_PER_YEAR = Decimal(365)  # actual/365 fixed: also in leap years (Feb 29 accrues a 365th)
BATCH_SIZE = 2000
DORMANT_AFTER_MONTHS = 12
# Postings that show a person moving money on the account; the bank's own postings (interest,
# fees, reversals, returned payments) do not keep an account alive.
ACTIVITY_KINDS = [
    EntryKind.DEPOSIT,
    EntryKind.WITHDRAWAL,
    EntryKind.TRANSFER,
    EntryKind.PAYMENT,
    EntryKind.HOLD_CAPTURE,
]


class LedgerCheckFailed(Exception):
    """The ledger check at day close found problems (the close stops, the alert is out)."""


@dataclass
class CloseResult:
    date: dt.date
    state: str
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str = ""


def business_zone() -> ZoneInfo:
    """Business dates are in settings.TIME_ZONE, whatever zone a request has activated."""
    return ZoneInfo(settings.TIME_ZONE)


def business_date_of(moment: dt.datetime) -> dt.date:
    return moment.astimezone(business_zone()).date()


def day_end(date: dt.date) -> dt.datetime:
    """The end of a business date: the next local midnight, exclusive."""
    return dt.datetime.combine(date + dt.timedelta(days=1), dt.time.min, tzinfo=business_zone())


def months_before(date: dt.date, months: int) -> dt.date:
    """The same day `months` earlier, or that month's last day (Feb 29 -> Feb 28)."""
    index = date.year * 12 + date.month - 1 - months
    year, month = divmod(index, 12)
    day = min(date.day, calendar.monthrange(year, month + 1)[1])
    return dt.date(year, month + 1, day)


def is_month_end(date: dt.date) -> bool:
    return (date + dt.timedelta(days=1)).day == 1


# --- the steps ------------------------------------------------------------------------------


def _snapshot(*, actor: Actor, date: dt.date, now: dt.datetime) -> dict[str, Any]:
    """One BalanceSnapshot per account opened by the end of the day: one INSERT ... SELECT."""
    sql, params = account_balances_at(at=day_end(date) - dt.timedelta(microseconds=1)).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO eod_balancesnapshot (account_id, balance, currency, date)"  # noqa: S608 - our own SQL
            f" SELECT q.id, q.balance_at, q.currency, %s FROM ({sql}) AS q",
            [date, *params],
        )
        written = cursor.rowcount
    return {"snapshots": written}


def _accrue(*, actor: Actor, date: dt.date, now: dt.datetime) -> dict[str, Any]:
    """Savings accounts with a positive day-end balance and a rate: balance x rate / 100 / 365,
    kept to 10 decimal places (half-even), not rounded to the currency."""
    if connection.vendor == "postgresql":
        return _accrue_sql(date=date)
    rows = (
        BalanceSnapshot.objects.filter(
            date=date,
            balance__gt=0,
            account__is_internal=False,
            account__product__kind=ProductKind.SAVINGS,
            account__product__interest_rate__gt=0,
        )
        .exclude(account__status=AccountStatus.CLOSED)
        .order_by("account_id")
        .values_list("account_id", "balance", "currency", "account__product__interest_rate")
    )
    context = decimal.Context(prec=60)
    batch: list[InterestAccrual] = []
    written = 0
    for account_id, balance, currency, rate in rows.iterator(chunk_size=BATCH_SIZE):
        amount = context.divide(context.multiply(balance, rate), DAYS_PER_YEAR * 100)
        batch.append(
            InterestAccrual(
                account_id=account_id,
                date=date,
                balance=balance,
                rate=rate,
                amount=amount.quantize(ACCRUAL_PLACES, ROUND_HALF_EVEN, context),
                currency=currency,
            )
        )
        if len(batch) >= BATCH_SIZE:
            InterestAccrual.objects.bulk_create(batch)
            written += len(batch)
            batch = []
    InterestAccrual.objects.bulk_create(batch)
    return {"accruals": written + len(batch)}


def _accrue_sql(*, date: dt.date) -> dict[str, Any]:
    """`_accrue` in one INSERT ... SELECT. Exact: balance (4 places) x rate (4 places) is an
    integer N of 1E-8 units, and N / 36,500 at 10 places is N / 365 units of 1E-10, rounded
    half-even by integer division (365 is odd, so there is never a tie)."""
    n = "(s.balance * p.interest_rate * 100000000)"
    amount = f"((div({n}, 365) + CASE WHEN 2 * mod({n}, 365) > 365 THEN 1 ELSE 0 END) / 10000000000)"
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO eod_interestaccrual (account_id, date, balance, rate, amount, currency)"  # noqa: S608
            f" SELECT s.account_id, s.date, s.balance, p.interest_rate, {amount}, s.currency"
            " FROM eod_balancesnapshot s JOIN accounts_account a ON a.id = s.account_id"
            " JOIN accounts_product p ON p.id = a.product_id"
            " WHERE s.date = %s AND s.balance > 0 AND NOT a.is_internal AND p.kind = %s"
            " AND p.interest_rate > 0 AND a.status <> %s ORDER BY s.account_id",
            [date, ProductKind.SAVINGS, AccountStatus.CLOSED],
        )
        return {"accruals": cursor.rowcount}


def _exact(total: Decimal) -> Decimal:
    """A SUM back at the accrual column's scale: exact on PostgreSQL (a no-op); SQLite sums in
    floating point, which this brings back for realistic amounts (see ledger_check._exact)."""
    return Decimal(total).quantize(ACCRUAL_PLACES)


def _gl_pks(code: str, currencies: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for currency in sorted(currencies):
        pk = gl_account_pk(code, currency)
        if pk is None:
            raise ValidationFailed(
                {
                    "currency": [
                        _("The bank has no %(code)s account in %(currency)s.") % {"code": code, "currency": currency}
                    ]
                }
            )
        found[currency] = pk
    return found


def _capitalise(*, actor: Actor, date: dt.date, now: dt.datetime) -> dict[str, Any]:
    """At month end: each account's accruals of the month, summed, rounded half-even to the
    minor unit, posted from interest expense to the account (the remainder is forfeited)."""
    if not is_month_end(date):
        return {"skipped": "not month end"}
    if connection.vendor == "postgresql":
        return _capitalise_sql(actor=actor, date=date, now=now)
    totals = list(
        InterestAccrual.objects.filter(date__gte=date.replace(day=1), date__lte=date)
        .values("account_id", "currency")
        .annotate(total=Sum("amount"))
        .order_by("account_id")
        .values_list("account_id", "currency", "total")
    )
    if not totals:
        return {"capitalised": 0, "entries": 0}
    gl = _gl_pks(GlCode.INTEREST_EXPENSE, {currency for _pk, currency, _total in totals})
    locked = accounts_lock_for_batch([pk for pk, _c, _t in totals] + list(gl.values()))
    entries = 0
    for start in range(0, len(totals), BATCH_SIZE):
        rows: list[InterestCapitalisation] = []
        items: list[BatchItem] = []
        posted_rows: list[InterestCapitalisation] = []
        for account_id, currency, total in totals[start : start + BATCH_SIZE]:
            accrued = _exact(total)
            account = locked[account_id]
            posted = accrued.quantize(minor_unit(currency), ROUND_HALF_EVEN)
            if account.status == AccountStatus.CLOSED or posted <= 0:
                posted = Decimal(0)  # a closed account's or a sub-unit month's interest is forfeited
            row = InterestCapitalisation(
                account_id=account_id, month_end=date, accrued=accrued, posted=posted, currency=currency
            )
            rows.append(row)
            if posted > 0:
                posted_rows.append(row)
                items.append(
                    BatchItem(
                        kind=EntryKind.INTEREST,
                        money=Money(posted, currency),
                        reference=f"Interest {date:%Y-%m}",
                        legs=[Leg(gl[currency], -posted), Leg(account_id, posted)],
                    )
                )
        for row, entry in zip(
            posted_rows, entries_post_batch(actor=actor, items=items, accounts=locked, booked_at=now), strict=True
        ):
            row.entry = entry
        InterestCapitalisation.objects.bulk_create(rows)
        entries += len(items)
    return {"capitalised": len(totals), "entries": entries}


def _charge_fees(*, actor: Actor, date: dt.date, now: dt.datetime) -> dict[str, Any]:
    """At month end: each product's monthly fee from its active customer accounts to fee
    income, never below the account's overdraft limit (what is available is charged, the rest
    is recorded as short); frozen and dormant accounts are not charged (recorded as skipped)."""
    if not is_month_end(date):
        return {"skipped": "not month end"}
    if connection.vendor == "postgresql":
        return _charge_fees_sql(actor=actor, date=date, now=now)
    candidates = fee_candidates(date=date)
    if not candidates:
        return {"charged": 0, "partial": 0, "skipped": 0}
    gl = _gl_pks(GlCode.FEE_INCOME, {currency for _pk, currency, _fee in candidates})
    locked = accounts_lock_for_batch([pk for pk, _c, _f in candidates] + list(gl.values()))
    counts = {FeeOutcome.CHARGED: 0, FeeOutcome.PARTIAL: 0, FeeOutcome.SKIPPED: 0}
    for start in range(0, len(candidates), BATCH_SIZE):
        rows: list[FeeCharge] = []
        items: list[BatchItem] = []
        charged_rows: list[FeeCharge] = []
        for account_id, currency, due in candidates[start : start + BATCH_SIZE]:
            account = locked[account_id]
            headroom = max(account.available + account.overdraft_limit, Decimal(0))
            charge = min(due, headroom).quantize(minor_unit(currency))
            reason = ""
            if account.status != AccountStatus.ACTIVE:
                charge, outcome, reason = Decimal(0), FeeOutcome.SKIPPED, f"account {account.status}"
            elif charge <= 0:
                charge, outcome, reason = Decimal(0), FeeOutcome.SKIPPED, "no funds"
            elif charge < due:
                outcome, reason = FeeOutcome.PARTIAL, "funds short"
            else:
                outcome = FeeOutcome.CHARGED
            row = FeeCharge(
                account_id=account_id,
                date=date,
                due=due,
                charged=charge,
                currency=currency,
                outcome=outcome,
                reason=reason,
            )
            rows.append(row)
            counts[outcome] += 1
            if charge > 0:
                charged_rows.append(row)
                items.append(
                    BatchItem(
                        kind=EntryKind.FEE,
                        money=Money(charge, currency),
                        reference=f"Monthly fee {date:%Y-%m}",
                        legs=[Leg(account_id, -charge), Leg(gl[currency], charge)],
                    )
                )
        for row, entry in zip(
            charged_rows, entries_post_batch(actor=actor, items=items, accounts=locked, booked_at=now), strict=True
        ):
            row.entry = entry
        FeeCharge.objects.bulk_create(rows)
    return {str(outcome): count for outcome, count in counts.items()}


def _gl_pks_sql(code: str, table: str) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT currency FROM {table}")  # noqa: S608 - our own table name
        return _gl_pks(code, {currency for (currency,) in cursor.fetchall()})


def _gl_values(gl: dict[str, int]) -> tuple[str, list[Any]]:
    """`(VALUES (%s, %s::bigint), ...) AS gl(currency, id)` and its parameters."""
    rows = ", ".join(["(%s, %s::bigint)"] * len(gl))
    return f"(VALUES {rows}) AS gl(currency, id)", [value for pair in gl.items() for value in pair]


def _capitalise_sql(*, actor: Actor, date: dt.date, now: dt.datetime) -> dict[str, Any]:
    """`_capitalise` set-based: the month's totals in a temporary table, every account concerned
    locked in one statement (ascending id), the entries through `ledger_bulk`, the
    capitalisation rows in one INSERT ... SELECT."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS eod_month_interest")
        cursor.execute(
            "CREATE TEMP TABLE eod_month_interest ON COMMIT DROP AS"
            " SELECT account_id, currency, sum(amount) AS accrued FROM eod_interestaccrual"
            " WHERE date >= %s AND date <= %s GROUP BY account_id, currency",
            [date.replace(day=1), date],
        )
        if not cursor.rowcount:
            return {"capitalised": 0, "entries": 0}
        capitalised = cursor.rowcount
        gl = _gl_pks_sql(GlCode.INTEREST_EXPENSE, "eod_month_interest")
        gl_sql, gl_params = _gl_values(gl)
        ledger_bulk.accounts_lock_table(
            "SELECT account_id FROM eod_month_interest UNION SELECT id FROM " + gl_sql,  # noqa: S608
            gl_params,
        )
        # A closed account's or a sub-unit month's interest is forfeited (posted 0, no entry).
        posted = ledger_bulk.half_even_sql("m.accrued", "cx.exponent")
        cursor.execute("ALTER TABLE eod_month_interest ADD COLUMN posted numeric")
        cursor.execute(
            f"UPDATE eod_month_interest m SET posted = CASE WHEN a.status = %s OR {posted} <= 0 THEN 0"  # noqa: S608
            f" ELSE {posted} END FROM accounts_account a, {ledger_bulk.exponents_sql()}"
            " WHERE a.id = m.account_id AND cx.currency = m.currency",
            [AccountStatus.CLOSED],
        )
        ledger_bulk.table_create("eod_interest_entries")
        cursor.execute(
            "INSERT INTO eod_interest_entries (key, debit_id, credit_id, amount, currency)"  # noqa: S608
            f" SELECT m.account_id, gl.id, m.account_id, m.posted, m.currency FROM eod_month_interest m"
            f" JOIN {gl_sql} ON gl.currency = m.currency WHERE m.posted > 0",
            gl_params,
        )
        entries = ledger_bulk.entries_post_table(
            actor=actor, kind=EntryKind.INTEREST, reference=f"Interest {date:%Y-%m}",
            table="eod_interest_entries", booked_at=now,
        )  # fmt: skip
        cursor.execute(
            "INSERT INTO eod_interestcapitalisation (account_id, month_end, accrued, posted, currency, entry_id)"
            " SELECT m.account_id, %s, m.accrued, m.posted, m.currency, e.entry_id FROM eod_month_interest m"
            " LEFT JOIN eod_interest_entries e ON e.key = m.account_id ORDER BY m.account_id",
            [date],
        )
        cursor.execute("DROP TABLE eod_month_interest, eod_interest_entries")
    return {"capitalised": capitalised, "entries": entries}


def _charge_fees_sql(*, actor: Actor, date: dt.date, now: dt.datetime) -> dict[str, Any]:
    """`_charge_fees` set-based (the candidates as `fee_candidates` selects them)."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS eod_month_fees")
        cursor.execute(
            "CREATE TEMP TABLE eod_month_fees ON COMMIT DROP AS"
            " SELECT a.id AS account_id, a.currency, p.monthly_fee AS due FROM accounts_account a"
            " JOIN accounts_product p ON p.id = a.product_id"
            " WHERE NOT a.is_internal AND p.monthly_fee > 0 AND a.status NOT IN (%s, %s)",
            [AccountStatus.CLOSED, AccountStatus.PENDING],
        )
        if not cursor.rowcount:
            return {"charged": 0, "partial": 0, "skipped": 0}
        gl = _gl_pks_sql(GlCode.FEE_INCOME, "eod_month_fees")
        gl_sql, gl_params = _gl_values(gl)
        ledger_bulk.accounts_lock_table(
            "SELECT account_id FROM eod_month_fees UNION SELECT id FROM " + gl_sql,  # noqa: S608
            gl_params,
        )
        # What is available down to the overdraft limit is charged, the rest recorded as short.
        charge = ledger_bulk.half_even_sql("least(f.due, greatest(a.available + a.overdraft_limit, 0))", "cx.exponent")
        cursor.execute(
            "ALTER TABLE eod_month_fees ADD COLUMN charged numeric, ADD COLUMN outcome varchar(8),"
            " ADD COLUMN reason varchar(100)"
        )
        cursor.execute(
            "UPDATE eod_month_fees f"  # noqa: S608 - our own SQL
            f" SET charged = CASE WHEN a.status <> %s OR {charge} <= 0 THEN 0 ELSE {charge} END,"
            f" outcome = CASE WHEN a.status <> %s OR {charge} <= 0 THEN %s WHEN {charge} < f.due THEN %s ELSE %s END,"
            f" reason = CASE WHEN a.status <> %s THEN 'account ' || a.status WHEN {charge} <= 0 THEN 'no funds'"
            f" WHEN {charge} < f.due THEN 'funds short' ELSE '' END"
            f" FROM accounts_account a, {ledger_bulk.exponents_sql()}"
            " WHERE a.id = f.account_id AND cx.currency = f.currency",
            [
                AccountStatus.ACTIVE, AccountStatus.ACTIVE, FeeOutcome.SKIPPED, FeeOutcome.PARTIAL,
                FeeOutcome.CHARGED, AccountStatus.ACTIVE,
            ],
        )  # fmt: skip
        ledger_bulk.table_create("eod_fee_entries")
        cursor.execute(
            "INSERT INTO eod_fee_entries (key, debit_id, credit_id, amount, currency)"  # noqa: S608
            f" SELECT f.account_id, f.account_id, gl.id, f.charged, f.currency FROM eod_month_fees f"
            f" JOIN {gl_sql} ON gl.currency = f.currency WHERE f.charged > 0",
            gl_params,
        )
        ledger_bulk.entries_post_table(
            actor=actor, kind=EntryKind.FEE, reference=f"Monthly fee {date:%Y-%m}",
            table="eod_fee_entries", booked_at=now,
        )  # fmt: skip
        cursor.execute(
            "INSERT INTO eod_feecharge (account_id, date, due, charged, currency, outcome, reason, entry_id)"
            " SELECT f.account_id, %s, f.due, f.charged, f.currency, f.outcome, f.reason, e.entry_id"
            " FROM eod_month_fees f LEFT JOIN eod_fee_entries e ON e.key = f.account_id ORDER BY f.account_id",
            [date],
        )
        cursor.execute("SELECT outcome, count(*) FROM eod_month_fees GROUP BY outcome")
        counts = {str(outcome): 0 for outcome in (FeeOutcome.CHARGED, FeeOutcome.PARTIAL, FeeOutcome.SKIPPED)}
        counts.update({outcome: count for outcome, count in cursor.fetchall()})
        cursor.execute("DROP TABLE eod_month_fees, eod_fee_entries")
    return counts


def _dormancy(*, actor: Actor, date: dt.date, now: dt.datetime) -> dict[str, Any]:
    """Active customer accounts with no customer activity since the end of the same date 12
    months earlier become dormant (activity on that date itself is 12 months old: dormant)."""
    since = day_end(months_before(date, DORMANT_AFTER_MONTHS))
    pks = accounts_inactive_since(since=since, kinds=[str(kind) for kind in ACTIVITY_KINDS])
    numbers = accounts_mark_dormant(actor=actor, pks=pks, inactive_since=since)
    return {"dormant": len(numbers)}


def _check_ledger(*, actor: Actor, date: dt.date, now: dt.datetime) -> dict[str, Any]:
    report = ledger_check()
    if not report.ok:
        raise LedgerCheckFailed(
            {
                "unbalanced_entries": len(report.unbalanced_entries),
                "short_entries": len(report.short_entries),
                "fractional_postings": len(report.fractional_postings),
                "balance_mismatches": len(report.balance_mismatches),
                "available_mismatches": len(report.available_mismatches),
            }
        )
    return {"entries": report.entries, "accounts": report.accounts}


STEPS: dict[str, Callable[..., dict[str, Any]]] = {
    Step.SNAPSHOT: _snapshot,
    Step.INTEREST_ACCRUAL: _accrue,
    Step.INTEREST_CAPITALISATION: _capitalise,
    Step.MONTHLY_FEES: _charge_fees,
    Step.DORMANCY: _dormancy,
    Step.LEDGER_CHECK: _check_ledger,
}
WRITING_STEPS = {Step.SNAPSHOT, Step.INTEREST_ACCRUAL, Step.INTEREST_CAPITALISATION, Step.MONTHLY_FEES, Step.DORMANCY}


def _run_step(*, actor: Actor, date: dt.date, step: str, now: dt.datetime) -> dict[str, Any]:
    started = time.perf_counter()
    with transaction.atomic(durable=True):
        BusinessDay.objects.select_for_update().get(date=date)  # one runner per date at a time
        done = StepRun.objects.filter(business_date=date, step=step).first()
        if done is not None:
            return {"status": "already_done", **done.result}
        if step in WRITING_STEPS:
            controls_assert_writable()
        result = STEPS[step](actor=actor, date=date, now=now)
        StepRun.objects.create(business_date=date, step=step, result=result)
    seconds = time.perf_counter() - started
    metrics.EOD_STEP_SECONDS.labels(step).observe(seconds)
    return {"status": "done", **result, "seconds": round(seconds, 3)}


# --- the close ------------------------------------------------------------------------------


def _day_start(*, actor: Actor, date: dt.date, now: dt.datetime) -> BusinessDay | None:
    """The date's BusinessDay in state closing, or None when it is already closed."""
    with transaction.atomic(durable=True):
        day, _created = BusinessDay.objects.get_or_create(date=date)
        day = BusinessDay.objects.select_for_update().get(pk=day.pk)
        if day.state == DayState.CLOSED:
            return None
        previous = BusinessDay.objects.filter(date__lt=date).order_by("-date").first()
        if previous is not None and (previous.date != date - dt.timedelta(days=1) or previous.state != DayState.CLOSED):
            raise ValidationFailed(
                {
                    "date": [
                        _("Close %(date)s first: business days close in order.") % {"date": date - dt.timedelta(days=1)}
                    ]
                }
            )
        if day.state != DayState.CLOSING:
            day.state = DayState.CLOSING
            day.started_by = actor.label
            day.started_at = now
            day.error = ""
            day.save(update_fields=["state", "started_by", "started_at", "error", "updated_at"])
        return day


def _day_finish(*, date: dt.date, state: str, steps: dict[str, dict[str, Any]], error: str = "") -> None:
    with transaction.atomic(durable=True):
        day = BusinessDay.objects.select_for_update().get(date=date)
        if day.state == DayState.CLOSED:
            return  # a concurrent close of the same date finished first
        day.state = state
        day.results = {**day.results, **steps}
        day.error = error[:255]
        day.finished_at = timezone.now()
        day.save(update_fields=["state", "results", "error", "finished_at", "updated_at"])


def business_day_close(*, actor: Actor, date: dt.date, now: dt.datetime | None = None) -> CloseResult:
    """Close a past business date: snapshots, interest, month-end capitalisation and fees,
    dormancy, ledger check. Idempotent per date; returns what each step did.

    Interest and fees are booked at `now` (the close runs after the date's end, so they land
    in the next day's balance and running balances stay in time order)."""
    now = now or timezone.now()
    if date >= business_date_of(now):
        raise ValidationFailed({"date": [_("Only a past business date can be closed.")]})
    controls_assert_writable()  # read-only mode: refuse before writing anything
    day = _day_start(actor=actor, date=date, now=now)
    if day is None:
        metrics.EOD_CLOSES.labels("already_closed").inc()
        return CloseResult(date=date, state=DayState.CLOSED, steps={step: {"status": "already_done"} for step in STEPS})
    result = CloseResult(date=date, state=DayState.CLOSED)
    for step in STEPS:
        try:
            result.steps[step] = _run_step(actor=actor, date=date, step=step, now=now)
        except DomainError as refusal:
            result.state, result.error = DayState.FAILED, f"{step}: {refusal.code}"
        except LedgerCheckFailed as failure:
            result.state, result.error = DayState.FAILED, f"{step}: ledger check failed {failure.args[0]}"
            metrics.LEDGER_CHECK_FAILURES.inc()
            with transaction.atomic(durable=True):
                outbox_emit(kind="ops.ledger_check_failed", payload={"date": date.isoformat(), **failure.args[0]})
        if result.state == DayState.FAILED:
            result.steps[step] = {"status": "failed"}
            logger.error("business day %s close failed: %s", date, result.error)
            break
    _day_finish(date=date, state=result.state, steps=result.steps, error=result.error)
    metrics.EOD_CLOSES.labels(result.state).inc()
    return result


def business_day_to_close(*, now: dt.datetime | None = None) -> dt.date:
    """The date the scheduled close works on: yesterday, local time."""
    return business_date_of(now or timezone.now()) - dt.timedelta(days=1)
