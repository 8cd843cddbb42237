"""Portal pages of a logged-in customer: overview, account history (filters, CSV, statement PDF),
notifications and profile. Every view is guarded by `portal_login_required`; every account id in a
URL is looked up among the accounts this login may see (else 404)."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.common.errors import DomainError, ValidationFailed
from apps.common.money import format_amount
from apps.customers.identity import mask_identifier, mask_phone
from apps.customers.models import CustomerKind
from apps.portal.auth import (
    portal_account_or_404,
    portal_actor_of,
    portal_customer,
    portal_login_required,
    portal_user,
)
from apps.portal.forms import ContactChangeForm, ContactCodeForm, HistoryFilterForm, StatementForm
from apps.portal.selectors import (
    account_history,
    contact_change_pending,
    notification_channels,
    portal_accounts,
    portal_has_totp,
    portal_notifications,
)
from apps.portal.services import contact_change_confirm, contact_change_start, portal_history_exported
from apps.reports.exceptions import ReportExpired, ReportNotReady
from apps.reports.models import ReportFormat, ReportJob, ReportKind, ReportStatus
from apps.reports.services import report_download, report_request

PAGE_SIZE = 25


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


@portal_login_required
@never_cache
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """Every account this login may see, with balance and available amount."""
    accounts = list(portal_accounts(request.user))  # type: ignore[arg-type]
    customer = portal_customer(request)
    return render(
        request,
        "portal/overview.html",
        {"accounts": accounts, "customer": customer, "corporate": customer.kind == CustomerKind.CORPORATE},
    )


@portal_login_required
@never_cache
@require_GET
def account_history_view(request: HttpRequest, account_id: uuid.UUID) -> HttpResponse:
    """One account's bookings, newest first, with filters and pages."""
    account = portal_account_or_404(request, account_id)
    form = HistoryFilterForm(request.GET or None)
    postings = account_history(account=account, filters=form.filters(), tz=timezone.get_current_timezone())
    page = Paginator(postings, PAGE_SIZE).get_page(_page_number(request))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "account": account,
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "statement_form": StatementForm(),
    }
    return render(request, "portal/account.html", context)


def _csv_safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value: str) -> str:
        return value


@portal_login_required
@never_cache
@require_GET
def account_history_csv(request: HttpRequest, account_id: uuid.UUID) -> HttpResponseBase:
    """The filtered history as CSV (UTF-8 with BOM, so spreadsheets read Chinese right). Audited."""
    account = portal_account_or_404(request, account_id)
    form = HistoryFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        messages.error(request, _("Fix the filters before exporting."))
        return render(
            request,
            "portal/account.html",
            {"account": account, "form": form, "page": None, "query": "", "statement_form": StatementForm()},
            status=400,
        )
    filters = form.filters()
    tz = timezone.get_current_timezone()
    postings = account_history(account=account, filters=filters, tz=tz)
    portal_history_exported(portal_user=portal_user(request), account=account, filters=filters)
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(
            ["booked_at", "transaction", "kind", "reference", "amount", "currency", "balance_after"]
        )
        for posting in postings.iterator(chunk_size=1000):
            yield writer.writerow(
                [
                    timezone.localtime(posting.created_at, tz).isoformat(timespec="seconds"),
                    str(posting.entry.public_id),
                    posting.entry.kind,
                    _csv_safe(posting.entry.reference),
                    format_amount(posting.amount, posting.currency),
                    posting.currency,
                    format_amount(posting.balance_after, posting.currency),
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="finsys-{account.number}-history.csv"'
    return response


@portal_login_required
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def account_statement(request: HttpRequest, account_id: uuid.UUID) -> HttpResponse:
    """Ask for a PDF statement of a period (POST): a ReportJob (apps/reports) generated by a
    worker; the statement page shows its progress and the download link. GET leads to the form."""
    account = portal_account_or_404(request, account_id)
    if request.method == "GET":
        return redirect(reverse("portal:account", args=[account.public_id]) + "#statement")
    form = StatementForm(request.POST)
    if form.is_valid():
        try:
            job = report_request(
                actor=portal_actor_of(request),
                kind=ReportKind.STATEMENT,
                format=ReportFormat.PDF,
                account_public_id=account.public_id,
                start_date=form.cleaned_data["date_from"],
                end_date=form.cleaned_data["date_to"],
            )
        except ValidationFailed as exc:
            for messages_ in exc.errors.values():
                for message in messages_:
                    form.add_error(None, str(message))
        else:
            return redirect("portal:statement", report_id=job.public_id)
    history = HistoryFilterForm()
    page = Paginator(account_history(account=account, filters=history.filters()), PAGE_SIZE).get_page(1)
    context = {"account": account, "form": history, "page": page, "query": "", "statement_form": form}
    return render(request, "portal/account.html", context, status=400)


def _statement_job(request: HttpRequest, report_id: uuid.UUID) -> ReportJob:
    """A statement asked for this customer, of an account this login still sees; else 404."""
    job = (
        ReportJob.objects.select_related("account")
        .filter(public_id=report_id, kind=ReportKind.STATEMENT, requested_for_customer_id=portal_customer(request).pk)
        .first()
    )
    if job is None or job.account is None:
        raise Http404()
    portal_account_or_404(request, job.account.public_id)
    return job


@portal_login_required
@never_cache
@require_GET
def statement_view(request: HttpRequest, report_id: uuid.UUID) -> HttpResponse:
    job = _statement_job(request, report_id)
    waiting = job.status in (ReportStatus.QUEUED, ReportStatus.RUNNING)
    return render(request, "portal/statement.html", {"job": job, "waiting": waiting})


@portal_login_required
@never_cache
@require_GET
def statement_download(request: HttpRequest, report_id: uuid.UUID) -> HttpResponseBase:
    job = _statement_job(request, report_id)
    try:
        handle = report_download(actor=portal_actor_of(request), job=job)
    except (ReportNotReady, ReportExpired) as exc:
        messages.error(request, str(exc.message))
        return redirect("portal:statement", report_id=job.public_id)
    return FileResponse(handle, as_attachment=True, filename=job.download_name, content_type="application/pdf")


@portal_login_required
@never_cache
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    """What the bank sent this customer by e-mail and SMS."""
    events = portal_notifications(customer_id=portal_customer(request).pk)
    page = Paginator(events, PAGE_SIZE).get_page(_page_number(request))
    items = [{"event": event, "deliveries": notification_channels(event)} for event in page.object_list]
    return render(request, "portal/notifications.html", {"page": page, "items": items})


def _profile_context(request: HttpRequest, **forms: Any) -> dict[str, Any]:
    customer = portal_customer(request)
    return {
        "customer": customer,
        "national_id": mask_identifier(customer.national_id or ""),
        "phone": mask_phone(customer.phone or ""),
        "birth_year": (customer.date_of_birth or "")[:4],
        "address_on_file": bool(customer.address),
        "login_email": request.user.email,  # type: ignore[union-attr]
        "individual": customer.kind == CustomerKind.INDIVIDUAL,
        "pending": contact_change_pending(user=request.user),
        "totp_on": portal_has_totp(user=request.user),
        "change_form": forms.get("change_form") or ContactChangeForm(),
        "code_form": forms.get("code_form") or ContactCodeForm(),
    }


@portal_login_required
@never_cache
@require_GET
def profile(request: HttpRequest) -> HttpResponse:
    """Who the bank knows: personal data masked (never shown in full in the portal)."""
    return render(request, "portal/profile.html", _profile_context(request))


@portal_login_required
@csrf_protect
@never_cache
@require_POST
def profile_contact(request: HttpRequest) -> HttpResponse:
    """Ask to change the e-mail or phone: a code goes to the new address or number."""
    form = ContactChangeForm(request.POST)
    if form.is_valid():
        try:
            contact_change_start(
                portal_user=portal_user(request), field=form.cleaned_data["field"], value=form.cleaned_data["value"]
            )
        except ValidationFailed as exc:
            for field, errors in exc.errors.items():
                for error in errors:
                    form.add_error("value" if field not in form.fields else field, str(error))
        except DomainError as exc:
            form.add_error(None, str(exc.message))
        else:
            messages.success(request, _("We sent a code to the new address or number. Enter it below to finish."))
            return redirect(reverse("portal:profile") + "#verify")
    return render(request, "portal/profile.html", _profile_context(request, change_form=form), status=400)


@portal_login_required
@csrf_protect
@never_cache
@require_POST
def profile_contact_confirm(request: HttpRequest) -> HttpResponse:
    form = ContactCodeForm(request.POST)
    if form.is_valid():
        try:
            contact_change_confirm(portal_user=portal_user(request), code=form.cleaned_data["code"])
        except ValidationFailed as exc:
            for errors in exc.errors.values():
                for error in errors:
                    form.add_error("code", str(error))
        else:
            messages.success(request, _("Your contact details are changed."))
            return redirect("portal:profile")
    return render(request, "portal/profile.html", _profile_context(request, code_form=form), status=400)
