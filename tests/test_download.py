"""client.download: no credentials to any host, retries, size cap, progress, atomic files.

Report files come from the sandbox (ozon_async.testing), which builds them from its shop and serves
them itself. The retry of a file host's 5xx answers runs on the small file server of
tests/_bulk_server.py: the sandbox cannot inject faults into the files it serves.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ozon_async import NotFoundError
from ozon_async.bulk import DownloadTooLargeError
from tests._bulk_server import bulk_env
from tests._sandbox_env import SandboxEnv, sandbox_env

SECRET_HEADERS = {"client-id", "api-key", "authorization", "cookie", "x-team-secret"}


async def report_url(env: SandboxEnv) -> str:
    """The file URL of a postings report of the last 30 days, made by the sandbox."""
    to = env.clock.datetime()
    report = await env.client.report.postings_create_v1.and_wait(
        filter={"processed_at_from": to - timedelta(days=30), "processed_at_to": to}
    )
    assert report.ok and report.file_url
    return report.file_url


def report_bytes(env: SandboxEnv, url: str) -> bytes:
    code = url.rsplit("/", 1)[1].rsplit(".", 1)[0]
    data = env.sandbox.report_file(code)
    assert data
    return data


async def test_a_download_from_another_host_carries_no_ozon_credentials() -> None:
    # The client calls the API at localhost; the sandbox links its files at 127.0.0.1.
    async with sandbox_env(api_host="localhost", headers={"X-Team-Secret": "s3"}) as env:
        url = await report_url(env)
        assert url.startswith("http://127.0.0.1:") and env.client.base_url.startswith(
            "http://localhost:"
        )
        api_headers = env.sandbox.requests_for("/v1/report/info")[0].headers
        assert api_headers["Client-Id"] == "123456" and api_headers["X-Team-Secret"] == "s3"
        data = await env.client.download(url + "?token=abc")
        assert data == report_bytes(env, url)
        (headers,) = env.file_requests
        assert not {k.lower() for k in headers} & SECRET_HEADERS
        assert "secret-api-key" not in repr(headers)


async def test_a_download_from_ozons_own_host_carries_no_credentials_either() -> None:
    async with sandbox_env() as env:
        url = await report_url(env)
        assert url.startswith(env.client.base_url)  # the API's own host
        assert await env.client.download(url) == report_bytes(env, url)
        assert not {k.lower() for k in env.file_requests[0]} & SECRET_HEADERS


async def test_streams_to_a_file_with_progress_and_leaves_no_partial_file(tmp_path: Path) -> None:
    async with sandbox_env() as env:
        url = await report_url(env)
        body = report_bytes(env, url)
        assert len(body) > 65536  # more than one chunk of the download
        seen: list[tuple[int, int | None]] = []
        target = tmp_path / "postings.csv"
        out = await env.client.download(
            url, path=target, progress=lambda got, total: seen.append((got, total))
        )
        assert out == target and target.read_bytes() == body
        assert not (tmp_path / "postings.csv.part").exists()
        assert seen[0] == (0, len(body)) and seen[-1] == (len(body), len(body))
        assert [g for g, _ in seen] == sorted(g for g, _ in seen) and len(seen) > 2


async def test_a_missing_file_is_not_retried_and_its_token_stays_out_of_the_error() -> None:
    async with sandbox_env() as env:
        with pytest.raises(NotFoundError) as info:
            await env.client.download(f"{env.sandbox.url}/__files/reports/NOPE.csv?token=zzz")
        assert len(env.file_requests) == 1
        assert "token" not in str(info.value) and "zzz" not in str(info.value)


async def test_server_errors_are_retried_with_the_clients_backoff() -> None:
    async with bulk_env() as env:
        env.fake.files.files["/r.csv"] = b"ok"
        env.fake.files.fail.extend([503, 502])
        assert await env.client.download(env.fake.files.url + "/r.csv") == b"ok"
        assert len(env.fake.files.seen) == 3 and len(env.clock.sleeps) >= 2
        env.fake.files.fail.extend([503] * 5)
        with pytest.raises(Exception, match="503"):
            await env.client.download(env.fake.files.url + "/r.csv", max_retries=1)
        assert len(env.fake.files.seen) == 5


async def test_the_size_cap_stops_the_download_and_keeps_nothing(tmp_path: Path) -> None:
    async with sandbox_env() as env:
        url = await report_url(env)
        with pytest.raises(DownloadTooLargeError):
            await env.client.download(url, path=tmp_path / "big.csv", max_size=1000)
        assert list(tmp_path.iterdir()) == []


async def test_only_absolute_http_urls() -> None:
    async with sandbox_env() as env:
        for url in ("file:///etc/passwd", "/v1/report/info", "ftp://x/y"):
            with pytest.raises(ValueError, match="absolute http"):
                await env.client.download(url)
        assert env.file_requests == [] and env.sandbox.requests == []
