"""Field encryption (AES-256-GCM key ring with rotation) and keyed blind indexes."""

from __future__ import annotations

import base64
import os

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import override_settings

from apps.common import crypto
from apps.common.crypto import DecryptionError, blind_index, key_ring, parse_key_ring
from apps.customers.models import Customer


def new_key(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


@pytest.fixture
def fresh_crypto_caches():
    """key_ring() and the blind-index key are cached per process: start and end clean."""
    crypto.key_ring.cache_clear()
    crypto._blind_index_key.cache_clear()
    yield
    crypto.key_ring.cache_clear()
    crypto._blind_index_key.cache_clear()


def test_a_value_round_trips_and_each_encryption_is_fresh():
    ring = parse_key_ring(new_key("k1"))
    first = ring.encrypt("110101199001011234", "customers.customer.national_id")
    second = ring.encrypt("110101199001011234", "customers.customer.national_id")
    assert first != second  # a new nonce every time
    assert "110101199001011234" not in first
    assert first.startswith("k1$")
    assert ring.decrypt(first, "customers.customer.national_id") == "110101199001011234"
    assert ring.decrypt(second, "customers.customer.national_id") == "110101199001011234"


def test_unicode_and_empty_text_round_trip():
    ring = parse_key_ring(new_key("k1"))
    for text in ["", "张三 北京市朝阳区", "emoji \U0001f4b0"]:
        assert ring.decrypt(ring.encrypt(text, "ctx"), "ctx") == text


def test_rotation_old_values_still_decrypt_and_new_values_use_the_new_key():
    old, new = new_key("2024"), new_key("2025")
    before = parse_key_ring(old)
    stored_with_old = before.encrypt("secret", "ctx")

    rotated = parse_key_ring(f"{new},{old}")
    assert rotated.primary_id == "2025"
    assert rotated.decrypt(stored_with_old, "ctx") == "secret"
    stored_with_new = rotated.encrypt("secret", "ctx")
    assert rotated.key_id_of(stored_with_new) == "2025"
    assert rotated.key_id_of(stored_with_old) == "2024"
    with pytest.raises(DecryptionError):
        before.decrypt(stored_with_new, "ctx")  # the old ring does not know the new key


def test_a_value_whose_key_left_the_ring_refuses():
    old, new = new_key("a"), new_key("b")
    stored = parse_key_ring(old).encrypt("secret", "ctx")
    with pytest.raises(DecryptionError):
        parse_key_ring(new).decrypt(stored, "ctx")


def test_same_key_id_with_other_key_material_refuses():
    stored = parse_key_ring(new_key("k1")).encrypt("secret", "ctx")
    with pytest.raises(DecryptionError):
        parse_key_ring(new_key("k1")).decrypt(stored, "ctx")


def _flip(stored: str, index: int) -> str:
    key_id, _sep, payload = stored.partition("$")
    raw = bytearray(base64.b64decode(payload))
    raw[index] ^= 0x01
    return f"{key_id}${base64.b64encode(bytes(raw)).decode()}"


@pytest.mark.parametrize("index", [0, 11, 12, 20, -1])  # nonce, first/last ciphertext byte, tag
def test_tampered_ciphertext_refuses(index):
    ring = parse_key_ring(new_key("k1"))
    stored = ring.encrypt("pay 100 to Alice", "ctx")
    with pytest.raises(DecryptionError):
        ring.decrypt(_flip(stored, index), "ctx")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s.partition("$")[2],  # no key id
        lambda s: s[:-8],  # truncated
        lambda s: s + "A",  # not base64 any more
        lambda s: s.replace("$", "$!", 1),  # not base64
        lambda s: "k1$",  # empty payload
        lambda s: "k1$" + base64.b64encode(b"short").decode(),  # shorter than a nonce and a tag
    ],
)
def test_malformed_stored_values_refuse_with_decryption_error(mangle):
    ring = parse_key_ring(new_key("k1"))
    with pytest.raises(DecryptionError):
        ring.decrypt(mangle(ring.encrypt("secret", "ctx")), "ctx")


def test_a_value_copied_to_another_column_refuses():
    ring = parse_key_ring(new_key("k1"))
    stored = ring.encrypt("110101199001011234", "customers.customer.national_id")
    with pytest.raises(DecryptionError):
        ring.decrypt(stored, "customers.customer.phone")


@pytest.mark.parametrize(
    "spec",
    [
        "",
        " , ",
        "nocolon",
        ":" + base64.b64encode(b"\0" * 32).decode(),  # empty id
        "a$b:" + base64.b64encode(b"\0" * 32).decode(),  # $ in the id
        "k1:not-base64!",
        "k1:" + base64.b64encode(b"\0" * 16).decode(),  # AES-128 is not enough
        "k1:{k},k1:{k}".format(k=base64.b64encode(b"\0" * 32).decode()),  # duplicate id
    ],
)
def test_bad_key_ring_specs_are_refused(spec):
    with pytest.raises(ImproperlyConfigured):
        parse_key_ring(spec)


@pytest.mark.django_db
def test_rotation_through_the_settings_keeps_stored_pii_readable(fresh_crypto_caches, make_customer, settings):
    old_spec = settings.FIELD_ENCRYPTION_KEYS
    old_primary = key_ring().primary_id
    customer = make_customer()
    national_id = Customer.objects.get(pk=customer.pk).national_id

    def stored_column(pk: int) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT national_id FROM customers_customer WHERE id = %s", [pk])
            return cursor.fetchone()[0]

    assert national_id not in stored_column(customer.pk)
    assert stored_column(customer.pk).startswith(f"{old_primary}$")

    with override_settings(FIELD_ENCRYPTION_KEYS=f"{new_key('rotated')},{old_spec}"):
        crypto.key_ring.cache_clear()
        assert Customer.objects.get(pk=customer.pk).national_id == national_id
        later = make_customer()
        assert stored_column(later.pk).startswith("rotated$")
        later_id = Customer.objects.get(pk=later.pk).national_id

    crypto.key_ring.cache_clear()
    with pytest.raises(DecryptionError):  # the old ring alone cannot read what the new key wrote
        Customer.objects.get(pk=later.pk)
    assert later_id == later.national_id


def test_blind_index_is_deterministic_normalised_and_keyed(fresh_crypto_caches):
    with override_settings(BLIND_INDEX_KEY=base64.b64encode(b"k" * 32).decode()):
        crypto._blind_index_key.cache_clear()
        digest = blind_index("11010119900101123x", "national_id")
        assert digest == blind_index("11010119900101123x", "national_id")
        assert digest == blind_index(" 110101 19900101 123X ", "national_id")  # spaces and case ignored
        assert len(digest) == 64
        assert all(ch in "0123456789abcdef" for ch in digest)
        assert "11010119900101123" not in digest
        assert digest != blind_index("110101199001011230", "national_id")
        assert digest != blind_index("11010119900101123x", "phone")  # one purpose, one index
    with override_settings(BLIND_INDEX_KEY=base64.b64encode(b"z" * 32).decode()):
        crypto._blind_index_key.cache_clear()
        assert blind_index("11010119900101123x", "national_id") != digest  # keyed: another key, another digest


def test_blind_index_without_a_key_refuses(fresh_crypto_caches):
    with override_settings(BLIND_INDEX_KEY=""):
        crypto._blind_index_key.cache_clear()
        with pytest.raises(ImproperlyConfigured):
            blind_index("x", "national_id")
