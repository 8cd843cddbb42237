"""The watchlist upload form (the file is checked again by the service before it is stored)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.compliance.models import WatchlistFormat

MAX_BYTES = 64 * 1024 * 1024  # the full OFAC SDN list is about 5 MB, the UN list about 2 MB


def _checked(upload: Any) -> Any:
    if upload is not None and upload.size > MAX_BYTES:
        raise forms.ValidationError(_("The file is larger than %(mb)d MB.") % {"mb": MAX_BYTES // (1024 * 1024)})
    if upload is not None and upload.size == 0:
        raise forms.ValidationError(_("The file is empty."))
    return upload


class WatchlistUploadForm(forms.Form):
    name = forms.CharField(
        label=_("List name"),
        max_length=40,
        help_text=_("An existing list's name updates it; a new name creates a list."),
    )
    source_format = forms.ChoiceField(label=_("Format"), choices=[("", "—"), *WatchlistFormat.choices])
    list_file = forms.FileField(label=_("List file"))
    alt = forms.FileField(label=_("OFAC alias file (alt.csv)"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)

    def clean_list_file(self) -> Any:
        return _checked(self.cleaned_data.get("list_file"))

    def clean_alt(self) -> Any:
        return _checked(self.cleaned_data.get("alt"))
