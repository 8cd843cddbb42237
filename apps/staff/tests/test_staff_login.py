"""The staff login: password then TOTP (enrolled by QR code on first login), nothing under /staff/
or /admin/ without both, lockout after five failures, idle timeout, log out everywhere."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.models import AuditEvent
from apps.staff.middleware import LAST_SEEN_KEY

PASSWORD = "correct horse battery staple 7"


@pytest.fixture
def teller(db: Any) -> User:
    return User.objects.create_user("teller1", password=PASSWORD, is_staff=True)


def _code(device: TOTPDevice, offset: int = 0) -> str:
    """The code the user's authenticator app shows now (offset: seconds ahead)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset
    return f"{totp.token():0{device.digits}d}"


def _enrolled(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def _password_step(client: Client, username: str = "teller1", password: str = PASSWORD, **extra: Any) -> Any:
    return client.post("/staff/login/", {"username": username, "password": password}, **extra)


def _login(client: Client, user: User, device: TOTPDevice, offset: int = 0) -> Any:
    assert _password_step(client, user.username).status_code == 302
    return client.post("/staff/otp/", {"otp_token": _code(device, offset)})


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_first_login_enrols_the_authenticator_by_qr_code_then_opens_the_admin(teller: User) -> None:
    teller.is_superuser = True
    teller.save()
    client = Client()
    assert client.get("/admin/").url == "/staff/login/?next=%2Fadmin%2F"

    response = client.post(
        "/staff/login/?next=/admin/", {"username": "teller1", "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    assert response.url == "/staff/otp/?next=%2Fadmin%2F"
    assert client.get("/admin/").url.startswith("/staff/otp/")  # password alone opens nothing

    page = client.get(response.url)
    html = page.content.decode()
    assert page.status_code == 200
    assert re.search(r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', html)
    device = TOTPDevice.objects.get(user=teller)
    assert not device.confirmed
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', html)
    assert secret is not None
    assert client.get(response.url).content.decode().count(secret.group(1)) == 1  # a reload keeps the secret

    wrong = client.post(
        "/staff/otp/", {"otp_token": "000000" if _code(device) != "000000" else "111111", "next": "/admin/"}
    )
    assert wrong.status_code == 200
    assert "not right" in wrong.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get("/admin/").status_code == 302
    device.throttling_failure_count = 0  # django-otp's own delay after a wrong code
    device.save()

    done = client.post("/staff/otp/", {"otp_token": _code(device), "next": "/admin/"})
    assert done.status_code == 302
    assert done.url == "/admin/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/").status_code == 200
    assert [e.actor for e in _events("staff.otp_enrolled")] == ["user:teller1"]
    assert [e.actor for e in _events("staff.login")] == ["user:teller1"]


def test_an_enrolled_user_logs_in_with_a_code_and_a_code_works_only_once(teller: User) -> None:
    device = _enrolled(teller)
    client = Client()
    code = _code(device)
    assert _password_step(client).status_code == 302
    page = client.get("/staff/otp/")
    assert "data:image" not in page.content.decode()  # no second enrolment
    assert client.post("/staff/otp/", {"otp_token": code}).url == "/staff/"
    home = client.get("/staff/")
    assert home.status_code == 200
    assert "teller1" in home.content.decode()

    replay = Client()
    assert _password_step(replay).status_code == 302
    refused = replay.post("/staff/otp/", {"otp_token": code})
    assert refused.status_code == 200
    assert replay.get("/staff/").status_code == 302
    assert len(_events("staff.login")) == 1


def test_every_staff_and_admin_page_sends_an_unverified_or_anonymous_user_to_the_login(teller: User) -> None:
    teller.is_superuser = True
    teller.save()
    _enrolled(teller)
    anonymous = Client()
    half = Client()
    half.force_login(teller)  # password done, second factor not
    for path in ("/staff/", "/admin/", "/admin/customers/customer/", "/admin/auth/user/", "/admin/login/"):
        assert anonymous.get(path).url.startswith("/staff/login/?next="), path
        assert half.get(path).url.startswith("/staff/otp/?next="), path
    assert anonymous.get("/staff/login/").status_code == 200
    assert anonymous.get("/staff/otp/").url == "/staff/login/"


def test_a_user_who_is_not_staff_gets_the_same_answer_as_a_wrong_password(db: Any) -> None:
    User.objects.create_user("customer1", password=PASSWORD, is_staff=False)
    client = Client()
    not_staff = _password_step(client, "customer1")
    wrong = _password_step(Client(), "customer1", "wrong password")
    assert not_staff.status_code == wrong.status_code == 200
    assert "Please enter a correct username and password" in not_staff.content.decode()
    assert client.get("/staff/otp/").url == "/staff/login/"


def test_logout_needs_a_post_and_ends_the_session(teller: User) -> None:
    device = _enrolled(teller)
    client = Client()
    _login(client, teller, device)
    assert client.get("/staff/logout/").status_code == 200  # a page with a button, still logged in
    assert client.get("/staff/").status_code == 200
    assert client.post("/staff/logout/").url == "/staff/login/"
    assert client.get("/staff/").url.startswith("/staff/login/")


# Lockout (django-axes): 5 failures of one username from one IP, 30 minutes.


def test_five_wrong_passwords_lock_the_username_at_that_ip_for_30_minutes_audited(teller: User) -> None:
    device = _enrolled(teller)
    client = Client()
    for _ in range(4):
        assert _password_step(client, password="wrong").status_code == 200
    assert _events("auth.lockout") == []
    locked = _password_step(client, password="wrong")
    assert locked.status_code == 429
    assert locked["Retry-After"] == "1800"
    assert "Too many failed attempts" in locked.content.decode()

    right = _password_step(client)  # even the right password, from this IP
    assert right.status_code == 429
    assert client.get("/staff/otp/").url == "/staff/login/"  # not logged in
    events = _events("auth.lockout")
    assert len(events) == 1  # the lock, not every refused attempt
    assert events[0].object_type == "user"
    assert events[0].object_id == "teller1"
    assert events[0].detail["ip_address"] == "127.0.0.1"

    elsewhere = Client(REMOTE_ADDR="10.1.2.3")  # the lock is per username and IP
    assert _login(elsewhere, teller, device).url == "/staff/"
    spoofed = _password_step(Client(), HTTP_X_FORWARDED_FOR="10.9.9.9")  # a client-set header changes nothing
    assert spoofed.status_code == 429

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=31))
    assert _password_step(client).status_code == 302  # the lock ends after 30 minutes


def test_wrong_totp_codes_count_toward_the_same_lockout(teller: User) -> None:
    device = _enrolled(teller)
    client = Client()
    for _ in range(2):
        assert _password_step(client, password="wrong").status_code == 200
    assert _password_step(client).status_code == 302
    bad = "000000" if _code(device) != "000000" else "111111"
    for _ in range(2):
        TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
        assert client.post("/staff/otp/", {"otp_token": bad}).status_code == 200
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    locked = client.post("/staff/otp/", {"otp_token": bad})
    assert locked.status_code == 429
    assert client.get("/staff/").url.startswith("/staff/login/")  # logged out: the password again, later
    assert _password_step(client).status_code == 429
    assert len(_events("auth.lockout")) == 1


def test_a_full_login_resets_the_failure_count(teller: User) -> None:
    device = _enrolled(teller)
    client = Client()
    for _ in range(4):
        _password_step(client, password="wrong")
    assert _login(client, teller, device).url == "/staff/"
    assert not AccessAttempt.objects.exists()


def test_an_administrator_unlocks_in_the_admin_and_the_unlock_is_audited(teller: User, staff_client: Any) -> None:
    User.objects.create_superuser("boss", password=PASSWORD)
    User.objects.create_user("looker", password=PASSWORD, is_staff=True)
    client = Client()
    for _ in range(5):
        _password_step(client, password="Wr0ng-Passw0rd")
    attempt = AccessAttempt.objects.get(username="teller1")
    action = {"action": "unlock", "_selected_action": [attempt.pk], "index": 0, "select_across": 0}

    staff_client("looker").post("/admin/axes/accessattempt/", action)  # no permission: nothing happens
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()
    assert _events("auth.unlock") == []

    boss = staff_client("boss")
    page = boss.get(f"/admin/axes/accessattempt/{attempt.pk}/change/")
    assert page.status_code == 200
    assert "teller1" in page.content.decode()
    assert "Wr0ng-Passw0rd" not in page.content.decode()  # the password is neither shown nor stored
    response = boss.post("/admin/axes/accessattempt/", action)
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    [event] = _events("auth.unlock")
    assert event.actor == "user:boss"
    assert event.object_id == "teller1"
    assert _password_step(client).status_code == 302


# Sessions: idle timeout, log out everywhere.


def test_a_staff_session_idle_for_more_than_15_minutes_ends_server_side(teller: User, settings: Any) -> None:
    assert settings.STAFF_IDLE_TIMEOUT_SECONDS == 15 * 60
    device = _enrolled(teller)
    client = Client()
    _login(client, teller, device)

    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - 14 * 60
    session.save()
    assert client.get("/staff/").status_code == 200  # activity within 15 minutes keeps it
    assert int(time.time()) - client.session[LAST_SEEN_KEY] <= 1

    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - 15 * 60 - 5
    session.save()
    expired = client.get("/staff/")
    assert expired.url == "/staff/login/?next=%2Fstaff%2F&ended=idle"
    assert "_auth_user_id" not in client.session
    assert "without activity" in client.get(expired.url).content.decode()


def test_log_out_everywhere_ends_every_session_of_the_user(teller: User) -> None:
    device = _enrolled(teller)
    laptop, phone = Client(), Client()
    _login(laptop, teller, device)
    _login(phone, teller, device, offset=30)
    other = User.objects.create_user("other", password=PASSWORD, is_staff=True)
    other_client = Client()
    _login(other_client, other, _enrolled(other))

    assert phone.get("/staff/logout-everywhere/").status_code == 405  # a link cannot do it
    response = phone.post("/staff/logout-everywhere/")
    assert response.url == "/staff/login/?ended=everywhere"
    assert phone.get("/staff/").url.startswith("/staff/login/")
    assert laptop.get("/staff/").url == "/staff/login/?next=%2Fstaff%2F&ended=everywhere"
    assert other_client.get("/staff/").status_code == 200  # only that user's sessions
    assert [e.actor for e in _events("staff.logout_everywhere")] == ["user:teller1"]
    assert _login(laptop, teller, device, offset=60).url == "/staff/"  # a new login works again


def test_an_administrator_resets_a_lost_authenticator_and_the_user_enrols_again(
    teller: User, staff_client: Any
) -> None:
    device = _enrolled(teller)
    client = Client()
    _login(client, teller, device)
    User.objects.create_superuser("boss", password=PASSWORD)
    action = {"action": "reset", "_selected_action": [device.pk], "index": 0, "select_across": 0}
    staff_client("boss").post("/admin/otp_totp/totpdevice/", action)

    assert not TOTPDevice.objects.filter(user=teller).exists()
    assert client.get("/staff/").url.startswith("/staff/login/")  # open sessions end
    assert _password_step(client).status_code == 302
    assert "data:image/svg+xml" in client.get("/staff/otp/").content.decode()
    [event] = _events("staff.otp_reset")
    assert (event.actor, event.object_id) == ("user:boss", str(teller.pk))


# Content-Security-Policy on the pages.


def _csp(response: Any) -> str:
    policy = response["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    return str(policy)


def _no_inline_code(html: str) -> None:
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts
    for tag in scripts:
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert "<style" not in html
    assert not re.search(r"\sstyle=\"", html)
    assert not re.search(r"\son[a-z]+=\"", html)


def test_staff_pages_and_the_admin_carry_a_csp_without_unsafe_inline(teller: User, staff_client: Any) -> None:
    client = Client()
    login = client.get("/staff/login/")
    _csp(login)
    assert "<style" not in login.content.decode()
    assert "style=" not in login.content.decode()
    assert login["X-Frame-Options"] == "DENY"
    User.objects.create_superuser("boss", password=PASSWORD)
    admin_page = staff_client("boss").get("/admin/customers/customer/")
    _csp(admin_page)
    scripts = re.findall(r"<script\b[^>]*>", admin_page.content.decode())
    assert all("src=" in tag or "application/json" in tag for tag in scripts), scripts


def test_the_swagger_page_works_under_the_csp_with_its_script_as_a_file(db: Any) -> None:
    client = Client()
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    policy = _csp(page)
    assert "script-src 'self'" in policy
    html = page.content.decode()
    _no_inline_code(html)
    script = re.search(r'<script src="([^"]*\?[^"]*script[^"]*)"', html)
    assert script is not None
    code = client.get(script.group(1).replace("&amp;", "&"))
    assert code.status_code == 200
    assert code["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in code.content
    assets = re.findall(r'(?:src|href)="/static/([^"]+)"', html)
    assert "api/swagger.css" in assets
    for asset in assets:
        assert finders.find(asset), asset  # served from this host: no CDN


def test_a_login_from_a_new_address_sends_a_login_alert_by_e_mail_only(teller: User) -> None:
    from apps.common.principals import SYSTEM_ACTOR
    from apps.integrations.models import Delivery, DeliveryChannel, OutboxEvent
    from apps.integrations.services import outbox_relay, webhook_endpoint_create

    webhook_endpoint_create(actor=SYSTEM_ACTOR, url="https://example.com/hook", event_kinds=[])  # bank-wide
    teller.email = "teller1@bank.example"
    teller.save(update_fields=["email"])
    device = _enrolled(teller)

    assert _login(Client(), teller, device).url == "/staff/"  # first login: a new address
    assert _login(Client(), teller, device, offset=30).url == "/staff/"  # same address again
    assert _login(Client(REMOTE_ADDR="10.9.8.7"), teller, device, offset=60).url == "/staff/"

    alerts = list(OutboxEvent.objects.filter(kind="security.login_alert").order_by("id"))
    assert [alert.payload["ip_address"] for alert in alerts] == ["127.0.0.1", "10.9.8.7"]
    assert alerts[1].notify_email == "teller1@bank.example"
    assert "10.9.8.7" in alerts[1].message
    outbox_relay()
    sent = Delivery.objects.filter(event__in=alerts)
    assert {delivery.channel for delivery in sent} == {DeliveryChannel.EMAIL}  # never to a webhook
    assert sent.count() == 2
