"""What the back-office queue and editor pages share: the permission guard, pagination with the
filters kept, turning a service's refusal into form errors or a message, and the maker-checker
decision (approve / reject) the watchlist, rule and limit pages offer for their own approvals."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext as _

from apps.common.admin import refusal_text, staff_actor
from apps.common.errors import DomainError, ValidationFailed
from apps.compliance.models import Approval, ApprovalStatus
from apps.compliance.services import approval_approve, approval_reject

PER_PAGE = 25
View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def may(request: HttpRequest, *perms: str) -> bool:
    """The user holds any one of the permissions."""
    user: Any = request.user
    return any(user.has_perm(p) for p in perms)


def require_any(*perms: str, post: tuple[str, ...] | None = None) -> Callable[[View], View]:
    """403 unless the user holds one of `perms` (to see the page) and, for a POST, one of `post`
    (to act on it). Checked before anything else, so a refused user learns nothing more."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not may(request, *perms):
                raise DjangoPermissionDenied
            if request.method == "POST" and post is not None and not may(request, *post):
                raise DjangoPermissionDenied
            return view(request, *args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def paginate(request: HttpRequest, queryset: QuerySet[Any], per_page: int = PER_PAGE) -> tuple[Page[Any], str]:
    """The requested page (a bad number gives the first or last page) and the query string of the
    filters without `page`, for the page links."""
    page = Paginator(queryset, per_page).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return page, params.urlencode()


def refusal_to_form(form: forms.Form, refusal: DomainError, fields: dict[str, str] | None = None) -> None:
    """Put a service's refusal on the form: field errors where the field exists (named as the
    service names it, or mapped through `fields`), the rest as non-field errors."""
    fields = fields or {}
    if isinstance(refusal, ValidationFailed):
        for name, errors in refusal.errors.items():
            target = fields.get(name, name)
            for error in errors:
                form.add_error(target if target in form.fields else None, str(error))
        return
    form.add_error(None, str(refusal.message))


def refusal_message(request: HttpRequest, refusal: DomainError) -> None:
    messages.error(request, refusal_text(refusal))


def approvals_pending(actions: Iterable[str]) -> QuerySet[Approval]:
    return Approval.objects.filter(action__in=list(actions), status=ApprovalStatus.PENDING).order_by("-id")


def approval_decide(request: HttpRequest, approval: Approval, decision: str, reason: str) -> bool:
    """Approve (runs the held action once) or reject; the maker is refused by the service.
    Says what happened through a message; True when it was decided."""
    actor = staff_actor(request)
    try:
        if decision == "approve":
            approval_approve(actor=actor, approval=approval, reason=reason)
            messages.success(request, _("Approved: %(summary)s") % {"summary": approval.summary})
        elif decision == "reject":
            approval_reject(actor=actor, approval=approval, reason=reason)
            messages.success(request, _("Rejected: %(summary)s") % {"summary": approval.summary})
        else:
            messages.error(request, _("Choose approve or reject."))
            return False
    except DomainError as refusal:
        refusal_message(request, refusal)
        return False
    return True


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "approve"), ("reject", "reject")])
    reason = forms.CharField(max_length=255, required=False)
