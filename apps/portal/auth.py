"""Who is on a portal page, and the guard every portal view wears.

Skeleton API for portal views (apps/portal and the helpers that add pages to it):

    from apps.portal.auth import portal_login_required, portal_user, portal_customer, portal_actor_of
    from apps.portal.selectors import portal_accounts, portal_account, RIGHT_VIEW, RIGHT_INITIATE, RIGHT_APPROVE

    @portal_login_required
    def my_view(request, account_id):
        account = portal_account_or_404(request, account_id, right=RIGHT_INITIATE)
        actor = portal_actor_of(request)          # Actor(label="portal:<username>", channel=portal, customer_id=...)
        ...
        return render(request, "portal/my_page.html", {...})   # {% extends "portal/base.html" %}

- `portal_login_required(view)`: anonymous visitors are redirected to /portal/login/?next=<path>;
  staff users (and any login that is not a PortalUser) get 403 (portal/refused.html); a session
  that has not passed the second factor yet (customer turned TOTP on) is sent to /portal/otp/;
  a session older than the user's last "log out everywhere", or idle for more than
  PORTAL_IDLE_TIMEOUT_SECONDS, is ended and sent to the login.
  On success it sets `request.portal_user` (PortalUser with `.customer`) and
  `request.customer_id` (the emergency banner shows "your accounts are frozen" from it).
- `portal_user(request)` / `portal_customer(request)`: the PortalUser / Customer of a guarded view.
- `portal_actor_of(request)`: the Actor for services (customer-bound, channel "portal").
- `portal_account_or_404(request, public_id, right=RIGHT_VIEW)`: an account the user holds
  `right` on, else Http404 - another customer's id, a missing id and an id the corporate user
  holds no right on all look the same.
- Selectors (apps/portal/selectors.py): `portal_accounts(user, right)` is "the accounts this
  portal user may see / pay from / approve on": every own account for an individual customer's
  login, the django-guardian mandates (`accounts.view_account_portal`, `initiate_payment`,
  `approve_payment`, granted by apps.accounts.services.mandate_grant) for a corporate user.
- Templates extend "portal/base.html" (blocks: title, content, extra_head; nav, language switch,
  emergency banner and messages are there); styles in static/portal/portal.css (classes: card,
  table.data, .actions, .errors, .notice, .hint, button.secondary, button.link, .amount).
- URL policy: each portal URL gets `portal()` (or PUBLIC for login-type pages) in
  tests/url_policies.py; tests/test_permission_matrix.py checks it for anonymous (redirect to
  the portal login), staff roles (403), an individual's portal user (allowed, ids in the URL are
  theirs) and a corporate portal user of another customer (404 on id-bearing URLs).
- Tests: `tests.support.portal_client(user)` gives a logged-in portal session (test client).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse

from apps.accounts.models import Account
from apps.common.principals import Actor
from apps.customers.models import Customer, PortalUser
from apps.portal.selectors import RIGHT_VIEW, portal_account, portal_session_epoch, portal_user_of
from apps.portal.services import portal_actor

# Session keys of a portal login.
EPOCH_KEY = "portal_epoch"  # the user's session epoch when the session started
OTP_PENDING_KEY = "portal_otp_pending"  # set after the password when the customer turned TOTP on
LAST_SEEN_KEY = "portal_last_seen"  # when a guarded page was last asked for (idle timeout)

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def login_redirect(request: HttpRequest, **extra: str) -> HttpResponseRedirect:
    next_path = request.get_full_path() if request.method == "GET" else reverse("portal:overview")
    return HttpResponseRedirect(f"{reverse('portal:login')}?{urlencode({'next': next_path, **extra})}")


def refused(request: HttpRequest) -> HttpResponse:
    """Staff and other non-portal logins: the portal is not theirs (403, never data)."""
    return render(request, "portal/refused.html", {}, status=403)


def session_start(request: HttpRequest, *, otp_pending: bool) -> None:
    """Stamp a freshly logged-in portal session with the user's epoch (and a pending second factor)."""
    request.session[EPOCH_KEY] = portal_session_epoch(user_id=int(request.user.pk or 0))
    request.session[LAST_SEEN_KEY] = int(time.time())
    if otp_pending:
        request.session[OTP_PENDING_KEY] = True
    else:
        request.session.pop(OTP_PENDING_KEY, None)


def session_ended(request: HttpRequest) -> bool:
    """Whether this session was started before the user's last "log out everywhere"."""
    return int(request.session.get(EPOCH_KEY, 0)) != portal_session_epoch(user_id=int(request.user.pk or 0))


def session_idle(request: HttpRequest) -> bool:
    """Whether no guarded page was asked for in PORTAL_IDLE_TIMEOUT_SECONDS: a browser left open
    on a shared or lost device does not stay in the customer's accounts (the server decides)."""
    last_seen = request.session.get(LAST_SEEN_KEY)
    return last_seen is not None and time.time() - float(last_seen) > settings.PORTAL_IDLE_TIMEOUT_SECONDS


def portal_login_required(view: View) -> View:
    """The guard of every portal page that shows or changes a customer's data (see above)."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated:
            return login_redirect(request)
        found = portal_user_of(user)
        if found is None:
            return refused(request)
        if session_ended(request):
            logout(request)
            return login_redirect(request, ended="everywhere")
        if session_idle(request):
            logout(request)
            return login_redirect(request, ended="idle")
        request.session[LAST_SEEN_KEY] = int(time.time())
        if request.session.get(OTP_PENDING_KEY):
            return HttpResponseRedirect(f"{reverse('portal:otp')}?{urlencode({'next': request.get_full_path()})}")
        request.portal_user = found  # type: ignore[attr-defined]
        request.customer_id = found.customer_id  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return cast(View, guarded)


def portal_user(request: HttpRequest) -> PortalUser:
    """The PortalUser of a request that passed `portal_login_required`."""
    found = getattr(request, "portal_user", None)
    if found is None:
        raise RuntimeError("portal_user() outside a view guarded by portal_login_required")
    return cast(PortalUser, found)


def portal_customer(request: HttpRequest) -> Customer:
    """The customer the portal user acts for."""
    return portal_user(request).customer


def portal_actor_of(request: HttpRequest) -> Actor:
    return portal_actor(portal_user(request))


def portal_account_or_404(request: HttpRequest, public_id: uuid.UUID | str, right: str = RIGHT_VIEW) -> Account:
    account = portal_account(request.user, public_id, right)  # type: ignore[arg-type]
    if account is None:
        raise Http404()
    return account
