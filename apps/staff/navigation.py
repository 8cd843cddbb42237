"""The back office's navigation: a small registry of entries, each shown only to users holding
one of its permissions (any-of; none listed: every staff user).

One entry per line, so that modules added by other changes merge cleanly:

    NavEntry(_("Risk alerts"), "staff:alerts", ("risk.view_alert",), section=RISK),
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

WORK = "work"
RISK = "risk"
ADMIN = "admin"


@dataclass(frozen=True)
class NavEntry:
    label: Promise | str
    url_name: str
    permissions: tuple[str, ...] = ()
    section: str = WORK

    def visible_to(self, user: Any) -> bool:
        if not (getattr(user, "is_authenticated", False) and getattr(user, "is_staff", False)):
            return False
        return not self.permissions or any(user.has_perm(p) for p in self.permissions)


_CUSTOMERS = ("customers.view_customer", "customers.view_assigned_customer")

NAVIGATION: list[NavEntry] = [
    NavEntry(_("Dashboard"), "staff:home"),
    NavEntry(_("Customers"), "staff:customers", _CUSTOMERS),
    NavEntry(_("Onboard a customer"), "staff:onboard", ("customers.add_customer",)),
    NavEntry(_("Accounts"), "staff:accounts", ("accounts.view_account", "customers.view_assigned_customer")),
    NavEntry(_("Cash"), "staff:teller", ("transactions.post_cash",)),
    NavEntry(_("Transfer"), "staff:teller-transfer", ("transactions.post_transfer",)),
    NavEntry(_("Approvals"), "staff:approvals", ("compliance.view_approval",)),
    NavEntry(_("Risk alerts"), "staff:alerts", ("risk.view_alert",), section=RISK),
    NavEntry(_("Compliance cases"), "staff:cases", ("compliance.view_case",), section=RISK),
    NavEntry(_("Transaction reports"), "staff:transaction-reports", ("compliance.view_reportrecord",), section=RISK),
    NavEntry(_("Watchlists"), "staff:watchlists", ("compliance.view_watchlist",), section=RISK),
    NavEntry(_("Risk rules"), "staff:rules", ("risk.view_rule",), section=RISK),
    NavEntry(_("Limits"), "staff:limits", ("risk.view_limitrule",), section=RISK),
    NavEntry(_("Reports"), "staff:reports", ("reports.view_reportjob",)),
    NavEntry(_("Audit log"), "staff:audit", ("audit.view_auditevent",), section=ADMIN),
    NavEntry(_("API clients"), "staff:api-clients", ("api.view_apiclient",), section=ADMIN),
    NavEntry(_("Webhooks"), "staff:webhooks", ("api.view_apiclient",), section=ADMIN),
    NavEntry(_("Support tickets"), "staff:support-tickets", ("support.view_ticket",)),
    NavEntry(_("FAQ"), "staff:support-faq", ("support.view_faqentry", "support.change_faqentry")),
    NavEntry(_("Administration"), "admin:index", section=ADMIN),
]


def register(entry: NavEntry) -> None:
    """Add an entry (once); modules of other back-office areas may call this at import."""
    if all(existing.url_name != entry.url_name for existing in NAVIGATION):
        NAVIGATION.append(entry)


def navigation_for(user: Any, current_path: str = "") -> list[dict[str, Any]]:
    """The entries this user may see, as {label, url, current, section}, in registry order."""
    items = []
    for entry in NAVIGATION:
        if not entry.visible_to(user):
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:  # an entry whose page is not routed (yet): not shown
            continue
        current = current_path == url if url == reverse("staff:home") else current_path.startswith(url)
        items.append({"label": entry.label, "url": url, "current": current, "section": entry.section})
    return items
