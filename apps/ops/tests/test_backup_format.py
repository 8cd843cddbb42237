"""The encrypted backup format: round trip in constant-size chunks, and every kind of damage refused."""

import base64
import io
import secrets
import struct

import pytest

from apps.ops.services import backup_crypto
from apps.ops.services.backup_crypto import (
    BackupFormatError,
    BackupKeyError,
    decrypt_chunks,
    encrypt_stream,
    key_for,
    parse_backup_keys,
    read_header,
    verify_stream,
)


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(backup_crypto, "CHUNK_BYTES", 64)


def _key_spec() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _seal(plain: bytes, spec: str) -> bytes:
    out = io.BytesIO()
    encrypt_stream(io.BytesIO(plain), out, key=parse_backup_keys(spec)[0], metadata={"engine": "sqlite"})
    return out.getvalue()


def _open(sealed: bytes, spec: str) -> bytes:
    stream = io.BytesIO(sealed)
    header = read_header(stream)
    return b"".join(decrypt_chunks(stream, header, key_for(header, parse_backup_keys(spec))))


def _chunk_offsets(sealed: bytes) -> list[tuple[int, int]]:
    """(start, end) of each length-prefixed chunk after the header."""
    stream = io.BytesIO(sealed)
    read_header(stream)
    offsets = []
    position = stream.tell()
    while position < len(sealed):
        (length,) = struct.unpack(">I", sealed[position : position + 4])
        offsets.append((position, position + 4 + length))
        position += 4 + length
    return offsets


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 64 * 5, 64 * 5 + 7])
def test_round_trip_of_any_size_in_small_chunks(small_chunks, size):
    spec = _key_spec()
    plain = secrets.token_bytes(size)
    sealed = _seal(plain, spec)
    if size >= 16:  # a byte or two of plaintext may appear in any random ciphertext by chance
        assert plain not in sealed
    assert _open(sealed, spec) == plain
    assert len(_chunk_offsets(sealed)) == max(1, -(-size // 64))


def test_a_flipped_byte_in_any_chunk_is_refused(small_chunks):
    spec = _key_spec()
    sealed = _seal(secrets.token_bytes(64 * 3), spec)
    for start, end in _chunk_offsets(sealed):
        damaged = bytearray(sealed)
        damaged[(start + end) // 2] ^= 0x01
        with pytest.raises(BackupFormatError, match="damaged or was altered"):
            _open(bytes(damaged), spec)


def test_a_file_cut_at_a_chunk_boundary_is_refused_as_truncated(small_chunks):
    spec = _key_spec()
    sealed = _seal(secrets.token_bytes(64 * 3), spec)
    last_start, _end = _chunk_offsets(sealed)[-1]
    with pytest.raises(BackupFormatError, match="truncated"):
        _open(sealed[:last_start], spec)
    with pytest.raises(BackupFormatError, match="truncated"):
        _open(sealed[: last_start + 10], spec)


def test_reordered_or_repeated_chunks_are_refused(small_chunks):
    spec = _key_spec()
    sealed = _seal(secrets.token_bytes(64 * 3), spec)
    (a0, a1), (b0, b1), (c0, c1) = _chunk_offsets(sealed)
    header = sealed[:a0]
    swapped = header + sealed[b0:b1] + sealed[a0:a1] + sealed[c0:c1]
    with pytest.raises(BackupFormatError, match="chunk 0 fails authentication"):
        _open(swapped, spec)
    repeated = header + sealed[a0:a1] + sealed[a0:a1] + sealed[b0:b1] + sealed[c0:c1]
    with pytest.raises(BackupFormatError, match="chunk 1 fails authentication"):
        _open(repeated, spec)


def test_bytes_after_the_final_chunk_are_refused(small_chunks):
    spec = _key_spec()
    sealed = _seal(b"hello bank", spec)
    with pytest.raises(BackupFormatError, match="after the final chunk"):
        _open(sealed + b"\x00", spec)


def test_altered_metadata_in_the_header_is_refused():
    spec = _key_spec()
    sealed = _seal(b"hello bank", spec)
    altered = sealed.replace(b'"sqlite"', b'"sqlit3"')
    assert altered != sealed
    with pytest.raises(BackupFormatError, match="fails authentication"):
        _open(altered, spec)


def test_a_chunk_moved_from_another_backup_under_the_same_key_is_refused():
    spec = _key_spec()
    first, second = _seal(b"first backup", spec), _seal(b"other backup", spec)
    (start, _end) = _chunk_offsets(first)[0]
    (other_start, other_end) = _chunk_offsets(second)[0]
    with pytest.raises(BackupFormatError, match="fails authentication"):
        _open(first[:start] + second[other_start:other_end], spec)


def test_wrong_key_names_both_key_ids_and_an_old_key_in_the_ring_still_decrypts():
    old, new = _key_spec(), _key_spec()
    sealed = _seal(b"made under the old key", old)
    with pytest.raises(BackupKeyError, match="encrypted with key id"):
        _open(sealed, new)
    assert _open(sealed, f"{new},{old}") == b"made under the old key"


def test_not_a_backup_and_bad_keys_are_refused_with_clear_messages():
    with pytest.raises(BackupFormatError, match="not a finsys backup"):
        verify_stream(io.BytesIO(b"PGDMP\x01\x0e\x00"), parse_backup_keys(_key_spec()))
    with pytest.raises(BackupFormatError, match="truncated"):
        verify_stream(io.BytesIO(b"FINSYSBK\x01"), parse_backup_keys(_key_spec()))
    with pytest.raises(BackupKeyError, match="not set"):
        parse_backup_keys("")
    with pytest.raises(BackupKeyError, match="32 bytes"):
        parse_backup_keys(base64.b64encode(b"short").decode())
    with pytest.raises(BackupKeyError, match="not base64"):
        parse_backup_keys("not base64 !")
