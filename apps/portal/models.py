"""What the portal keeps besides Django's users, django-otp's devices and the customer records:
the session epoch behind "log out everywhere", and pending contact-detail changes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.fields import EncryptedTextField
from apps.common.models import TimestampedModel


class PortalSessionEpoch(models.Model):
    """A counter per portal login: "log out everywhere" raises it, and every portal session
    started under a lower value ends at its next request (apps/portal/auth.py)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True)
    epoch = models.PositiveIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("portal session epoch")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.epoch}"


class ContactField(models.TextChoices):
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Mobile phone")


class ContactChange(TimestampedModel):
    """A change of e-mail or phone that waits for the code sent to the new address or number.

    Only the code's keyed hash is kept; the new value is encrypted like every contact detail.
    A change applies once, within its lifetime, after at most a few wrong codes."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_contact_changes")
    field = models.CharField(max_length=5, choices=ContactField.choices)
    new_value = EncryptedTextField()
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("contact change")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.field} change of {self.user_id}"
