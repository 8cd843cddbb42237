"""What every finsys admin page shares, and the idempotency records (read-only).

The admin is a window on the data, not a way around the services: every finsys model is
read-only here (no add, change form or delete), and the admin actions that change state call
a service as the staff user who clicked, so the same rules, locks and audit events apply.
An action is offered to users holding the model permission it names (`change_<model>` as a
rule), checked by `has_<name>_permission`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from apps.common.errors import DomainError, ValidationFailed
from apps.common.models import IdempotencyRecord
from apps.common.principals import Actor, Channel


def staff_actor(request: HttpRequest) -> Actor:
    """The staff user behind an admin request, as services record it."""
    return Actor(label=f"user:{request.user.get_username()}", channel=Channel.BRANCH)


def refusal_text(error: DomainError) -> str:
    if isinstance(error, ValidationFailed):
        details = "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in error.errors.items())
        return f"{error.message} ({details})" if details else str(error.message)
    return str(error.message)


def run_each(
    modeladmin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    objects: Iterable[Model],
    action: Callable[[Any], object],
    *,
    label: Any,
) -> int:
    """Call `action` (a service call) on each object; report what was done and what was refused."""
    done = 0
    total = 0
    for obj in objects:
        total += 1
        try:
            with transaction.atomic():  # a savepoint: one refusal does not doom the others
                action(obj)
        except DomainError as refusal:
            modeladmin.message_user(request, f"{obj}: {refusal_text(refusal)}", messages.ERROR)
        else:
            done += 1
    if done:
        modeladmin.message_user(
            request,
            _("%(action)s: %(done)d of %(total)d done.") % {"action": label, "done": done, "total": total},
            messages.SUCCESS,
        )
    return done


class ReadOnlyModelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows change only through services: list, search, filter and view; no add, edit or delete."""

    show_full_result_count = False  # no second COUNT(*) on big tables

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """Every shown field is read-only (also non-editable ones, which a form cannot hold)."""
        return [*(self.fields or ()), *super().get_readonly_fields(request, obj)]

    def _get_obj_does_not_exist_redirect(self, request: HttpRequest, opts: Any, object_id: str) -> HttpResponse:
        """A row the user may not see (another relationship manager's customer) answers 404, as one
        that does not exist - not Django's redirect that names the id."""
        raise Http404

    def user_may(self, request: HttpRequest, permission: str) -> bool:
        """Whether the user holds `app_label.<permission>` (e.g. `change_account`) on this model's app."""
        return bool(request.user.has_perm(f"{self.opts.app_label}.{permission}"))

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Any], search_term: str) -> Any:
        """A UUID typed into the search box also finds the row with that public id."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term.strip() and hasattr(self.model, "public_id"):
            try:
                public_id = uuid.UUID(search_term.strip())
            except ValueError:
                pass
            else:
                results = results | queryset.filter(public_id=public_id)
        return results, may_have_duplicates


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """Every shown field is read-only (also non-editable ones, which a form cannot hold)."""
        return [*(self.fields or ()), *super().get_readonly_fields(request, obj)]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "principal", "key", "status_code"]
    list_filter = ["status_code"]
    search_fields = ["principal", "key"]
    date_hierarchy = "created_at"
    fields = ["principal", "key", "fingerprint", "status_code", "response", "created_at"]
