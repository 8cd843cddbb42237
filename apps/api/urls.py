"""/api/v1/ routes."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.api.views import accounts, approvals, customers, fx, holds, money, oauth, payments, reports, webhooks

app_name = "api"

urlpatterns = [
    path("oauth/token/", oauth.LockedTokenView.as_view(), name="token"),
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="schema"),
    path(
        "docs/",
        # The split view serves its start-up script as a file: the CSP allows no inline script.
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema",
            template_name="api/swagger_ui.html",
            authentication_classes=[],
            permission_classes=[],
        ),
        name="docs",
    ),
    path("customers/", customers.CustomerListView.as_view(), name="customers"),
    path("customers/<uuid:customer_id>/", customers.CustomerDetailView.as_view(), name="customer"),
    path("customers/<uuid:customer_id>/kyc/", customers.CustomerKycView.as_view(), name="customer-kyc"),
    path("accounts/", accounts.AccountListView.as_view(), name="accounts"),
    path("accounts/<uuid:account_id>/", accounts.AccountDetailView.as_view(), name="account"),
    path(
        "accounts/<uuid:account_id>/transactions/", accounts.AccountHistoryView.as_view(), name="account-transactions"
    ),
    path("accounts/<uuid:account_id>/balance/", accounts.AccountBalanceView.as_view(), name="account-balance"),
    path("accounts/<uuid:account_id>/freeze/", accounts.AccountFreezeView.as_view(), name="account-freeze"),
    path("accounts/<uuid:account_id>/unfreeze/", accounts.AccountUnfreezeView.as_view(), name="account-unfreeze"),
    path("accounts/<uuid:account_id>/close/", accounts.AccountCloseView.as_view(), name="account-close"),
    path("deposits/", money.DepositView.as_view(), name="deposits"),
    path("withdrawals/", money.WithdrawalView.as_view(), name="withdrawals"),
    path("transfers/", money.TransferView.as_view(), name="transfers"),
    path("fx/rates/", fx.FxRatesView.as_view(), name="fx-rates"),
    path("fx-transfers/", fx.FxTransferView.as_view(), name="fx-transfers"),
    path("transactions/<uuid:transaction_id>/", money.TransactionDetailView.as_view(), name="transaction"),
    path(
        "transactions/<uuid:transaction_id>/reverse/",
        money.TransactionReverseView.as_view(),
        name="transaction-reverse",
    ),
    path("holds/", holds.HoldListView.as_view(), name="holds"),
    path("holds/<uuid:hold_id>/", holds.HoldDetailView.as_view(), name="hold"),
    path("holds/<uuid:hold_id>/capture/", holds.HoldCaptureView.as_view(), name="hold-capture"),
    path("holds/<uuid:hold_id>/release/", holds.HoldReleaseView.as_view(), name="hold-release"),
    path("payments/", payments.PaymentListView.as_view(), name="payments"),
    path("payments/<uuid:payment_id>/", payments.PaymentDetailView.as_view(), name="payment"),
    path("gateway/callback/", payments.GatewayCallbackView.as_view(), name="gateway-callback"),
    path("webhooks/", webhooks.WebhookListView.as_view(), name="webhooks"),
    path("webhooks/<uuid:webhook_id>/", webhooks.WebhookDetailView.as_view(), name="webhook"),
    path("webhooks/<uuid:webhook_id>/deliveries/", webhooks.WebhookDeliveriesView.as_view(), name="webhook-deliveries"),
    path(
        "webhooks/deliveries/<uuid:delivery_id>/replay/",
        webhooks.DeliveryReplayView.as_view(),
        name="webhook-delivery-replay",
    ),
    path("approvals/<uuid:approval_id>/", approvals.ApprovalDetailView.as_view(), name="approval"),
    path("reports/", reports.ReportListView.as_view(), name="reports"),
    path("reports/<uuid:report_id>/", reports.ReportDetailView.as_view(), name="report"),
    path("reports/<uuid:report_id>/download/", reports.ReportDownloadView.as_view(), name="report-download"),
    path("approvals/<uuid:approval_id>/approve/", approvals.ApprovalApproveView.as_view(), name="approval-approve"),
    path("approvals/<uuid:approval_id>/reject/", approvals.ApprovalRejectView.as_view(), name="approval-reject"),
]
