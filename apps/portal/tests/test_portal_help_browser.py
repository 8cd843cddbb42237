"""The help page in a real browser, at phone and laptop size: a customer asks the assistant for
their balance (answered in place, their own accounts only), asks something the FAQ does not
cover (a ticket for a person), sends feedback; a staff member finds both tickets in the back
office and replies, and the customer sees the reply. The help page and the staff inbox pass axe."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from apps.common.principals import SYSTEM_ACTOR
from apps.common.roles import OPERATIONS, roles_sync
from apps.support.models import Ticket, TicketKind, TicketStatus
from apps.support.services import faq_seed_defaults
from tests.browser import LAPTOP, PHONE, assert_accessible, save_screenshot, staff_browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STAFF_PASSWORD = "Operations-pass-2026!"
PASSWORD = "Portal-pass-2026!"  # apps/portal/tests/conftest.py's logins


@pytest.fixture
def operations_user() -> Any:
    roles_sync()
    user = get_user_model().objects.create_user("olivia", password=STAFF_PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=OPERATIONS))
    return user


def portal_login(page: Any, username: str, next_path: str) -> None:
    page.goto(f"/portal/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action$='/portal/login/'] button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def ask(page: Any, question: str) -> None:
    turns = page.locator("#assistant .turn").count()
    page.fill("#assistant input[name=question]", question)
    page.click("#assistant form.ask button[type=submit]")
    page.locator("#assistant .turn").nth(turns + 1).wait_for()  # the answer, swapped in place


@pytest.mark.parametrize(("viewport", "size"), [(PHONE, "phone"), (LAPTOP, "laptop")])
def test_customer_asks_gets_a_person_and_reads_the_staff_reply(
    open_page: Any, alice: Any, make_customer: Any, make_account: Any, operations_user: Any, viewport: Any, size: str
) -> None:
    faq_seed_defaults(actor=SYSTEM_ACTOR)
    make_account(customer=make_customer(name="Someone Else"), balance="98765.43")
    main = alice.accounts[0]

    page = open_page(viewport=viewport, locale="zh-Hans" if size == "phone" else "en-US")
    portal_login(page, "alice", "/portal/help/")
    assert page.locator("script[src*='htmx']").count() == 1

    ask(page, "我的余额")
    answer = page.locator("#assistant .turn-assistant").last.inner_text()
    assert str(main.balance.quantize(main.balance.__class__("0.01"))) in answer  # 869.51
    assert main.number[-4:] in answer
    assert "98765.43" not in page.content()  # another customer's money never shows
    assert page.url.endswith("/portal/help/")  # answered in place, no reload

    ask(page, "Can I get a mortgage for a flat in Hangzhou?")
    handover = Ticket.objects.get(kind=TicketKind.HANDOVER)
    assert page.locator(f"#assistant a[href$='/portal/help/messages/{handover.public_id}/']").count() == 1
    assert handover.transcript[0]["text"] == "我的余额"  # the conversation travels with it
    save_screenshot(page, f"portal-help-{size}")
    assert_accessible(page)

    page.fill("textarea[name=message]", "The statement PDF font is too small to read on my phone.")
    page.fill("input[name=subject]", "Statement font")
    page.click("form.feedback-form button[type=submit]")
    page.wait_for_url("**/portal/help/#messages")
    assert page.locator("#messages").get_by_text("Statement font").count() == 1
    feedback = Ticket.objects.get(kind=TicketKind.FEEDBACK)

    staff = open_page(viewport=viewport)
    staff_browser_login(staff, operations_user, STAFF_PASSWORD, next_path="/staff/support/tickets/")
    assert staff.url.endswith("/staff/support/tickets/")
    assert staff.get_by_role("link", name="Statement font").count() == 1
    assert staff.get_by_role("link", name="Can I get a mortgage for a flat in Hangzhou?").count() == 1
    save_screenshot(staff, f"staff-support-inbox-{size}")
    assert_accessible(staff)

    staff.get_by_role("link", name="Statement font").click()
    staff.wait_for_url(f"**/staff/support/tickets/{feedback.public_id}/")
    staff.fill("textarea[name=reply]", "Thank you: larger statement fonts arrive next week.")
    staff.click("button[value=reply]")
    staff.wait_for_load_state("networkidle")
    assert "larger statement fonts" in staff.content()
    assert_accessible(staff)
    feedback.refresh_from_db()
    assert feedback.status == TicketStatus.ANSWERED
    assert feedback.assigned_to == operations_user

    page.goto("/portal/help/")
    reply = page.locator("#messages .reply")
    assert reply.count() == 1
    assert "larger statement fonts arrive next week" in reply.inner_text()
    save_screenshot(page, f"portal-help-reply-{size}")
