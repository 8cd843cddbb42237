"""Accounts in the back office: find, open (for a KYC-verified customer), freeze, unfreeze (a
second person approves it: apps.compliance), close, holds, and the postings with filters and an
audited CSV export. A relationship manager sees their customers' accounts only (404 otherwise)."""

from __future__ import annotations

import csv
import datetime as dt
import uuid
from typing import Any

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.models import Account, AccountStatus, Hold, HoldStatus
from apps.accounts.selectors import accounts_for_staff
from apps.accounts.services import account_close, account_freeze, account_open, hold_create, hold_release
from apps.common.errors import DomainError
from apps.common.money import Money
from apps.compliance.services import account_reactivate_request, account_unfreeze_request
from apps.staff.backoffice import actor_of, apply_refusal, paginate, requires_any, user_may
from apps.staff.forms_backoffice import (
    AccountOpenForm,
    AccountSearchForm,
    HoldForm,
    PostingFilterForm,
    ReasonForm,
    check_minor_units,
)
from apps.staff.services_backoffice import postings_export_record
from apps.staff.templatetags.backoffice import money as money_text
from apps.staff.views_customers import customer_for
from apps.transactions.models import Posting

VIEW_ACCOUNTS = ("accounts.view_account", "customers.view_assigned_customer")


def visible_accounts(request: HttpRequest) -> QuerySet[Account]:
    return accounts_for_staff(request.user).filter(is_internal=False)


def account_for(request: HttpRequest, account_id: uuid.UUID) -> Account:
    account = visible_accounts(request).select_related("customer", "product").filter(public_id=account_id).first()
    if account is None:
        raise Http404
    return account


@requires_any(*VIEW_ACCOUNTS)
def account_list(request: HttpRequest) -> HttpResponse:
    form = AccountSearchForm(request.GET or None)
    accounts = visible_accounts(request).select_related("customer", "product").order_by("-id")
    if form.is_valid():
        text = form.cleaned_data["q"].strip()
        if text:
            accounts = accounts.filter(Q(number__iexact=text.replace(" ", "")) | Q(customer__full_name__icontains=text))
        if form.cleaned_data["status"]:
            accounts = accounts.filter(status=form.cleaned_data["status"])
        if form.cleaned_data["currency"]:
            accounts = accounts.filter(currency=form.cleaned_data["currency"])
    page, rest = paginate(request, accounts)
    return render(request, "staff/accounts/list.html", {"form": form, "page": page, "rest": rest})


@requires_any("accounts.add_account")
@require_http_methods(["GET", "POST"])
def account_open_view(request: HttpRequest, customer_id: uuid.UUID) -> HttpResponse:
    customer = customer_for(request, customer_id)
    form = AccountOpenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        product = form.cleaned_data["product"]
        try:
            account = account_open(
                actor=actor_of(request), customer=customer, currency=product.currency, product_code=product.code
            )
        except DomainError as refusal:
            apply_refusal(form, refusal)
        else:
            messages.success(
                request,
                _("Account %(number)s opened for %(name)s.") % {"number": account.number, "name": customer.full_name},
            )
            return redirect("staff:account", account_id=account.public_id)
    return render(request, "staff/accounts/open.html", {"form": form, "customer": customer})


def _filtered_postings(account: Account, form: PostingFilterForm) -> QuerySet[Posting]:
    postings = Posting.objects.filter(account=account).select_related("entry").order_by("-id")
    if not form.is_valid():
        return postings
    data = form.cleaned_data
    zone = timezone.get_current_timezone()
    if data["start"]:
        postings = postings.filter(created_at__gte=dt.datetime.combine(data["start"], dt.time.min, tzinfo=zone))
    if data["end"]:
        postings = postings.filter(
            created_at__lt=dt.datetime.combine(data["end"] + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        )
    if data["direction"] == "in":
        postings = postings.filter(amount__gt=0)
    elif data["direction"] == "out":
        postings = postings.filter(amount__lt=0)
    if data["min_amount"] is not None:
        postings = postings.filter(Q(amount__gte=data["min_amount"]) | Q(amount__lte=-data["min_amount"]))
    if data["max_amount"] is not None:
        postings = postings.filter(amount__lte=data["max_amount"], amount__gte=-data["max_amount"])
    return postings


@requires_any(*VIEW_ACCOUNTS)
def account_detail(request: HttpRequest, account_id: uuid.UUID) -> HttpResponse:
    account = account_for(request, account_id)
    form = PostingFilterForm(request.GET or None)
    page, rest = paginate(request, _filtered_postings(account, form))
    holds = Hold.objects.filter(account=account, status=HoldStatus.ACTIVE).order_by("-id")
    may_change = user_may(request, "accounts.change_account")
    context: dict[str, Any] = {
        "account": account,
        "form": form,
        "page": page,
        "rest": rest,
        "holds": holds if user_may(request, "accounts.view_hold") else None,
        "may_freeze": may_change and account.status == AccountStatus.ACTIVE,
        "may_unfreeze": may_change and account.status == AccountStatus.FROZEN,
        "may_reactivate": may_change and account.status == AccountStatus.DORMANT,
        "may_close": may_change and account.status == AccountStatus.ACTIVE,
        "may_hold": user_may(request, "accounts.change_hold") and account.status == AccountStatus.ACTIVE,
        "may_release": user_may(request, "accounts.change_hold"),
        "reason_form": ReasonForm(),
        "hold_form": HoldForm(),
        "export_query": request.GET.urlencode(),
    }
    return render(request, "staff/accounts/detail.html", context)


def _csv_line(values: list[Any]) -> str:
    class Line:
        def write(self, text: str) -> str:
            return text

    return str(csv.writer(Line()).writerow(values))


@requires_any(*VIEW_ACCOUNTS)
def account_postings_csv(request: HttpRequest, account_id: uuid.UUID) -> HttpResponse | StreamingHttpResponse:
    """The filtered postings as CSV (exact decimals, ISO times), streamed; the export is audited."""
    account = account_for(request, account_id)
    form = PostingFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        messages.error(request, _("Correct the filters before exporting."))
        return redirect(
            f"{reverse('staff:account', kwargs={'account_id': account.public_id})}?{request.GET.urlencode()}"
        )
    postings = _filtered_postings(account, form)
    postings_export_record(
        actor=actor_of(request),
        account_public_id=str(account.public_id),
        rows=postings.count(),
        filters=form.cleaned_data if form.is_bound else {},
    )
    header = ["booked_at", "transaction", "kind", "amount", "currency", "balance_after", "reference"]

    def rows() -> Any:
        yield _csv_line(header)
        for posting in postings.iterator(chunk_size=1000):
            yield _csv_line(
                [
                    posting.created_at.isoformat(),
                    str(posting.entry.public_id),
                    posting.entry.kind,
                    str(posting.amount),
                    posting.currency,
                    str(posting.balance_after),
                    posting.entry.reference,
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="postings-{account.number}.csv"'
    return response


def _reason(request: HttpRequest, account: Account) -> str | None:
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why (a reason is required)."))
        return None
    return str(form.cleaned_data["reason"])


@requires_any("accounts.change_account")
@require_POST
def account_freeze_view(request: HttpRequest, account_id: uuid.UUID) -> HttpResponse:
    account = account_for(request, account_id)
    reason = _reason(request, account)
    if reason is not None:
        try:
            account_freeze(actor=actor_of(request), account=account, reason=reason)
        except DomainError as refusal:
            messages.error(request, str(refusal.message))
        else:
            messages.success(request, _("Account %(number)s is frozen.") % {"number": account.number})
    return redirect("staff:account", account_id=account.public_id)


@requires_any("accounts.change_account")
@require_POST
def account_unfreeze_view(request: HttpRequest, account_id: uuid.UUID) -> HttpResponse:
    """Unfreezing is maker-checker: this asks; another person approves in the approvals queue."""
    account = account_for(request, account_id)
    reason = _reason(request, account)
    if reason is not None:
        try:
            account_unfreeze_request(actor=actor_of(request), account=account, reason=reason)
        except DomainError as refusal:
            messages.error(request, str(refusal.message))
        else:
            messages.success(
                request,
                _("Unfreezing account %(number)s waits for another person's approval.") % {"number": account.number},
            )
    return redirect("staff:account", account_id=account.public_id)


@requires_any("accounts.change_account")
@require_POST
def account_reactivate_view(request: HttpRequest, account_id: uuid.UUID) -> HttpResponse:
    account = account_for(request, account_id)
    reason = _reason(request, account)
    if reason is not None:
        try:
            account_reactivate_request(actor=actor_of(request), account=account, reason=reason)
        except DomainError as refusal:
            messages.error(request, str(refusal.message))
        else:
            messages.success(
                request,
                _("Reactivating account %(number)s waits for another person's approval.") % {"number": account.number},
            )
    return redirect("staff:account", account_id=account.public_id)


@requires_any("accounts.change_account")
@require_POST
def account_close_view(request: HttpRequest, account_id: uuid.UUID) -> HttpResponse:
    account = account_for(request, account_id)
    reason = _reason(request, account)
    if reason is not None:
        try:
            account_close(actor=actor_of(request), account=account, reason=reason)
        except DomainError as refusal:
            messages.error(request, str(refusal.message))
        else:
            messages.success(request, _("Account %(number)s is closed.") % {"number": account.number})
    return redirect("staff:account", account_id=account.public_id)


@requires_any("accounts.change_hold")
@require_POST
def hold_create_view(request: HttpRequest, account_id: uuid.UUID) -> HttpResponse:
    account = account_for(request, account_id)
    form = HoldForm(request.POST)
    if form.is_valid() and check_minor_units(form, form.cleaned_data["amount"], account.currency):
        try:
            hold = hold_create(
                actor=actor_of(request),
                account=account,
                amount=Money(form.cleaned_data["amount"], account.currency),
                reference=form.cleaned_data["reference"],
                expires_at=form.cleaned_data["expires_at"],
            )
        except DomainError as refusal:
            apply_refusal(form, refusal)
        else:
            messages.success(
                request,
                _("Hold of %(amount)s placed.") % {"amount": money_text(hold.amount, hold.currency)},
            )
            return redirect("staff:account", account_id=account.public_id)
    for field, errors in form.errors.items():
        for error in errors:
            messages.error(request, f"{form.fields[field].label}: {error}" if field in form.fields else str(error))
    return redirect("staff:account", account_id=account.public_id)


@requires_any("accounts.change_hold")
@require_POST
def hold_release_view(request: HttpRequest, account_id: uuid.UUID, hold_id: uuid.UUID) -> HttpResponse:
    account = account_for(request, account_id)
    hold = Hold.objects.filter(account=account, public_id=hold_id).first()
    if hold is None:
        raise Http404
    try:
        hold_release(actor=actor_of(request), hold=hold)
    except DomainError as refusal:
        messages.error(request, str(refusal.message))
    else:
        messages.success(request, _("The hold is released."))
    return redirect("staff:account", account_id=account.public_id)
