"""Secrets never reach logs, reports or error messages."""

from __future__ import annotations

import logging
import secrets
import string

import pytest

from harness.redact import (
    MASK,
    RedactingFilter,
    new_password,
    redact_text,
    redact_url,
    register_secret,
)


def test_new_password_is_random_url_and_sql_safe_and_registered() -> None:
    first, second = new_password(), new_password()
    assert first != second
    assert len(first) == 24
    assert set(first) <= set(string.ascii_letters + string.digits)
    assert redact_text(f"IDENTIFIED BY '{first}'") == f"IDENTIFIED BY '{MASK}'"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://root:s3cret@db:3306", f"mysql://root:{MASK}@db:3306"),
        ("postgresql://postgres:p%40ss@127.0.0.1", f"postgresql://postgres:{MASK}@127.0.0.1"),
        ("mysql://root:@db", f"mysql://root:{MASK}@db"),
        ("mysql://:only-pw@db:1", f"mysql://:{MASK}@db:1"),
        ("mysql://root@db:3306", "mysql://root@db:3306"),
        ("mysql://db:3306/schema", "mysql://db:3306/schema"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_url_that_urllib_cannot_split() -> None:
    shown = redact_url("mysql://root:hunter22@[::1:3306")
    assert "hunter22" not in shown
    assert shown.startswith(f"mysql://root:{MASK}@")


def test_redact_text_masks_urls_and_registered_secrets() -> None:
    secret = secrets.token_hex(8)
    register_secret(secret)
    text = f"connect mysql://a:pw1@h:1 and postgres://b:pw2@h:2 with {secret} twice {secret}"
    assert redact_text(text) == (
        f"connect mysql://a:{MASK}@h:1 and postgres://b:{MASK}@h:2 with {MASK} twice {MASK}"
    )


def test_longer_secret_is_masked_whole() -> None:
    short = secrets.token_hex(3)
    register_secret(short)
    register_secret(short + "tail")
    assert redact_text(f"x {short}tail y") == f"x {MASK} y"


@pytest.mark.parametrize("value", ["", None, "abc"])
def test_empty_and_tiny_secrets_are_not_registered(value: str | None) -> None:
    register_secret(value)
    assert redact_text("abc abcabc") == "abc abcabc"


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("harness", logging.INFO, __file__, 1, message, args, None)


def test_logging_filter_masks_arguments() -> None:
    password = new_password()
    record = _record("server %s ready with %s", "db", password)
    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == f"server db ready with {MASK}"
    assert password not in record.getMessage()


def test_logging_filter_leaves_clean_records_alone() -> None:
    record = _record("server %s ready on port %d", "db", 3306)
    RedactingFilter().filter(record)
    assert (record.msg, record.args) == ("server %s ready on port %d", ("db", 3306))
