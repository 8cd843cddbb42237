"""Portal pages that move money: a transfer or payment form, its confirmation screen (fee and
final amount, a one-time token, the step-up code when needed), the payments list and a payment's
status history, and the corporate approvals.

Thin: the rules and the once-only execution are in apps/portal/services_payments.py. Every id in
a URL is looked up among what this login may see, so another customer's id answers 404."""

from __future__ import annotations

import secrets
import time
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from apps.common.errors import DomainError, NotFound, ValidationFailed
from apps.common.money import Money
from apps.portal.auth import portal_actor_of, portal_customer, portal_login_required
from apps.portal.forms_payments import ConfirmForm, DecisionForm, PaymentForm, TransferForm
from apps.portal.selectors import RIGHT_INITIATE, RIGHT_VIEW, portal_accounts
from apps.portal.services_payments import (
    Draft,
    StepUpFailed,
    can_approve,
    instruction_approve,
    instruction_reject,
    movement_confirm,
    movement_quote,
    refusal_message,
)
from apps.transactions.models import InstructionStatus, PaymentStatus
from apps.transactions.selectors import (
    beneficiaries_of,
    instruction_of,
    instructions_of,
    payment_of,
    payments_of,
    transaction_get,
)

SESSION_KEY = "portal_confirmations"
KEEP_CONFIRMATIONS = 10
# A confirmation screen is valid this long: well inside the idempotency records' 24 hours, so a
# confirmation can never be replayed after its record is purged.
CONFIRMATION_SECONDS = 30 * 60
FORM_FIELDS = {"to_account": "to_number"}  # a service's field name -> the form's


def _account_ids(request: HttpRequest, right: str = RIGHT_VIEW) -> list[int]:
    return list(portal_accounts(request.user, right).values_list("pk", flat=True))


def _form_refusal(form: Any, refusal: DomainError) -> None:
    """A service's refusal on the form: per field where it names one of the form's fields."""
    if isinstance(refusal, ValidationFailed):
        for field, problems in refusal.errors.items():
            name = FORM_FIELDS.get(field, field)
            for problem in problems:
                form.add_error(name if name in form.fields else None, str(problem))
        return
    form.add_error(None, refusal_message(refusal))


def _remember(request: HttpRequest, draft: Draft) -> str:
    """A one-time token for this confirmation screen, kept with the draft in the session."""
    token = secrets.token_urlsafe(24)
    pending = dict(request.session.get(SESSION_KEY, {}))
    pending[token] = {"draft": draft.as_dict(), "at": int(time.time())}
    request.session[SESSION_KEY] = dict(list(pending.items())[-KEEP_CONFIRMATIONS:])
    return token


def _draft_to_confirm(request: HttpRequest, form: Any) -> HttpResponse | None:
    """Quote a valid form's draft; a refusal goes on the form (None), else to the confirmation."""
    draft = form.draft()
    try:
        movement_quote(user=request.user, draft=draft)  # type: ignore[arg-type]
    except NotFound:
        raise Http404() from None
    except DomainError as refusal:
        _form_refusal(form, refusal)
        return None
    return redirect("portal:confirm", confirmation=_remember(request, draft))


@portal_login_required
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def transfer_new(request: HttpRequest) -> HttpResponse:
    accounts = list(portal_accounts(request.user, RIGHT_INITIATE))
    own = list(portal_accounts(request.user, RIGHT_VIEW))
    form = TransferForm(request.POST if request.method == "POST" else None, accounts=accounts, own_accounts=own)
    if request.method == "POST" and form.is_valid():
        response = _draft_to_confirm(request, form)
        if response is not None:
            return response
    return render(request, "portal/payments/transfer_form.html", {"form": form, "accounts": accounts})


@portal_login_required
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def payment_new(request: HttpRequest) -> HttpResponse:
    accounts = list(portal_accounts(request.user, RIGHT_INITIATE))
    beneficiaries = list(beneficiaries_of(customer_id=portal_customer(request).pk))
    initial = {"beneficiary": request.GET.get("beneficiary", "")}
    form = PaymentForm(
        request.POST if request.method == "POST" else None,
        accounts=accounts,
        beneficiaries=beneficiaries,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        response = _draft_to_confirm(request, form)
        if response is not None:
            return response
    context = {"form": form, "accounts": accounts, "beneficiaries": beneficiaries}
    return render(request, "portal/payments/payment_form.html", context)


def _after(request: HttpRequest, outcome: Any) -> HttpResponse:
    if outcome.result == "payment":
        return redirect("portal:payment", payment_id=outcome.id)
    if outcome.result == "transfer":
        messages.success(request, _("The transfer is done."))
        return redirect("portal:transfer", transaction_id=outcome.id)
    if outcome.result == "instruction":
        messages.info(request, _("Saved. It waits for a second user with the right to approve it."))
        return redirect("portal:instruction", instruction_id=outcome.id)
    messages.info(request, _("The bank reviews this transfer before it is made; you will see it in your history then."))
    return redirect("portal:payments")


@sensitive_post_parameters("otp_token")
@portal_login_required
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, confirmation: str) -> HttpResponse:
    """The confirmation screen: what will move, the fee and the total; submitting it performs the
    movement once for this token (a second submission shows the first one's outcome)."""
    token = confirmation
    stored = request.session.get(SESSION_KEY, {}).get(token)
    if not isinstance(stored, dict):
        raise Http404()  # not a confirmation of this session
    if time.time() - int(stored.get("at", 0)) > CONFIRMATION_SECONDS:
        messages.error(request, _("This confirmation is no longer valid. Please start again."))
        return redirect("portal:payments")
    draft = Draft.from_dict(stored["draft"])
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    refusal = ""
    if request.method == "POST" and form.is_valid():
        try:
            outcome = movement_confirm(
                user=request.user,  # type: ignore[arg-type]
                draft=draft,
                token=token,
                otp_token=form.cleaned_data["otp_token"],
            )
        except NotFound:
            raise Http404() from None
        except StepUpFailed as failed:
            form.add_error("otp_token", str(failed.message))
        except DomainError as exc:
            refusal = refusal_message(exc)
        else:
            if outcome.result != "refused":
                return _after(request, outcome)
            refusal = outcome.message
    try:
        quote = movement_quote(user=request.user, draft=draft)  # type: ignore[arg-type]
    except NotFound:
        raise Http404() from None
    except DomainError as exc:
        quote = None
        refusal = refusal or refusal_message(exc)
    context = {"form": form, "draft": draft, "quote": quote, "refusal": refusal, "token": token}
    return render(request, "portal/payments/confirm.html", context, status=200)


@portal_login_required
@never_cache
@require_GET
def payment_list(request: HttpRequest) -> HttpResponse:
    account_ids = _account_ids(request)
    payments = list(payments_of(account_ids=account_ids)[:100])
    instructions = list(instructions_of(account_ids=account_ids)[:100])
    pending = [i for i in instructions if i.status == InstructionStatus.PENDING]
    approvable = [i for i in pending if can_approve(request.user, i)]  # type: ignore[arg-type]
    context = {
        "payments": payments,
        "instructions": instructions,
        "pending": pending,
        "approvable": approvable,
        "decided": [i for i in instructions if i.status != InstructionStatus.PENDING],
    }
    return render(request, "portal/payments/list.html", context)


@portal_login_required
@never_cache
@require_GET
def payment_detail(request: HttpRequest, payment_id: Any) -> HttpResponse:
    try:
        payment = payment_of(account_ids=_account_ids(request), public_id=payment_id)
    except NotFound:
        raise Http404() from None
    context = {
        "payment": payment,
        "events": [(event, PaymentStatus(event.to_status).label) for event in payment.events.all()],
        "screening_hold": payment.status == PaymentStatus.PENDING_APPROVAL,
        "final": payment.status in (PaymentStatus.SETTLED, PaymentStatus.REJECTED, PaymentStatus.RETURNED),
    }
    return render(request, "portal/payments/detail.html", context)


@portal_login_required
@never_cache
@require_GET
def transfer_detail(request: HttpRequest, transaction_id: Any) -> HttpResponse:
    """A transfer the customer made, with only the postings on accounts this login may see."""
    try:
        entry = transaction_get(actor=portal_actor_of(request), public_id=transaction_id)
    except NotFound:
        raise Http404() from None
    visible = set(_account_ids(request))
    postings = [p for p in entry.visible_postings if p.account_id in visible]  # type: ignore[attr-defined]
    if not postings:
        raise Http404()
    return render(request, "portal/payments/transfer_detail.html", {"entry": entry, "postings": postings})


@portal_login_required
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def instruction_detail(request: HttpRequest, instruction_id: Any) -> HttpResponse:
    """A corporate payment waiting for (or decided by) a second user; approvers decide here."""
    try:
        instruction = instruction_of(account_ids=_account_ids(request), public_id=instruction_id)
    except NotFound:
        raise Http404() from None
    form = DecisionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            if form.cleaned_data["decision"] == "approve":
                instruction = instruction_approve(user=request.user, public_id=instruction.public_id)  # type: ignore[arg-type]
                messages.success(request, _("Approved. The payment has been made."))
                if instruction.payment is not None:
                    return redirect("portal:payment", payment_id=instruction.payment.public_id)
                if instruction.entry is not None:
                    return redirect("portal:transfer", transaction_id=instruction.entry.public_id)
                messages.info(request, _("The bank reviews this transfer before it is made."))
            else:
                instruction_reject(
                    user=request.user,  # type: ignore[arg-type]
                    public_id=instruction.public_id,
                    note=form.cleaned_data["note"],
                )
                messages.success(request, _("Rejected. Nothing was paid."))
            return redirect("portal:instruction", instruction_id=instruction.public_id)
        except NotFound:
            raise Http404() from None
        except DomainError as refusal:
            form.add_error(None, refusal_message(refusal))
    context = {
        "instruction": instruction,
        "form": form,
        "can_decide": can_approve(request.user, instruction),  # type: ignore[arg-type]
        "own": instruction.initiated_by_id == request.user.pk,
        "money": Money(instruction.amount, instruction.currency),
    }
    return render(request, "portal/payments/instruction.html", context)
