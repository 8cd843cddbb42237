"""The counter: cash deposits and withdrawals, transfers, and a printable receipt.

Each form carries a one-time token used as the idempotency key of the movement, so a double
click or a resubmitted page posts once and shows the same receipt. Transfers go through
`transfer_submit`: when the risk rules ask for a review (for the channels they screen,
FINSYS_RISK_CHANNELS), nothing is posted and the transfer waits in the approvals queue."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from apps.accounts.models import Account
from apps.common.errors import DomainError
from apps.common.money import Money
from apps.staff.backoffice import actor_of, requires_any
from apps.staff.forms_backoffice import CashForm, TransferForm, check_minor_units
from apps.staff.services_backoffice import counter_post_once
from apps.staff.templatetags.backoffice import money as money_text
from apps.staff.views_accounts import visible_accounts
from apps.transactions.models import JournalEntry
from apps.transactions.services import PendingReview, deposit_create, transfer_submit, withdrawal_create

RECEIPT_VIEWERS = ("transactions.post_cash", "transactions.post_transfer", "transactions.view_journalentry")


def _account_by_number(request: HttpRequest, form: Any, field: str) -> Account | None:
    number = str(form.cleaned_data[field]).replace(" ", "")
    account = visible_accounts(request).filter(number=number).first()
    if account is None:
        form.add_error(field, _("No customer account has this number."))
    return account


def _fresh(form_class: type[Any], data: Any) -> Any:
    """The same form again with a new one-time token (after a refusal, to try once more)."""
    values = data.copy()
    values["form_token"] = str(uuid.uuid4())
    form = form_class(values)
    form.is_valid()
    return form


def _show_refusal(form: Any, form_class: type[Any], request: HttpRequest, message: str) -> Any:
    again = _fresh(form_class, request.POST)
    again.add_error(None, message)
    return again


@requires_any("transactions.post_cash")
@require_http_methods(["GET", "POST"])
def cash(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        form = CashForm(initial={"account": request.GET.get("account", ""), "kind": "deposit"})
        return render(request, "staff/teller/cash.html", {"form": form})
    form = CashForm(request.POST)
    if form.is_valid():
        account = _account_by_number(request, form, "account")
        if account is not None and check_minor_units(form, form.cleaned_data["amount"], account.currency):
            data = form.cleaned_data
            money = Money(data["amount"], account.currency)
            service = deposit_create if data["kind"] == "deposit" else withdrawal_create
            actor = actor_of(request)

            def post() -> dict[str, Any]:
                entry = service(actor=actor, account=account.public_id, money=money, reference=data["reference"])
                return {"transaction": str(entry.public_id)}

            document = {
                "kind": data["kind"],
                "account": account.number,
                "amount": str(money.amount),
                "reference": data["reference"],
            }
            try:
                result = counter_post_once(
                    actor=actor, token=str(data["form_token"]), form_name="cash", document=document, action=post
                )
            except DomainError as refusal:  # malformed, a conflict, or a temporary stop: nothing stored
                form = _show_refusal(form, CashForm, request, str(refusal.message))
            else:
                if "transaction" in result.body:
                    if result.replayed:
                        messages.info(request, _("This form was already submitted: it was posted once."))
                    else:
                        messages.success(
                            request,
                            (_("Cash deposit of %(amount)s posted to %(number)s.") if data["kind"] == "deposit"
                             else _("Cash withdrawal of %(amount)s posted from %(number)s."))
                            % {"amount": money_text(money.amount, money.currency), "number": account.number},
                        )  # fmt: skip
                    return redirect("staff:receipt", transaction_id=result.body["transaction"])
                form = _show_refusal(form, CashForm, request, result.body["error"])
    return render(request, "staff/teller/cash.html", {"form": form})


@requires_any("transactions.post_transfer")
@require_http_methods(["GET", "POST"])
def transfer(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        form = TransferForm(initial={"from_account": request.GET.get("from", "")})
        return render(request, "staff/teller/transfer.html", {"form": form})
    form = TransferForm(request.POST)
    if form.is_valid():
        source = _account_by_number(request, form, "from_account")
        target = _account_by_number(request, form, "to_account")
        if (
            source is not None
            and target is not None
            and check_minor_units(form, form.cleaned_data["amount"], source.currency)
        ):
            data = form.cleaned_data
            money = Money(data["amount"], source.currency)
            actor = actor_of(request)

            def post() -> dict[str, Any]:
                outcome = transfer_submit(
                    actor=actor, from_account=source.public_id, to_account=target.public_id, money=money,
                    reference=data["reference"],
                )  # fmt: skip
                if isinstance(outcome, PendingReview):
                    return {"approval": outcome.approval, "reason": outcome.reason}
                return {"transaction": str(outcome.public_id)}

            document = {
                "from": source.number,
                "to": target.number,
                "amount": str(money.amount),
                "reference": data["reference"],
            }
            try:
                result = counter_post_once(
                    actor=actor, token=str(data["form_token"]), form_name="transfer", document=document, action=post
                )
            except DomainError as refusal:
                form = _show_refusal(form, TransferForm, request, str(refusal.message))
            else:
                body = result.body
                if "transaction" in body:
                    messages.success(
                        request,
                        _("Transfer of %(amount)s from %(source)s to %(target)s posted.")
                        % {
                            "amount": money_text(money.amount, money.currency),
                            "currency": money.currency,
                            "source": source.number,
                            "target": target.number,
                        },
                    )
                    return redirect("staff:receipt", transaction_id=body["transaction"])
                if "approval" in body:
                    messages.warning(
                        request,
                        _("The transfer of %(amount)s waits for approval (%(reason)s); nothing is posted yet.")
                        % {"amount": money_text(money.amount, money.currency), "reason": body["reason"]},
                    )
                    return redirect("staff:approval", approval_id=body["approval"])
                form = _show_refusal(form, TransferForm, request, body["error"])
    return render(request, "staff/teller/transfer.html", {"form": form})


@requires_any(*RECEIPT_VIEWERS)
def receipt(request: HttpRequest, transaction_id: uuid.UUID) -> HttpResponse:
    entry = JournalEntry.objects.filter(public_id=transaction_id).first()
    if entry is None:
        raise Http404
    visible = set(visible_accounts(request).values_list("pk", flat=True))
    lines = [
        p
        for p in entry.postings.select_related("account", "account__customer").order_by("id")
        if p.account_id in visible
    ]
    if not lines:
        raise Http404
    return render(
        request,
        "staff/teller/receipt.html",
        {"entry": entry, "lines": lines, "amount": Money(Decimal(entry.amount), entry.currency)},
    )
