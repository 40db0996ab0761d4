"""Operations whose request is not a JSON body: path parameters and multipart uploads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import pytest
from aiohttp import web

from ozon_async import OzonClient, RequestValidationError, UploadFile
from ozon_async.testing import MockOzon


@pytest.fixture
async def capture() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def handler(request: web.Request) -> web.Response:
        form = await request.post()
        files = {
            k: (v.filename, v.content_type, v.file.read())
            for k, v in form.items()
            if isinstance(v, web.FileField)
        }
        seen.append(
            {
                "path": request.path,
                "content_type": request.content_type,
                "text": {k: v for k, v in form.items() if isinstance(v, str)},
                "files": files,
                "all": [(k, v if isinstance(v, str) else v.filename) for k, v in form.items()],
            }
        )
        return web.json_response({"id": 77})

    app = web.Application()
    app.router.add_post("/v1/product/certificate/create", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


# the multipart upload is /v1/product/certificate/create, deprecated by Ozon in August 2026
CERTIFICATE_CREATE_WARNING = "ignore:POST /v1/product/certificate/create is deprecated"


@pytest.mark.filterwarnings(CERTIFICATE_CREATE_WARNING)
async def test_multipart_upload_sends_files_with_their_names(
    capture: tuple[str, list[dict[str, Any]]],
) -> None:
    url, seen = capture
    async with OzonClient("1", "k", base_url=url) as client:
        answer = await client.product.certificate_create_v1(
            files=[UploadFile("scan.pdf", b"%PDF-1.4 one", "application/pdf"), b"\x89PNG two"],
            name="Declaration 1",
            number="EAEU N RU D-CN.1",
            type_code="declaration",
            issue_date=datetime(2026, 5, 1, tzinfo=timezone.utc),
        )
    assert answer.id == 77
    (req,) = seen
    assert req["content_type"] == "multipart/form-data"
    assert req["text"]["name"] == "Declaration 1"
    assert req["text"]["type_code"] == "declaration"
    assert req["text"]["issue_date"] == "2026-05-01T00:00:00Z"
    assert [name for key, name in req["all"] if key == "files"] == ["scan.pdf", "files"]


@pytest.mark.filterwarnings(CERTIFICATE_CREATE_WARNING)
async def test_multipart_fields_are_validated_before_sending(ozon_mock: MockOzon) -> None:
    with pytest.raises(RequestValidationError) as exc:
        await ozon_mock.client.product.certificate_create_v1(
            files=[b"x"],
            name="n" * 101,  # at most 100 characters
            number="1",
            type_code="declaration",
            issue_date="2026-05-01T00:00:00Z",
        )
    assert exc.value.field == "name"
    with pytest.raises(RequestValidationError) as exc:
        await ozon_mock.client.product.certificate_create_v1(
            files=[b"x"],
            name="n",
            number="1",
            type_code="passport",  # not a document type Ozon knows
            issue_date="2026-05-01T00:00:00Z",
        )
    assert exc.value.field == "type_code"
    assert ozon_mock.server.requests_for("/v1/product/certificate/create") == []


async def test_a_path_parameter_is_quoted_into_the_path(ozon_mock: MockOzon) -> None:
    with pytest.warns(DeprecationWarning, match="cargoes-label/get"):
        label = await ozon_mock.client.cargoes_label.file_v1(file_guid="a b/c")
    assert label.content.startswith(b"%PDF")
    (seen,) = ozon_mock.server.requests_for("/v1/cargoes-label/file/{file_guid}")
    assert seen.method == "GET"
    with pytest.raises(RequestValidationError) as exc, pytest.warns(DeprecationWarning):
        await ozon_mock.client.cargoes_label.file_v1(file_guid="")
    assert exc.value.field == "file_guid"
