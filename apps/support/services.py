"""Writes of customer support: the FAQ (staff), tickets (customers open them, staff answer and
close them). Each function is one transaction and leaves an audit event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from apps.audit.services import audit_record
from apps.common.errors import PermissionDenied, ValidationFailed
from apps.common.principals import Actor
from apps.customers.models import PortalUser
from apps.support.models import (
    MESSAGE_MAX,
    QUESTION_MAX,
    REPLY_MAX,
    FaqEntry,
    Ticket,
    TicketKind,
    TicketStatus,
)

TRANSCRIPT_MAX_TURNS = 40
TRANSCRIPT_TEXT_MAX = 2000
SUBJECT_MAX = 200

# --- FAQ ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaqData:
    """What staff write in the FAQ editor."""

    question_en: str
    question_zh: str
    answer_en: str
    answer_zh: str
    keywords: str = ""
    position: int = 100
    published: bool = False


def _faq_validate(data: FaqData) -> None:
    errors: dict[str, list[Any]] = {}
    for field in ("question_en", "question_zh", "answer_en", "answer_zh"):
        value = getattr(data, field).strip()
        limit = QUESTION_MAX if field.startswith("question") else MESSAGE_MAX
        if not value:
            errors[field] = [_("This field is required.")]
        elif len(value) > limit:
            errors[field] = [_("At most %(n)d characters.") % {"n": limit}]
    if len(data.keywords) > 2000:
        errors["keywords"] = [_("At most %(n)d characters.") % {"n": 2000}]
    if not 0 <= data.position <= 100_000:
        errors["position"] = [_("Enter a number from 0 to 100000.")]
    if errors:
        raise ValidationFailed(errors)


def _unique_slug(base: str) -> str:
    stem = (slugify(base) or "faq")[:50]
    slug, n = stem, 1
    while FaqEntry.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{stem}-{n}"
    return slug


def _faq_detail(entry: FaqEntry) -> dict[str, Any]:
    return {"question_en": entry.question_en, "published": entry.published, "position": entry.position}


def faq_create(*, actor: Actor, data: FaqData, slug: str = "") -> FaqEntry:
    """A new FAQ entry (unpublished unless `data.published`)."""
    _faq_validate(data)
    with transaction.atomic():
        entry = FaqEntry.objects.create(
            slug=slug or _unique_slug(data.question_en),
            question_en=data.question_en.strip(),
            question_zh=data.question_zh.strip(),
            answer_en=data.answer_en.strip(),
            answer_zh=data.answer_zh.strip(),
            keywords=data.keywords.strip(),
            position=data.position,
            published=data.published,
            updated_by=actor.label,
        )
        audit_record(
            actor=actor.label, action="faq.create", object_type="faq", object_id=entry.slug, detail=_faq_detail(entry)
        )
    return entry


def faq_update(*, actor: Actor, entry: FaqEntry, data: FaqData) -> FaqEntry:
    """Replace an entry's texts, keywords, position and published flag."""
    _faq_validate(data)
    with transaction.atomic():
        locked = FaqEntry.objects.select_for_update().get(pk=entry.pk)
        before = _faq_detail(locked)
        locked.question_en = data.question_en.strip()
        locked.question_zh = data.question_zh.strip()
        locked.answer_en = data.answer_en.strip()
        locked.answer_zh = data.answer_zh.strip()
        locked.keywords = data.keywords.strip()
        locked.position = data.position
        locked.published = data.published
        locked.updated_by = actor.label
        locked.save()
        audit_record(
            actor=actor.label,
            action="faq.update",
            object_type="faq",
            object_id=locked.slug,
            detail={"before": before, "after": _faq_detail(locked)},
        )
    return locked


def faq_set_published(*, actor: Actor, entry: FaqEntry, published: bool) -> FaqEntry:
    """Publish an entry (the assistant answers with it) or take it back."""
    with transaction.atomic():
        locked = FaqEntry.objects.select_for_update().get(pk=entry.pk)
        if locked.published != published:
            locked.published = published
            locked.updated_by = actor.label
            locked.save(update_fields=["published", "updated_by", "updated_at"])
            audit_record(
                actor=actor.label,
                action="faq.publish" if published else "faq.unpublish",
                object_type="faq",
                object_id=locked.slug,
            )
    return locked


def faq_delete(*, actor: Actor, entry: FaqEntry) -> None:
    with transaction.atomic():
        locked = FaqEntry.objects.select_for_update().filter(pk=entry.pk).first()
        if locked is None:
            return
        audit_record(
            actor=actor.label, action="faq.delete", object_type="faq", object_id=locked.slug, detail=_faq_detail(locked)
        )
        locked.delete()


def faq_seed_defaults(*, actor: Actor) -> int:
    """Create the shipped FAQ entries that do not exist yet (found by slug), published; idempotent.
    Runs inside the caller's transaction (seed_demo's). Returns how many were created."""
    from apps.support.faq_defaults import DEFAULT_FAQ

    created = 0
    with transaction.atomic():
        existing = set(FaqEntry.objects.filter(slug__in=[d.slug for d in DEFAULT_FAQ]).values_list("slug", flat=True))
        for position, default in enumerate(DEFAULT_FAQ, start=1):
            if default.slug in existing:
                continue
            faq_create(actor=actor, data=default.data(position * 10), slug=default.slug)
            created += 1
    return created


# --- tickets -----------------------------------------------------------------------------------


def _clean_transcript(transcript: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    """Only {"who", "text"} pairs of known speakers, the last TRANSCRIPT_MAX_TURNS, texts capped."""
    cleaned = []
    for turn in transcript or []:
        if not isinstance(turn, dict):
            continue
        who, text = turn.get("who"), turn.get("text")
        if who in ("customer", "assistant") and isinstance(text, str):
            cleaned.append({"who": who, "text": text[:TRANSCRIPT_TEXT_MAX]})
    return cleaned[-TRANSCRIPT_MAX_TURNS:]


def _check_portal_actor(actor: Actor, portal_user: PortalUser) -> None:
    if actor.customer_id is not None and actor.customer_id != portal_user.customer_id:
        raise PermissionDenied()


def ticket_create(
    *,
    actor: Actor,
    portal_user: PortalUser,
    kind: str,
    subject: str,
    message: str,
    transcript: list[dict[str, Any]] | None = None,
    language: str = "en",
) -> Ticket:
    """A ticket for the bank's staff from a portal user (feedback, or an assistant handover)."""
    _check_portal_actor(actor, portal_user)
    subject, message = " ".join(subject.split()), message.strip()
    errors: dict[str, list[Any]] = {}
    if kind not in TicketKind.values:
        errors["kind"] = [_("Unknown kind of ticket.")]
    if not subject:
        errors["subject"] = [_("This field is required.")]
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = [_("At most %(n)d characters.") % {"n": SUBJECT_MAX}]
    if not message:
        errors["message"] = [_("This field is required.")]
    elif len(message) > MESSAGE_MAX:
        errors["message"] = [_("At most %(n)d characters.") % {"n": MESSAGE_MAX}]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        ticket = Ticket.objects.create(
            kind=kind,
            customer_id=portal_user.customer_id,
            portal_user=portal_user,
            subject=subject,
            message=message,
            transcript=_clean_transcript(transcript),
            language="zh-hans" if language.lower().startswith("zh") else "en",
        )
        audit_record(
            actor=actor.label,
            action="ticket.create",
            object_type="ticket",
            object_id=str(ticket.public_id),
            detail={"kind": kind},
        )
    return ticket


def feedback_submit(
    *, actor: Actor, portal_user: PortalUser, subject: str, message: str, language: str = "en"
) -> Ticket:
    """A customer's feedback: a ticket of kind feedback."""
    return ticket_create(
        actor=actor,
        portal_user=portal_user,
        kind=TicketKind.FEEDBACK,
        subject=subject,
        message=message,
        language=language,
    )


def ticket_assign(*, actor: Actor, ticket: Ticket, user: User) -> Ticket:
    """Give a ticket to a staff member (who then sees it as theirs)."""
    if not user.is_staff:
        raise ValidationFailed({"assigned_to": [_("Only staff members handle tickets.")]})
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if locked.status == TicketStatus.CLOSED:
            raise ValidationFailed({}, _("This ticket is closed."))
        locked.assigned_to = user
        locked.save(update_fields=["assigned_to", "updated_at"])
        audit_record(
            actor=actor.label,
            action="ticket.assign",
            object_type="ticket",
            object_id=str(locked.public_id),
            detail={"assigned_to": user.get_username()},
        )
    return locked


def ticket_reply(*, actor: Actor, ticket: Ticket, user: User, reply: str) -> Ticket:
    """Staff answer a ticket: the customer sees the reply on their help page. A later reply
    replaces the earlier one (the audit trail keeps every reply). The replier is assigned when
    nobody was."""
    reply = reply.strip()
    if not reply:
        raise ValidationFailed({"reply": [_("Write a reply first.")]})
    if len(reply) > REPLY_MAX:
        raise ValidationFailed({"reply": [_("At most %(n)d characters.") % {"n": REPLY_MAX}]})
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if locked.status == TicketStatus.CLOSED:
            raise ValidationFailed({}, _("This ticket is closed."))
        locked.staff_reply = reply
        locked.replied_by = user.get_username()
        locked.replied_at = timezone.now()
        locked.status = TicketStatus.ANSWERED
        if locked.assigned_to_id is None:
            locked.assigned_to = user
        locked.save()
        audit_record(
            actor=actor.label,
            action="ticket.reply",
            object_type="ticket",
            object_id=str(locked.public_id),
            detail={"reply": reply},
        )
    return locked


def ticket_close(*, actor: Actor, ticket: Ticket) -> Ticket:
    """Close a ticket (nothing more to do); closing twice changes nothing."""
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if locked.status != TicketStatus.CLOSED:
            locked.status = TicketStatus.CLOSED
            locked.closed_at = timezone.now()
            locked.save(update_fields=["status", "closed_at", "updated_at"])
            audit_record(
                actor=actor.label, action="ticket.close", object_type="ticket", object_id=str(locked.public_id)
            )
    return locked
