"""OpenTelemetry: spans and metrics read from the SDK's in-memory exporter and reader, for a
success, a retried 429 and a failed write against the sandbox, and a few failures over a
MockTransport; and the library without OpenTelemetry (the import blocked in a subprocess)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from ozon_async import (
    APITimeoutError,
    HTTPRequest,
    HTTPResponse,
    InProcessRateLimiter,
    MockTransport,
    OzonClient,
    ServerError,
)
from ozon_async.otel import OpenTelemetryHooks
from ozon_async.testing import Sandbox
from tests._readme import readme_examples, run_example
from tests.conftest import ROOT

STOCKS = [{"offer_id": "A", "stock": 3, "warehouse_id": 1}]


@dataclass
class Telemetry:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    tracer_provider: TracerProvider
    hooks: OpenTelemetryHooks

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def calls_and_attempts(self) -> tuple[list[ReadableSpan], list[ReadableSpan]]:
        spans = self.finished()
        ids = {s.context.span_id for s in spans}
        calls = [s for s in spans if s.parent is None or s.parent.span_id not in ids]
        attempts = [s for s in spans if s not in calls]
        return calls, attempts

    def points(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        if data is None:
            return []
        return [
            p
            for rm in data.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
            if m.name == name
            for p in m.data.data_points
        ]


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    hooks = OpenTelemetryHooks(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield Telemetry(spans, reader, tracer_provider, hooks)
    assert not hooks._calls  # every call's spans were closed
    meter_provider.shutdown()
    tracer_provider.shutdown()


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=1) as s:
        yield s


def client_for(sandbox: Sandbox, telemetry: Telemetry) -> OzonClient:
    return OzonClient(
        sandbox.client_id,
        sandbox.api_key,
        base_url=sandbox.url,
        limiter=InProcessRateLimiter(),
        event_hooks=telemetry.hooks,
    )


def common(span: ReadableSpan, sandbox: Sandbox, path: str, op_id: str) -> None:
    attrs = span.attributes or {}
    assert span.kind is SpanKind.CLIENT
    assert span.name == f"POST {path}"
    assert attrs["http.request.method"] == "POST"
    assert attrs["server.address"] == "127.0.0.1"
    assert attrs["server.port"] == sandbox.port
    assert attrs["url.template"] == path
    assert attrs["url.full"] == sandbox.url + path
    assert attrs["ozon.operation_id"] == op_id


# ------------------------------------------------------------------------ against the sandbox
async def test_a_success_has_a_call_span_and_an_attempt_span(
    sandbox: Sandbox, telemetry: Telemetry
) -> None:
    tracer = telemetry.tracer_provider.get_tracer("the-app")
    async with client_for(sandbox, telemetry) as client:
        with tracer.start_as_current_span("nightly job") as job:
            await client.warehouse.list_v2(limit=10)
    spans = telemetry.finished()
    job_span = next(s for s in spans if s.name == "nightly job")
    [call] = [s for s in spans if s.parent is not None and s.parent.span_id == job.context.span_id]
    [attempt] = [
        s for s in spans if s.parent is not None and s.parent.span_id == call.context.span_id
    ]
    assert len(spans) == 3 and job_span.context.trace_id == call.context.trace_id
    for span in (call, attempt):
        common(span, sandbox, "/v2/warehouse/list", "warehouse_list_v2")
        attrs = span.attributes or {}
        assert attrs["http.response.status_code"] == 200
        assert attrs["ozon.operation"] == "warehouse.list_v2"
        assert "error.type" not in attrs and "http.request.resend_count" not in attrs
        assert span.status.status_code is StatusCode.UNSET
    assert attempt.attributes is not None and attempt.attributes["ozon.rate_limit.wait"] >= 0
    assert call.start_time is not None and attempt.start_time is not None
    assert call.start_time <= attempt.start_time and call.end_time >= attempt.end_time  # type: ignore[operator]

    [duration] = telemetry.points("http.client.request.duration")
    assert duration.count == 1 and duration.sum > 0
    assert dict(duration.attributes) == {
        "http.request.method": "POST",
        "server.address": "127.0.0.1",
        "server.port": sandbox.port,
        "url.template": "/v2/warehouse/list",
        "http.response.status_code": 200,
    }
    [wait] = telemetry.points("ozon.client.rate_limit.wait")
    assert wait.count == 1
    assert telemetry.points("ozon.client.retries") == []


async def test_a_retried_429_shows_both_attempts_and_the_retry(
    sandbox: Sandbox, telemetry: Telemetry
) -> None:
    sandbox.add_fault(
        "/v2/products/stocks",
        status=429,
        headers={"Retry-After": "0", "x-o3-trace-id": "trace-429"},
    )
    async with client_for(sandbox, telemetry) as client:
        await client.products.stocks_v2(stocks=STOCKS)
    [call], attempts = telemetry.calls_and_attempts()
    first, second = sorted(attempts, key=lambda s: s.start_time or 0)
    for span in (call, first, second):
        common(span, sandbox, "/v2/products/stocks", "products_stocks_v2")
    a1, a2, c = (first.attributes or {}), (second.attributes or {}), (call.attributes or {})
    assert (a1["http.response.status_code"], a1["error.type"], a1["ozon.trace_id"]) == (
        429,
        "429",
        "trace-429",
    )
    assert first.status.status_code is StatusCode.ERROR
    assert "http.request.resend_count" not in a1
    assert a2["http.request.resend_count"] == 1 and a2["http.response.status_code"] == 200
    assert "error.type" not in a2 and second.status.status_code is StatusCode.UNSET
    assert c["http.request.resend_count"] == 1 and c["http.response.status_code"] == 200
    assert "error.type" not in c and call.status.status_code is StatusCode.UNSET
    [retry] = call.events
    assert retry.name == "ozon.retry"
    assert retry.attributes is not None
    assert retry.attributes["ozon.retry.reason"] == "429: rate limited (refused unprocessed)"
    assert retry.attributes["ozon.retry.wait"] == 0.0

    [retries] = telemetry.points("ozon.client.retries")
    assert retries.value == 1 and retries.attributes["error.type"] == "429"
    durations = telemetry.points("http.client.request.duration")
    by_status = {p.attributes["http.response.status_code"]: p for p in durations}
    assert set(by_status) == {429, 200}
    assert by_status[429].attributes["error.type"] == "429"
    assert sum(p.count for p in telemetry.points("ozon.client.rate_limit.wait")) == 2


async def test_a_failed_write_is_an_error_span_and_is_not_resent(
    sandbox: Sandbox, telemetry: Telemetry
) -> None:
    sandbox.add_fault("/v2/products/stocks", status=503, headers={"x-o3-trace-id": "trace-503"})
    async with client_for(sandbox, telemetry) as client:
        with pytest.raises(ServerError) as info:
            await client.products.stocks_v2(stocks=STOCKS)
    [call], [attempt] = telemetry.calls_and_attempts()
    for span in (call, attempt):
        common(span, sandbox, "/v2/products/stocks", "products_stocks_v2")
        attrs = span.attributes or {}
        assert attrs["http.response.status_code"] == 503
        assert attrs["error.type"] == "503"
        assert attrs["ozon.trace_id"] == "trace-503"
        assert span.status.status_code is StatusCode.ERROR
    assert call.status.description == info.value.decision
    assert "not resent" in (call.status.description or "")
    assert "http.request.resend_count" not in (call.attributes or {})
    assert call.events == ()
    assert telemetry.points("ozon.client.retries") == []
    [duration] = telemetry.points("http.client.request.duration")
    assert duration.attributes["error.type"] == "503"
    assert len(sandbox.requests_for("/v2/products/stocks")) == 1


# ------------------------------------------------------------------------ other failures
async def test_a_timeout_is_named_by_its_error_class(telemetry: Telemetry) -> None:
    def handler(request: HTTPRequest) -> HTTPResponse:
        raise APITimeoutError("no answer within 1 s", sent=True)

    async with OzonClient(
        "1", "k", transport=MockTransport(handler), event_hooks=telemetry.hooks
    ) as client:
        with pytest.raises(APITimeoutError):
            await client.products.stocks_v2(stocks=STOCKS)
    [call], [attempt] = telemetry.calls_and_attempts()
    for span in (call, attempt):
        attrs = span.attributes or {}
        assert attrs["error.type"] == "APITimeoutError"
        assert "http.response.status_code" not in attrs
        assert span.status.status_code is StatusCode.ERROR


async def test_a_cancelled_call_closes_its_spans(telemetry: Telemetry) -> None:
    started = asyncio.Event()

    async def stall(request: HTTPRequest) -> HTTPResponse:
        started.set()
        await asyncio.sleep(3600)
        raise AssertionError("not reached")

    async with OzonClient(
        "1", "k", transport=MockTransport(stall), event_hooks=telemetry.hooks
    ) as client:
        task = asyncio.ensure_future(client.roles.list_v1())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    [call], [attempt] = telemetry.calls_and_attempts()
    for span in (call, attempt):
        assert (span.attributes or {})["error.type"] == "CancelledError"


async def test_a_raw_path_has_no_operation_id(telemetry: Telemetry) -> None:
    transport = MockTransport(
        lambda r: HTTPResponse(200, json={}, headers={"x-o3-trace-id": "t-raw"})
    )
    async with OzonClient("1", "k", transport=transport) as client:
        traced = client.with_options(event_hooks=telemetry.hooks)
        await traced.request("POST", "/v9/new/thing", json={}, idempotent=True)
        await client.request("POST", "/v9/new/thing", json={}, idempotent=True)  # untraced
    [call], [attempt] = telemetry.calls_and_attempts()
    assert call.name == attempt.name == "POST /v9/new/thing"
    attrs = call.attributes or {}
    assert attrs["url.template"] == "/v9/new/thing" and attrs["server.port"] == 443
    assert "ozon.operation_id" not in attrs and attrs["ozon.trace_id"] == "t-raw"


async def test_concurrent_calls_keep_their_spans_apart(telemetry: Telemetry) -> None:
    async def answer(request: HTTPRequest) -> HTTPResponse:
        await asyncio.sleep(0.01)
        return HTTPResponse(200, json={"roles": []})

    async with OzonClient(
        "1", "k", transport=MockTransport(answer), event_hooks=telemetry.hooks
    ) as client:
        await asyncio.gather(*(client.roles.list_v1() for _ in range(5)))
    calls, attempts = telemetry.calls_and_attempts()
    assert len(calls) == 5 and len(attempts) == 5
    assert {a.parent.span_id for a in attempts if a.parent} == {c.context.span_id for c in calls}


def test_the_hooks_are_a_mapping_of_every_event() -> None:
    hooks = OpenTelemetryHooks()
    assert set(hooks) == {"request", "response", "retry", "end"}
    assert all(len(hooks[k]) == 1 and callable(hooks[k][0]) for k in hooks)
    client = OzonClient("1", "k", event_hooks=hooks)
    assert set(client.config.event_hooks) == {"request", "response", "retry", "end"}


# ------------------------------------------------------------------------ without OpenTelemetry
def test_importing_the_library_does_not_import_opentelemetry() -> None:
    code = textwrap.dedent(
        """
        import sys, asyncio
        import ozon_async
        from ozon_async import HTTPResponse, MockTransport, OzonClient

        async def main():
            transport = MockTransport(lambda r: HTTPResponse(200, json={"roles": []}))
            async with OzonClient("1", "k", transport=transport) as c:
                await c.roles.list_v1()

        asyncio.run(main())
        print(sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry"))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_client_runs_without_opentelemetry_installed() -> None:
    code = textwrap.dedent(
        """
        import importlib.abc, sys

        class NotInstalled(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "opentelemetry":
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, NotInstalled())

        import asyncio
        from ozon_async import HookEvent, HTTPResponse, MockTransport, OzonClient

        seen = []

        async def main():
            transport = MockTransport(lambda r: HTTPResponse(200, json={"roles": []}))
            async with OzonClient("1", "k", transport=transport) as c:
                await c.roles.list_v1()
                await c.with_options(event_hooks={"end": seen.append}).roles.list_v1()

        asyncio.run(main())
        print("ran", [e.status for e in seen])
        try:
            import ozon_async.otel
        except ImportError as exc:
            print("otel:", exc)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "ran [200]"
    assert lines[1] == (
        "otel: ozon_async.otel needs the OpenTelemetry API: pip install 'ozon-async[otel]'"
    )


# ------------------------------------------------------------------------ the README
def test_the_readme_observability_examples_run_as_written() -> None:
    examples = readme_examples("Observability")
    assert len(examples) == 2
    for code, expected in examples:
        assert expected is not None
        printed = run_example(code)
        if "OpenTelemetryHooks" in code:  # metrics come in the SDK's order
            assert printed.splitlines()[:3] == expected.splitlines()[:3]
            assert sorted(printed.splitlines()[3:]) == sorted(expected.splitlines()[3:])
        else:
            assert printed == expected
