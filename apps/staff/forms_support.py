"""Forms of the back office's support pages: the FAQ editor and a ticket reply."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.support.models import MESSAGE_MAX, QUESTION_MAX, REPLY_MAX


class FaqForm(forms.Form):
    question_en = forms.CharField(label=_("Question (English)"), max_length=QUESTION_MAX)
    question_zh = forms.CharField(label=_("Question (Chinese)"), max_length=QUESTION_MAX)
    answer_en = forms.CharField(
        label=_("Answer (English)"), max_length=MESSAGE_MAX, widget=forms.Textarea(attrs={"rows": 5})
    )
    answer_zh = forms.CharField(
        label=_("Answer (Chinese)"), max_length=MESSAGE_MAX, widget=forms.Textarea(attrs={"rows": 5})
    )
    keywords = forms.CharField(
        label=_("Keywords and aliases"),
        required=False,
        max_length=2000,
        help_text=_("Comma-separated, in either language. Pinyin and initials are matched without listing them."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=100_000, initial=100)
    published = forms.BooleanField(label=_("Published (the assistant answers with it)"), required=False)


class ReplyForm(forms.Form):
    reply = forms.CharField(
        label=_("Your reply to the customer"), max_length=REPLY_MAX, widget=forms.Textarea(attrs={"rows": 5})
    )
