"""Keep secrets out of logs, reports and exception messages.

Passwords are random per run, but a password that reaches a CI log is still a
leak (a reused container or an external server outlives the log). Everything
that shows a URL goes through :func:`redact_url`, and every secret the harness
creates or is given is registered here so :func:`redact_text` (and the logging
filter) can mask it wherever it appears.
"""

from __future__ import annotations

import logging
import re
import secrets
import string
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_registered: set[str] = set()
#: Called with every secret registered from now on (a check's process tells its parent).
_listeners: list[Callable[[str], None]] = []
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@\s]*@")


def new_password(length: int = 24) -> str:
    """A random password safe in URLs, shell words and SQL string literals."""
    alphabet = string.ascii_letters + string.digits
    password = "".join(secrets.choice(alphabet) for _ in range(length))
    register_secret(password)
    return password


def register_secret(value: str | None) -> None:
    """Remember ``value`` so that :func:`redact_text` masks it from now on."""
    if value and len(value) >= 4 and value not in _registered:
        _registered.add(value)
        for listener in _listeners:
            listener(value)


def on_secret(listener: Callable[[str], None]) -> None:
    """Have ``listener`` called with each secret registered from now on.

    A check runs in a process of its own and makes its namespace user's password
    there; the parent, which prints the check's output and writes the reports,
    must mask it too.
    """
    _listeners.append(listener)


def redact_url(url: str) -> str:
    """``mysql://root:pw@host:3306`` -> ``mysql://root:***@host:3306``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _URL_PASSWORD.sub(rf"\g<scheme>\g<user>:{MASK}@", url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    userinfo = f"{parts.username}:{MASK}" if parts.username else f":{MASK}"
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{netloc}"))


def redact_text(text: str) -> str:
    """Mask every registered secret and every URL password inside ``text``."""
    text = _URL_PASSWORD.sub(rf"\g<scheme>\g<user>:{MASK}@", text)
    for secret in sorted(_registered, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks registered secrets in every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
