"""What every command that talks to the API shares: credentials, the client, error reporting,
secrets kept out of the output, and running a coroutine with a clean stop on Ctrl-C.

A workflow sub-app (``ozon stocks ...``, ``ozon report ...``) uses it like ``ozon call`` does::

    @group.command()
    @connection_options
    def push(conn: Connection, ...) -> None:
        session = Session.open(conn)          # resolves the profile; exit 2 on a bad config
        session.exit(run_async(lambda: work(session)))

where ``work`` does ``async with session.client() as client: ...`` and returns an exit code.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from ozon_async._exceptions import (
    APIConnectionError,
    APIStatusError,
    ConfigurationError,
    OzonError,
    RequestValidationError,
    ResponseDecodeError,
)
from ozon_async.profiles import Profile, resolve_profile, seller_client

if TYPE_CHECKING:
    from ozon_async._client import OzonClient

__all__ = [
    "CONTEXT",
    "EXIT_API",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliExit",
    "Connection",
    "Session",
    "connection_options",
    "run_async",
]

EXIT_OK = 0
EXIT_API = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

F = TypeVar("F", bound=Callable[..., Any])

#: The settings of every command and group: -h as --help, help up to 100 columns wide.
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class CliExit(Exception):
    """Stop the command with ``code`` after printing ``message`` (if any) on stderr."""

    def __init__(self, code: int, message: str = "") -> None:
        self.code = code
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Connection:
    """The connection options of a command (see :func:`connection_options`)."""

    profile: str | None = None
    client_id: str | None = None
    api_key: str | None = None
    access_token: str | None = None
    base_url: str | None = None
    rate_limit: float | None = None
    timeout: float | None = None
    max_retries: int | None = None
    verbose: bool = False

    def __repr__(self) -> str:  # the secrets never show, even in a traceback
        return (
            f"Connection(profile={self.profile!r}, client_id={self.client_id!r}, "
            f"base_url={self.base_url!r})"
        )


_CONNECTION_FIELDS = (
    "profile",
    "client_id",
    "api_key",
    "access_token",
    "base_url",
    "rate_limit",
    "timeout",
    "max_retries",
    "verbose",
)


def connection_options(func: F) -> F:
    """Add the credential and client options to a command; it receives them as ``conn``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        conn = Connection(**{name: kwargs.pop(name) for name in _CONNECTION_FIELDS})
        return func(*args, conn=conn, **kwargs)

    options = [
        click.option(
            "-p",
            "--profile",
            metavar="NAME",
            help="Profile from the config file (default: $OZON_PROFILE, then the file's "
            "default_profile). See `ozon profiles`.",
        ),
        click.option("--client-id", metavar="ID", help="Client-Id (default: $OZON_CLIENT_ID)."),
        click.option(
            "--api-key",
            metavar="KEY",
            help="API key (default: $OZON_API_KEY). Prefer the environment or a profile: "
            "other users can see command lines.",
        ),
        click.option(
            "--access-token",
            metavar="TOKEN",
            help="OAuth access token instead of Client-Id and key (default: $OZON_ACCESS_TOKEN).",
        ),
        click.option(
            "--base-url",
            metavar="URL",
            help="Where to send requests, e.g. the sandbox http://127.0.0.1:8080 "
            "(default: $OZON_BASE_URL, else Ozon's API).",
        ),
        click.option(
            "--rate-limit",
            type=click.FloatRange(min=0, min_open=True),
            metavar="RPS",
            help="Requests per second for this Client-Id (default 50, Ozon's limit).",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            metavar="SECONDS",
            help="Seconds per attempt (default 30).",
        ),
        click.option(
            "--max-retries",
            type=click.IntRange(min=0),
            metavar="N",
            help="How many times a request may be resent (default 3; writes only when Ozon "
            "provably did not receive them).",
        ),
        click.option(
            "-v",
            "--verbose",
            is_flag=True,
            help="Log each request on stderr: method, path, status, attempts, trace id "
            "(never the key).",
        ),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


class _Redact(logging.Filter):
    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def filter(self, record: logging.LogRecord) -> bool:
        from ozon_async._terminal import escape_controls

        text = record.getMessage()
        clean = escape_controls(self.session.redact(text))
        if clean != text:
            record.msg, record.args = clean, ()
        return True


class Session:
    """The resolved settings of one command run, and its output on stderr."""

    def __init__(self, conn: Connection, profile: Profile, err: IO[str] | None = None) -> None:
        self.conn = conn
        self.profile = profile
        self.err = err or sys.stderr
        self.secrets = [
            s for s in (profile.api_key, profile.access_token, conn.api_key, conn.access_token) if s
        ]
        self._handler: logging.Handler | None = None
        self._level = logging.NOTSET  # the ozon_async logger's level before setup_logging()

    @classmethod
    def open(cls, conn: Connection) -> Session:
        """Resolve the profile (explicit options > profile > environment) and set up logging.
        A bad config file stops the command with exit code 2."""
        try:
            profile = resolve_profile(
                conn.profile,
                client_id=conn.client_id,
                api_key=conn.api_key,
                access_token=conn.access_token,
                base_url=conn.base_url,
            )
        except ConfigurationError as exc:
            fail_plain(f"ozon: {exc}", [conn.api_key, conn.access_token])
        from ozon_async._codec import InputError, check_text

        for attr in ("client_id", "api_key", "access_token", "base_url"):
            value = getattr(profile, attr)
            try:
                check_text(value or "")
            except InputError as exc:  # the value itself is not repeated: it may be a secret
                fail_plain(f"ozon: {attr} (from {profile.name}): {exc}", [])
        session = cls(conn, profile)
        session.setup_logging()
        return session

    # ------------------------------------------------------------------ output
    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def say(self, message: str) -> None:
        """A line on stderr, with any secret replaced by ``***`` and control characters (which
        Ozon's text may hold) escaped."""
        from ozon_async._terminal import escape_controls

        print(escape_controls(self.redact(message)), file=self.err, flush=True)

    def log(self, message: str) -> None:
        """A line on stderr with ``--verbose`` only."""
        if self.conn.verbose:
            self.say(f"ozon: {message}")

    def exit(self, code: int) -> NoReturn:
        self.close()
        raise click.exceptions.Exit(code)

    def fail(self, code: int, message: str) -> NoReturn:
        self.say(message)
        self.exit(code)

    def setup_logging(self) -> None:
        handler = logging.StreamHandler(self.err)
        handler.setFormatter(logging.Formatter("ozon: %(message)s"))
        handler.addFilter(_Redact(self))
        logger = logging.getLogger("ozon_async")
        self._level = logger.level  # given back by close(), with the logger's handlers
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if self.conn.verbose else logging.WARNING)
        self._handler = handler

    def close(self) -> None:
        """Leave the ``ozon_async`` logger as the command found it (the command line can run
        inside another program, e.g. a test or a notebook)."""
        if self._handler is not None:
            logger = logging.getLogger("ozon_async")
            logger.removeHandler(self._handler)
            logger.setLevel(self._level)
            self._handler = None

    # ------------------------------------------------------------------ client
    def client(self) -> OzonClient:
        """A client for the resolved profile; exit code 2 when credentials are missing."""
        p = self.profile
        if not p.has_credentials:
            self.fail(
                EXIT_USAGE,
                "ozon: no credentials: pass --client-id and --api-key (or --access-token), set "
                "OZON_CLIENT_ID and OZON_API_KEY, or use --profile NAME from the config file "
                "(see `ozon profiles`)",
            )
        conn = self.conn
        options: dict[str, Any] = {}
        if conn.rate_limit is not None:
            options["rate_limit"] = conn.rate_limit
        if conn.timeout is not None:
            options["timeout"] = conn.timeout
        if conn.max_retries is not None:
            options["max_retries"] = conn.max_retries
        try:
            client = seller_client(p, **options)
        except ConfigurationError as exc:
            self.fail(EXIT_USAGE, f"ozon: {exc}")
        where = client.base_url
        if p.custom_base_url:
            where += f" (not Ozon's API; base_url from {p.base_url_from or p.name})"
        self.log(
            f"profile {p.name}, Client-Id {p.client_id or '-'}, "
            f"{'OAuth token' if p.access_token else 'API key'}, base URL {where}"
        )
        return client

    # ------------------------------------------------------------------ errors
    def report(self, exc: BaseException) -> int:
        """Print an error on stderr and return its exit code (1 for the API, 2 for usage)."""
        if isinstance(exc, RequestValidationError):
            where = f"\n  field: {exc.field}" if exc.field else ""
            self.say(f"ozon: {exc}{where}\n  nothing was sent")
            return EXIT_USAGE
        if isinstance(exc, ConfigurationError):
            self.say(f"ozon: {exc}")
            return EXIT_USAGE
        if isinstance(exc, APIStatusError):
            lines = [f"ozon: Ozon answered {exc.status} to {exc.method} {exc.path}"]
            lines.append(f"  message: {exc.message or '(none)'}")
            if exc.code is not None:
                lines.append(f"  code: {exc.code}")
            if exc.details:
                import json

                lines.append(f"  details: {json.dumps(exc.details, ensure_ascii=False)}")
            lines.append(f"  trace id: {exc.trace_id or '(none)'}")
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None:
                lines.append(f"  retry after: {retry_after:g} s")
            self.say("\n".join(lines))
            return EXIT_API
        if isinstance(exc, APIConnectionError):
            sent = "" if exc.sent else " (the request was not sent)"
            self.say(f"ozon: {exc}{sent}")
            return EXIT_API
        if isinstance(exc, ResponseDecodeError):
            self.say(f"ozon: {exc}")
            return EXIT_API
        if isinstance(exc, OzonError):
            self.say(f"ozon: {exc}")
            return EXIT_API
        raise exc


def fail_plain(message: str, secrets: list[str | None]) -> NoReturn:
    """Exit 2 before a session exists (the config file is invalid)."""
    from ozon_async._terminal import escape_controls

    for s in secrets:
        if s:
            message = message.replace(s, "***")
    print(escape_controls(message), file=sys.stderr, flush=True)
    raise click.exceptions.Exit(EXIT_USAGE)


def run_async(factory: Callable[[], Awaitable[int]]) -> int:
    """Run the coroutine made by ``factory``; Ctrl-C (SIGINT) cancels it, lets its ``finally``
    blocks run (flush files, close the client), and gives exit code 130."""
    interrupted = False

    async def main() -> int:
        nonlocal interrupted
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()

        def on_interrupt() -> None:
            nonlocal interrupted
            interrupted = True
            if task is not None:
                task.cancel()

        installed = False
        try:
            loop.add_signal_handler(signal.SIGINT, on_interrupt)
            installed = True
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not main thread
            pass
        try:
            return await factory()
        except asyncio.CancelledError:
            if interrupted:
                return EXIT_INTERRUPTED
            raise
        finally:
            if installed:
                loop.remove_signal_handler(signal.SIGINT)

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
