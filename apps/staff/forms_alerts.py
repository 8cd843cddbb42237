"""Forms of the risk alert queue."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from apps.risk.models import AlertStatus, RuleAction

ANY = [("", _("Any"))]


def workers_with(*perms: str) -> QuerySet[Any]:
    """Active staff users holding one of the permissions (through their role or directly)."""
    query = Q()
    for perm in perms:
        app, codename = perm.split(".", 1)
        query |= Q(groups__permissions__codename=codename, groups__permissions__content_type__app_label=app)
        query |= Q(user_permissions__codename=codename, user_permissions__content_type__app_label=app)
    users = get_user_model().objects.filter(is_active=True, is_staff=True)
    return users.filter(query | Q(is_superuser=True)).distinct().order_by("username")


class AlertFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=ANY + list(AlertStatus.choices))
    severity = forms.ChoiceField(
        label=_("Severity"),
        required=False,
        choices=[*ANY, (RuleAction.REVIEW, _("Review")), (RuleAction.BLOCK, _("Block"))],
    )
    assignee = forms.CharField(label=_("Assignee"), required=False, max_length=150)


class AlertAssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Assign to"), queryset=get_user_model().objects.none(), to_field_name="username",
        error_messages={"invalid_choice": _("Choose a risk officer from the list.")},
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = workers_with("risk.change_alert")  # type: ignore[attr-defined]


class AlertCommentForm(forms.Form):
    text = forms.CharField(label=_("Comment"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class AlertCloseForm(forms.Form):
    disposition = forms.ChoiceField(
        label=_("Disposition"),
        choices=[("true_positive", _("True positive")), ("false_positive", _("False positive"))],
    )
    note = forms.CharField(label=_("Note"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class AlertEscalateForm(forms.Form):
    note = forms.CharField(
        label=_("Why it goes to compliance"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )
