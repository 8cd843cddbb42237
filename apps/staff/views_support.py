"""Back office: the support tickets inbox (list, filter, open, reply, assign, close) and the FAQ
editor the help assistant answers from. Each page checks its model permission (roles in
apps/common/roles.py); a relationship manager sees only their customers' tickets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from apps.common.admin import staff_actor
from apps.common.errors import NotFound, ValidationFailed
from apps.staff.forms_support import FaqForm, ReplyForm
from apps.support.models import FaqEntry, TicketStatus
from apps.support.selectors import faq_get, faq_list, ticket_counts, ticket_for_staff, tickets_for_staff
from apps.support.services import (
    FaqData,
    faq_create,
    faq_delete,
    faq_set_published,
    faq_update,
    ticket_assign,
    ticket_close,
    ticket_reply,
)

View = Callable[..., HttpResponse]
STATUS_FILTERS = ("open", "answered", "closed", "all")


def requires_any(*perms: str) -> Callable[[View], View]:
    """403 unless the user holds one of `perms` (checked before anything else, GET or POST)."""

    def decorate(view: View) -> View:
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not any(request.user.has_perm(p) for p in perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        return wrapped

    return decorate


def _add_errors(form: Any, error: ValidationFailed) -> None:
    for field, errors in error.errors.items():
        for message in errors:
            form.add_error(field if field in form.fields else None, message)
    if not error.errors:
        form.add_error(None, error.message)


# --- tickets ----------------------------------------------------------------------------------


@never_cache
@requires_any("support.view_ticket")
@require_http_methods(["GET"])
def tickets(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    if status not in STATUS_FILTERS:
        status = "open"
    visible = tickets_for_staff(request.user)
    shown = visible if status == "all" else visible.filter(status=status)
    mine = request.GET.get("mine") == "1"
    if mine:
        shown = shown.filter(assigned_to_id=request.user.pk)
    page = Paginator(shown.order_by("-id"), 50).get_page(request.GET.get("page"))
    counts = ticket_counts(visible)
    filters = [(key, TicketStatus(key).label if key != "all" else _("All"), counts.get(key)) for key in STATUS_FILTERS]
    return render(
        request,
        "staff/support/tickets.html",
        {"page": page, "status": status, "filters": filters, "mine": mine},
    )


@never_cache
@requires_any("support.view_ticket")
@require_http_methods(["GET", "POST"])
def ticket(request: HttpRequest, ticket_id: str) -> HttpResponse:
    """One ticket; POST `action` = reply | assign | close (needs support.change_ticket)."""
    try:
        found = ticket_for_staff(request.user, ticket_id)
    except NotFound:
        raise Http404 from None
    form = ReplyForm(initial={"reply": found.staff_reply})
    refusal = ""
    if request.method == "POST":
        if not request.user.has_perm("support.change_ticket"):
            raise PermissionDenied
        action = request.POST.get("action", "")
        actor = staff_actor(request)
        try:
            if action == "reply":
                form = ReplyForm(request.POST)
                if form.is_valid():
                    ticket_reply(actor=actor, ticket=found, user=request.user, reply=form.cleaned_data["reply"])  # type: ignore[arg-type]
                    messages.success(request, _("Your reply was sent; the customer sees it in the portal."))
                    return redirect("staff:support-ticket", ticket_id=found.public_id)
            elif action == "assign":
                ticket_assign(actor=actor, ticket=found, user=request.user)  # type: ignore[arg-type]
                messages.success(request, _("The ticket is assigned to you."))
                return redirect("staff:support-ticket", ticket_id=found.public_id)
            elif action == "close":
                ticket_close(actor=actor, ticket=found)
                messages.success(request, _("The ticket is closed."))
                return redirect("staff:support-ticket", ticket_id=found.public_id)
            else:
                refusal = _("Unknown action.")
        except ValidationFailed as error:
            refusal = str(error.message)
            if form.is_bound:
                _add_errors(form, error)
    return render(
        request,
        "staff/support/ticket.html",
        {
            "ticket": found,
            "form": form,
            "may_change": request.user.has_perm("support.change_ticket"),
            "closed": found.status == TicketStatus.CLOSED,
            "refusal": refusal,
        },
    )


# --- FAQ --------------------------------------------------------------------------------------


def _faq_data(form: FaqForm) -> FaqData:
    data = form.cleaned_data
    return FaqData(
        question_en=data["question_en"],
        question_zh=data["question_zh"],
        answer_en=data["answer_en"],
        answer_zh=data["answer_zh"],
        keywords=data["keywords"],
        position=data["position"],
        published=data["published"],
    )


@never_cache
@requires_any("support.view_faqentry", "support.change_faqentry")
@require_http_methods(["GET"])
def faq(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "staff/support/faq_list.html",
        {
            "entries": faq_list(),
            "may_add": request.user.has_perm("support.add_faqentry"),
            "may_change": request.user.has_perm("support.change_faqentry"),
        },
    )


@never_cache
@requires_any("support.add_faqentry")
@require_http_methods(["GET", "POST"])
def faq_new(request: HttpRequest) -> HttpResponse:
    form = FaqForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            faq_create(actor=staff_actor(request), data=_faq_data(form))
        except ValidationFailed as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The FAQ entry was saved."))
            return redirect("staff:support-faq")
    return render(request, "staff/support/faq_form.html", {"form": form, "entry": None})


@never_cache
@requires_any("support.change_faqentry")
@require_http_methods(["GET", "POST"])
def faq_edit(request: HttpRequest, faq_id: int) -> HttpResponse:
    """Edit an entry; POST `action` = save | publish | unpublish | delete."""
    try:
        entry: FaqEntry = faq_get(faq_id)
    except NotFound:
        raise Http404 from None
    initial = {f: getattr(entry, f) for f in FaqForm.base_fields}
    form = FaqForm(initial=initial)
    if request.method == "POST":
        actor = staff_actor(request)
        action = request.POST.get("action", "save")
        if action in ("publish", "unpublish"):
            faq_set_published(actor=actor, entry=entry, published=action == "publish")
            messages.success(request, _("Published.") if action == "publish" else _("Taken off the assistant."))
            return redirect("staff:support-faq")
        if action == "delete":
            if not request.user.has_perm("support.delete_faqentry"):
                raise PermissionDenied
            faq_delete(actor=actor, entry=entry)
            messages.success(request, _("The FAQ entry was deleted."))
            return redirect("staff:support-faq")
        form = FaqForm(request.POST)
        if form.is_valid():
            try:
                faq_update(actor=actor, entry=entry, data=_faq_data(form))
            except ValidationFailed as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("The FAQ entry was saved."))
                return redirect("staff:support-faq")
    return render(
        request,
        "staff/support/faq_form.html",
        {"form": form, "entry": entry, "may_delete": request.user.has_perm("support.delete_faqentry")},
    )
