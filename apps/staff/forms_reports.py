"""The report request form of the reports centre."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.reports.models import ReportFormat, ReportKind


class ReportRequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("Report"), choices=ReportKind.choices)
    format = forms.ChoiceField(label=_("Format"), choices=ReportFormat.choices)
    account = forms.CharField(label=_("Account number"), required=False, max_length=34, help_text=_("Statements only."))
    start_date = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class ReportFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Report"), required=False, choices=[("", _("Any")), *ReportKind.choices])
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any")), ("queued", _("Queued")), ("running", _("Running")), ("done", _("Done")),
                 ("failed", _("Failed")), ("expired", _("Expired"))],
    )  # fmt: skip
    mine = forms.BooleanField(label=_("Only mine"), required=False)
