"""Refusals of the reports app (problem+json codes in apps.common.errors.ErrorCode)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from apps.common.errors import DomainError, ErrorCode


class ReportNotReady(DomainError):
    code = ErrorCode.REPORT_NOT_READY
    status = 409
    title = _("The report has not been generated yet")


class ReportExpired(DomainError):
    code = ErrorCode.REPORT_EXPIRED
    status = 410
    title = _("The report has expired and its file was deleted")
