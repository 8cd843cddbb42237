"""/portal/ routes: the customer web portal."""

from django.urls import URLPattern, URLResolver, path

from apps.portal import views, views_auth, views_beneficiaries, views_payments

app_name = "portal"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.overview, name="overview"),
    # logging in and out
    path("login/", views_auth.login_view, name="login"),
    path("otp/", views_auth.otp_view, name="otp"),
    path("logout/", views_auth.logout_view, name="logout"),
    path("logout-everywhere/", views_auth.logout_everywhere_view, name="logout-everywhere"),
    path("language/", views_auth.language_view, name="language"),
    path("password-reset/", views_auth.password_reset_view, name="password-reset"),
    path("password-reset/sent/", views_auth.password_reset_done_view, name="password-reset-done"),
    path("reset/<uidb64>/<token>/", views_auth.password_reset_confirm_view, name="password-reset-confirm"),
    path("reset/done/", views_auth.password_reset_complete_view, name="password-reset-complete"),
    path("security/", views_auth.security_view, name="security"),
    path("security/totp/on/", views_auth.totp_enable_view, name="totp-enable"),
    path("security/totp/off/", views_auth.totp_disable_view, name="totp-disable"),
    # accounts
    path("accounts/<uuid:account_id>/", views.account_history_view, name="account"),
    path("accounts/<uuid:account_id>/history.csv", views.account_history_csv, name="account-csv"),
    path("accounts/<uuid:account_id>/statement/", views.account_statement, name="account-statement"),
    path("statements/<uuid:report_id>/", views.statement_view, name="statement"),
    path("statements/<uuid:report_id>/download/", views.statement_download, name="statement-download"),
    # messages and the customer's own data
    path("notifications/", views.notifications, name="notifications"),
    path("profile/", views.profile, name="profile"),
    path("profile/contact/", views.profile_contact, name="profile-contact"),
    path("profile/contact/confirm/", views.profile_contact_confirm, name="profile-contact-confirm"),
    # moving money (apps/portal/views_payments.py, views_beneficiaries.py)
    path("transfers/new/", views_payments.transfer_new, name="transfer-new"),
    path("transfers/<uuid:transaction_id>/", views_payments.transfer_detail, name="transfer"),
    path("payments/", views_payments.payment_list, name="payments"),
    path("payments/new/", views_payments.payment_new, name="payment-new"),
    path("payments/<uuid:payment_id>/", views_payments.payment_detail, name="payment"),
    path("confirm/<slug:confirmation>/", views_payments.confirm, name="confirm"),
    path("approvals/<uuid:instruction_id>/", views_payments.instruction_detail, name="instruction"),
    path("beneficiaries/", views_beneficiaries.beneficiary_list, name="beneficiaries"),
    path(
        "beneficiaries/<uuid:beneficiary_id>/delete/", views_beneficiaries.beneficiary_remove, name="beneficiary-delete"
    ),
]

# Help: the assistant, feedback, the customer's messages (apps/portal/views_support.py).
from apps.portal import views_support  # noqa: E402

urlpatterns += [
    path("help/", views_support.help_page, name="help"),
    path("help/feedback/", views_support.feedback, name="help-feedback"),
    path("help/messages/<uuid:ticket_id>/", views_support.ticket_view, name="help-ticket"),
]
