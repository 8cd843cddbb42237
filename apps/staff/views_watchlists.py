"""Watchlists: the lists in force (version, entry count), uploads waiting for a second officer,
the upload form. An upload is only an approval request (apps.compliance.services_watchlists);
another compliance officer approves it here, and only then is it imported."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from apps.common.admin import staff_actor
from apps.common.errors import DomainError
from apps.compliance.models import Approval, Watchlist
from apps.compliance.services_watchlists import WATCHLIST_IMPORT_ACTION, watchlist_upload_request
from apps.staff.forms_watchlists import WatchlistUploadForm
from apps.staff.queues_kit import DecisionForm, approval_decide, may, paginate, refusal_to_form, require_any

VIEW, UPLOAD, DECIDE = "compliance.view_watchlist", "compliance.change_watchlist", "compliance.change_approval"


@never_cache
@require_any(VIEW, post=(UPLOAD,))
@require_http_methods(["GET", "POST"])
def watchlists(request: HttpRequest) -> HttpResponse:
    form = WatchlistUploadForm()
    status = 200
    if request.method == "POST":
        form = WatchlistUploadForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                approval = watchlist_upload_request(
                    actor=staff_actor(request),
                    name=data["name"].strip(),
                    source_format=data["source_format"],
                    data=data["list_file"].read(),
                    alt=data["alt"].read() if data["alt"] else None,
                    filename=data["list_file"].name or "",
                    reason=data["reason"],
                )
            except DomainError as refusal:
                refusal_to_form(form, refusal, {"data": "list_file"})
            else:
                messages.success(
                    request,
                    _("The list file is checked (%(n)d entries) and waits for a second officer's approval.")
                    % {"n": approval.payload["entries"]},
                )
                return redirect("staff:watchlists")
        status = 400
    uploads = Approval.objects.filter(action=WATCHLIST_IMPORT_ACTION).order_by("-id")
    page, query = paginate(request, uploads, per_page=10)
    return render(
        request,
        "staff/watchlists/index.html",
        {
            "lists": Watchlist.objects.order_by("name"),
            "page": page,
            "query": query,
            "form": form,
            "can_upload": may(request, UPLOAD),
            "can_decide": may(request, UPLOAD) and may(request, DECIDE),
        },
        status=status,
    )


@never_cache
@require_any(UPLOAD)
@require_POST
def watchlist_upload_decide(request: HttpRequest, approval_id: uuid.UUID) -> HttpResponse:
    """Approve (import now) or reject an upload; never the uploader's own (the service refuses)."""
    if not may(request, DECIDE):
        raise PermissionDenied
    approval = Approval.objects.filter(public_id=approval_id, action=WATCHLIST_IMPORT_ACTION).first()
    if approval is None:
        raise Http404
    form = DecisionForm(request.POST)
    if form.is_valid():
        approval_decide(request, approval, form.cleaned_data["decision"], form.cleaned_data["reason"])
    else:
        messages.error(request, _("Choose approve or reject."))
    return redirect("staff:watchlists")
