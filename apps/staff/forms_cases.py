"""Forms of the compliance cases and transaction reports pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.compliance.models import CaseDisposition, CaseKind, CaseStatus
from apps.staff.forms_alerts import ANY, workers_with


class CaseFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=ANY + list(CaseStatus.choices))
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=ANY + list(CaseKind.choices))
    assignee = forms.ChoiceField(
        label=_("Assignee"),
        required=False,
        choices=[*ANY, ("me", _("Me")), ("none", _("Nobody"))],
    )
    subject = forms.CharField(label=_("Subject or summary"), required=False, max_length=100)


class CaseAssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Assign to"), queryset=get_user_model().objects.none(), to_field_name="username",
        error_messages={"invalid_choice": _("Choose a compliance officer from the list.")},
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = workers_with("compliance.change_case")  # type: ignore[attr-defined]


class CaseNoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


class CaseAttachForm(forms.Form):
    attachment = forms.FileField(label=_("Document"))
    description = forms.CharField(label=_("Description"), max_length=500, required=False)

    def clean_attachment(self) -> Any:
        upload = self.cleaned_data["attachment"]
        limit = settings.FINSYS_CASE_ATTACHMENT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(_("The file is larger than %(n)d bytes.") % {"n": limit})
        return upload


class CaseEscalateForm(forms.Form):
    reason = forms.CharField(label=_("Why it is escalated"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class CaseCloseForm(forms.Form):
    disposition = forms.ChoiceField(label=_("Disposition"), choices=[("", "—"), *CaseDisposition.choices])
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReportRecordFilterForm(forms.Form):
    business_date = forms.DateField(
        label=_("Business day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    jurisdiction = forms.CharField(label=_("Jurisdiction"), required=False, max_length=20)
    report_kind = forms.ChoiceField(
        label=_("Report kind"),
        required=False,
        choices=[
            *ANY,
            (CaseKind.LARGE_VALUE, CaseKind.LARGE_VALUE.label),
            (CaseKind.SUSPICIOUS, CaseKind.SUSPICIOUS.label),
        ],
    )


class ReportExportForm(forms.Form):
    business_date = forms.DateField(label=_("Business day"), widget=forms.DateInput(attrs={"type": "date"}))
    format = forms.ChoiceField(label=_("Format"), choices=[("csv", "CSV"), ("xml", "XML")])

    def clean_business_date(self) -> dt.date:
        day: dt.date = self.cleaned_data["business_date"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("Choose a day that has passed."))
        return day
