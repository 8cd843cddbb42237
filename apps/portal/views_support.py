"""The portal's help page: the help assistant (apps/support/assistant.py) as a plain form that
htmx, when present, answers in place; the feedback form; the customer's own messages to the bank
with the staff's replies.

The conversation lives in the session (the last TURNS_KEPT turns). A handover ticket carries the
turns since the previous handover. Feedback forms carry a one-time token, so a double submission
opens one ticket."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from apps.common.errors import NotFound, ValidationFailed
from apps.portal.auth import portal_actor_of, portal_login_required, portal_user
from apps.portal.forms_support import AskForm, FeedbackForm
from apps.portal.selectors import RIGHT_VIEW, portal_accounts
from apps.support.assistant import assistant_reply
from apps.support.selectors import ticket_of_portal_user, tickets_of_portal_user
from apps.support.services import feedback_submit

TRANSCRIPT_KEY = "support_conversation"
ONCE_KEY = "support_feedback_once"
TURNS_KEPT = 20
TICKETS_SHOWN = 20


def _conversation(request: HttpRequest) -> list[dict[str, Any]]:
    turns = request.session.get(TRANSCRIPT_KEY, [])
    return turns if isinstance(turns, list) else []


def _since_last_handover(turns: list[dict[str, Any]]) -> list[dict[str, str]]:
    start = 0
    for i, turn in enumerate(turns):
        if turn.get("ticket"):
            start = i + 1
    return [{"who": t.get("who", ""), "text": t.get("text", "")} for t in turns[start:]]


def _once_token(request: HttpRequest) -> str:
    token = uuid.uuid4().hex
    tokens = [t for t in request.session.get(ONCE_KEY, []) if isinstance(t, str)][-9:]
    request.session[ONCE_KEY] = [*tokens, token]
    return token


def _spend_once(request: HttpRequest, token: str) -> bool:
    tokens = request.session.get(ONCE_KEY, [])
    if not token or token not in tokens:
        return False
    request.session[ONCE_KEY] = [t for t in tokens if t != token]
    return True


def _help_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    me = portal_user(request)
    context = {
        "conversation": _conversation(request),
        "ask_form": AskForm(),
        "feedback_form": FeedbackForm(initial={"once": _once_token(request)}),
        "tickets": list(tickets_of_portal_user(me.pk)[:TICKETS_SHOWN]),
        "in_place": False,
    }
    return context | extra


@portal_login_required
@never_cache
@require_http_methods(["GET", "POST"])
def help_page(request: HttpRequest) -> HttpResponse:
    """GET: the assistant, the feedback form, the customer's messages. POST `question`: ask the
    assistant (htmx gets the conversation back in place; without JS, a redirect to this page).
    POST `reset`: start a new conversation."""
    in_place = request.headers.get("HX-Request") == "true"
    if request.method == "POST":
        if "reset" in request.POST:
            request.session[TRANSCRIPT_KEY] = []
        else:
            form = AskForm(request.POST)
            if not form.is_valid():
                context = _help_context(request, ask_form=form, in_place=in_place)
                template = "portal/support/_assistant.html" if in_place else "portal/support/help.html"
                return render(request, template, context, status=200 if in_place else 400)
            _ask(request, form.cleaned_data["question"])
        if in_place:
            return render(request, "portal/support/_assistant.html", _help_context(request, in_place=True))
        return redirect(reverse("portal:help") + "#assistant")
    return render(request, "portal/support/help.html", _help_context(request))


def _ask(request: HttpRequest, question: str) -> None:
    turns = _conversation(request)
    answer = assistant_reply(
        actor=portal_actor_of(request),
        portal_user=portal_user(request),
        accounts=portal_accounts(request.user, RIGHT_VIEW),
        question=question,
        language=get_language() or "en",
        transcript=_since_last_handover(turns),
    )
    turns.append({"who": "customer", "text": question})
    turns.append(
        {
            "who": "assistant",
            "text": answer.text,
            "lines": list(answer.lines),
            "intent": answer.intent,
            "faq": answer.entry.question(answer.language) if answer.entry else "",
            "score": answer.score,
            "ticket": str(answer.ticket.public_id) if answer.ticket else "",
        }
    )
    request.session[TRANSCRIPT_KEY] = turns[-TURNS_KEPT:]


@portal_login_required
@never_cache
@require_http_methods(["GET", "POST"])
def feedback(request: HttpRequest) -> HttpResponse:
    """A message to the bank's staff (a ticket of kind feedback); its answer shows on the help page."""
    if request.method == "GET":
        form = FeedbackForm(initial={"once": _once_token(request)})
        return render(request, "portal/support/feedback.html", {"feedback_form": form})
    form = FeedbackForm(request.POST)
    if form.is_valid():
        token = form.cleaned_data["once"]
        if not _spend_once(request, token):  # spent by an earlier submission of the same form
            messages.info(request, _("This message was already sent."))
            return redirect(reverse("portal:help") + "#messages")
        try:
            feedback_submit(
                actor=portal_actor_of(request),
                portal_user=portal_user(request),
                subject=form.cleaned_data["subject"],
                message=form.cleaned_data["message"],
                language=get_language() or "en",
            )
        except ValidationFailed as error:
            request.session[ONCE_KEY] = [*request.session.get(ONCE_KEY, []), token]  # not sent: usable again
            for field, errors in error.errors.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, _("Thank you. Your message was sent; our staff answer it on this page."))
            return redirect(reverse("portal:help") + "#messages")
    return render(request, "portal/support/feedback.html", {"feedback_form": form}, status=400)


@portal_login_required
@never_cache
@require_GET
def ticket_view(request: HttpRequest, ticket_id: uuid.UUID) -> HttpResponse:
    """One of this login's messages, with the conversation and the staff's reply."""
    try:
        ticket = ticket_of_portal_user(portal_user(request).pk, ticket_id)
    except NotFound:
        raise Http404 from None
    return render(request, "portal/support/ticket.html", {"ticket": ticket})
