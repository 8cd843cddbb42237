"""Customer support: the FAQ staff maintain (bilingual, with aliases the help assistant matches)
and tickets: feedback a customer sends, or a conversation the assistant handed over to a person."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.models import PublicIdModel, TimestampedModel

QUESTION_MAX = 300
MESSAGE_MAX = 4000
REPLY_MAX = 4000


class FaqEntry(TimestampedModel):
    """One question and its answer, in Chinese and English. `keywords` are aliases (one per line or
    comma-separated, in either language) the assistant matches besides the questions; only
    published entries are answered. `slug` is a stable key (the demo seed finds its entries by it)."""

    slug = models.SlugField(max_length=60, unique=True)
    question_en = models.CharField(_("question (English)"), max_length=QUESTION_MAX)
    question_zh = models.CharField(_("question (Chinese)"), max_length=QUESTION_MAX)
    answer_en = models.TextField(_("answer (English)"), max_length=MESSAGE_MAX)
    answer_zh = models.TextField(_("answer (Chinese)"), max_length=MESSAGE_MAX)
    keywords = models.TextField(_("keywords and aliases"), blank=True, max_length=2000)
    published = models.BooleanField(_("published"), default=False)
    position = models.PositiveIntegerField(_("position"), default=100)
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("FAQ entry")
        verbose_name_plural = _("FAQ entries")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.question_en

    def question(self, language: str) -> str:
        return self.question_zh if language.lower().startswith("zh") else self.question_en

    def answer(self, language: str) -> str:
        return self.answer_zh if language.lower().startswith("zh") else self.answer_en

    def keyword_list(self) -> list[str]:
        """The aliases, split on new lines, commas (ASCII and Chinese), semicolons and 、."""
        parts = self.keywords.replace("，", ",").replace("、", ",").replace(";", ",").replace("；", ",")
        return [word.strip() for line in parts.splitlines() for word in line.split(",") if word.strip()]


class TicketKind(models.TextChoices):
    FEEDBACK = "feedback", _("Feedback")
    HANDOVER = "handover", _("Help assistant handover")


class TicketStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


class Ticket(PublicIdModel, TimestampedModel):
    """A customer's message for a person at the bank. `transcript` holds the assistant
    conversation that led to a handover: a list of {"who": "customer"|"assistant", "text": ...}."""

    kind = models.CharField(_("kind"), max_length=10, choices=TicketKind.choices)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="support_tickets")
    portal_user = models.ForeignKey(
        "customers.PortalUser", null=True, blank=True, on_delete=models.SET_NULL, related_name="support_tickets"
    )
    subject = models.CharField(_("subject"), max_length=200)
    message = models.TextField(_("message"), max_length=MESSAGE_MAX)
    transcript = models.JSONField(default=list, blank=True)
    language = models.CharField(max_length=10, default="en")
    status = models.CharField(
        _("status"), max_length=10, choices=TicketStatus.choices, default=TicketStatus.OPEN, db_index=True
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="support_tickets",
        verbose_name=_("assigned to"),
    )
    staff_reply = models.TextField(_("reply"), blank=True, max_length=REPLY_MAX)
    replied_by = models.CharField(max_length=150, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("support ticket")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject} ({self.status})"
