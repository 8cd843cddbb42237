"""The Ed25519 key that signs audit checkpoints.

AUDIT_SIGNING_KEY is the base64 of the raw 32-byte private key (production requires it;
development generates one into var/dev-keys.json). AUDIT_TRUSTED_PUBLIC_KEYS lists the base64
public keys of earlier signing keys, so checkpoints signed before a rotation still verify.
A checkpoint stores its public key, but verification trusts only these configured keys: a
key written into the database by whoever could also rewrite the chain proves nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from functools import cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def key_id_of(public_key_b64: str) -> str:
    """A short fingerprint of a public key: the first 16 hex digits of SHA-256 of its raw bytes."""
    return hashlib.sha256(base64.b64decode(public_key_b64)).hexdigest()[:16]


def _decode(value: str, name: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except binascii.Error as exc:
        raise ImproperlyConfigured(f"{name} is not base64") from exc
    if len(raw) != 32:
        raise ImproperlyConfigured(f"{name} must be 32 bytes (Ed25519), base64-encoded")
    return raw


@cache
def _private_key(spec: str) -> Ed25519PrivateKey:
    if not spec:
        raise ImproperlyConfigured("AUDIT_SIGNING_KEY is not set")
    return Ed25519PrivateKey.from_private_bytes(_decode(spec, "AUDIT_SIGNING_KEY"))


def signing_key() -> Ed25519PrivateKey:
    return _private_key(settings.AUDIT_SIGNING_KEY)


def public_key_b64(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def sign(message: bytes) -> tuple[str, str, str]:
    """Sign with the current key: (signature, public key, key id), base64 and hex."""
    key = signing_key()
    public = public_key_b64(key)
    return base64.b64encode(key.sign(message)).decode(), public, key_id_of(public)


def trusted_public_keys() -> dict[str, str]:
    """key id -> base64 public key: the current signing key's and the retired ones'."""
    keys = [public_key_b64(signing_key())] if settings.AUDIT_SIGNING_KEY else []
    for item in settings.AUDIT_TRUSTED_PUBLIC_KEYS:
        _decode(item, "AUDIT_TRUSTED_PUBLIC_KEYS")
        keys.append(item.strip())
    return {key_id_of(key): key for key in keys}


def signature_valid(public_key: str, message: bytes, signature: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True)).verify(
            base64.b64decode(signature, validate=True), message
        )
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
