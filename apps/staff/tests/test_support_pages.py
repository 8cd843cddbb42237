"""Back office support pages: the tickets inbox (who sees which tickets, reply, assign, close) and
the FAQ editor (who may edit, what the assistant answers afterwards)."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Group, User

from apps.audit.models import AuditEvent
from apps.common.principals import SYSTEM_ACTOR
from apps.customers.services import customer_assign_relationship_manager
from apps.support.assistant import faq_match
from apps.support.models import FaqEntry, Ticket, TicketStatus
from apps.support.selectors import tickets_of_customer
from apps.support.services import feedback_submit
from apps.support.tests.fixtures import faq, make_person  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def staff_user(role: str, username: str | None = None) -> User:
    user = User.objects.create_user(username=username or role, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def two_tickets(make_person):  # noqa: F811
    mine, other = make_person(name="Ada Mine"), make_person(name="Bo Other")
    first = feedback_submit(actor=mine.actor, portal_user=mine.portal_user, subject="Slow page", message="It is slow")
    second = feedback_submit(actor=other.actor, portal_user=other.portal_user, subject="Wrong fee", message="Why?")
    return mine, other, first, second


def test_inbox_needs_the_ticket_permission(staff_client, two_tickets):
    assert staff_client(staff_user("teller")).get("/staff/support/tickets/").status_code == 403
    assert staff_client(staff_user("auditor")).get("/staff/support/tickets/").status_code == 403
    page = staff_client(staff_user("operations")).get("/staff/support/tickets/")
    assert page.status_code == 200
    assert b"Slow page" in page.content
    assert b"Wrong fee" in page.content


def test_relationship_manager_sees_only_their_customers_tickets(staff_client, two_tickets):
    mine, _other, first, second = two_tickets
    manager = staff_user("relationship_manager")
    customer_assign_relationship_manager(actor=SYSTEM_ACTOR, customer=mine.portal_user.customer, manager=manager)
    client = staff_client(manager)
    page = client.get("/staff/support/tickets/")
    assert b"Slow page" in page.content
    assert b"Wrong fee" not in page.content
    assert client.get(f"/staff/support/tickets/{first.public_id}/").status_code == 200
    assert client.get(f"/staff/support/tickets/{second.public_id}/").status_code == 404
    refused = client.post(f"/staff/support/tickets/{second.public_id}/", {"action": "close"})
    assert refused.status_code == 404
    assert Ticket.objects.get(pk=second.pk).status == TicketStatus.OPEN


def test_status_filter(staff_client, two_tickets):
    _mine, _other, first, _second = two_tickets
    client = staff_client(staff_user("operations"))
    client.post(f"/staff/support/tickets/{first.public_id}/", {"action": "close"})
    assert b"Slow page" not in client.get("/staff/support/tickets/?status=open").content
    assert b"Slow page" in client.get("/staff/support/tickets/?status=closed").content
    everything = client.get("/staff/support/tickets/?status=all").content
    assert b"Slow page" in everything
    assert b"Wrong fee" in everything
    assert client.get("/staff/support/tickets/?status=<script>").status_code == 200  # falls back to open
    assert b"Slow page" in client.get("/staff/support/tickets/?status=closed&mine=0&page=x").content


def test_reply_reaches_the_customer_and_close_ends_it(staff_client, two_tickets):
    mine, _other, first, _second = two_tickets
    ops = staff_user("operations")
    client = staff_client(ops)
    url = f"/staff/support/tickets/{first.public_id}/"
    assert b"It is slow" in client.get(url).content
    empty = client.post(url, {"action": "reply", "reply": "   "})
    assert empty.status_code == 200
    assert Ticket.objects.get(pk=first.pk).status == TicketStatus.OPEN
    sent = client.post(url, {"action": "reply", "reply": "We made it faster."})
    assert sent.status_code == 302
    seen = tickets_of_customer(mine.portal_user.customer_id).get()  # what the customer's portal page lists
    assert seen.staff_reply == "We made it faster."
    assert seen.status == TicketStatus.ANSWERED
    assert seen.assigned_to == ops
    assert seen.replied_by == "operations"
    assert AuditEvent.objects.filter(action="ticket.reply", actor="user:operations").exists()
    assert client.post(url, {"action": "close"}).status_code == 302
    assert Ticket.objects.get(pk=first.pk).status == TicketStatus.CLOSED
    late = client.post(url, {"action": "reply", "reply": "More"})
    assert Ticket.objects.get(pk=first.pk).staff_reply == "We made it faster."
    assert late.status_code == 200


def test_assign_to_me_and_unknown_actions(staff_client, two_tickets):
    _mine, _other, first, _second = two_tickets
    ops = staff_user("operations")
    client = staff_client(ops)
    url = f"/staff/support/tickets/{first.public_id}/"
    assert client.post(url, {"action": "assign"}).status_code == 302
    assert Ticket.objects.get(pk=first.pk).assigned_to == ops
    assert b"Slow page" in client.get("/staff/support/tickets/?mine=1").content
    assert client.post(url, {"action": "explode"}).status_code == 200
    assert client.get(f"/staff/support/tickets/{uuid.uuid4()}/").status_code == 404


def test_faq_editor_is_for_the_administrator(staff_client, faq):  # noqa: F811
    entry = FaqEntry.objects.get(slug="transfer")
    ops = staff_client(staff_user("operations"))
    assert ops.get("/staff/support/faq/").status_code == 200  # operations may read the FAQ
    assert ops.get(f"/staff/support/faq/{entry.pk}/").status_code == 403
    assert ops.post(f"/staff/support/faq/{entry.pk}/", {"action": "unpublish"}).status_code == 403
    assert ops.get("/staff/support/faq/new/").status_code == 403
    assert staff_client(staff_user("teller")).get("/staff/support/faq/").status_code == 403
    assert FaqEntry.objects.get(slug="transfer").published


def test_faq_edit_publish_and_the_assistant_follows(staff_client, faq):  # noqa: F811
    admin = staff_client(staff_user("administrator", "boss"))
    form = {
        "question_en": "Can I change my phone number?",
        "question_zh": "可以修改手机号码吗？",
        "answer_en": "Yes, under Profile.",
        "answer_zh": "可以，在个人资料中修改。",
        "keywords": "phone number, 手机号",
        "position": "5",
    }
    bad = admin.post("/staff/support/faq/new/", form | {"question_zh": ""})
    assert bad.status_code == 200
    assert not FaqEntry.objects.filter(question_zh="").exists()
    assert admin.post("/staff/support/faq/new/", form).status_code == 302
    entry = FaqEntry.objects.get(question_en="Can I change my phone number?")
    assert not entry.published  # a draft first
    assert all(m.entry != entry for m in faq_match("shoujihao"))
    assert admin.post(f"/staff/support/faq/{entry.pk}/", {"action": "publish"}).status_code == 302
    assert faq_match("shoujihao")[0].entry == entry  # 手机号 in pinyin
    edited = admin.post(
        f"/staff/support/faq/{entry.pk}/", form | {"answer_en": "Yes: Profile, Contact.", "published": "on"}
    )
    assert edited.status_code == 302
    entry.refresh_from_db()
    assert entry.answer_en == "Yes: Profile, Contact."
    assert entry.published
    assert entry.updated_by == "user:boss"
    listing = admin.get("/staff/support/faq/").content.decode()
    assert "Can I change my phone number?" in listing
    assert "可以修改手机号码吗？" in listing
    assert admin.post(f"/staff/support/faq/{entry.pk}/", {"action": "delete"}).status_code == 302
    assert not FaqEntry.objects.filter(pk=entry.pk).exists()
    assert admin.get("/staff/support/faq/999999/").status_code == 404
    actions = set(AuditEvent.objects.filter(object_type="faq", actor="user:boss").values_list("action", flat=True))
    assert actions == {"faq.create", "faq.publish", "faq.update", "faq.delete"}
