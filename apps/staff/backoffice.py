"""What the back-office views share: the acting user, permission checks, pagination and turning
a service's refusal into form messages. Views stay thin: they call services and selectors."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from apps.common.admin import staff_actor
from apps.common.errors import DomainError, ValidationFailed
from apps.common.principals import Actor

__all__ = ["actor_of", "apply_refusal", "paginate", "requires_any", "safe_next", "user_may"]

View = TypeVar("View", bound=Callable[..., HttpResponseBase])
PER_PAGE = 25


def actor_of(request: HttpRequest) -> Actor:
    """The staff user behind the request, as the services record it (`user:<name>`, branch)."""
    return staff_actor(request)


def user_may(request: HttpRequest, *permissions: str) -> bool:
    return any(request.user.has_perm(p) for p in permissions)


def requires_any(*permissions: str) -> Callable[[View], View]:
    """403 unless the user holds one of `permissions`; pages are never cached."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not user_may(request, *permissions):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return never_cache(wrapped)  # type: ignore[return-value]

    return decorate


def paginate(request: HttpRequest, items: Any, per_page: int = PER_PAGE) -> tuple[Page[Any], str]:
    """The requested page (a bad number gives the nearest real page) and the query string of the
    other filters, for the page links."""
    page = Paginator(items, per_page).get_page(request.GET.get("page"))
    rest = urlencode([(k, v) for k, values in request.GET.lists() if k != "page" for v in values])
    return page, rest


def apply_refusal(form: forms.Form, refusal: DomainError) -> None:
    """A service's refusal as form errors: per field where the service names a field of the form."""
    if isinstance(refusal, ValidationFailed):
        for field, messages in refusal.errors.items():
            target = field if field in form.fields else None
            for message in messages:
                form.add_error(target, str(message))
        return
    named = str(refusal.extra.get("field", "")) if refusal.extra else ""
    form.add_error(named if named in form.fields else None, str(refusal.message))


def safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback
