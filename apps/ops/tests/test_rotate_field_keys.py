"""Key rotation: after rotate_field_keys every stored value is under the new key, still reads
back, and the old key can be dropped."""

import base64
import secrets

import pytest
from django.core.management import call_command
from django.db import connection

from apps.audit.models import AuditEvent
from apps.common.crypto import key_ring
from apps.customers.models import Customer


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def rings(settings):
    old = f"old:{_key()}"
    settings.FIELD_ENCRYPTION_KEYS = old
    key_ring.cache_clear()
    yield settings, old
    key_ring.cache_clear()


def _raw_columns() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT national_id, phone FROM customers_customer ORDER BY id")
        return list(cursor.fetchall())


def test_rotation_rewrites_every_value_under_the_new_key_and_drops_the_old_one(rings, make_customer, capsys):
    settings, old = rings
    customers = [make_customer() for _ in range(7)]
    Customer.objects.filter(pk=customers[0].pk).update(phone="+8613800001111")
    expected = {c.pk: c.national_id for c in customers}
    assert all(value.startswith("old$") for value, _phone in _raw_columns())

    settings.FIELD_ENCRYPTION_KEYS = f"new:{_key()},{old}"
    key_ring.cache_clear()
    call_command("rotate_field_keys", batch_size=3)
    assert "re-encrypted 7 rows under key new" in capsys.readouterr().out

    for national_id, phone in _raw_columns():
        assert national_id.startswith("new$")
        assert phone == "" or phone.startswith("new$")
        assert not any(plain in national_id for plain in expected.values())
    assert AuditEvent.objects.filter(action="keys.rotate_field_keys").count() == 1

    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS.split(",")[0]  # old key gone
    key_ring.cache_clear()
    assert {c.pk: c.national_id for c in Customer.objects.all()} == expected
    assert Customer.objects.get(pk=customers[0].pk).phone == "+8613800001111"


def test_a_second_rotation_has_nothing_left_to_do(rings, make_customer, capsys):
    settings, old = rings
    make_customer()
    settings.FIELD_ENCRYPTION_KEYS = f"new:{_key()},{old}"
    key_ring.cache_clear()
    call_command("rotate_field_keys")
    before = _raw_columns()
    call_command("rotate_field_keys")
    assert "re-encrypted 0 rows" in capsys.readouterr().out.splitlines()[-1]
    assert _raw_columns() == before
