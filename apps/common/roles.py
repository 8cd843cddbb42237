"""Staff roles: the one place that says which role holds which permission.

A role is a Django group of the same name. `ROLE_PERMISSIONS` is the permission matrix as data
(role -> permission `app_label.codename`s); `roles_sync` makes the groups hold exactly that (it
runs after every `migrate` and from `manage.py roles_sync`), and `matrix_markdown` renders the
table that docs/security.md carries (a test keeps the two equal).

The admin is read-only for every finsys model: `view_*` shows a model, `change_*` lets a role run
the admin actions on that model (each calls a service as that user), `add_journalentry` lets it
reverse an entry (a new, compensating entry). Customers and API clients are not staff: they are
separate principals (portal users with per-account rights, OAuth2 clients with scopes) and hold
no role.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.db import transaction

logger = logging.getLogger(__name__)

TELLER = "teller"
OPERATIONS = "operations"
RELATIONSHIP_MANAGER = "relationship_manager"
RISK_OFFICER = "risk_officer"
COMPLIANCE_OFFICER = "compliance_officer"
AUDITOR = "auditor"
ADMINISTRATOR = "administrator"

_LEDGER = {"transactions.view_journalentry", "transactions.view_posting"}
# Emergency controls: `add_` switches one on (a customer freeze from the customers page),
# `change_` asks for one to be lifted; lifting runs when `change_approval` approves it.
_EMERGENCY_ON = {"common.view_emergencycontrol", "common.add_emergencycontrol"}
# Treasury (apps/treasury): rates, FX deals, settlement files and reconciliation breaks.
_TREASURY_VIEW = {
    "treasury.view_fxrate",
    "treasury.view_fxdeal",
    "treasury.view_settlementfile",
    "treasury.view_settlementline",
    "treasury.view_break",
}
_BANK = {
    "customers.view_customer",
    "accounts.view_account",
    "accounts.view_hold",
    "accounts.view_product",
    *_LEDGER,
}

# Generated statements and management reports: list them, request management reports, download.
_REPORTS = {"reports.view_reportjob", "reports.download_report"}

# Customer support (apps/support): the tickets inbox (reply, close) and the FAQ the assistant answers
# from. A relationship manager sees only their own customers' tickets (apps/support/selectors.py).
_TICKETS = {"support.view_ticket", "support.change_ticket"}

# What each role holds, beyond nothing. Custom permissions are declared on their models:
# customers.view_pii (see personal data unmasked, audited), customers.view_assigned_customer (see
# only the customers one is relationship manager of: django-guardian object permissions),
# customers.assign_relationship_manager.
# The back office's counter (apps/staff): onboard a customer and decide KYC on the identity
# documents seen at the counter, open accounts, take and pay out cash, send transfers.
_COUNTER = {
    "customers.add_customer",
    "customers.change_customer",
    "accounts.add_account",
    "transactions.post_cash",
    "transactions.post_transfer",
}
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    TELLER: frozenset({*_BANK, *_COUNTER}),
    OPERATIONS: frozenset(
        {
            *_BANK,
            "customers.add_customer",
            "accounts.add_account",
            "transactions.post_transfer",
            "accounts.change_account",
            "accounts.change_hold",
            "transactions.add_journalentry",
            "compliance.view_approval",
            "customers.assign_relationship_manager",
            *_EMERGENCY_ON,
            *_TREASURY_VIEW,
            "treasury.change_break",  # resolve reconciliation breaks
            *_REPORTS,
            *_TICKETS,
            "support.view_faqentry",
        }
    ),
    RELATIONSHIP_MANAGER: frozenset(
        {
            "customers.view_assigned_customer",
            "accounts.view_product",
            "compliance.view_approval",
            *_TICKETS,
            "support.view_faqentry",
        }
    ),
    RISK_OFFICER: frozenset(
        {
            *_BANK,
            "accounts.change_account",
            "compliance.view_approval",
            # risk (docs/risk.md): work the alert queue, see rules and limits, decide the approvals
            # the risk rules and limit/rule changes ask for (never one's own: the service refuses)
            "compliance.change_approval",
            "risk.view_alert",
            "risk.change_alert",
            "risk.view_rule",
            "risk.view_limitrule",
            # propose rule versions and limit changes in the back office (maker-checked)
            "risk.change_rule",
            "risk.change_limitrule",
            "risk.view_riskprofile",
            "risk.change_riskprofile",
            # credit and market risk (docs/adr/0014): see and end facilities, see FX position limits
            "risk.view_overdraftfacility",
            "risk.change_overdraftfacility",
            "risk.view_fxpositionlimit",
            "audit.view_auditevent",
            *_EMERGENCY_ON,
            "common.change_emergencycontrol",
            "treasury.view_fxrate",
            "treasury.view_fxdeal",
        }
    ),
    COMPLIANCE_OFFICER: frozenset(
        {
            *_BANK,
            "customers.change_customer",
            "customers.view_pii",
            "accounts.change_account",
            "compliance.view_approval",
            "compliance.change_approval",
            "risk.view_alert",
            "risk.view_riskprofile",
            # AML: work the cases, see lists and reports, tune the report rules.
            "compliance.view_case",
            "compliance.change_case",
            "compliance.view_watchlist",
            "compliance.view_watchlistentry",
            "compliance.change_watchlist",  # upload a list file: imported once another officer approves
            "compliance.view_reportrecord",
            "compliance.view_reportrule",
            "compliance.change_reportrule",
            "audit.view_auditevent",
            *_EMERGENCY_ON,
            "common.change_emergencycontrol",
        }
    ),
    AUDITOR: frozenset(
        {
            *_BANK,
            "compliance.view_approval",
            "risk.view_alert",
            "risk.view_rule",
            "risk.view_limitrule",
            "risk.view_overdraftfacility",
            "risk.view_fxpositionlimit",
            "compliance.view_case",
            "compliance.view_reportrecord",
            "audit.view_auditevent",
            "audit.view_auditcheckpoint",
            "audit.verify_audit",
            *_TREASURY_VIEW,
            "auditlog.view_logentry",
            "api.view_apiclient",
            "common.view_idempotencyrecord",
            "common.view_emergencycontrol",
            "auth.view_user",
            "auth.view_group",
            "axes.view_accessattempt",
            "axes.view_accesslog",
            "otp_totp.view_totpdevice",
            *_REPORTS,
        }
    ),
    # Filled from the database by roles_sync: every permission of ADMINISTRATOR_APPS.
    ADMINISTRATOR: frozenset(),
}
ADMINISTRATOR_APPS = (
    "customers",
    "accounts",
    "transactions",
    "treasury",
    "compliance",
    "risk",
    "audit",
    "auditlog",
    "api",
    "common",
    "auth",
    "axes",  # unlock a locked-out login
    "otp_totp",  # reset a lost authenticator
    "django_celery_beat",
    "reports",
    "support",  # the FAQ editor (and the tickets inbox)
)
ROLES = tuple(ROLE_PERMISSIONS)


def role_holds(role: str, permission: str) -> bool:
    """Whether the role's group holds `app_label.codename` (as roles_sync sets it up)."""
    if role == ADMINISTRATOR:
        return permission.split(".", 1)[0] in ADMINISTRATOR_APPS
    return permission in ROLE_PERMISSIONS[role]


def _resolve(names: Iterable[str]) -> tuple[list[Permission], list[str]]:
    wanted = {tuple(name.split(".", 1)) for name in names}
    found = {
        (p.content_type.app_label, p.codename): p
        for p in Permission.objects.filter(codename__in=[c for _a, c in wanted]).select_related("content_type")
    }
    missing = sorted(f"{a}.{c}" for a, c in wanted if (a, c) not in found)
    return [found[key] for key in sorted(wanted) if key in found], missing


def roles_sync(*, strict: bool = True) -> dict[str, int]:
    """Create or update one group per role so that it holds exactly its permissions; idempotent.

    Returns role -> number of permissions. A permission that does not exist (a typo, or
    migrations not applied) raises LookupError when `strict`, else it is skipped with a warning.
    """
    counts: dict[str, int] = {}
    with transaction.atomic():
        for role, names in ROLE_PERMISSIONS.items():
            if role == ADMINISTRATOR:
                permissions = list(Permission.objects.filter(content_type__app_label__in=ADMINISTRATOR_APPS))
            else:
                permissions, missing = _resolve(names)
                if missing:
                    if strict:
                        raise LookupError(f"unknown permissions for role {role}: {', '.join(missing)}")
                    logger.warning("roles_sync: role %s skips unknown permissions %s", role, missing)
            group, _created = Group.objects.get_or_create(name=role)
            group.permissions.set(permissions)
            counts[role] = len(permissions)
    return counts


def matrix_rows() -> list[str]:
    """Every permission some role (other than the administrator) holds, in a stable order."""
    return sorted(set().union(*ROLE_PERMISSIONS.values()))


def matrix_markdown() -> str:
    """The permission matrix as the Markdown table in docs/security.md."""
    header = "| permission | " + " | ".join(ROLES) + " |"
    rule = "|---|" + "---|" * len(ROLES)
    lines = [header, rule]
    for permission in matrix_rows():
        marks = ["✓" if role_holds(role, permission) else "" for role in ROLES]
        lines.append(f"| `{permission}` | " + " | ".join(marks) + " |")
    return "\n".join(lines) + "\n"
