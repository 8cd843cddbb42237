"""/staff/ routes: the login (password, then TOTP), logout, and the back office's pages.

One `path(...)` per line; each back-office area has its views in apps/staff/views_<topic>.py."""

from django.urls import path

from apps.staff import (
    views,
    views_accounts,  # back office: accounts
    views_alerts,  # back office: risk alerts
    views_approvals,  # back office: approvals queue
    views_audit,  # back office: audit log viewer
    views_cases,  # back office: compliance cases and transaction reports
    views_customers,  # back office: customers and onboarding
    views_dashboard,  # back office: dashboard and language
    views_integrations,  # back office: API clients and webhooks
    views_limits_rules,  # back office: risk rules and limits editors
    views_reports,  # back office: reports centre
    views_teller,  # back office: the counter
    views_watchlists,  # back office: watchlist uploads (maker-checked)
)

app_name = "staff"

urlpatterns = [
    path("", views_dashboard.dashboard, name="home"),
    path("login/", views.login_view, name="login"),
    path("otp/", views.otp_view, name="otp"),
    path("logout/", views.logout_view, name="logout"),
    path("logout-everywhere/", views.logout_everywhere_view, name="logout-everywhere"),
    path("language/", views_dashboard.language, name="language"),
    # customers
    path("customers/", views_customers.customer_list, name="customers"),
    path("customers/new/", views_customers.onboard, name="onboard"),
    path("customers/new/review/", views_customers.onboard_review, name="onboard-review"),
    path("customers/new/cancel/", views_customers.onboard_cancel, name="onboard-cancel"),
    path("customers/<uuid:customer_id>/", views_customers.customer_detail, name="customer"),
    path("customers/<uuid:customer_id>/reveal/", views_customers.customer_reveal, name="customer-reveal"),
    path("customers/<uuid:customer_id>/kyc/", views_customers.customer_kyc, name="customer-kyc"),
    path("customers/<uuid:customer_id>/open-account/", views_accounts.account_open_view, name="account-open"),
    # accounts
    path("accounts/", views_accounts.account_list, name="accounts"),
    path("accounts/<uuid:account_id>/", views_accounts.account_detail, name="account"),
    path("accounts/<uuid:account_id>/postings.csv", views_accounts.account_postings_csv, name="account-postings-csv"),
    path("accounts/<uuid:account_id>/freeze/", views_accounts.account_freeze_view, name="account-freeze"),
    path("accounts/<uuid:account_id>/unfreeze/", views_accounts.account_unfreeze_view, name="account-unfreeze"),
    path("accounts/<uuid:account_id>/reactivate/", views_accounts.account_reactivate_view, name="account-reactivate"),
    path("accounts/<uuid:account_id>/close/", views_accounts.account_close_view, name="account-close"),
    path("accounts/<uuid:account_id>/holds/", views_accounts.hold_create_view, name="hold-create"),
    path(
        "accounts/<uuid:account_id>/holds/<uuid:hold_id>/release/",
        views_accounts.hold_release_view,
        name="hold-release",
    ),
    # the counter
    path("teller/", views_teller.cash, name="teller"),
    path("teller/transfer/", views_teller.transfer, name="teller-transfer"),
    path("teller/receipts/<uuid:transaction_id>/", views_teller.receipt, name="receipt"),
    # approvals (maker-checker)
    path("approvals/", views_approvals.approval_list, name="approvals"),
    path("approvals/<uuid:approval_id>/", views_approvals.approval_detail, name="approval"),
    path("approvals/<uuid:approval_id>/decide/", views_approvals.approval_decide, name="approval-decide"),
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
