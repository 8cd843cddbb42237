"""The "Verify audit chains" admin page: auditors and superusers run verify_audit from it."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Account
from apps.audit.models import AuditEvent
from apps.audit.services import chains_seal
from apps.audit.tests.tampering import raw
from tests.support import verified_staff_client

VERIFY = reverse("admin:audit_verify")


def _staff(username: str, *permissions: str) -> Client:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return verified_staff_client(user)


def test_an_auditor_verifies_the_chains_from_the_admin(make_account: Callable[..., Account]) -> None:
    make_account(balance="10.00")
    auditor = _staff("auditor", "verify_audit", "view_auditcheckpoint")

    listing = auditor.get(reverse("admin:audit_auditcheckpoint_changelist"))
    assert VERIFY in listing.content.decode()
    assert b"Verify now" in auditor.get(VERIFY).content
    page = auditor.post(VERIFY).content.decode()

    assert "The chains verify" in page
    assert AuditEvent.objects.filter(action="audit.verify", actor="user:auditor").exists()


def test_the_admin_page_names_the_first_broken_row(make_account: Callable[..., Account]) -> None:
    make_account(balance="10.00")
    chains_seal()
    event = AuditEvent.objects.order_by("id").first()
    assert event is not None
    raw("UPDATE audit_auditevent SET actor = 'someone else' WHERE id = %s", [event.pk])

    page = _staff("auditor", "verify_audit").post(VERIFY).content.decode()

    assert "do NOT verify" in page
    assert f"chain audit, seq 1, id {event.pk}: content changed" in page


def test_staff_without_the_verify_permission_are_refused(db: None) -> None:
    teller = _staff("teller", "view_auditevent", "view_auditcheckpoint")
    before = AuditEvent.objects.count()

    assert teller.get(VERIFY).status_code == 403
    assert teller.post(VERIFY).status_code == 403
    assert VERIFY not in teller.get(reverse("admin:audit_auditcheckpoint_changelist")).content.decode()
    assert AuditEvent.objects.count() == before
