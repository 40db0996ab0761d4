"""Checks of the streamable-HTTP transport that run before the MCP SDK sees a request.

- :class:`HostOriginGuard`: the ``Host`` header must name an allowed host (else 421 Misdirected
  Request) and an ``Origin`` header, when a browser sends one, an allowed origin (else 403), for
  every bind address. This is what stops DNS rebinding and cross-site pages: a page at
  ``http://evil.example`` whose name resolves to this machine sends ``Host: evil.example`` and
  ``Origin: http://evil.example``. The MCP specification requires servers to validate
  ``Origin``; the SDK does so only when bound to a loopback address, so the server disables the
  SDK's check and runs this one everywhere.
- :class:`BearerAuth`: ``Authorization: Bearer <token>`` compared in constant time (401).
- :func:`check_token`: the token's presence and length, checked before anything starts.

Allowed by default: the loopback names (``127.0.0.1``, ``localhost``, ``::1``) and the address the
server binds (unless it is a wildcard such as ``0.0.0.0``); more with ``allowed_hosts`` (host
names or addresses, any port) and ``allowed_origins`` (``scheme://host[:port]``, exact). An
origin whose host is an allowed host is allowed.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from ozon_async._exceptions import ConfigurationError

__all__ = [
    "LOOPBACK_HOSTS",
    "MIN_TOKEN_LENGTH",
    "BearerAuth",
    "HostOriginGuard",
    "allowed_hosts_for",
    "check_token",
    "normalize_host",
    "normalize_origin",
]

MIN_TOKEN_LENGTH = 16
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})
_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?")  # IDNA names in their xn-- form


def check_token(token: str | None, source: str = "the bearer token") -> str:
    """The token, or :class:`ConfigurationError` when it is missing, short or not one word."""
    if not token:
        raise ConfigurationError(
            f"--http needs a bearer token: set {source} (at least {MIN_TOKEN_LENGTH} "
            "characters) to a secret the MCP client sends"
        )
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigurationError(
            f"{source} is {len(token)} characters; the HTTP bearer token must be at least "
            f"{MIN_TOKEN_LENGTH} (e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in token) or not token.isascii():
        raise ConfigurationError(f"{source} must be printable ASCII without spaces")
    return token


def normalize_host(value: str) -> str:
    """``"[::1]"`` → ``"::1"``, ``"Example.COM."`` → ``"example.com"``; refuses a URL, a path or a
    port (:class:`ConfigurationError`)."""
    text = value.strip().lower().rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if not _HOST_NAME.fullmatch(text):
        raise ConfigurationError(
            f"allowed host {value!r} must be a host name or address, without scheme or port"
        )
    return text


def normalize_origin(value: str) -> str:
    """``"HTTPS://App.Example:443/"`` → ``"https://app.example:443"``; refuses anything that is
    not ``scheme://host[:port]``."""
    text = value.strip().rstrip("/")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise ConfigurationError(
            f"allowed origin {value!r} must be scheme://host[:port], e.g. https://app.example"
        )
    try:
        host = normalize_host(parts.hostname)
    except ConfigurationError:
        raise ConfigurationError(
            f"allowed origin {value!r} must be scheme://host[:port], e.g. https://app.example"
        ) from None
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme.lower()}://{shown}" + (f":{port}" if port is not None else "")


def allowed_hosts_for(bind: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The hosts a server bound to ``bind`` accepts: loopback, ``bind`` (unless a wildcard) and
    ``extra``."""
    hosts = set(LOOPBACK_HOSTS)
    if bind.strip() not in _WILDCARDS:
        hosts.add(normalize_host(bind))
    hosts.update(normalize_host(h) for h in extra)
    return frozenset(hosts)


def _header_host(value: str) -> str | None:
    """The host of a ``Host`` header (``"[::1]:8765"`` → ``"::1"``), or ``None`` if malformed."""
    text = value.strip().lower()
    if text.startswith("["):
        end = text.find("]")
        if end == -1 or (text[end + 1 :] and not text[end + 1 :].startswith(":")):
            return None
        host = text[1:end]
    else:
        host, _, port = text.partition(":")
        if port and not port.isdigit():
            return None
    return _bare_host(host) or None


def _bare_host(host: str) -> str:
    text = host.lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


async def _refuse(send: Any, status: int, message: str, extra: list[Any] | None = None) -> None:
    body = ('{"error":"' + message + '"}').encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(extra or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class HostOriginGuard:
    """ASGI wrapper: 421 for a ``Host`` that is not allowed, 403 for an ``Origin`` that is not
    (see the module docs)."""

    def __init__(self, app: Any, hosts: Iterable[str], origins: Iterable[str] = ()) -> None:
        self.app = app
        self.hosts = frozenset(hosts)
        self.origins = frozenset(normalize_origin(o) for o in origins)

    def origin_allowed(self, origin: str) -> bool:
        try:
            canonical = normalize_origin(origin)
        except ConfigurationError:  # "null", a path, junk
            return False
        if canonical in self.origins:
            return True
        host = urlsplit(canonical).hostname
        return host is not None and _bare_host(host) in self.hosts

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            host_values = []
            origin_values = []
            for key, value in scope.get("headers", ()):
                name = key.lower()
                if name == b"host":
                    host_values.append(value.decode("latin-1"))
                elif name == b"origin":
                    origin_values.append(value.decode("latin-1"))
            if len(host_values) != 1 or _header_host(host_values[0]) not in self.hosts:
                await _refuse(send, 421, "misdirected request: this Host is not served here")
                return
            if len(origin_values) > 1 or (
                origin_values and not self.origin_allowed(origin_values[0])
            ):
                await _refuse(send, 403, "forbidden: requests from this Origin are not allowed")
                return
        await self.app(scope, receive, send)


class BearerAuth:
    """ASGI wrapper that answers 401 unless ``Authorization: Bearer <token>`` matches."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            given = b""
            for key, value in scope.get("headers", ()):
                if key.lower() == b"authorization":
                    given = value
                    break
            if not hmac.compare_digest(given, self._expected):
                await _refuse(
                    send,
                    401,
                    "unauthorized: send Authorization: Bearer <token>",
                    [(b"www-authenticate", b'Bearer realm="ozon-async-mcp"')],
                )
                return
        await self.app(scope, receive, send)
