"""Support services: the FAQ (staff) and tickets (customers open, staff answer and close); each
audited, each refusal changing nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from apps.audit.models import AuditEvent
from apps.common.errors import PermissionDenied, ValidationFailed
from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.support.faq_defaults import DEFAULT_FAQ
from apps.support.models import FaqEntry, Ticket, TicketKind, TicketStatus
from apps.support.services import (
    FaqData,
    faq_create,
    faq_delete,
    faq_seed_defaults,
    faq_set_published,
    faq_update,
    feedback_submit,
    ticket_assign,
    ticket_close,
    ticket_create,
    ticket_reply,
)

pytestmark = pytest.mark.django_db
STAFF = Actor(label="user:ops", channel=Channel.BRANCH)


def _data(**overrides) -> FaqData:
    values = {
        "question_en": "Can I change my phone number?",
        "question_zh": "可以修改手机号码吗？",
        "answer_en": "Yes, in your profile.",
        "answer_zh": "可以，在个人资料中修改。",
        "keywords": "phone number, 手机号",
    }
    return FaqData(**(values | overrides))


def test_faq_seed_is_bilingual_published_and_idempotent():
    assert faq_seed_defaults(actor=SYSTEM_ACTOR) == len(DEFAULT_FAQ) >= 10
    assert faq_seed_defaults(actor=SYSTEM_ACTOR) == 0
    entries = FaqEntry.objects.all()
    assert entries.count() == len(DEFAULT_FAQ)
    for entry in entries:
        assert entry.published
        assert entry.question_zh
        assert entry.answer_zh
        assert entry.answer_en
        assert any("\u4e00" <= ch <= "\u9fff" for ch in entry.answer_zh)


def test_faq_create_update_publish_delete_are_audited():
    entry = faq_create(actor=STAFF, data=_data())
    assert not entry.published
    assert entry.slug == "can-i-change-my-phone-number"
    entry = faq_update(actor=STAFF, entry=entry, data=_data(answer_en="Yes: Profile, then Contact details."))
    assert FaqEntry.objects.get().answer_en == "Yes: Profile, then Contact details."
    faq_set_published(actor=STAFF, entry=entry, published=True)
    faq_set_published(actor=STAFF, entry=entry, published=True)  # no change, no event
    assert FaqEntry.objects.get().published
    faq_delete(actor=STAFF, entry=entry)
    assert not FaqEntry.objects.exists()
    actions = list(AuditEvent.objects.filter(object_type="faq").order_by("pk").values_list("action", flat=True))
    assert actions == ["faq.create", "faq.update", "faq.publish", "faq.delete"]
    assert set(AuditEvent.objects.filter(object_type="faq").values_list("actor", flat=True)) == {"user:ops"}


def test_faq_refuses_missing_or_too_long_texts_and_changes_nothing():
    with pytest.raises(ValidationFailed) as refused:
        faq_create(actor=STAFF, data=_data(question_zh="  ", answer_en="x" * 5000))
    assert set(refused.value.errors) == {"question_zh", "answer_en"}
    entry = faq_create(actor=STAFF, data=_data())
    with pytest.raises(ValidationFailed):
        faq_update(actor=STAFF, entry=entry, data=_data(question_en=""))
    assert FaqEntry.objects.get().question_en == "Can I change my phone number?"
    assert faq_create(actor=STAFF, data=_data()).slug == "can-i-change-my-phone-number-2"


def test_feedback_is_a_ticket_of_the_users_customer(make_person):
    me = make_person()
    ticket = feedback_submit(
        actor=me.actor, portal_user=me.portal_user, subject="  Great   app ", message="Thanks!", language="zh-hans"
    )
    assert ticket.kind == TicketKind.FEEDBACK
    assert ticket.status == TicketStatus.OPEN
    assert ticket.customer_id == me.portal_user.customer_id
    assert ticket.subject == "Great app"
    assert ticket.language == "zh-hans"
    assert AuditEvent.objects.filter(action="ticket.create", object_id=str(ticket.public_id)).exists()


def test_feedback_refuses_empty_or_foreign_and_changes_nothing(make_person):
    me, other = make_person(), make_person()
    with pytest.raises(ValidationFailed) as refused:
        feedback_submit(actor=me.actor, portal_user=me.portal_user, subject="", message=" ")
    assert set(refused.value.errors) == {"subject", "message"}
    with pytest.raises(ValidationFailed):
        feedback_submit(actor=me.actor, portal_user=me.portal_user, subject="x" * 201, message="m")
    with pytest.raises(PermissionDenied):  # acting for one customer, writing as another's user
        feedback_submit(actor=me.actor, portal_user=other.portal_user, subject="s", message="m")
    with pytest.raises(ValidationFailed):
        ticket_create(actor=me.actor, portal_user=me.portal_user, kind="nonsense", subject="s", message="m")
    assert not Ticket.objects.exists()


def test_transcript_keeps_only_turns_of_known_speakers(make_person):
    me = make_person()
    ticket = ticket_create(
        actor=me.actor,
        portal_user=me.portal_user,
        kind=TicketKind.HANDOVER,
        subject="s",
        message="m",
        transcript=[{"who": "customer", "text": "a"}, {"who": "root", "text": "b"}, "junk", {"who": "assistant"}],
    )
    assert ticket.transcript == [{"who": "customer", "text": "a"}]


def test_reply_answers_assigns_and_close_ends_the_ticket(make_person):
    me = make_person()
    ops = User.objects.create_user(username="ops", is_staff=True)
    ticket = feedback_submit(actor=me.actor, portal_user=me.portal_user, subject="s", message="m")
    with pytest.raises(ValidationFailed):
        ticket_reply(actor=STAFF, ticket=ticket, user=ops, reply="  ")
    assert Ticket.objects.get().status == TicketStatus.OPEN
    ticket = ticket_reply(actor=STAFF, ticket=ticket, user=ops, reply="We have fixed it.")
    assert (ticket.status, ticket.staff_reply, ticket.replied_by, ticket.assigned_to) == (
        TicketStatus.ANSWERED,
        "We have fixed it.",
        "ops",
        ops,
    )
    ticket = ticket_close(actor=STAFF, ticket=ticket)
    ticket_close(actor=STAFF, ticket=ticket)
    assert ticket.status == TicketStatus.CLOSED
    assert ticket.closed_at is not None
    with pytest.raises(ValidationFailed):
        ticket_reply(actor=STAFF, ticket=ticket, user=ops, reply="more")
    with pytest.raises(ValidationFailed):
        ticket_assign(actor=STAFF, ticket=ticket, user=ops)
    assert Ticket.objects.get().staff_reply == "We have fixed it."
    actions = list(AuditEvent.objects.filter(object_type="ticket").order_by("pk").values_list("action", flat=True))
    assert actions == ["ticket.create", "ticket.reply", "ticket.close"]


def test_only_staff_are_assigned(make_person):
    me = make_person()
    ticket = feedback_submit(actor=me.actor, portal_user=me.portal_user, subject="s", message="m")
    with pytest.raises(ValidationFailed):
        ticket_assign(actor=STAFF, ticket=ticket, user=me.user)
    ops = User.objects.create_user(username="ops", is_staff=True)
    assert ticket_assign(actor=STAFF, ticket=ticket, user=ops).assigned_to == ops
