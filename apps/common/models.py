"""Shared base models and the idempotency record."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class PublicIdModel(models.Model):
    """Integer primary key inside, a UUID outside: ids cannot be guessed or enumerated."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        abstract = True


class AppendOnlyQuerySet(models.QuerySet):  # type: ignore[type-arg]
    def update(self, **kwargs: Any) -> int:
        raise PermissionError(f"{self.model.__name__} rows are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError(f"{self.model.__name__} rows are append-only")


class AppendOnlyModel(models.Model):
    """Rows that are inserted once and never updated or deleted (also enforced by triggers)."""

    objects: ClassVar[Any] = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(f"{type(self).__name__} rows are append-only")


class IdempotencyRecord(models.Model):
    """The first response to a request with an Idempotency-Key, for replay (API.md)."""

    principal = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="idempotency_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.principal} {self.key}"


class ControlKind(models.TextChoices):
    PAYMENTS_STOPPED = "payments_stopped", _("All outgoing payments stopped")
    READ_ONLY = "read_only", _("Whole bank read-only")
    CUSTOMER_FROZEN = "customer_frozen", _("Customer frozen everywhere")


class EmergencyControl(TimestampedModel):
    """A kill switch. Active rows are enforced by apps.common.controls; switching one on takes
    effect at once, switching it off needs a second person (apps.compliance)."""

    kind = models.CharField(max_length=20, choices=ControlKind.choices)
    # Only for customer_frozen. A reference by name: common imports no app.
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="emergency_controls"
    )
    active = models.BooleanField(default=True, db_index=True)
    reason = models.CharField(max_length=255)
    activated_by = models.CharField(max_length=150)
    activated_at = models.DateTimeField()
    deactivated_by = models.CharField(max_length=150, blank=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivation_reason = models.CharField(max_length=255, blank=True)
    # What switching it on did (the accounts a customer freeze froze), so lifting undoes only that.
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("emergency control")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="customer_frozen") & models.Q(customer__isnull=False))
                | (~models.Q(kind="customer_frozen") & models.Q(customer__isnull=True)),
                name="emergency_control_customer_iff_customer_frozen",
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(active=True, customer__isnull=True),
                name="emergency_control_one_active_bank_wide",
            ),
            models.UniqueConstraint(
                fields=["kind", "customer"],
                condition=models.Q(active=True, customer__isnull=False),
                name="emergency_control_one_active_per_customer",
            ),
        ]

    def __str__(self) -> str:
        state = "active" if self.active else "lifted"
        target = f" customer {self.customer_id}" if self.customer_id else ""
        return f"{self.get_kind_display()}{target} ({state})"
