"""/staff/ routes: login (password, then TOTP), logout, log out everywhere, the home page."""

from django.urls import path

from apps.staff import (
    views,
    views_alerts,  # back office: risk alerts
    views_audit,  # back office: audit log viewer
    views_cases,  # back office: compliance cases and transaction reports
    views_integrations,  # back office: API clients and webhooks
    views_limits_rules,  # back office: risk rules and limits editors
    views_reports,  # back office: reports centre
    views_watchlists,  # back office: watchlist uploads (maker-checked)
)

app_name = "staff"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("otp/", views.otp_view, name="otp"),
    path("logout/", views.logout_view, name="logout"),
    path("logout-everywhere/", views.logout_everywhere_view, name="logout-everywhere"),
    path("alerts/", views_alerts.alerts_list, name="alerts"),
    path("alerts/<uuid:alert_id>/", views_alerts.alert_detail, name="alert-detail"),
    path("cases/", views_cases.cases_list, name="cases"),
    path("cases/<uuid:case_id>/", views_cases.case_detail, name="case-detail"),
    path("transaction-reports/", views_cases.transaction_reports, name="transaction-reports"),
    path("transaction-reports/export/", views_cases.transaction_reports_export, name="transaction-reports-export"),
    path("watchlists/", views_watchlists.watchlists, name="watchlists"),
    path(
        "watchlists/uploads/<uuid:approval_id>/decide/",
        views_watchlists.watchlist_upload_decide,
        name="watchlist-upload-decide",
    ),
    path("reports/", views_reports.reports_centre, name="reports"),
    path("reports/<uuid:report_id>/progress/", views_reports.report_progress, name="report-progress"),
    path("reports/<uuid:report_id>/download/", views_reports.report_file, name="report-file"),
    path("audit/", views_audit.audit_log, name="audit"),
    path("risk/rules/", views_limits_rules.rules, name="rules"),
    path("risk/limits/", views_limits_rules.limits, name="limits"),
    path("risk/changes/<uuid:approval_id>/decide/", views_limits_rules.risk_change_decide, name="risk-change-decide"),
    path("integrations/api-clients/", views_integrations.api_clients, name="api-clients"),
    path("integrations/api-clients/action/", views_integrations.api_client_action, name="api-client-action"),
    path("integrations/webhooks/", views_integrations.webhooks, name="webhooks"),
    path("integrations/webhooks/<uuid:webhook_id>/", views_integrations.webhook_detail, name="webhook-detail"),
]

# Customer support: the tickets inbox and the FAQ editor (apps/staff/views_support.py).
from apps.staff import views_support  # noqa: E402

urlpatterns += [
    path("support/tickets/", views_support.tickets, name="support-tickets"),
    path("support/tickets/<uuid:ticket_id>/", views_support.ticket, name="support-ticket"),
    path("support/faq/", views_support.faq, name="support-faq"),
    path("support/faq/new/", views_support.faq_new, name="support-faq-new"),
    path("support/faq/<int:faq_id>/", views_support.faq_edit, name="support-faq-edit"),
]
