"""The portal's help page through HTTP: the assistant without JS (form + redirect) and with htmx
(the conversation in place), own-data answers, handover tickets, feedback sent once, each login
seeing only its own messages, and the staff's reply reaching the customer."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from apps.common.principals import SYSTEM_ACTOR
from apps.support.models import Ticket, TicketKind, TicketStatus
from apps.support.services import feedback_submit, ticket_reply
from apps.support.tests.fixtures import faq, make_person  # noqa: F401 - fixtures
from tests.support import portal_client

pytestmark = pytest.mark.django_db


def test_assistant_without_js_answers_own_balance_only(faq, make_person):  # noqa: F811
    me = make_person(balances=("4321.09",))
    make_person(balances=("98765.43",))
    client = portal_client(me.user)
    asked = client.post("/portal/help/", {"question": "我的余额"})
    assert asked.status_code == 302
    assert asked["Location"].endswith("/portal/help/#assistant")
    page = client.get("/portal/help/").content.decode()
    assert "我的余额" in page
    assert "4321.09" in page
    assert "98765.43" not in page
    assert not Ticket.objects.exists()


def test_assistant_with_htmx_answers_in_place(faq, make_person):  # noqa: F811
    client = portal_client(make_person().user)
    answer = client.post("/portal/help/", {"question": "zhuanzhang"}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    body = answer.content.decode()
    assert "<html" not in body  # the assistant section only, swapped in place
    assert 'id="assistant"' in body
    assert "Choose Transfers" in body
    assert "autofocus" in body  # the next question is typed at once
    reset = client.post("/portal/help/", {"reset": "1"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Choose Transfers" not in reset


def test_bad_questions_are_refused_with_a_message(faq, make_person):  # noqa: F811
    client = portal_client(make_person().user)
    empty = client.post("/portal/help/", {"question": "   "})
    assert empty.status_code == 400
    assert "This field is required" in empty.content.decode()
    too_long = client.post("/portal/help/", {"question": "x" * 501}, HTTP_HX_REQUEST="true")
    assert too_long.status_code == 200
    assert "at most 500" in too_long.content.decode()
    assert not Ticket.objects.exists()


def test_unknown_question_opens_a_ticket_the_customer_can_follow(faq, make_person):  # noqa: F811
    me = make_person()
    client = portal_client(me.user)
    client.post("/portal/help/", {"question": "hello"})
    client.post("/portal/help/", {"question": "Can I get a mortgage for a flat in Hangzhou?"})
    ticket = Ticket.objects.get()
    assert ticket.kind == TicketKind.HANDOVER
    assert ticket.transcript[0]["text"] == "hello"  # the conversation before it
    assert ticket.transcript[-2]["text"] == "Can I get a mortgage for a flat in Hangzhou?"
    page = client.get("/portal/help/").content.decode()
    assert f"/portal/help/messages/{ticket.public_id}/" in page
    assert "passed your question to our staff" in page
    # a second handover carries only the turns after the first one
    client.post("/portal/help/", {"question": "And a car loan?"})
    second = Ticket.objects.exclude(pk=ticket.pk).get()
    assert [t["text"] for t in second.transcript if t["who"] == "customer"] == ["And a car loan?"]


def test_feedback_is_sent_once_and_refuses_bad_input(make_person):  # noqa: F811
    me = make_person()
    client = portal_client(me.user)
    form = client.get("/portal/help/feedback/").content.decode()
    token = form.split('name="once" value="')[1].split('"')[0]
    bad = client.post("/portal/help/feedback/", {"subject": "", "message": "", "once": token})
    assert bad.status_code == 400
    assert not Ticket.objects.exists()
    body = {"subject": "Statement font", "message": "The PDF font is small.", "once": token}
    assert client.post("/portal/help/feedback/", body).status_code == 302
    again = client.post("/portal/help/feedback/", body, follow=True)  # a double click, or back and resend
    assert "already sent" in again.content.decode()
    ticket = Ticket.objects.get()
    assert ticket.kind == TicketKind.FEEDBACK
    assert ticket.portal_user == me.portal_user
    assert "Statement font" in client.get("/portal/help/").content.decode()


def test_each_login_sees_only_its_own_messages(make_person):  # noqa: F811
    me, other = make_person(), make_person()
    mine = feedback_submit(actor=me.actor, portal_user=me.portal_user, subject="Mine", message="m")
    theirs = feedback_submit(actor=other.actor, portal_user=other.portal_user, subject="Theirs", message="t")
    client = portal_client(me.user)
    assert client.get(f"/portal/help/messages/{mine.public_id}/").status_code == 200
    assert client.get(f"/portal/help/messages/{theirs.public_id}/").status_code == 404
    assert client.get("/portal/help/messages/not-a-uuid/").status_code == 404
    page = client.get("/portal/help/").content.decode()
    assert "Mine" in page
    assert "Theirs" not in page


def test_staff_reply_reaches_the_customer(make_person):  # noqa: F811
    me = make_person()
    ticket = feedback_submit(actor=me.actor, portal_user=me.portal_user, subject="Fees?", message="Why a fee?")
    client = portal_client(me.user)
    assert "Not answered yet" in client.get(f"/portal/help/messages/{ticket.public_id}/").content.decode()
    ops = User.objects.create_user(username="ops", is_staff=True)
    ticket_reply(actor=SYSTEM_ACTOR, ticket=ticket, user=ops, reply="It was refunded today.")
    assert "It was refunded today." in client.get("/portal/help/").content.decode()
    detail = client.get(f"/portal/help/messages/{ticket.public_id}/").content.decode()
    assert "It was refunded today." in detail
    assert Ticket.objects.get().status == TicketStatus.ANSWERED
