"""Downloading the files Ozon links to (reports, labels), without Ozon's credentials.

Report and label files live on other hosts (Ozon's CDN, object storage) behind URLs that carry
their own access token. :func:`download` fetches them through a session of its own that sends no
``Client-Id``, ``Api-Key``, ``Authorization``, cookies or client headers, whatever the host, and
follows the client's timeouts, retries (a download is a read: timeouts, dropped connections, 5xx,
408 and 429 are retried with the client's backoff) and a size cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ozon_async._exceptions import (
    APIConnectionError,
    APITimeoutError,
    OzonError,
    status_error_class,
)
from ozon_async._retry import parse_retry_after
from ozon_async._version import __version__

if TYPE_CHECKING:
    from ozon_async._client import BaseClient

__all__ = ["DEFAULT_MAX_DOWNLOAD_SIZE", "DownloadTooLargeError", "Progress", "download"]

#: Called with (bytes received so far, total size or ``None`` when the server does not say).
Progress = Callable[[int, "int | None"], "object | Awaitable[object]"]

#: The size cap of a download when the client sets none (1 GiB).
DEFAULT_MAX_DOWNLOAD_SIZE = 1 << 30

_CHUNK = 1 << 16


class DownloadTooLargeError(OzonError):
    """The file is larger than the size cap (``max_size``); nothing is kept."""

    def __init__(self, url: str, limit: int) -> None:
        self.url = url
        self.limit = limit
        super().__init__(f"{url}: the file is larger than the {limit:,}-byte cap")


def _public(url: Any) -> str:
    """The URL without its query and fragment (signed URLs carry tokens there)."""
    return str(url.with_query(None).with_fragment(None))


async def _report(progress: Progress | None, got: int, total: int | None) -> None:
    if progress is not None:
        result = progress(got, total)
        if asyncio.iscoroutine(result):
            await result


async def download(
    client: BaseClient,
    url: str,
    *,
    path: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    max_size: int | None = None,
) -> bytes | Path:
    """Fetch ``url`` to ``path`` (returns the path) or into memory (returns the bytes).

    The file is written to ``<path>.part`` and renamed when complete, so ``path`` never holds a
    partial file. See the module docs for what is (not) sent.
    """
    import aiohttp
    from yarl import URL

    target = URL(url)
    if target.scheme not in ("http", "https") or not target.host:
        raise ValueError(f"download needs an absolute http(s) URL, got {_public(target)!r}")
    cfg = client.config
    retries = cfg.max_retries if max_retries is None else max_retries
    cap = DEFAULT_MAX_DOWNLOAD_SIZE if max_size is None else max_size
    read_timeout = cfg.timeout if timeout is None else timeout
    clock = client._clock
    shown = _public(target)
    dest = Path(path) if path is not None else None
    part = dest.with_name(dest.name + ".part") if dest is not None else None
    session = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(
            total=None, sock_connect=cfg.connect_timeout, sock_read=read_timeout
        ),
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={"User-Agent": f"ozon_async/{__version__}", "Accept": "*/*"},
        trust_env=False,
    )
    attempt = 0
    try:
        while True:
            wait: float | None = None
            failure: OzonError
            try:
                async with session.get(target, allow_redirects=True) as resp:
                    if resp.status >= 400:
                        body = await resp.content.read(4096)
                        cls = status_error_class(resp.status)
                        failure = cls(
                            body.decode("utf-8", errors="replace").strip()[:500],
                            status=resp.status,
                            body=body,
                            method="GET",
                            path=shown,
                            headers=resp.headers,
                        )
                        if resp.status in (408, 429) or resp.status >= 500:
                            wait = parse_retry_after(resp.headers)
                            if wait is None:
                                wait = cfg.backoff.delay(attempt, client._shared.random)
                        if wait is None or attempt >= retries or wait > cfg.max_retry_wait:
                            raise failure
                    else:
                        total = resp.content_length
                        if total is not None and total > cap:
                            raise DownloadTooLargeError(shown, cap)
                        return await _receive(resp, part, dest, cap, shown, total, progress)
            except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as exc:
                if isinstance(exc, asyncio.TimeoutError):
                    failure = APITimeoutError(
                        f"no data within {read_timeout:g} s", method="GET", path=shown
                    )
                else:
                    failure = APIConnectionError(
                        f"{type(exc).__name__}: {exc}", method="GET", path=shown
                    )
                if attempt >= retries:
                    raise failure from exc
                wait = cfg.backoff.delay(attempt, client._shared.random)
            await clock.sleep(wait)
            attempt += 1
    finally:
        await session.close()
        if part is not None:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()


async def _receive(
    resp: Any,
    part: Path | None,
    dest: Path | None,
    cap: int,
    shown: str,
    total: int | None,
    progress: Progress | None,
) -> bytes | Path:
    got = 0
    await _report(progress, 0, total)
    if part is None or dest is None:
        chunks: list[bytes] = []
        async for chunk in resp.content.iter_chunked(_CHUNK):
            got += len(chunk)
            if got > cap:
                raise DownloadTooLargeError(shown, cap)
            chunks.append(chunk)
            await _report(progress, got, total)
        return b"".join(chunks)
    with open(part, "wb") as f:  # writes go through a worker thread below
        async for chunk in resp.content.iter_chunked(_CHUNK):
            got += len(chunk)
            if got > cap:
                raise DownloadTooLargeError(shown, cap)
            await asyncio.to_thread(f.write, chunk)
            await _report(progress, got, total)
    os.replace(part, dest)
    return dest
