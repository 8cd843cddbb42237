"""The back office's frame: the navigation shows each role what it may open, the dashboard only
the tiles the role may see, and the language switch turns every page to zh-hans and back."""

from __future__ import annotations

import pytest
from django.conf import settings

from apps.common.roles import COMPLIANCE_OFFICER, OPERATIONS, RELATIONSHIP_MANAGER, RISK_OFFICER, TELLER
from apps.staff.navigation import NAVIGATION, NavEntry, navigation_for
from apps.staff.tests.support_backoffice import client_of, staff_user

pytestmark = pytest.mark.django_db


def labels(user) -> list[str]:
    return [str(item["label"]) for item in navigation_for(user)]


def test_a_teller_sees_the_counter_not_approvals_or_compliance():
    teller = staff_user(TELLER)
    shown = labels(teller)
    assert {"Dashboard", "Customers", "Onboard a customer", "Cash", "Transfer", "Accounts"} <= set(shown)
    assert "Approvals" not in shown


def test_a_compliance_officer_sees_approvals_but_not_the_cash_counter():
    shown = labels(staff_user(COMPLIANCE_OFFICER))
    assert "Approvals" in shown
    assert "Cash" not in shown


def test_an_entry_names_its_permissions_any_of():
    entry = NavEntry("x", "staff:home", ("risk.view_alert", "compliance.view_case"))
    assert entry.visible_to(staff_user(RISK_OFFICER, "r1"))
    assert entry.visible_to(staff_user(COMPLIANCE_OFFICER, "c1"))
    assert not entry.visible_to(staff_user(TELLER, "t1"))


def test_every_navigation_entry_resolves_and_the_menu_is_on_the_page():
    _user, client = client_of(OPERATIONS)
    page = client.get("/staff/")
    assert page.status_code == 200
    html = page.content.decode()
    for item in navigation_for(_user):
        assert f'href="{item["url"]}"' in html
    assert len(NAVIGATION) >= 5


def test_dashboard_tiles_follow_the_role():
    _t, teller = client_of(TELLER)
    html = teller.get("/staff/").content.decode()
    assert "Moved today" in html
    assert "volume-data" in html
    assert "Pending approvals" not in html
    assert "Open risk alerts" not in html
    assert "Open compliance cases" not in html
    _r, risk = client_of(RISK_OFFICER)
    html = risk.get("/staff/").content.decode()
    assert "Pending approvals" in html
    assert "Open risk alerts" in html
    assert "Open compliance cases" not in html
    assert "Reconciliation breaks" not in html
    _o, ops = client_of(OPERATIONS)
    html = ops.get("/staff/").content.decode()
    assert "Reconciliation breaks" in html
    assert "Failed jobs" in html
    _m, rm = client_of(RELATIONSHIP_MANAGER)
    html = rm.get("/staff/").content.decode()
    assert "Moved today" not in html
    assert "volume-data" not in html


def test_the_language_switch_turns_the_back_office_chinese_and_back():
    _user, client = client_of(TELLER)
    switched = client.post("/staff/language/", {"language": "zh-hans", "next": "/staff/customers/"})
    assert switched.status_code == 302
    assert switched["Location"] == "/staff/customers/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    html = client.get("/staff/customers/").content.decode()
    assert 'lang="zh-hans"' in html
    assert "客户" in html
    client.post("/staff/language/", {"language": "en"})
    assert "Customers" in client.get("/staff/customers/").content.decode()


def test_an_unknown_language_or_a_foreign_next_changes_nothing():
    _user, client = client_of(TELLER)
    answer = client.post("/staff/language/", {"language": "xx", "next": "https://evil.example/"})
    assert answer["Location"] == "/staff/"
    assert settings.LANGUAGE_COOKIE_NAME not in answer.cookies
    assert client.get("/staff/language/").status_code == 405
