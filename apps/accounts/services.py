"""Business actions on accounts and holds. Balances change only here and in the ledger,
always under row locks taken in ascending id order (apps.common.locking)."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, get_perms, remove_perm
from stdnum.iso7064 import mod_97_10

from apps.accounts.models import Account, AccountStatus, GlCode, Hold, HoldStatus, Product, ProductKind
from apps.audit.services import audit_record
from apps.common.controls import controls_assert_customer_not_frozen
from apps.common.errors import (
    AccountNotActive,
    BalanceNotZero,
    CurrencyMismatchError,
    CustomerNotVerified,
    HoldNotActive,
    InsufficientFunds,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from apps.common.locking import lock_by_pk
from apps.common.money import SUPPORTED_CURRENCIES, Money, format_amount
from apps.common.principals import Actor
from apps.customers.models import Customer, CustomerKind, KycStatus, PortalUser

ACCOUNT_NUMBER_PREFIX = "62"


def account_number_generate() -> str:
    """16 digits whose integer value leaves remainder 1 modulo 97 (ISO 7064 MOD 97-10)."""
    body = ACCOUNT_NUMBER_PREFIX + "".join(secrets.choice("0123456789") for _ in range(12))
    return body + mod_97_10.calc_check_digits(body)


CHART_CURRENCIES = ("CNY", "EUR", "GBP", "HKD", "JPY", "SGD", "USD")
_PRODUCT_NAMES = {
    ProductKind.CURRENT: "Current account",
    ProductKind.SAVINGS: "Savings account",
    ProductKind.INTERNAL: "General ledger",
}


def chart_of_accounts_ensure() -> int:
    """Create the shipped products and the bank's GL accounts where missing (idempotent).

    The same rows as migration accounts/0002; used after a database was emptied (tests that
    flush tables, a restore into an empty schema). Returns how many rows it created.
    """
    created = 0
    now = timezone.now()
    serial = 0
    with transaction.atomic():
        for currency in CHART_CURRENCIES:
            products: dict[str, Product] = {}
            for kind in (ProductKind.CURRENT, ProductKind.SAVINGS, ProductKind.INTERNAL):
                products[kind], made = Product.objects.get_or_create(
                    code=f"{kind.upper()}-{currency}",
                    defaults={"name": f"{_PRODUCT_NAMES[kind]} {currency}", "currency": currency, "kind": kind},
                )
                created += made
            for code in GlCode.values:
                if code == GlCode.FX_POSITION:  # added later: its own number range (migration 0004)
                    body = "9901" + f"{CHART_CURRENCIES.index(currency) + 1:010d}"
                else:
                    serial += 1
                    body = "9900" + f"{serial:010d}"
                _account, made = Account.objects.get_or_create(
                    is_internal=True,
                    gl_code=code,
                    currency=currency,
                    defaults={
                        "number": body + mod_97_10.calc_check_digits(body),
                        "product": products[ProductKind.INTERNAL],
                        "status": AccountStatus.ACTIVE,
                        "opened_at": now,
                    },
                )
                created += made
    return created


def account_number_is_valid(number: str) -> bool:
    return number.isascii() and number.isdigit() and 8 <= len(number) <= 34 and mod_97_10.is_valid(number)


def default_product_code(currency: str) -> str:
    return f"CURRENT-{currency}"


def _product_for(currency: str, product_code: str | None) -> Product:
    code = product_code or default_product_code(currency)
    product = Product.objects.filter(code=code, is_active=True).first()
    if product is None or product.kind == ProductKind.INTERNAL:
        raise ValidationFailed({"product": [_("No such product.")]})
    if product.currency != currency:
        raise ValidationFailed(
            {"product": [_("This product is held in %(currency)s.") % {"currency": product.currency}]}
        )
    return product


def account_open(*, actor: Actor, customer: Customer, currency: str, product_code: str | None = None) -> Account:
    """Open an active account for a KYC-verified customer."""
    if currency not in SUPPORTED_CURRENCIES:
        raise ValidationFailed({"currency": [_("Unsupported currency.")]})
    product = _product_for(currency, product_code)
    if customer.kyc_status != KycStatus.VERIFIED:
        raise CustomerNotVerified()
    controls_assert_customer_not_frozen(customer.pk)
    now = timezone.now()
    for _attempt in range(5):
        try:
            with transaction.atomic():
                account = Account.objects.create(
                    number=account_number_generate(),
                    customer=customer,
                    product=product,
                    currency=currency,
                    status=AccountStatus.ACTIVE,
                    overdraft_limit=product.overdraft_limit,
                    opened_at=now,
                )
                audit_record(
                    actor=actor.label, action="account.open", object_type="account", object_id=str(account.public_id)
                )
            return account
        except IntegrityError:  # an account number collision: draw another
            continue
    raise RuntimeError("could not draw a free account number")  # pragma: no cover


def _locked(account: Account) -> Account:
    return Account.objects.select_for_update().get(pk=account.pk)


def account_freeze(*, actor: Actor, account: Account, reason: str = "") -> Account:
    """Freeze at once: a frozen account neither sends nor receives."""
    with transaction.atomic():
        locked = _locked(account)
        if locked.status != AccountStatus.ACTIVE:
            raise AccountNotActive(_("Only an active account can be frozen."))
        locked.status = AccountStatus.FROZEN
        locked.status_reason = reason
        locked.frozen_by_bank = actor.is_bank
        locked.save(update_fields=["status", "status_reason", "frozen_by_bank", "updated_at"])
        audit_record(
            actor=actor.label,
            action="account.freeze",
            object_type="account",
            object_id=str(locked.public_id),
            detail={"reason": reason},
        )
    return locked


def account_unfreeze_check(*, actor: Actor, account: Account) -> None:
    """Refuse an unfreeze that could never succeed, before anyone is asked to approve it."""
    if account.status != AccountStatus.FROZEN:
        raise AccountNotActive(_("Only a frozen account can be unfrozen."))
    if account.frozen_by_bank and not actor.is_bank:
        raise PermissionDenied(_("The bank froze this account; only the bank can unfreeze it."))


def account_unfreeze(*, actor: Actor, account: Account, reason: str = "") -> Account:
    with transaction.atomic():
        locked = _locked(account)
        account_unfreeze_check(actor=actor, account=locked)
        locked.status = AccountStatus.ACTIVE
        locked.status_reason = reason
        locked.frozen_by_bank = False
        locked.save(update_fields=["status", "status_reason", "frozen_by_bank", "updated_at"])
        audit_record(
            actor=actor.label,
            action="account.unfreeze",
            object_type="account",
            object_id=str(locked.public_id),
            detail={"reason": reason},
        )
    return locked


def account_close(*, actor: Actor, account: Account, reason: str = "") -> Account:
    with transaction.atomic():
        locked = _locked(account)
        if locked.status != AccountStatus.ACTIVE:
            raise AccountNotActive(_("Only an active account can be closed."))
        if locked.balance != 0 or locked.available != 0:
            raise BalanceNotZero(extra={"balance": str(locked.balance)})
        locked.status = AccountStatus.CLOSED
        locked.status_reason = reason
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "status_reason", "closed_at", "updated_at"])
        audit_record(
            actor=actor.label,
            action="account.close",
            object_type="account",
            object_id=str(locked.public_id),
            detail={"reason": reason},
        )
    return locked


def account_reactivate_check(*, account: Account) -> None:
    if account.status != AccountStatus.DORMANT:
        raise AccountNotActive(_("Only a dormant account can be reactivated."))


def account_reactivate(*, actor: Actor, account: Account, reason: str = "") -> Account:
    """Dormant -> active (run by an approved maker-checker request, apps.compliance)."""
    with transaction.atomic():
        locked = _locked(account)
        account_reactivate_check(account=locked)
        locked.status = AccountStatus.ACTIVE
        locked.status_reason = reason
        locked.save(update_fields=["status", "status_reason", "updated_at"])
        audit_record(
            actor=actor.label,
            action="account.reactivate",
            object_type="account",
            object_id=str(locked.public_id),
            detail={"reason": reason},
        )
    return locked


def accounts_mark_dormant(*, actor: Actor, pks: Iterable[int], inactive_since: dt.datetime) -> list[str]:
    """These accounts become dormant where they are still active customer accounts (one
    UPDATE under row locks taken in id order; the caller holds the transaction). Audited per
    account; returns the numbers of the accounts that changed."""
    locked = lock_by_pk(Account.objects.filter(is_internal=False, status=AccountStatus.ACTIVE), pks)
    if not locked:
        return []
    Account.objects.filter(pk__in=list(locked)).update(
        status=AccountStatus.DORMANT, status_reason="no customer activity for 12 months", updated_at=timezone.now()
    )
    for account in locked.values():
        audit_record(
            actor=actor.label,
            action="account.dormant",
            object_type="account",
            object_id=str(account.public_id),
            detail={"inactive_since": inactive_since.isoformat()},
        )
    return [account.number for account in locked.values()]


def account_overdraft_limit_set(*, actor: Actor, account: Account, limit: Decimal, reason: str = "") -> Account:
    """Set how far below zero a customer account's `available` may go (credit facilities,
    apps.risk). Under the account's row lock, like every movement, so a debit sees either the
    old or the new limit, never a mix. A limit below what is already drawn keeps the drawn
    amount (the database refuses anything else) and stops any further drawing."""
    if limit < 0:
        raise ValidationFailed({"limit": [_("A limit cannot be negative.")]})
    with transaction.atomic():
        locked = _locked(account)
        if locked.is_internal:
            raise ValidationFailed({"account": [_("The bank's own accounts have no overdraft limit.")]})
        drawn = max(Decimal(0), -locked.available)
        before = locked.overdraft_limit
        locked.overdraft_limit = max(limit, drawn)
        locked.save(update_fields=["overdraft_limit", "updated_at"])
        audit_record(
            actor=actor.label,
            action="account.overdraft_limit_set",
            object_type="account",
            object_id=str(locked.public_id),
            detail={"before": str(before), "after": str(locked.overdraft_limit), "asked": str(limit), "reason": reason},
        )
    return locked


# --- used by the ledger (apps.transactions) ------------------------------------------------


def accounts_lock(pks: Iterable[int]) -> dict[int, Account]:
    """Lock these accounts FOR UPDATE in ascending id order; the caller holds a transaction."""
    return lock_by_pk(Account.objects.all(), pks)


def accounts_lock_for_batch(pks: Iterable[int]) -> dict[int, Account]:
    """Lock many accounts FOR UPDATE in one statement, ascending id order (STACK.md pitfall 14),
    loading only what batch checks and the balance write read: lighter rows for large batches."""
    return lock_by_pk(Account.objects.only(*_LOCKED_FIELDS), pks)


def accounts_balances_update_sql(accounts: list[Account], now: dt.datetime) -> tuple[str, list[Any]]:
    """The UPDATE that writes locked accounts' cached balances, as SQL and parameters, for a
    caller that composes it into a larger statement (PostgreSQL)."""
    rows = ", ".join(["(%s::bigint, %s::numeric, %s::numeric)"] * len(accounts))
    params: list[Any] = [now]
    for account in accounts:
        account.updated_at = now
        params += [account.pk, account.balance, account.available]
    sql = (
        "UPDATE accounts_account AS a SET balance = v.balance, available = v.available, updated_at = %s "  # noqa: S608 - placeholders only
        f"FROM (VALUES {rows}) AS v(id, balance, available) WHERE a.id = v.id"
    )
    return sql, params


def accounts_store_balances(accounts: list[Account]) -> None:
    """Write the cached balances of locked accounts: one statement on PostgreSQL."""
    now = timezone.now()
    if connection.vendor == "postgresql":
        sql, params = accounts_balances_update_sql(accounts, now)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    for account in accounts:
        account.updated_at = now
        Account.objects.filter(pk=account.pk).update(
            balance=account.balance, available=account.available, updated_at=now
        )


def account_require_active(account: Account) -> None:
    if account.status != AccountStatus.ACTIVE:
        raise AccountNotActive(
            _("Account %(number)s is %(status)s.") % {"number": account.number, "status": account.get_status_display()},
            extra={"account": str(account.public_id)},
        )


def account_require_can_receive(account: Account) -> None:
    """Money may come in to an active or a dormant account (docs/end-of-day.md); a dormant
    account sends nothing (account_require_active) until staff reactivate it."""
    if account.status not in (AccountStatus.ACTIVE, AccountStatus.DORMANT):
        account_require_active(account)


def account_require_currency(account: Account, currency: str) -> None:
    if account.currency != currency:
        raise CurrencyMismatchError(
            _("Account %(number)s is held in %(currency)s.") % {"number": account.number, "currency": account.currency},
            extra={"account": str(account.public_id), "account_currency": account.currency},
        )


def account_require_funds(account: Account, amount: Decimal) -> None:
    """Internal accounts may go negative; customer accounts down to their overdraft limit."""
    if not account.is_internal and account.available - amount < -account.overdraft_limit:
        values = {
            "available": format_amount(account.available, account.currency),
            "amount": format_amount(amount, account.currency),
            "currency": account.currency,
            "limit": format_amount(account.overdraft_limit, account.currency),
        }
        if account.overdraft_limit > 0:  # an overdraft facility (apps.risk): say how far it goes
            message = (
                _(
                    "Available %(available)s %(currency)s with an overdraft limit of %(limit)s %(currency)s "
                    "does not cover %(amount)s."
                )
                % values
            )
            extra = {"account": str(account.public_id), "overdraft_limit": values["limit"]}
        else:
            message = _("Available %(available)s %(currency)s is less than %(amount)s.") % values
            extra = {"account": str(account.public_id)}
        raise InsufficientFunds(message, extra=extra)


def gl_account_pk(code: str, currency: str) -> int | None:
    """The primary key of the bank's own account for this GL code and currency, if it has one."""
    return (
        Account.objects.filter(is_internal=True, gl_code=code, currency=currency).values_list("pk", flat=True).first()
    )


_LOCKED_FIELDS = {
    "id", "public_id", "number", "customer", "currency", "status", "is_internal", "gl_code",
    "balance", "available", "overdraft_limit",
}  # fmt: skip
# In the model's field order: `Model.from_db` fills the fields not selected with "deferred" by
# walking the concrete fields in that order.
_LOCKED_COLUMNS_IN_ORDER = [field for field in Account._meta.concrete_fields if field.name in _LOCKED_FIELDS]
_LOCKED_COLUMNS = ", ".join(str(field.column) for field in _LOCKED_COLUMNS_IN_ORDER)
_LOCKED_ATTNAMES = frozenset(field.attname for field in _LOCKED_COLUMNS_IN_ORDER)


def _fetch_locked(sql: str, params: list[Any]) -> list[Account]:
    """Rows of `sql` as Account instances. On PostgreSQL the driver already returns each column
    as its Python type (UUID, Decimal), so the rows become models through `from_db` directly:
    a RawQuerySet re-derives its column-to-field mapping on every call, a cost on every movement.
    Other databases (SQLite stores UUIDs and decimals as text) go through the ORM's converters."""
    if connection.vendor != "postgresql":
        return list(Account.objects.raw(sql, params))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [Account.from_db(connection.alias, _LOCKED_ATTNAMES, row) for row in rows]


def accounts_lock_for_movement(
    *, public_ids: list[uuid.UUID], gl: Sequence[tuple[str, str]] = ()
) -> tuple[dict[uuid.UUID, Account], dict[tuple[str, str], Account], dict[int, Account]]:
    """Find and lock customer accounts by public id and GL accounts by (code, currency) in one
    SELECT ... ORDER BY id FOR UPDATE: PostgreSQL locks the rows in ascending id order.

    Returns them by public id, by (GL code, currency) and by primary key; an id that matches
    nothing is simply absent."""
    # A fixed statement in plain SQL: this runs on every movement, and composing it through the
    # ORM's compiler was the largest single CPU cost of a transfer (bench/README.md).
    public_id = Account._meta.get_field("public_id")
    where = [f"(NOT is_internal AND public_id IN ({', '.join(['%s'] * len(public_ids))}))"] if public_ids else []
    params: list[Any] = [public_id.get_db_prep_value(value, connection) for value in public_ids]
    for code, currency in gl:
        where.append("(is_internal AND gl_code = %s AND currency = %s)")
        params += [code, currency]
    if not where:
        return {}, {}, {}
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    sql = f"SELECT {_LOCKED_COLUMNS} FROM {Account._meta.db_table} WHERE {' OR '.join(where)} ORDER BY id{lock}"  # noqa: S608 - placeholders only
    rows = _fetch_locked(sql, params)
    by_public = {row.public_id: row for row in rows if not row.is_internal}
    by_gl = {(row.gl_code, row.currency): row for row in rows if row.is_internal}
    return by_public, by_gl, {row.pk: row for row in rows}


# --- holds ---------------------------------------------------------------------------------


def hold_create(
    *, actor: Actor, account: Account, amount: Money, reference: str = "", expires_at: dt.datetime | None = None
) -> Hold:
    """Reserve funds: `available` drops now, `balance` only when the hold is captured."""
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed({"expires_at": [_("The expiry must be in the future.")]})
    with transaction.atomic():
        locked = _locked(account)
        account_require_active(locked)
        account_require_currency(locked, amount.currency)
        account_require_funds(locked, amount.amount)
        hold = Hold.objects.create(
            account=locked,
            amount=amount.amount,
            currency=amount.currency,
            reference=reference,
            expires_at=expires_at,
            created_by=actor.label,
        )
        locked.available -= amount.amount
        accounts_store_balances([locked])
        audit_record(actor=actor.label, action="hold.create", object_type="hold", object_id=str(hold.public_id))
    return hold


def hold_lock_active(hold: Hold) -> Hold:
    """Lock a hold that must still be active (the caller holds its account's lock)."""
    locked = Hold.objects.select_for_update().get(pk=hold.pk)
    if locked.status != HoldStatus.ACTIVE:
        raise HoldNotActive()
    return locked


def hold_settle(*, hold: Hold, account: Account, captured: Decimal, status: str) -> Hold:
    """Close a locked hold: give its uncaptured rest back to `available` (the ledger has already
    taken `captured` out of the balance and available)."""
    rest = hold.amount - captured
    account.available += rest + captured  # the capture's posting took `captured` from available
    hold.captured_amount = captured
    hold.status = status
    hold.closed_at = timezone.now()
    hold.save(update_fields=["captured_amount", "status", "closed_at", "updated_at"])
    return hold


def hold_release(*, actor: Actor, hold: Hold) -> Hold:
    with transaction.atomic():
        account = accounts_lock([hold.account_id])[hold.account_id]
        locked = hold_lock_active(hold)
        hold_settle(hold=locked, account=account, captured=Decimal(0), status=HoldStatus.RELEASED)
        accounts_store_balances([account])
        audit_record(actor=actor.label, action="hold.release", object_type="hold", object_id=str(locked.public_id))
    return locked


def holds_release_expired(*, now: dt.datetime | None = None, batch_size: int = 500) -> int:
    """Expire active holds past their expiry: lock every account of the batch up front, in order."""
    now = now or timezone.now()
    released = 0
    while True:
        with transaction.atomic():
            candidates = list(
                Hold.objects.filter(status=HoldStatus.ACTIVE, expires_at__lte=now).values_list("pk", "account_id")[
                    :batch_size
                ]
            )
            if not candidates:
                return released
            accounts = accounts_lock(account_id for _pk, account_id in candidates)
            holds = (
                Hold.objects.select_for_update()
                .filter(pk__in=[pk for pk, _a in candidates], status=HoldStatus.ACTIVE)
                .order_by("pk")
            )
            touched: dict[int, Account] = {}
            expired = 0
            for hold in holds:
                account = accounts[hold.account_id]
                hold_settle(hold=hold, account=account, captured=Decimal(0), status=HoldStatus.EXPIRED)
                touched[account.pk] = account
                expired += 1
            if touched:
                accounts_store_balances(list(touched.values()))
                audit_record(actor="system:holds", action="hold.expire_batch", detail={"count": expired})
            released += expired
        if len(candidates) < batch_size:
            return released


def account_balance_delta(account: Account, amount: Decimal) -> None:
    """Apply a signed posting amount to a locked account's cached balances (no write)."""
    account.balance += amount
    account.available += amount


# --- corporate mandates: portal users' rights on one account --------------------------------

MANDATE_VIEW = "view_account_portal"
MANDATE_INITIATE = "initiate_payment"
MANDATE_APPROVE = "approve_payment"
MANDATE_RIGHTS = (MANDATE_VIEW, MANDATE_INITIATE, MANDATE_APPROVE)


def mandate_grant(*, actor: Actor, portal_user: PortalUser, account: Account, rights: Iterable[str]) -> frozenset[str]:
    """Give a portal user exactly these rights on one of their customer's accounts (django-guardian
    object permissions; an empty set takes every right away). Initiating or approving implies
    seeing the account."""
    wanted = set(rights)
    unknown = sorted(wanted - set(MANDATE_RIGHTS))
    if unknown:
        raise ValidationFailed({"rights": [_("Unknown right: %(right)s") % {"right": right} for right in unknown]})
    if account.is_internal or account.customer_id != portal_user.customer_id:
        raise ValidationFailed({"account": [_("The account does not belong to this portal user's customer.")]})
    if wanted:
        wanted.add(MANDATE_VIEW)
    user = portal_user.user
    with transaction.atomic():
        held = set(get_perms(user, account)) & set(MANDATE_RIGHTS)
        for right in sorted(held - wanted):
            remove_perm(f"accounts.{right}", user, account)
        for right in sorted(wanted - held):
            assign_perm(f"accounts.{right}", user, account)
        audit_record(
            actor=actor.label,
            action="mandate.grant",
            object_type="account",
            object_id=str(account.public_id),
            detail={"user": user.get_username(), "rights": sorted(wanted), "before": sorted(held)},
        )
    return frozenset(wanted)


def _holds_right(user: User, account: Account, right: str) -> bool:
    portal_user = getattr(user, "portal_user", None)
    return bool(
        getattr(user, "is_active", False)
        and portal_user is not None
        and portal_user.customer_id == account.customer_id
        and user.has_perm(f"accounts.{right}", account)
    )


def mandate_requires_second_approval(*, account: Account, amount: Money) -> bool:
    """Whether a payment of `amount` from this account needs a second portal user's approval:
    a corporate customer's payment above its own threshold, or any of its payments when no
    threshold (or one in another currency) is set. Individuals decide alone."""
    customer = account.customer
    if customer is None or customer.kind != CustomerKind.CORPORATE:
        return False
    if customer.approval_threshold is None or customer.approval_threshold_currency != amount.currency:
        return True
    return amount.amount > customer.approval_threshold


def mandate_check_initiator(*, user: User, account: Account) -> None:
    """A portal user may pay from this account: NotFound when they may not even see it (another
    customer's id answers as if it did not exist), PermissionDenied without the initiate right."""
    if not _holds_right(user, account, MANDATE_VIEW):
        raise NotFound()
    if not _holds_right(user, account, MANDATE_INITIATE):
        raise PermissionDenied(_("You may not initiate payments from this account."))


def mandate_check_approver(*, approver: User, initiator: User, account: Account) -> None:
    """The second user of a corporate payment: holds the approve right on the account and is not
    the one who initiated it (maker-checker)."""
    if not _holds_right(approver, account, MANDATE_VIEW):
        raise NotFound()
    if approver.pk == initiator.pk:
        raise PermissionDenied(_("The user who initiated a payment cannot approve it."))
    if not _holds_right(approver, account, MANDATE_APPROVE):
        raise PermissionDenied(_("You may not approve payments from this account."))


def holds_lock_active(pks: Iterable[int]) -> dict[int, Hold]:
    """Lock these holds (ascending id, after their accounts) and return those still active."""
    rows = lock_by_pk(Hold.objects.all(), pks)
    return {pk: hold for pk, hold in rows.items() if hold.status == HoldStatus.ACTIVE}


def holds_close_many(*, holds: list[Hold], accounts: dict[int, Account], status: str) -> None:
    """Close locked active holds in one UPDATE: captured in full (the ledger has already taken
    the amount out of balance and available) or released. Each hold's amount goes back to its
    locked account's `available`; the caller stores the balances."""
    if not holds:
        return
    assert status in (HoldStatus.CAPTURED, HoldStatus.RELEASED)
    now = timezone.now()
    for hold in holds:
        accounts[hold.account_id].available += hold.amount
        hold.status = status
        hold.captured_amount = hold.amount if status == HoldStatus.CAPTURED else Decimal(0)
        hold.closed_at = now
    captured = F("amount") if status == HoldStatus.CAPTURED else Value(Decimal(0))
    Hold.objects.filter(pk__in=[hold.pk for hold in holds]).update(
        status=status, captured_amount=captured, closed_at=now, updated_at=now
    )
