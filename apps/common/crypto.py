"""Field encryption (AES-256-GCM) with a key ring, and keyed blind indexes.

FIELD_ENCRYPTION_KEYS is a comma-separated list of `key_id:base64(32 bytes)`; the first key
encrypts, every key decrypts, so keys rotate by putting a new key first and re-encrypting
(`manage.py rotate_field_keys`). A stored value is `key_id$base64(nonce || ciphertext)`; the
column it belongs to is bound in as associated data, so a value copied to another column fails.
BLIND_INDEX_KEY keys an HMAC-SHA256 of the normalised value, for exact lookups.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

NONCE_BYTES = 12


class DecryptionError(ValueError):
    """A stored value could not be decrypted with any key of the ring."""


@dataclass(frozen=True)
class KeyRing:
    primary_id: str
    keys: dict[str, AESGCM]

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self.keys[self.primary_id].encrypt(nonce, plaintext.encode(), context.encode())
        return f"{self.primary_id}${base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, context: str) -> str:
        key_id, sep, payload = stored.partition("$")
        if not sep or key_id not in self.keys:
            raise DecryptionError(f"no key {key_id!r} in FIELD_ENCRYPTION_KEYS")
        try:
            raw = base64.b64decode(payload, validate=True)
            plain = self.keys[key_id].decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise DecryptionError("stored value does not decrypt") from exc
        return plain.decode()

    def key_id_of(self, stored: str) -> str:
        return stored.partition("$")[0]


def parse_key_ring(spec: str) -> KeyRing:
    keys: dict[str, AESGCM] = {}
    order: list[str] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        key_id, sep, encoded = item.partition(":")
        if not sep or not key_id or "$" in key_id:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS items look like id:base64key")
        try:
            material = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise ImproperlyConfigured(f"key {key_id!r} is not base64") from exc
        if len(material) != 32:
            raise ImproperlyConfigured(f"key {key_id!r} must be 32 bytes (AES-256)")
        if key_id in keys:
            raise ImproperlyConfigured(f"key id {key_id!r} appears twice")
        keys[key_id] = AESGCM(material)
        order.append(key_id)
    if not order:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty")
    return KeyRing(primary_id=order[0], keys=keys)


@cache
def key_ring() -> KeyRing:
    return parse_key_ring(settings.FIELD_ENCRYPTION_KEYS)


@cache
def _blind_index_key() -> bytes:
    raw = settings.BLIND_INDEX_KEY
    if not raw:
        raise ImproperlyConfigured("BLIND_INDEX_KEY is not set")
    try:
        return base64.b64decode(raw, validate=True)
    except binascii.Error:
        return raw.encode()


def blind_index(value: str, purpose: str) -> str:
    """A keyed, deterministic digest of `value` for exact-match lookups (not reversible)."""
    normalised = "".join(value.split()).upper()
    message = f"{purpose}:{normalised}".encode()
    return hmac.new(_blind_index_key(), message, hashlib.sha256).hexdigest()
