"""client.download: no credentials to any host, retries, size cap, progress, atomic files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ozon_async import NotFoundError
from ozon_async.bulk import DownloadTooLargeError
from tests._bulk_server import bulk_env

SECRET_HEADERS = {"client-id", "api-key", "authorization", "cookie", "x-team-secret"}


async def test_a_download_from_another_host_carries_no_ozon_credentials() -> None:
    async with bulk_env(headers={"X-Team-Secret": "s3"}) as env:
        env.fake.files.files["/labels/1.pdf"] = b"%PDF-1.4 label"
        data = await env.client.download(f"{env.fake.files.url}/labels/1.pdf?token=abc")
        assert data == b"%PDF-1.4 label"
        (headers,) = env.fake.files.seen
        assert not {k.lower() for k in headers} & SECRET_HEADERS
        assert "secret-api-key" not in repr(headers)


async def test_a_download_from_ozons_own_host_carries_no_credentials_either() -> None:
    async with bulk_env() as env:
        files = env.fake.files
        files.files["/x.csv"] = b"a;b\n"
        same_host = files.url.replace("localhost", "127.0.0.1")
        assert await env.client.download(same_host + "/x.csv") == b"a;b\n"
        assert not {k.lower() for k in files.seen[0]} & SECRET_HEADERS


async def test_streams_to_a_file_with_progress_and_leaves_no_partial_file(tmp_path: Path) -> None:
    async with bulk_env() as env:
        body = bytes(range(256)) * 2048  # 512 KiB: several chunks
        env.fake.files.files["/r.bin"] = body
        seen: list[tuple[int, int | None]] = []
        target = tmp_path / "r.bin"
        out = await env.client.download(
            env.fake.files.url + "/r.bin",
            path=target,
            progress=lambda got, total: seen.append((got, total)),
        )
        assert out == target and target.read_bytes() == body
        assert not (tmp_path / "r.bin.part").exists()
        assert seen[0] == (0, len(body)) and seen[-1] == (len(body), len(body))
        assert [g for g, _ in seen] == sorted(g for g, _ in seen) and len(seen) > 2


async def test_server_errors_are_retried_with_the_clients_backoff_and_404_is_not() -> None:
    async with bulk_env() as env:
        env.fake.files.files["/r.csv"] = b"ok"
        env.fake.files.fail.extend([503, 502])
        assert await env.client.download(env.fake.files.url + "/r.csv") == b"ok"
        assert len(env.fake.files.seen) == 3 and len(env.clock.sleeps) >= 2
        with pytest.raises(NotFoundError) as info:
            await env.client.download(env.fake.files.url + "/missing.csv?token=zzz")
        assert len(env.fake.files.seen) == 4
        assert "token" not in str(info.value)  # signed URLs keep their token out of errors
        env.fake.files.fail.extend([503] * 5)
        with pytest.raises(Exception, match="503"):
            await env.client.download(env.fake.files.url + "/r.csv", max_retries=1)


async def test_the_size_cap_stops_the_download_and_keeps_nothing(tmp_path: Path) -> None:
    async with bulk_env() as env:
        env.fake.files.files["/big"] = b"x" * 100_000
        with pytest.raises(DownloadTooLargeError):
            await env.client.download(
                env.fake.files.url + "/big", path=tmp_path / "big", max_size=1000
            )
        assert list(tmp_path.iterdir()) == []


async def test_only_absolute_http_urls() -> None:
    async with bulk_env() as env:
        for url in ("file:///etc/passwd", "/v1/report/info", "ftp://x/y"):
            with pytest.raises(ValueError, match="absolute http"):
                await env.client.download(url)
