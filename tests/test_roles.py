"""The staff roles: defined once in apps/common/roles.py, synced to groups, written in docs/security.md."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from apps.audit.models import AuditEvent
from apps.common.roles import ADMINISTRATOR, ADMINISTRATOR_APPS, ROLE_PERMISSIONS, ROLES, matrix_markdown, roles_sync

SECURITY_MD = Path(__file__).resolve().parent.parent / "docs" / "security.md"


def group_permissions(name: str) -> set[str]:
    return {
        f"{app}.{code}"
        for app, code in Group.objects.get(name=name).permissions.values_list("content_type__app_label", "codename")
    }


def test_docs_security_md_carries_the_permission_matrix_the_code_defines():
    text = SECURITY_MD.read_text(encoding="utf-8")
    assert matrix_markdown() in text, (
        "docs/security.md's role matrix is out of date: paste apps.common.roles.matrix_markdown() "
        "(python manage.py shell -c 'from apps.common.roles import matrix_markdown; print(matrix_markdown())')"
    )


def test_every_permission_of_the_matrix_exists(db):
    counts = roles_sync(strict=True)  # raises on an unknown permission
    assert set(counts) == set(ROLES)


def test_migrate_leaves_every_role_group_holding_exactly_its_permissions(db):
    """The post_migrate hook ran when the test database was migrated."""
    for role, wanted in ROLE_PERMISSIONS.items():
        if role == ADMINISTRATOR:
            expected = {
                f"{p.content_type.app_label}.{p.codename}"
                for p in Permission.objects.filter(content_type__app_label__in=ADMINISTRATOR_APPS).select_related(
                    "content_type"
                )
            }
        else:
            expected = set(wanted)
        assert group_permissions(role) == expected, role


def test_roles_sync_puts_back_what_was_changed_by_hand_and_is_idempotent(db):
    teller = Group.objects.get(name="teller")
    teller.permissions.add(Permission.objects.get(codename="change_account"))
    Group.objects.get(name="auditor").delete()
    call_command("roles_sync", stdout=StringIO())
    assert group_permissions("teller") == set(ROLE_PERMISSIONS["teller"])
    assert group_permissions("auditor") == set(ROLE_PERMISSIONS["auditor"])
    before = {role: group_permissions(role) for role in ROLES}
    out = StringIO()
    call_command("roles_sync", stdout=out)
    assert {role: group_permissions(role) for role in ROLES} == before
    assert "teller:" in out.getvalue()
    assert AuditEvent.objects.filter(action="roles.sync").count() == 2


def test_roles_sync_refuses_an_unknown_permission(db, monkeypatch):
    monkeypatch.setitem(ROLE_PERMISSIONS, "teller", frozenset({"customers.view_customer", "customers.fly"}))
    with pytest.raises(LookupError, match=r"customers\.fly"):
        roles_sync()


@pytest.mark.parametrize(
    ("role", "may", "may_not"),
    [
        (
            "auditor",
            {"audit.view_auditevent", "customers.view_customer"},
            {"customers.view_pii", "accounts.change_account"},
        ),
        ("teller", {"accounts.view_account"}, {"audit.view_auditevent", "accounts.change_account"}),
        (
            "relationship_manager",
            {"customers.view_assigned_customer"},
            {"customers.view_customer", "accounts.view_account"},
        ),
        ("compliance_officer", {"customers.view_pii", "compliance.change_approval"}, {"api.change_apiclient"}),
        ("administrator", {"api.change_apiclient", "customers.view_pii"}, set()),
    ],
)
def test_the_matrix_says_what_each_role_is_for(db, role, may, may_not):
    held = group_permissions(role)
    assert may <= held
    assert not (may_not & held)


def test_no_role_may_change_ledger_or_audit_rows():
    for role, held in ROLE_PERMISSIONS.items():
        for permission in held:
            assert permission not in {
                "transactions.change_posting",
                "transactions.delete_posting",
                "transactions.change_journalentry",
                "transactions.delete_journalentry",
                "audit.change_auditevent",
                "audit.delete_auditevent",
            }, role
