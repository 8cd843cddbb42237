"""Credentials are blanked in every log record, whoever writes it."""

import logging

import pytest

from apps.common.log_redaction import REDACTED, redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Issuing token, {'access_token': 'DgUXWZyna6OMCGbeoVkl', 'expires_in': 3600}", "DgUXWZyna6OMCGbeoVkl"),
        ('{"client_secret": "s3cr3tVALUE"}', "s3cr3tVALUE"),
        ("grant_type=client_credentials&client_secret=abcDEF123&client_id=x", "abcDEF123"),
        ("password=hunter2-long", "hunter2-long"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload", "eyJhbGciOiJIUzI1NiJ9.payload"),
        ("Authorization: Basic Y2xpZW50OnNlY3JldA==", "Y2xpZW50OnNlY3JldA=="),
    ],
)
def test_credential_values_are_blanked(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert REDACTED in cleaned


def test_ordinary_text_is_left_alone() -> None:
    text = "Issuing token to client id 'abc', {'expires_in': 3600, 'token_type': 'Bearer', 'scope': 'a b'}"
    assert redact(text) == text


def test_records_from_any_logger_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="some.library"):
        logging.getLogger("some.library").debug("token %s", {"access_token": "T0kenValue123"})
    assert "T0kenValue123" not in caplog.text
    assert REDACTED in caplog.text
