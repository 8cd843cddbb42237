"""Customers in the back office: search, the customer page (KYC, masked personal data with an
audited reveal, accounts, recent activity, risk score, compliance cases), onboarding as a short
wizard (details -> review with the sanctions screening -> submit) and the KYC decision.

A relationship manager sees only the customers assigned to them: any other gives 404."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.models import Account
from apps.common.errors import DomainError
from apps.compliance.aml import customer_screen, name_screen, screening_outcome
from apps.compliance.models import Case
from apps.customers.identity import mask_identifier, mask_phone
from apps.customers.models import Customer, KycStatus
from apps.customers.selectors import customer_search, customers_for_staff
from apps.customers.services import customer_create, customer_decide_kyc, customer_record_pii_views
from apps.risk.models import RiskProfile
from apps.staff.backoffice import actor_of, paginate, requires_any, user_may
from apps.staff.forms_backoffice import (
    CustomerDetailsForm,
    CustomerSearchForm,
    KycDecisionForm,
    OnboardingSubmitForm,
)
from apps.transactions.models import Posting
from apps.transactions.screening import ScreeningOutcome

VIEW_CUSTOMERS = ("customers.view_customer", "customers.view_assigned_customer")
WIZARD_KEY = "staff_onboarding"
RISK_FACTORS = {
    "kyc": gettext_lazy("KYC status"),
    "country": gettext_lazy("Country"),
    "pep": gettext_lazy("Politically exposed person"),
    "product": gettext_lazy("Tier"),
    "volume_30d": gettext_lazy("Volume over 30 days"),
    "open_alerts": gettext_lazy("Open risk alerts"),
}


def visible_customers(request: HttpRequest) -> QuerySet[Customer]:
    return customers_for_staff(request.user)


def customer_for(request: HttpRequest, customer_id: uuid.UUID) -> Customer:
    """The customer if this user may see them, else 404 (never a hint that they exist)."""
    customer = visible_customers(request).filter(public_id=customer_id).first()
    if customer is None:
        raise Http404
    return customer


@requires_any(*VIEW_CUSTOMERS)
def customer_list(request: HttpRequest) -> HttpResponse:
    form = CustomerSearchForm(request.GET or None)
    customers = visible_customers(request).order_by("-id")
    if form.is_valid():
        text = form.cleaned_data["q"].strip()
        if text:
            found = Q(pk__in=customer_search(actor=actor_of(request), text=text).values("pk"))
            with contextlib.suppress(ValueError):  # a customer id
                found |= Q(public_id=uuid.UUID(text))
            customers = customers.filter(found)
        if form.cleaned_data["kyc"]:
            customers = customers.filter(kyc_status=form.cleaned_data["kyc"])
        if form.cleaned_data["kind"]:
            customers = customers.filter(kind=form.cleaned_data["kind"])
    page, rest = paginate(request, customers)
    rows = [{"customer": c, "national_id": mask_identifier(c.national_id)} for c in page]
    return render(request, "staff/customers/list.html", {"form": form, "page": page, "rest": rest, "rows": rows})


def _personal_data(customer: Customer, *, revealed: bool) -> list[tuple[Any, str]]:
    if revealed:
        return [
            (_("National id"), customer.national_id),
            (_("Phone"), customer.phone or "—"),
            (_("Date of birth"), customer.date_of_birth or "—"),
            (_("Address"), customer.address or "—"),
        ]
    return [
        (_("National id"), mask_identifier(customer.national_id)),
        (_("Phone"), mask_phone(customer.phone) if customer.phone else "—"),
        (_("Date of birth"), (customer.date_of_birth[:4] + "-**-**") if customer.date_of_birth else "—"),
        (_("Address"), _("on file") if customer.address else "—"),
    ]


def _customer_page(request: HttpRequest, customer: Customer, *, revealed: bool = False) -> HttpResponse:
    accounts = list(Account.objects.filter(customer=customer).select_related("product").order_by("id"))
    activity = (
        Posting.objects.filter(account__customer=customer).select_related("entry", "account").order_by("-id")[:10]
    )
    context: dict[str, Any] = {
        "customer": customer,
        "personal": _personal_data(customer, revealed=revealed),
        "revealed": revealed,
        "accounts": accounts,
        "activity": activity,
        "may_reveal": user_may(request, "customers.view_pii"),
        "may_decide_kyc": user_may(request, "customers.change_customer"),
        "may_open_account": user_may(request, "accounts.add_account"),
        "kyc_form": KycDecisionForm(),
    }
    if user_may(request, "risk.view_riskprofile", "risk.view_alert"):
        profile = RiskProfile.objects.filter(customer=customer).first()
        context["show_risk"] = True
        context["risk"] = profile
        if profile is not None:
            context["risk_factors"] = [
                {"name": RISK_FACTORS.get(key, key), "value": factor.get("value"), "points": factor.get("points")}
                for key, factor in (profile.factors or {}).items()
            ]
    if user_may(request, "compliance.view_case"):
        context["cases"] = Case.objects.filter(customer=customer).order_by("-id")[:20]
    return render(request, "staff/customers/detail.html", context)


@requires_any(*VIEW_CUSTOMERS)
def customer_detail(request: HttpRequest, customer_id: uuid.UUID) -> HttpResponse:
    return _customer_page(request, customer_for(request, customer_id))


@requires_any("customers.view_pii")
@require_POST
def customer_reveal(request: HttpRequest, customer_id: uuid.UUID) -> HttpResponse:
    """Show the personal data unmasked, once, for this response; the view is audited first."""
    customer = customer_for(request, customer_id)
    customer_record_pii_views(actor=actor_of(request), customers=[customer])
    return _customer_page(request, customer, revealed=True)


@requires_any("customers.change_customer")
@require_POST
def customer_kyc(request: HttpRequest, customer_id: uuid.UUID) -> HttpResponse:
    customer = customer_for(request, customer_id)
    form = KycDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose verified or rejected."))
        return redirect("staff:customer", customer_id=customer.public_id)
    decision = form.cleaned_data["decision"]
    if decision == KycStatus.VERIFIED and _screening_hits(customer.full_name):
        messages.error(request, _("The name matches a watchlist: a compliance officer must clear the case first."))
        return redirect("staff:customer", customer_id=customer.public_id)
    try:
        customer_decide_kyc(
            actor=actor_of(request), customer=customer, decision=decision, note=form.cleaned_data["note"]
        )
    except DomainError as refusal:
        messages.error(request, str(refusal.message))
    else:
        messages.success(
            request,
            _("KYC of %(name)s recorded as %(decision)s.")
            % {"name": customer.full_name, "decision": KycStatus(decision).label},
        )
    return redirect("staff:customer", customer_id=customer.public_id)


def _screening_hits(name: str) -> list[dict[str, Any]]:
    return [{"name": m.entry.name, "list": m.entry.list_name, "score": m.score} for m in name_screen(name)]


@requires_any("customers.add_customer")
@require_http_methods(["GET", "POST"])
def onboard(request: HttpRequest) -> HttpResponse:
    """Step 1: the customer's details (kept in the session until the wizard ends)."""
    saved = request.session.get(WIZARD_KEY)
    if request.method == "POST":
        form = CustomerDetailsForm(request.POST)
        if form.is_valid():
            request.session[WIZARD_KEY] = form.as_session()
            return redirect("staff:onboard-review")
    else:
        form = CustomerDetailsForm(initial=CustomerDetailsForm.from_session(saved) if saved else None)
        errors = request.session.pop(WIZARD_KEY + "_errors", None)
        if errors and saved:  # the service refused them at submit: show its messages on the fields
            form = CustomerDetailsForm(saved)
            form.is_valid()
            for field, texts in errors.items():
                for text in texts:
                    form.add_error(field if field in form.fields else None, text)
    return render(request, "staff/customers/onboard_details.html", {"form": form, "step": 1})


@requires_any("customers.add_customer")
@require_http_methods(["GET", "POST"])
def onboard_review(request: HttpRequest) -> HttpResponse:
    """Step 2: what will be registered and the sanctions screening of the name; step 3: submit."""
    saved = request.session.get(WIZARD_KEY)
    if not saved:
        messages.warning(request, _("Start with the customer's details."))
        return redirect("staff:onboard")
    hits = _screening_hits(saved["full_name"])
    outcome = screening_outcome(name_screen(saved["full_name"])) if hits else ScreeningOutcome.ALLOW
    may_verify = user_may(request, "customers.change_customer") and not hits
    form = OnboardingSubmitForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        actor = actor_of(request)
        values = CustomerDetailsForm.from_session(saved)
        try:
            customer = customer_create(actor=actor, **values)
        except DomainError as refusal:
            errors = getattr(refusal, "errors", None) or {"__all__": [refusal.message]}
            request.session[WIZARD_KEY + "_errors"] = {
                str(field): [str(text) for text in texts] for field, texts in errors.items()
            }
            messages.error(request, _("The customer was not registered: correct the details."))
            return redirect("staff:onboard")
        request.session.pop(WIZARD_KEY, None)
        # Screen now, on submit (the job customer_create enqueues finds the case open and adds
        # none); KYC is verified at the counter only when the name matches no list.
        case = customer_screen(customer_pk=customer.pk)
        if may_verify and case is None and form.cleaned_data["verify_kyc"]:
            customer = customer_decide_kyc(
                actor=actor, customer=customer, decision=KycStatus.VERIFIED, note=_("Documents checked at the counter")
            )
        if hits or case is not None:
            messages.warning(
                request,
                _(
                    "%(name)s is registered with KYC pending: the name matches a watchlist and a compliance case is opened."
                )
                % {"name": customer.full_name},
            )
        else:
            messages.success(
                request,
                _("%(name)s is registered; screening found no match; KYC is %(kyc)s.")
                % {"name": customer.full_name, "kyc": customer.get_kyc_status_display()},
            )
        return redirect("staff:customer", customer_id=customer.public_id)
    context = {
        "details": saved,
        "hits": hits,
        "outcome": outcome,
        "may_verify": may_verify,
        "form": form,
        "step": 2,
        "masked_id": mask_identifier(saved.get("national_id", "")),
    }
    return render(request, "staff/customers/onboard_review.html", context)


@requires_any("customers.add_customer")
@require_POST
def onboard_cancel(request: HttpRequest) -> HttpResponse:
    request.session.pop(WIZARD_KEY, None)
    messages.info(request, _("Onboarding cancelled; nothing was registered."))
    return redirect("staff:customers" if user_may(request, *VIEW_CUSTOMERS) else "staff:home")
