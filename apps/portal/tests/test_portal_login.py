"""The portal login: password, TOTP when the customer turned it on, lockout (5 failures per
username+IP lock it for 30 minutes), forgotten password by e-mail, log out everywhere, TOTP on/off."""

from __future__ import annotations

import re
import time

import pytest
from django.core import mail
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.models import AuditEvent
from apps.portal.tests.conftest import PASSWORD
from tests.browser import current_totp
from tests.support import portal_client

pytestmark = pytest.mark.django_db


def login(client: Client, username: str, password: str = PASSWORD, **extra: str):
    return client.post("/portal/login/", {"username": username, "password": password, **extra})


def test_password_login_lands_on_the_overview_and_is_audited(alice):
    client = Client()
    response = login(client, "alice")
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200
    assert AuditEvent.objects.filter(action="portal.login", object_id=str(alice.user.pk)).exists()


def test_next_is_followed_only_inside_the_portal(alice):
    assert login(Client(), "alice", next="/portal/profile/")["Location"] == "/portal/profile/"
    assert login(Client(), "alice", next="https://evil.example/")["Location"] == "/portal/"
    assert login(Client(), "alice", next="/staff/")["Location"] == "/portal/"


def test_wrong_password_and_unknown_user_get_the_same_answer(alice):
    wrong = login(Client(), "alice", "nope")
    unknown = login(Client(), "nobody-here", "nope")
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert b"Please enter a correct username and password" in response.content
        assert b'role="alert"' in response.content


def test_with_totp_on_the_password_alone_does_not_open_the_portal(alice):
    TOTPDevice.objects.create(user=alice.user, name="phone", confirmed=True)
    client = Client()
    response = login(client, "alice")
    assert response["Location"].startswith("/portal/otp/")
    assert client.get("/portal/")["Location"].startswith("/portal/otp/")  # not yet
    wrong = client.post("/portal/otp/", {"otp_token": "000000"})
    assert wrong.status_code == 200
    assert b"That code is not right" in wrong.content
    assert client.post("/portal/otp/", {"otp_token": "12ab56"}).status_code == 200  # a form error, no 500
    time.sleep(1.1)  # django-otp throttles a device for a second after a wrong code
    right = client.post("/portal/otp/", {"otp_token": current_totp(alice.user)})
    assert right.status_code == 302
    assert right["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200
    event = AuditEvent.objects.filter(action="portal.login").latest("id")
    assert event.detail["second_factor"] is True


def test_five_wrong_passwords_lock_the_login_at_this_address(alice):
    client = Client()
    for _ in range(4):
        assert login(client, "alice", "wrong").status_code == 200
    locked = login(client, "alice", "wrong")
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == 30 * 60
    assert b"Too many failed attempts" in locked.content
    # the right password does not help while locked, from this address
    again = login(client, "alice")
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session
    # another address is not locked
    assert login(Client(REMOTE_ADDR="10.9.8.7"), "alice").status_code == 302
    assert AuditEvent.objects.filter(action="auth.lockout").exists()


def test_wrong_totp_codes_count_toward_the_same_lockout(alice):
    TOTPDevice.objects.create(user=alice.user, name="phone", confirmed=True)
    client = Client()
    for _ in range(3):
        login(client, "alice", "wrong")
    login(client, "alice")
    assert client.post("/portal/otp/", {"otp_token": "000000"}).status_code == 200
    locked = client.post("/portal/otp/", {"otp_token": "000001"})
    assert locked.status_code == 429
    assert client.get("/portal/")["Location"].startswith("/portal/login/")  # logged out


def test_a_successful_login_forgets_earlier_failures(alice):
    client = Client()
    for _ in range(4):
        login(client, "alice", "wrong")
    assert login(client, "alice").status_code == 302
    client.post("/portal/logout/")
    for _ in range(4):
        assert login(client, "alice", "wrong").status_code == 200  # not locked: the count restarted


def test_forgotten_password_by_email_with_validators(alice, company):
    client = Client()
    response = client.post("/portal/password-reset/", {"email": "alice@example.com"})
    assert response["Location"] == "/portal/password-reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    link = re.search(r"http://testserver(/portal/reset/\S+/)", message.body)
    assert link, message.body
    # an unknown address gets the same page and no mail
    assert client.post("/portal/password-reset/", {"email": "nobody@example.com"}).status_code == 302
    assert len(mail.outbox) == 1
    # the link leads to the form (Django swaps the token into the session)
    form_page = client.get(link.group(1), follow=True)
    assert b"New password" in form_page.content
    set_url = form_page.redirect_chain[-1][0]
    weak = client.post(set_url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert weak.status_code == 200
    assert b"This password is too common" in weak.content or b"entirely numeric" in weak.content
    done = client.post(set_url, {"new_password1": "Fresh-Secret-4471", "new_password2": "Fresh-Secret-4471"})
    assert done["Location"] == "/portal/reset/done/"
    assert login(Client(), "alice", "Fresh-Secret-4471").status_code == 302
    assert login(Client(), "alice", PASSWORD).status_code == 200  # the old one is gone


def test_staff_get_no_reset_mail_from_the_portal(db):
    from django.contrib.auth.models import User

    User.objects.create_user("staffer", email="staffer@bank.example", password="x-Strong-1234", is_staff=True)
    Client().post("/portal/password-reset/", {"email": "staffer@bank.example"})
    assert mail.outbox == []


def test_a_password_reset_ends_other_sessions(alice):
    other = portal_client(alice.user)
    assert other.get("/portal/").status_code == 200
    alice.user.set_password("Another-Secret-9911")
    alice.user.save()
    assert other.get("/portal/").status_code == 302


def test_log_out_everywhere_ends_every_session(alice):
    phone, laptop = portal_client(alice.user), portal_client(alice.user)
    assert phone.get("/portal/").status_code == 200
    response = laptop.post("/portal/logout-everywhere/")
    assert response["Location"] == "/portal/login/?ended=everywhere"
    ended = phone.get("/portal/")
    assert ended.status_code == 302
    assert "ended=everywhere" in ended["Location"]
    assert b"logged out on every device" in Client().get(ended["Location"]).content
    assert AuditEvent.objects.filter(action="portal.logout_everywhere").count() == 1
    # a fresh login works again
    fresh = Client()
    login(fresh, "alice")
    assert fresh.get("/portal/").status_code == 200


def _last_seen_ago(client: Client, seconds: int) -> None:
    """Move the session's last guarded request `seconds` into the past, as an idle browser would."""
    from apps.portal.auth import LAST_SEEN_KEY

    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - seconds
    session.save()


def test_a_session_idle_past_the_timeout_is_ended_and_says_why(alice, settings):
    settings.PORTAL_IDLE_TIMEOUT_SECONDS = 600
    client = Client()
    login(client, "alice")
    assert client.get("/portal/").status_code == 200
    _last_seen_ago(client, 601)
    ended = client.get("/portal/security/")
    assert ended.status_code == 302
    assert ended["Location"].startswith("/portal/login/?")
    assert "ended=idle" in ended["Location"]
    assert "10 minutes without activity" in client.get(ended["Location"]).content.decode()
    # logged out on the server: the old session opens nothing, even with a fresh clock
    assert "_auth_user_id" not in client.session
    assert client.get("/portal/")["Location"].startswith("/portal/login/")


def test_each_page_keeps_an_active_session_alive(alice, settings):
    settings.PORTAL_IDLE_TIMEOUT_SECONDS = 600
    client = Client()
    login(client, "alice")
    _last_seen_ago(client, 599)
    assert client.get("/portal/").status_code == 200  # within the timeout: and it counts as activity
    from apps.portal.auth import LAST_SEEN_KEY

    assert time.time() - client.session[LAST_SEEN_KEY] < 5


def test_logout_needs_post(alice):
    client = portal_client(alice.user)
    assert client.get("/portal/logout/").status_code == 200  # asks
    assert client.get("/portal/").status_code == 200
    client.post("/portal/logout/")
    assert client.get("/portal/").status_code == 302


def test_turning_totp_on_needs_a_code_and_off_needs_a_current_code(alice):
    client = portal_client(alice.user)
    page = client.get("/portal/security/totp/on/")
    assert page.status_code == 200
    assert b"data:image/svg+xml;base64," in page.content
    assert client.post("/portal/security/totp/on/", {"otp_token": "000000"}).status_code == 200
    assert not TOTPDevice.objects.filter(user=alice.user, confirmed=True).exists()
    device = TOTPDevice.objects.get(user=alice.user, confirmed=False)
    from django_otp.oath import TOTP

    time.sleep(1.1)  # throttled for a second after the wrong code
    code = str(TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()).zfill(6)
    assert client.post("/portal/security/totp/on/", {"otp_token": code})["Location"] == "/portal/security/"
    assert TOTPDevice.objects.filter(user=alice.user, confirmed=True).count() == 1
    # the next login asks for a code
    assert login(Client(), "alice")["Location"].startswith("/portal/otp/")
    # turning it off: a wrong code changes nothing
    refused = client.post("/portal/security/totp/off/", {"otp_token": "000000"})
    assert refused.status_code == 200
    assert b"That code is not right" in refused.content
    assert TOTPDevice.objects.filter(user=alice.user, confirmed=True).exists()
    time.sleep(1.1)  # django-otp throttles a device for a second after a wrong code
    assert client.post("/portal/security/totp/off/", {"otp_token": current_totp(alice.user)}).status_code == 302
    assert not TOTPDevice.objects.filter(user=alice.user).exists()
    assert login(Client(), "alice")["Location"] == "/portal/"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"portal.totp_enabled", "portal.totp_disabled"} <= actions


def test_the_language_switch_sets_the_cookie_and_pages_follow_it(alice):
    client = portal_client(alice.user)
    response = client.post("/portal/language/", {"language": "zh-hans", "next": "/portal/profile/"})
    assert response["Location"] == "/portal/profile/"
    assert response.cookies["django_language"].value == "zh-hans"
    page = client.get("/portal/profile/")
    assert '<html lang="zh-hans">' in page.content.decode()
    assert "个人资料" in page.content.decode()
    assert (
        client.post("/portal/language/", {"language": "xx", "next": "https://evil.example/"})["Location"] == "/portal/"
    )
