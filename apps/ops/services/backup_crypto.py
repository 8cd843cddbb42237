"""The encrypted backup file format: chunked AES-256-GCM, streamed, self-authenticating.

A backup file is a header followed by chunks; memory use does not grow with the file size.

    header   magic b"FINSYSBK" | version u8 (=1) | key id (8 bytes) | base nonce (12 bytes)
             | metadata length u32 | metadata (UTF-8 JSON, e.g. {"engine": "postgresql", ...})
    chunk    ciphertext length u32 | ciphertext (plaintext <= 1 MiB, plus the 16-byte GCM tag)

Chunk i (from 0) is sealed with nonce = base nonce XOR i (as a 96-bit big-endian integer) and
associated data = the whole header | i (u64) | final flag (u8, 1 on the last chunk only). So
the header (metadata included) cannot be altered, chunks cannot be reordered, dropped, repeated
or moved between files (each file has a random base nonce), and a file cut short is detected
because its last chunk does not carry the final flag. Bytes after the final chunk are refused.

The key id is the first 8 bytes of HMAC-SHA256(key, "finsys backup key id"): it tells restore
which key of BACKUP_ENCRYPTION_KEY to use (or that none fits) without revealing the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"FINSYSBK"
VERSION = 1
KEY_ID_BYTES = 8
NONCE_BYTES = 12
TAG_BYTES = 16
CHUNK_BYTES = 1024 * 1024
MAX_METADATA_BYTES = 64 * 1024
_FIXED_HEADER = struct.Struct(f">{len(MAGIC)}sB{KEY_ID_BYTES}s{NONCE_BYTES}sI")
_LENGTH = struct.Struct(">I")


class BackupFormatError(ValueError):
    """The file is not a backup this code can read, or it was damaged or altered."""


class BackupKeyError(ValueError):
    """No configured key fits, or the configured key is malformed."""


@dataclass(frozen=True)
class BackupKey:
    key_id: bytes
    material: bytes

    @property
    def key_id_hex(self) -> str:
        return self.key_id.hex()


def _key_id(material: bytes) -> bytes:
    return hmac.new(material, b"finsys backup key id", hashlib.sha256).digest()[:KEY_ID_BYTES]


def parse_backup_keys(spec: str) -> list[BackupKey]:
    """BACKUP_ENCRYPTION_KEY: base64 32-byte keys, comma-separated; the first encrypts, all decrypt."""
    keys: list[BackupKey] = []
    for item in (part.strip() for part in (spec or "").split(",")):
        if not item:
            continue
        try:
            material = base64.b64decode(item, validate=True)
        except binascii.Error as exc:
            raise BackupKeyError("BACKUP_ENCRYPTION_KEY holds a value that is not base64") from exc
        if len(material) != 32:
            raise BackupKeyError("BACKUP_ENCRYPTION_KEY keys must be 32 bytes (AES-256), base64-encoded")
        keys.append(BackupKey(key_id=_key_id(material), material=material))
    if not keys:
        raise BackupKeyError("BACKUP_ENCRYPTION_KEY is not set")
    return keys


def _nonce(base: bytes, index: int) -> bytes:
    return (int.from_bytes(base, "big") ^ index).to_bytes(NONCE_BYTES, "big")


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">QB", index, 1 if final else 0)


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    data = b""
    while len(data) < size:
        part = stream.read(size - len(data))
        if not part:
            break
        data += part
    return data


def encrypt_stream(source: IO[bytes], target: IO[bytes], *, key: BackupKey, metadata: dict[str, Any]) -> int:
    """Read `source` to its end and write the encrypted file to `target`; returns plaintext bytes."""
    meta = json.dumps(metadata, sort_keys=True, separators=(",", ":")).encode()
    if len(meta) > MAX_METADATA_BYTES:
        raise ValueError("backup metadata too large")
    base_nonce = os.urandom(NONCE_BYTES)
    header = _FIXED_HEADER.pack(MAGIC, VERSION, key.key_id, base_nonce, len(meta)) + meta
    target.write(header)
    aead = AESGCM(key.material)
    total = 0
    index = 0
    current = _read_exact(source, CHUNK_BYTES)
    while True:
        following = _read_exact(source, CHUNK_BYTES) if len(current) == CHUNK_BYTES else b""
        final = not following
        sealed = aead.encrypt(_nonce(base_nonce, index), current, _aad(header, index, final))
        target.write(_LENGTH.pack(len(sealed)) + sealed)
        total += len(current)
        if final:
            return total
        current = following
        index += 1


@dataclass(frozen=True)
class BackupHeader:
    raw: bytes
    key_id: bytes
    base_nonce: bytes
    metadata: dict[str, Any]


def read_header(stream: IO[bytes]) -> BackupHeader:
    fixed = _read_exact(stream, _FIXED_HEADER.size)
    if len(fixed) < len(MAGIC) or fixed[: len(MAGIC)] != MAGIC:
        raise BackupFormatError("not a finsys backup file (wrong magic bytes)")
    if len(fixed) < _FIXED_HEADER.size:
        raise BackupFormatError("backup file is truncated (incomplete header)")
    _magic, version, key_id, base_nonce, meta_len = _FIXED_HEADER.unpack(fixed)
    if version != VERSION:
        raise BackupFormatError(f"unsupported backup format version {version} (this code reads {VERSION})")
    if meta_len > MAX_METADATA_BYTES:
        raise BackupFormatError("backup file is damaged (metadata length out of range)")
    meta = _read_exact(stream, meta_len)
    if len(meta) < meta_len:
        raise BackupFormatError("backup file is truncated (incomplete header)")
    try:
        metadata = json.loads(meta)
    except ValueError as exc:
        raise BackupFormatError("backup file is damaged (metadata is not JSON)") from exc
    if not isinstance(metadata, dict):
        raise BackupFormatError("backup file is damaged (metadata is not an object)")
    return BackupHeader(raw=fixed + meta, key_id=key_id, base_nonce=base_nonce, metadata=metadata)


def key_for(header: BackupHeader, keys: list[BackupKey]) -> BackupKey:
    for key in keys:
        if hmac.compare_digest(key.key_id, header.key_id):
            return key
    held = ", ".join(k.key_id_hex for k in keys)
    raise BackupKeyError(
        f"backup was encrypted with key id {header.key_id.hex()}, but BACKUP_ENCRYPTION_KEY holds key id(s) {held}"
    )


def decrypt_chunks(stream: IO[bytes], header: BackupHeader, key: BackupKey) -> Iterator[bytes]:
    """Yield the plaintext chunk by chunk, each authenticated before it is yielded.

    Raises BackupFormatError on the first chunk that fails, on a file cut short (no final chunk)
    and on bytes after the final chunk.
    """
    aead = AESGCM(key.material)
    index = 0
    while True:
        length_bytes = _read_exact(stream, _LENGTH.size)
        if not length_bytes:
            raise BackupFormatError(f"backup file is truncated (ends after chunk {index - 1}, before the final chunk)")
        if len(length_bytes) < _LENGTH.size:
            raise BackupFormatError(f"backup file is truncated (inside chunk {index})")
        (length,) = _LENGTH.unpack(length_bytes)
        if not TAG_BYTES <= length <= CHUNK_BYTES + TAG_BYTES:
            raise BackupFormatError(f"backup file is damaged (chunk {index} has an impossible length)")
        sealed = _read_exact(stream, length)
        if len(sealed) < length:
            raise BackupFormatError(f"backup file is truncated (inside chunk {index})")
        nonce = _nonce(header.base_nonce, index)
        final = False
        try:
            plain = aead.decrypt(nonce, sealed, _aad(header.raw, index, final=False))
        except InvalidTag:
            try:
                plain = aead.decrypt(nonce, sealed, _aad(header.raw, index, final=True))
                final = True
            except InvalidTag as exc:
                raise BackupFormatError(
                    f"backup file is damaged or was altered (chunk {index} fails authentication)"
                ) from exc
        yield plain
        if final:
            if stream.read(1):
                raise BackupFormatError("backup file is damaged or was altered (data after the final chunk)")
            return
        index += 1


def verify_stream(stream: IO[bytes], keys: list[BackupKey]) -> tuple[BackupHeader, int]:
    """Authenticate a whole backup without keeping or writing its plaintext; returns its size."""
    header = read_header(stream)
    key = key_for(header, keys)
    return header, sum(len(chunk) for chunk in decrypt_chunks(stream, header, key))
