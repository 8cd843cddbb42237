"""What the staff login keeps besides Django's users and django-otp's devices."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class StaffSessionEpoch(models.Model):
    """A counter per user: "log out everywhere" raises it, and every session that was started
    under a lower value ends at its next request (apps/staff/middleware.py)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True)
    epoch = models.PositiveIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("staff session epoch")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.epoch}"
