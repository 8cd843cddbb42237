"""Who may reach each URL of finsys: the policy table that tests/test_permission_matrix.py
checks against every URL pattern the resolver serves, for anonymous visitors, every staff role
and (on the API) a bank client and a customer-bound client.

A new URL without a policy fails that test. Adding one is one line in URL_POLICIES, keyed by the
URL's name (`namespace:name`) or, for an unnamed pattern, its full route:

    "staff:customer-detail": staff("customers.view_customer", "customers.view_assigned_customer"),

Admin pages of registered models need no line: `admin_model_policy` derives them from the model's
permissions (what the role groups hold, apps/common/roles.py); a line here overrides that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import admin

from apps.common.admin import ReadOnlyModelAdmin


@dataclass(frozen=True)
class Policy:
    """`public`: anyone. `staff`: a logged-in staff user holding any one of `perms` (any staff
    user when empty); anonymous visitors are sent to the login page, others get `denied`.
    `nobody`: staff pages that refuse every role. `to_login`: sends everybody to the staff login.
    `signed`: authenticated by a signature no principal here holds (the gateway's callbacks). `api`: bearer tokens only (the route's scopes are
    checked by apps/api/tests/test_scopes_and_scoping.py); `bank_only` methods answer 403 to
    customer-bound clients whatever their scopes.
    `portal`: a customer's portal page (apps/portal/auth.py `portal_login_required`): anonymous
    visitors are sent to the portal login, staff get 403, the portal principals are allowed -
    except that a URL carrying an object id (the individual customer's account, report...)
    answers 404 to the corporate portal user, whose customer it is not.
    `portal_step`: a step of the portal login (the TOTP code): portal principals past it are
    allowed (sent on), everybody else is sent to the portal login."""

    kind: str
    perms: tuple[str, ...] = ()
    bank_only: tuple[str, ...] = ()
    denied: int = 403
    body: dict[str, Any] | None = None  # a request body that passes validation, when {} does not


PUBLIC = Policy("public")
NOBODY = Policy("nobody")
TO_LOGIN = Policy("to_login")
SIGNED = Policy(
    "signed"
)  # HMAC-signed by the payment gateway: 401 to everybody without the signature  # sends everybody to the staff login (the admin's own login pages)


PORTAL = Policy("portal")
PORTAL_STEP = Policy("portal_step")


def staff(*perms: str, denied: int = 403) -> Policy:
    return Policy("staff", perms=perms, denied=denied)


def api(*, bank_only: tuple[str, ...] = (), body: dict[str, Any] | None = None) -> Policy:
    return Policy("api", bank_only=bank_only, body=body)


_RM_TOO = "customers.view_assigned_customer"  # a relationship manager sees their own customers

URL_POLICIES: dict[str, Policy] = {
    # health probes; /metrics answers a bearer METRICS_TOKEN or direct connections from
    # METRICS_ALLOWED_CIDRS (loopback, as the test client is), tested in apps/ops/tests
    "healthz": PUBLIC,
    "readyz": PUBLIC,
    "metrics": PUBLIC,
    # the staff login: its steps are reachable before both factors, the rest needs both
    "staff:login": PUBLIC,
    "staff:otp": staff(),  # needs the password step first
    "staff:logout": PUBLIC,
    "staff:home": staff(),
    "staff:logout-everywhere": staff(),
    # the back office (apps/staff/views_*.py): the dashboard shows each role the tiles it may see
    "staff:language": staff(),  # POST only: a GET answers 405
    "staff:customers": staff("customers.view_customer", _RM_TOO),
    "staff:onboard": staff("customers.add_customer"),
    "staff:onboard-review": staff("customers.add_customer"),  # GET without step 1 sends back to it
    "staff:onboard-cancel": staff("customers.add_customer"),  # POST only
    "staff:customer": staff("customers.view_customer", _RM_TOO),  # an unassigned customer: 404 to an RM
    "staff:customer-reveal": staff("customers.view_pii"),  # POST only, audited
    "staff:customer-kyc": staff("customers.change_customer"),  # POST only
    "staff:account-open": staff("accounts.add_account"),
    "staff:accounts": staff("accounts.view_account", _RM_TOO),
    "staff:account": staff("accounts.view_account", _RM_TOO),
    "staff:account-postings-csv": staff("accounts.view_account", _RM_TOO),  # audited export
    "staff:account-freeze": staff("accounts.change_account"),  # POST only
    "staff:account-unfreeze": staff("accounts.change_account"),  # POST only: asks for an approval
    "staff:account-reactivate": staff("accounts.change_account"),  # POST only: asks for an approval
    "staff:account-close": staff("accounts.change_account"),  # POST only
    "staff:hold-create": staff("accounts.change_hold"),  # POST only
    "staff:hold-release": staff("accounts.change_hold"),  # POST only
    "staff:teller": staff("transactions.post_cash"),
    "staff:teller-transfer": staff("transactions.post_transfer"),
    "staff:receipt": staff("transactions.post_cash", "transactions.post_transfer", "transactions.view_journalentry"),
    "staff:approvals": staff("compliance.view_approval"),
    "staff:approval": staff("compliance.view_approval"),
    "staff:approval-decide": staff("compliance.change_approval"),  # POST only
    # back office: risk and compliance queues, reports, audit, rules and limits, integrations (bo-queues)
    "staff:alerts": staff("risk.view_alert"),
    "staff:alert-detail": staff("risk.view_alert"),
    "staff:cases": staff("compliance.view_case"),
    "staff:case-detail": staff("compliance.view_case"),
    "staff:transaction-reports": staff("compliance.view_reportrecord"),
    "staff:transaction-reports-export": staff("compliance.view_reportrecord"),
    "staff:watchlists": staff("compliance.view_watchlist"),
    "staff:watchlist-upload-decide": staff("compliance.change_watchlist"),  # POST only
    "staff:reports": staff("reports.view_reportjob"),
    "staff:report-progress": staff("reports.view_reportjob"),
    "staff:report-file": staff("reports.download_report"),
    "staff:audit": staff("audit.view_auditevent"),
    "staff:rules": staff("risk.view_rule"),
    "staff:limits": staff("risk.view_limitrule"),
    "staff:risk-change-decide": staff("risk.change_rule", "risk.change_limitrule"),  # POST only
    "staff:api-clients": staff("api.view_apiclient"),
    "staff:api-client-action": staff("api.change_apiclient"),  # POST only
    "staff:webhooks": staff("api.view_apiclient"),
    "staff:webhook-detail": staff("api.view_apiclient"),
    # customers land on the portal
    "root": PUBLIC,
    # the customer portal (apps/portal): its login steps are public, the rest is the customer's
    "portal:login": PUBLIC,
    "portal:otp": PORTAL_STEP,
    "portal:logout": PUBLIC,
    "portal:language": PUBLIC,  # POST only: sets the language cookie
    "portal:password-reset": PUBLIC,
    "portal:password-reset-done": PUBLIC,
    "portal:password-reset-confirm": PUBLIC,  # a wrong link shows "this link does not work"
    "portal:password-reset-complete": PUBLIC,
    "portal:logout-everywhere": PORTAL,
    "portal:security": PORTAL,
    "portal:totp-enable": PORTAL,
    "portal:totp-disable": PORTAL,
    "portal:overview": PORTAL,
    # help: the assistant, feedback, the login's own messages (apps/portal/views_support.py)
    "portal:help": PORTAL,
    "portal:help-feedback": PORTAL,
    "portal:help-ticket": PORTAL,
    "portal:account": PORTAL,
    "portal:account-csv": PORTAL,
    "portal:account-statement": PORTAL,
    "portal:statement": PORTAL,
    "portal:statement-download": PORTAL,
    "portal:notifications": PORTAL,
    "portal:profile": PORTAL,
    "portal:profile-contact": PORTAL,
    "portal:profile-contact-confirm": PORTAL,
    # moving money in the portal (apps/portal/views_payments.py, views_beneficiaries.py)
    "portal:transfer-new": PORTAL,
    "portal:transfer": PORTAL,
    "portal:payments": PORTAL,
    "portal:payment-new": PORTAL,
    "portal:payment": PORTAL,
    "portal:confirm": PORTAL,  # a confirmation token of another session answers 404
    "portal:instruction": PORTAL,
    "portal:beneficiaries": PORTAL,
    "portal:beneficiary-delete": PORTAL,
    # REST API
    "api:token": PUBLIC,
    "api:schema": PUBLIC,
    "api:docs": PUBLIC,
    "api:customers": api(
        bank_only=("POST",),
        body={"kind": "corporate", "full_name": "Matrix Co", "national_id": "UEN999999X", "country": "SG"},
    ),
    "api:customer": api(),
    "api:customer-kyc": api(bank_only=("POST",), body={"decision": "verified"}),
    "api:accounts": api(),
    "api:account": api(),
    "api:account-transactions": api(),
    "api:account-balance": api(),
    "api:account-freeze": api(),
    "api:account-unfreeze": api(),
    "api:account-close": api(),
    "api:deposits": api(),
    "api:withdrawals": api(),
    "api:transfers": api(),
    "api:fx-rates": api(bank_only=("POST",), body={"base": "USD", "quote": "CNY", "mid": "7.1"}),
    "api:fx-transfers": api(),
    "api:transaction": api(),
    "api:transaction-reverse": api(bank_only=("POST",)),
    "api:holds": api(),
    "api:hold": api(),
    "api:hold-capture": api(),
    "api:hold-release": api(),
    "api:payments": api(),
    "api:payment": api(),
    "api:gateway-callback": SIGNED,
    "api:webhooks": api(body={"url": "https://example.com/hook", "event_kinds": []}),
    "api:webhook": api(),
    "api:webhook-deliveries": api(),
    "api:webhook-delivery-replay": api(),
    "api:approval": api(),
    "api:reports": api(),  # management kinds answer 403 to customer-bound clients (apps/reports/tests)
    "api:report": api(),
    "api:report-download": api(),
    "admin:reports_reportjob_download": staff("reports.download_report"),
    "api:approval-approve": api(),
    "api:approval-reject": api(),
    # the admin site itself
    "admin:index": staff(),
    "admin:login": TO_LOGIN,  # the admin logs in through /staff/login/ (password, then TOTP)
    "admin:logout": staff(),
    "admin:password_change": staff(),
    "admin:password_change_done": staff(),
    "admin:jsi18n": staff(),
    "admin:view_on_site": staff(),
    "admin:autocomplete": NOBODY,  # no autocomplete fields are configured: refused to all
    "admin:app_list": staff("api.view_apiclient", "api.change_apiclient", denied=404),  # filled with app "api"
    "admin/(?P<url>.*)$": staff(),  # the admin's catch-all: 404 for staff
    "admin:auth_user_password_change": staff("auth.change_user"),
    "admin:audit_verify": staff("audit.verify_audit"),
    # model history (django-auditlog) is read-only for everybody, administrators included
    "admin:auditlog_logentry_add": NOBODY,
    "admin:auditlog_logentry_delete": NOBODY,
    # relationship managers see their assigned customers and those customers' accounts
    "admin:customers_customer_changelist": staff("customers.view_customer", _RM_TOO),
    "admin:customers_customer_change": staff("customers.view_customer", _RM_TOO),
    "admin:customers_customer_history": staff("customers.view_customer", _RM_TOO),
    "admin:accounts_account_changelist": staff("accounts.view_account", _RM_TOO),
    "admin:accounts_account_change": staff("accounts.view_account", _RM_TOO),
    "admin:accounts_account_history": staff("accounts.view_account", _RM_TOO),
    # customer support in the back office: tickets (a relationship manager: their customers' only)
    # and the FAQ editor (apps/staff/views_support.py)
    "staff:support-tickets": staff("support.view_ticket"),
    "staff:support-ticket": staff("support.view_ticket"),
    "staff:support-faq": staff("support.view_faqentry", "support.change_faqentry"),
    "staff:support-faq-new": staff("support.add_faqentry"),
    "staff:support-faq-edit": staff("support.change_faqentry"),
}

ADMIN_MODEL_ACTIONS = ("changelist", "add", "history", "delete", "change")


def admin_model_policy(route: str, name: str | None) -> Policy | None:
    """The policy of an admin page of a registered model, from the model's permissions."""
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        base = f"admin/{opts.app_label}/{opts.model_name}/"
        if not route.startswith(base):
            continue
        view, change = f"{opts.app_label}.view_{opts.model_name}", f"{opts.app_label}.change_{opts.model_name}"
        read_only = isinstance(model_admin, ReadOnlyModelAdmin)
        if name is None and route == f"{base}<path:object_id>/":
            return staff()  # redirects any staff user to the change page, which checks
        action = (name or "").removeprefix(f"admin:{opts.app_label}_{opts.model_name}_")
        if action in ("changelist", "change", "history"):
            return staff(view, change)
        if action == "add":
            return NOBODY if read_only else staff(f"{opts.app_label}.add_{opts.model_name}")
        if action == "delete":
            return NOBODY if read_only else staff(f"{opts.app_label}.delete_{opts.model_name}")
    return None


def policy_for(route: str, name: str | None) -> Policy | None:
    if name is not None and name in URL_POLICIES:
        return URL_POLICIES[name]
    if route in URL_POLICIES:
        return URL_POLICIES[route]
    return admin_model_policy(route, name)
