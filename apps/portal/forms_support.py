"""Forms of the portal's help page: a question for the assistant, and feedback for the staff."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.support.assistant import QUESTION_MAX
from apps.support.models import MESSAGE_MAX


class AskForm(forms.Form):
    question = forms.CharField(
        label=_("Your question"),
        max_length=QUESTION_MAX,
        widget=forms.TextInput(attrs={"autocomplete": "off", "enterkeyhint": "send"}),
    )


class FeedbackForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    message = forms.CharField(label=_("Message"), max_length=MESSAGE_MAX, widget=forms.Textarea(attrs={"rows": 5}))
    once = forms.CharField(widget=forms.HiddenInput, required=False)
