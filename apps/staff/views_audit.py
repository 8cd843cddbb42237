"""The business audit log (apps.audit AuditEvent), paginated and filterable, with the state of
the tamper-evident chains: the last verification's answer, and (auditors) a "verify now" that
runs the same service as the admin's "Verify audit chains" page (`audit_verify`)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from apps.audit.models import AuditEvent
from apps.audit.services import audit_verify
from apps.common.admin import staff_actor
from apps.staff.forms_audit import AuditFilterForm
from apps.staff.queues_kit import may, paginate, require_any

VIEW, VERIFY = "audit.view_auditevent", "audit.verify_audit"


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@never_cache
@require_any(VIEW, post=(VERIFY,))
@require_http_methods(["GET", "POST"])
def audit_log(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        result = audit_verify(actor=staff_actor(request).label)
        if result.ok:
            messages.success(request, _("The audit chains verify: %(summary)s.") % {"summary": result.summary()})
        else:
            messages.error(
                request, _("The audit chains do NOT verify: %(problem)s") % {"problem": result.first_problem}
            )
        return redirect("staff:audit")
    filters = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.order_by("-id")
    if filters.is_valid():
        data = filters.cleaned_data
        if data["actor"]:
            events = events.filter(actor__icontains=data["actor"].strip())
        if data["kind"]:
            events = events.filter(action__startswith=data["kind"].strip())
        if data["object_id"]:
            events = events.filter(object_id=data["object_id"].strip())
        if data["since"]:
            events = events.filter(created_at__gte=_day_start(data["since"]))
        if data["until"]:
            events = events.filter(created_at__lt=_day_start(data["until"] + dt.timedelta(days=1)))
    page, query = paginate(request, events, per_page=50)
    last = AuditEvent.objects.filter(action="audit.verify").order_by("-id").first()
    return render(
        request,
        "staff/audit/log.html",
        {"filters": filters, "page": page, "query": query, "last_verify": last, "can_verify": may(request, VERIFY)},
    )
