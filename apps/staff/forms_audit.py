"""Filters of the audit log viewer."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("Actor"), required=False, max_length=150, help_text=_("e.g. user:alice"))
    kind = forms.CharField(
        label=_("Kind"), required=False, max_length=80, help_text=_("e.g. case. or risk.alert_close")
    )
    object_id = forms.CharField(label=_("Object"), required=False, max_length=80)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("The period starts after it ends."))
        return data
