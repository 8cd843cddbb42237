"""The customer's saved beneficiaries (address book): list, add, delete. Another customer's
beneficiary id answers 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from apps.common.errors import NotFound, ValidationFailed
from apps.portal.auth import portal_actor_of, portal_customer, portal_login_required
from apps.portal.forms_payments import BeneficiaryForm
from apps.transactions.selectors import beneficiaries_of, beneficiary_get
from apps.transactions.services_beneficiaries import beneficiary_delete, beneficiary_save


@portal_login_required
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def beneficiary_list(request: HttpRequest) -> HttpResponse:
    customer = portal_customer(request)
    form = BeneficiaryForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            saved = beneficiary_save(actor=portal_actor_of(request), customer=customer, **form.cleaned_data)
        except ValidationFailed as refusal:
            for field, problems in refusal.errors.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, str(problem))
        else:
            messages.success(request, _("%(name)s was added to your beneficiaries.") % {"name": saved.name})
            return redirect("portal:beneficiaries")
    context = {"form": form, "beneficiaries": list(beneficiaries_of(customer_id=customer.pk))}
    return render(request, "portal/beneficiaries/list.html", context)


@portal_login_required
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def beneficiary_remove(request: HttpRequest, beneficiary_id: Any) -> HttpResponse:
    try:
        beneficiary = beneficiary_get(customer_id=portal_customer(request).pk, public_id=beneficiary_id)
    except NotFound:
        raise Http404() from None
    if request.method == "POST":
        name = beneficiary.name
        beneficiary_delete(actor=portal_actor_of(request), beneficiary=beneficiary)
        messages.success(request, _("%(name)s was removed from your beneficiaries.") % {"name": name})
        return redirect("portal:beneficiaries")
    return render(request, "portal/beneficiaries/delete.html", {"beneficiary": beneficiary})
