"""Client settings, validated once: :class:`ClientConfig` (also for ``with_options``)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ozon_async._exceptions import ConfigurationError, RequestValidationError
from ozon_async._hooks import EventHook, check_event_hooks
from ozon_async._record import Record
from ozon_async._retry import Backoff, RetryPolicy

DEFAULT_BASE_URL = "https://api-seller.ozon.ru"
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024

#: Headers the client sets from its credentials; neither ``headers`` nor ``extra_headers`` may.
CREDENTIAL_HEADERS = frozenset({"api-key", "client-id", "authorization"})

# RFC 9110 token characters for header names; values may not hold CR, LF or NUL.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\r\n\x00]")


def header_problem(name: Any, value: Any) -> str | None:
    """Why ``name: value`` cannot be sent as a header, or ``None`` when it can."""
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        return f"header name {name!r} is not a valid HTTP token"
    if not isinstance(value, str):
        return f"header {name!r} must be a string, not {type(value).__name__}"
    if _BAD_VALUE.search(value):
        return f"header {name!r} contains a line break or NUL"
    if name.lower() in CREDENTIAL_HEADERS:
        return (
            f"header {name!r} is set from the client's credentials; pass client_id/api_key "
            "or access_token"
        )
    return None


def check_extra_headers(operation: str, headers: Mapping[str, str]) -> None:
    """Per-call ``extra_headers``: :class:`RequestValidationError` naming the header."""
    for name, value in headers.items():
        problem = header_problem(name, value)
        if problem:
            raise RequestValidationError(problem, field="extra_headers", operation=operation)


def credential_problem(what: str, value: str) -> str | None:
    """Client-Id and Api-Key travel as header values: no line breaks (the value itself is never
    repeated in the message)."""
    if _BAD_VALUE.search(value):
        return f"{what} contains a line break or NUL"
    return None


def token_problem(what: str, value: Any) -> str | None:
    """Why ``value`` cannot be sent as ``Authorization: Bearer <value>``, or ``None`` (the value
    itself is never repeated in the message)."""
    if not isinstance(value, str):
        return f"{what} must be a string, not {type(value).__name__}"
    if not value:
        return f"{what} is empty"
    if value[:7].lower() == "bearer ":
        return f"{what} must be the token alone, without the 'Bearer ' prefix"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        return f"{what} contains whitespace or a control character"
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        import ipaddress

        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, allow_insecure: bool) -> str:
    """The base URL without a trailing ``/``; refuses anything but ``https://`` (or ``http://``
    to a loopback host, or with ``allow_insecure=True``)."""
    if not isinstance(url, str):
        raise ConfigurationError(f"base_url must be a string, not {type(url).__name__}")
    try:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigurationError(f"base_url {url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("https", "http") or not host:
        raise ConfigurationError(
            f"base_url {url!r} must be an absolute https:// URL, e.g. {DEFAULT_BASE_URL}"
        )
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError("base_url must not contain a user name or password")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"base_url {url!r} must not have a query or fragment")
    if _BAD_VALUE.search(url) or any(c.isspace() for c in url):
        raise ConfigurationError(f"base_url {url!r} contains whitespace")
    if parts.scheme == "http" and not allow_insecure and not _is_loopback(host):
        raise ConfigurationError(
            f"base_url {url!r} is plain http: the Api-Key would travel unencrypted. Use "
            "https://, or pass allow_insecure=True if this is really what you want"
        )
    return url.rstrip("/")


def _number(name: str, value: Any, *, positive: bool, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{name} must be a number, not {type(value).__name__}")
    if not math.isfinite(value):
        raise ConfigurationError(f"{name} must be finite, not {value!r}")
    if positive and value <= 0:
        raise ConfigurationError(f"{name} must be positive, not {value!r}")
    if not positive and value < 0:
        raise ConfigurationError(f"{name} must be 0 or more, not {value!r}")


def _integer(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"{name} must be an integer, not {type(value).__name__}")
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, not {value!r}")


_NONE: Mapping[str, Any] = MappingProxyType({})
_BACKOFF = Backoff()


class ClientConfig(Record):
    """Settings of a client, checked when made: a bad value raises :class:`ConfigurationError`
    naming it. :meth:`OzonClient.with_options` derives new ones (checked the same way), and so
    does :meth:`replace`.

    See :class:`ozon_async.OzonClient` for what each setting does.
    """

    base_url: str = DEFAULT_BASE_URL
    timeout: float = 30.0
    connect_timeout: float = 10.0
    max_retries: int = 3
    rate_limit: float | None = 50.0
    circuit_open_wait: float = 120.0
    max_retry_wait: float = 120.0
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    allow_insecure: bool = False
    backoff: Backoff = _BACKOFF
    headers: Mapping[str, str] = _NONE
    event_hooks: Mapping[str, tuple[EventHook, ...]] = _NONE

    def __post_init__(self) -> None:
        if not isinstance(self.allow_insecure, bool):
            raise ConfigurationError("allow_insecure must be True or False")
        self._set("base_url", check_base_url(self.base_url, self.allow_insecure))
        _number("timeout", self.timeout, positive=True)
        _number("connect_timeout", self.connect_timeout, positive=True)
        _integer("max_retries", self.max_retries, minimum=0)
        _number("rate_limit", self.rate_limit, positive=True, allow_none=True)
        _number("circuit_open_wait", self.circuit_open_wait, positive=False)
        _number("max_retry_wait", self.max_retry_wait, positive=False)
        _integer("max_response_bytes", self.max_response_bytes, minimum=1)
        backoff = self.backoff
        if not isinstance(backoff, Backoff):
            raise ConfigurationError("backoff must be a Backoff")
        _number("backoff.base", backoff.base, positive=True)
        _number("backoff.cap", backoff.cap, positive=True)
        headers = self.headers
        if not isinstance(headers, Mapping):
            raise ConfigurationError("headers must be a mapping of names to values")
        for name, value in headers.items():
            problem = header_problem(name, value)
            if problem:
                raise ConfigurationError(problem)
        self._set("headers", MappingProxyType(dict(headers)))
        self._set("event_hooks", check_event_hooks(self.event_hooks))

    @property
    def retry_policy(self) -> RetryPolicy:
        """The part of the settings the retry decision reads."""
        return RetryPolicy(
            max_retries=self.max_retries,
            max_retry_wait=self.max_retry_wait,
            circuit_open_wait=self.circuit_open_wait,
            backoff=self.backoff,
        )
