"""Downloading the files Ozon links to (reports, labels), without Ozon's credentials.

Report and label files live on other hosts (Ozon's CDN, object storage) behind URLs that carry
their own access token in the query string. :func:`download` fetches them through a session of
its own that sends no ``Client-Id``, ``Api-Key``, ``Authorization``, cookies or client headers,
whatever the host, and:

- **never shows the query string**: every error text (the SDK's and aiohttp's own) has each URL
  of the download cut to scheme, host and path;
- **follows redirects itself**, at most :data:`MAX_REDIRECTS`, each hop recorded (``debug`` log
  line, and :attr:`DownloadRedirectError.redirects`), and only to ``https://``, or to ``http://``
  on a loopback host from a loopback host (the sandbox and tests); the first URL must be
  ``https://`` too, or loopback, or the client must have ``allow_insecure=True``;
- **caps the size**: ``max_bytes`` (default :data:`DEFAULT_MAX_DOWNLOAD_BYTES`, 256 MiB, in
  memory; :data:`DEFAULT_MAX_FILE_BYTES`, 4 GiB, streamed to a file with ``to=``) counts the
  bytes after decompression: it asks only for ``gzip`` or ``deflate``, decompresses them itself
  in bounded steps, and stops a decompression bomb at the cap;
- **retries reads** as the client does: the decision is :func:`ozon_async._retry.decide` for a
  read (timeouts, dropped connections, 5xx, 408 and 429), with the client's backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import zlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ozon_async._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    OzonError,
    status_error_class,
)
from ozon_async._retry import GiveUp, decide, outcome_of
from ozon_async._version import __version__

if TYPE_CHECKING:
    from yarl import URL

    from ozon_async._clock import Clock
    from ozon_async._config import ClientConfig
    from ozon_async._retry import RetryPolicy

__all__ = [
    "DEFAULT_MAX_DOWNLOAD_BYTES",
    "DEFAULT_MAX_DOWNLOAD_SIZE",
    "DEFAULT_MAX_FILE_BYTES",
    "MAX_REDIRECTS",
    "DownloadRedirectError",
    "DownloadTooLargeError",
    "Downloader",
    "Progress",
    "download",
]

logger = logging.getLogger("ozon_async")

#: Called with (bytes received so far, total size or ``None`` when the server does not say).
Progress = Callable[[int, "int | None"], "object | Awaitable[object]"]

#: The size cap of a download into memory (256 MiB), counted after decompression.
DEFAULT_MAX_DOWNLOAD_BYTES = 256 << 20
#: The former name of :data:`DEFAULT_MAX_DOWNLOAD_BYTES`.
DEFAULT_MAX_DOWNLOAD_SIZE = DEFAULT_MAX_DOWNLOAD_BYTES
#: The size cap of a download streamed to a file (``to=``): 4 GiB.
DEFAULT_MAX_FILE_BYTES = 4 << 30
#: How many redirects a download follows.
MAX_REDIRECTS = 5

_CHUNK = 1 << 16
_STEP = 1 << 20  # most bytes one decompression step may produce
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_URL_QUERY = re.compile(r"(https?://[^\s'\"<>?#]*)[?#][^\s'\"<>]*", re.IGNORECASE)


class Downloader(Protocol):
    """What a download needs of a client (its :class:`~ozon_async._runtime.Runtime` is one):
    its settings (timeouts, retries, ``allow_insecure``), its clock and its random numbers."""

    @property
    def config(self) -> ClientConfig: ...

    @property
    def clock(self) -> Clock: ...

    def jitter(self) -> float: ...


class DownloadTooLargeError(OzonError):
    """The file is larger than the size cap (``max_bytes``, counted after decompression);
    nothing is kept."""

    def __init__(self, url: str, limit: int) -> None:
        self.url = url
        self.limit = limit
        super().__init__(f"{url}: the file is larger than the {limit:,}-byte cap")


class DownloadRedirectError(OzonError):
    """A redirect that is not followed: to another scheme than ``https`` (``http`` only between
    loopback hosts), or one more than :data:`MAX_REDIRECTS`. ``redirects`` lists the URLs of the
    hops (without their query strings), the first one first."""

    def __init__(self, message: str, redirects: Sequence[str]) -> None:
        self.redirects = tuple(redirects)
        super().__init__(message)


def _public(url: URL) -> str:
    """The URL without its query and fragment (signed URLs carry tokens there)."""
    return str(url.with_query(None).with_fragment(None))


def _scrub(text: str, urls: Sequence[URL]) -> str:
    """``text`` with the query string and fragment of every URL cut (known URLs first, then
    anything that looks like a URL)."""
    for url in urls:
        for form in (str(url), url.human_repr()):
            if form in text:
                text = text.replace(form, _public(url))
        for secret in (url.raw_query_string, url.query_string, url.raw_fragment, url.fragment):
            if secret and len(secret) > 3 and secret in text:
                text = text.replace(secret, "…")
    return _URL_QUERY.sub(r"\1", text)


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _redirect_problem(current: URL, target: URL) -> str | None:
    if target.scheme == "https" and target.host:
        return None
    if target.scheme == "http" and _is_loopback(target.host) and _is_loopback(current.host):
        return None
    return "redirects are followed only to https:// (or between loopback hosts)"


async def _report(progress: Progress | None, got: int, total: int | None) -> None:
    if progress is not None:
        result = progress(got, total)
        if asyncio.iscoroutine(result):
            await result


async def download(
    host: Downloader,
    url: str,
    *,
    to: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    max_bytes: int | None = None,
) -> bytes | Path:
    """Fetch ``url`` to the file ``to`` (returns its path) or into memory (returns the bytes).

    The file is written to ``<to>.part`` and renamed when complete, so ``to`` never holds a
    partial file. See the module docs for what is (not) sent, redirects and the size cap.
    """
    cfg = host.config
    target = _checked_url(url, cfg.allow_insecure)
    dest = Path(to) if to is not None else None
    cap = _size_cap(max_bytes, dest)
    policy = cfg.retry_policy
    if max_retries is not None:
        policy = policy.replace(max_retries=max_retries)
    read_timeout = cfg.timeout if timeout is None else timeout
    part = dest.with_name(dest.name + ".part") if dest is not None else None

    def receive(resp: Any, shown: str) -> Awaitable[bytes | Path]:
        return _receive(resp, part, dest, cap, shown, progress)

    session = _session(cfg.connect_timeout, read_timeout)
    seen: list[URL] = [target]
    try:
        attempt = 0
        while True:
            attempt += 1
            got, failure = await _attempt(session, target, seen, receive, read_timeout)
            if failure is None:
                assert got is not None
                return got
            await _after_failure(host, target, failure, attempt, policy)
    finally:
        await session.close()
        if part is not None:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()


def _checked_url(url: str, allow_insecure: bool) -> URL:
    """``url`` parsed, if a download may fetch it (absolute http(s); plain http only to a
    loopback host or with ``allow_insecure``)."""
    from yarl import URL

    try:
        target = URL(url)
    except (TypeError, ValueError):
        raise ValueError("download needs an absolute http(s) URL") from None
    if target.scheme not in ("http", "https") or not target.host:
        raise ValueError(f"download needs an absolute http(s) URL, got {_public(target)!r}")
    if target.scheme == "http" and not _is_loopback(target.host) and not allow_insecure:
        raise ValueError(
            f"download of {_public(target)!r} over plain http: the file's own token would "
            "travel unencrypted; use https:// (or a client with allow_insecure=True)"
        )
    return target


def _size_cap(max_bytes: int | None, dest: Path | None) -> int:
    if max_bytes is None:
        return DEFAULT_MAX_FILE_BYTES if dest is not None else DEFAULT_MAX_DOWNLOAD_BYTES
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise ValueError(f"max_bytes must be a positive integer, not {max_bytes!r}")
    return max_bytes


def _session(connect_timeout: float, read_timeout: float) -> Any:
    """A session of the download's own: no credentials, cookies or client headers."""
    import aiohttp

    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=read_timeout
        ),
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={
            "User-Agent": f"ozon_async/{__version__}",
            "Accept": "*/*",
            "Accept-Encoding": "gzip, deflate",
        },
        auto_decompress=False,  # decompressed here, counted against the cap
        trust_env=False,
    )


async def _attempt(
    session: Any,
    target: URL,
    seen: list[URL],
    receive: Callable[[Any, str], Awaitable[bytes | Path]],
    read_timeout: float,
) -> tuple[bytes | Path | None, OzonError | None]:
    """One attempt: follow the redirects to the file and receive it; or the failure to decide
    on (an error status, a timeout, a broken connection), with the redirects it followed."""
    import aiohttp

    hops: list[str] = []
    current = target
    failure: OzonError
    try:
        while True:
            async with session.get(current, allow_redirects=False) as resp:
                location = resp.headers.get("Location")
                if resp.status in _REDIRECTS and location:
                    current = _follow(current, location, hops, seen, resp.status)
                    continue
                if resp.status < 300:
                    return await receive(resp, _public(current)), None
                failure = await _status_failure(resp, current, seen)
                break
    except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as exc:
        failure = _connection_failure(exc, current, seen, read_timeout)
    if hops:
        failure.redirects = tuple(hops)
    return None, failure


async def _status_failure(resp: Any, current: URL, seen: list[URL]) -> APIStatusError:
    body = await resp.content.read(4096)
    text = body.decode("utf-8", errors="replace").strip()[:500]
    return status_error_class(resp.status)(
        _scrub(text, seen),
        status=resp.status,
        body=body,
        method="GET",
        path=_public(current),
        headers=resp.headers,
    )


def _connection_failure(
    exc: BaseException, current: URL, seen: list[URL], read_timeout: float
) -> APIConnectionError:
    import aiohttp

    shown = _public(current)
    if isinstance(exc, asyncio.TimeoutError):
        return APITimeoutError(f"no data within {read_timeout:g} s", method="GET", path=shown)
    return APIConnectionError(
        _scrub(f"{type(exc).__name__}: {exc}", seen),
        method="GET",
        path=shown,
        sent=not isinstance(exc, aiohttp.ClientConnectorError),
    )


async def _after_failure(
    host: Downloader, target: URL, failure: OzonError, attempt: int, policy: RetryPolicy
) -> None:
    """Decide on a failed attempt as the client does for a read (:func:`decide`): raise
    ``failure`` with the decision, or return after the wait before the next attempt."""
    outcome = outcome_of(failure)
    if outcome is None or 300 <= outcome.status < 400:  # a 3xx not to follow: final
        raise failure from None
    verdict = decide(outcome, attempt, True, policy, host.jitter())
    if isinstance(verdict, GiveUp):
        if verdict.decision:
            failure.decision = verdict.decision
        raise failure from None
    logger.debug(
        "download %s: %s; retrying in %.2f s", _public(target), verdict.reason, verdict.wait
    )
    await host.clock.sleep(verdict.wait)


def _follow(current: URL, location: str, hops: list[str], seen: list[URL], status: int) -> URL:
    """The URL a redirect leads to, after the checks (:class:`DownloadRedirectError`)."""
    from yarl import URL

    try:
        target = current.join(URL(location))
    except (TypeError, ValueError):
        raise DownloadRedirectError(
            _scrub(f"{_public(current)} redirected ({status}) to an invalid URL", seen), hops
        ) from None
    seen.append(target)
    hops.append(_public(target))
    logger.debug("download: %s redirected (%d) to %s", _public(current), status, hops[-1])
    if len(hops) > MAX_REDIRECTS:
        raise DownloadRedirectError(
            f"{_public(seen[0])}: more than {MAX_REDIRECTS} redirects "
            f"({' -> '.join(hops)}); not followed",
            hops,
        )
    problem = _redirect_problem(current, target)
    if problem is not None:
        raise DownloadRedirectError(
            f"{_public(current)} redirected ({status}) to {hops[-1]}: {problem}", hops
        )
    return target


class _Decoder:
    """Content-Encoding undone in bounded steps (at most 1 MiB of output each), so that the
    size cap is checked before a compressed chunk can expand in memory."""

    def __init__(self, encoding: str, shown: str) -> None:
        self.encoding = encoding
        self._shown = shown
        self._new: Callable[[], Any] | None
        if encoding in ("", "identity"):
            self._new = None
        elif encoding in ("gzip", "x-gzip"):
            self._new = lambda: zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._new = lambda: zlib.decompressobj(zlib.MAX_WBITS)
        else:
            raise APIConnectionError(
                f"the file came with Content-Encoding {encoding!r}, which was not asked for",
                method="GET",
                path=shown,
            )
        self._obj = self._new() if self._new is not None else None
        self._started = False

    @property
    def identity(self) -> bool:
        return self._obj is None

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._obj is None:
            if data:
                yield data
            return
        while data:
            try:
                piece = self._obj.decompress(data, _STEP)
            except zlib.error as exc:
                if self.encoding == "deflate" and not self._started:
                    # some servers send raw deflate, without the zlib header
                    self._started = True
                    self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise self._corrupt(str(exc)) from None
            self._started = True
            if piece:
                yield piece
            if self._obj.unconsumed_tail:
                data = self._obj.unconsumed_tail
            elif self._obj.eof and self._obj.unused_data and self._new is not None:
                data = self._obj.unused_data  # the next gzip member
                self._obj = self._new()
            else:
                data = b""

    def finish(self) -> None:
        if self._obj is not None and not self._obj.eof:
            raise self._corrupt("the stream ends before its end mark")

    def _corrupt(self, why: str) -> APIConnectionError:
        return APIConnectionError(
            f"the file's {self.encoding} data is corrupt: {why}", method="GET", path=self._shown
        )


async def _receive(
    resp: Any,
    part: Path | None,
    dest: Path | None,
    cap: int,
    shown: str,
    progress: Progress | None,
) -> bytes | Path:
    encoding = resp.headers.get("Content-Encoding", "").strip().lower()
    decoder = _Decoder(encoding, shown)
    total = resp.content_length if decoder.identity else None
    if total is not None and total > cap:
        raise DownloadTooLargeError(shown, cap)
    got = 0
    await _report(progress, 0, total)
    chunks: list[bytes] = []
    f = open(part, "wb") if part is not None else None  # noqa: SIM115 - closed below
    try:
        async for raw in resp.content.iter_chunked(_CHUNK):
            for chunk in decoder.feed(raw):
                got += len(chunk)
                if got > cap:
                    raise DownloadTooLargeError(shown, cap)
                if f is not None:
                    await asyncio.to_thread(f.write, chunk)
                else:
                    chunks.append(chunk)
            await _report(progress, got, total)
        decoder.finish()
    finally:
        if f is not None:
            f.close()
    if part is None or dest is None:
        return b"".join(chunks)
    os.replace(part, dest)
    return dest
