"""OpenTelemetry traces and metrics for :class:`~ozon_async.OzonClient`, built on its event hooks.

Needs the optional extra ``ozon-async[otel]`` (the OpenTelemetry API; the application installs
and configures the SDK and its exporters)::

    from ozon_async import OzonClient
    from ozon_async.otel import OpenTelemetryHooks

    async with OzonClient(event_hooks=OpenTelemetryHooks()) as client:
        ...

    # or for a client made elsewhere (a view that shares its connections and limits):
    traced = client.with_options(event_hooks=OpenTelemetryHooks())

Traces, following OpenTelemetry's semantic conventions for HTTP clients:

- one span per call (``POST /v4/posting/fbs/list``, kind CLIENT), child of the span current
  when the call was made: rate-limit waits and retry waits included, an ``ozon.retry`` event per
  resend (``ozon.retry.wait``, ``ozon.retry.reason``), and the outcome;
- one span per attempt, child of the call's span: what went over the wire.

Both carry ``http.request.method``, ``server.address``, ``server.port``, ``url.full``,
``url.template`` (the operation's path), ``ozon.operation_id`` and ``ozon.operation``
(``posting.fbs_list_v4``), and when known ``http.response.status_code``,
``http.request.resend_count`` (resends before this attempt, or in the whole call), ``error.type``
(the status code, or the error's class name such as ``APITimeoutError``) and ``ozon.trace_id``
(Ozon's ``x-o3-trace-id``). An attempt span also has ``ozon.rate_limit.wait`` (seconds it waited
for its slot). Failed attempts and calls have the ERROR status.

Metrics:

- ``http.client.request.duration`` (histogram, s): each attempt;
- ``ozon.client.retries`` (counter): resends, with ``error.type`` saying what failed;
- ``ozon.client.rate_limit.wait`` (histogram, s): how long each attempt waited for its slot.

They carry the low-cardinality attributes (method, server, ``url.template``, status code,
``error.type``). Durations are read from the client's clock.

Importing :mod:`ozon_async` never imports OpenTelemetry; only this module does, and a client
without these hooks pays nothing for them.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

try:
    from opentelemetry import metrics, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "ozon_async.otel needs the OpenTelemetry API: pip install 'ozon-async[otel]'"
    ) from exc

from ozon_async._hooks import HOOK_KINDS, EventHook, HookEvent
from ozon_async._version import __version__

__all__ = ["OpenTelemetryHooks"]

_SCHEMA_URL = "https://opentelemetry.io/schemas/1.26.0"
# the buckets the HTTP semantic conventions advise for request durations
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
_WAIT_BUCKETS = (0, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


@functools.lru_cache(maxsize=64)
def _server(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname or "", port


def _error_type(event: HookEvent) -> str | None:
    """``error.type``: the status code of an error answer, else the error's class name."""
    if event.error_type is None:
        return None
    return str(event.status) if event.status else event.error_type


class _Call:
    """The spans of one call in progress."""

    __slots__ = ("attempt", "attributes", "error_type", "metric_attributes", "name", "span")

    def __init__(
        self,
        span: trace.Span,
        name: str,
        attributes: dict[str, Any],
        metric_attributes: dict[str, Any],
    ) -> None:
        self.span = span
        self.name = name
        self.attributes = attributes
        self.metric_attributes = metric_attributes
        self.attempt: trace.Span | None = None
        self.error_type: str | None = None


class OpenTelemetryHooks(Mapping[str, tuple[EventHook, ...]]):
    """Event hooks that report an :class:`~ozon_async.OzonClient`'s calls to OpenTelemetry:
    pass as ``event_hooks=`` (see the module documentation for the spans and metrics).

    One instance may serve any number of clients. Pass it whole: it needs every kind of event
    to open and close its spans.

    Args:
        tracer_provider: where spans go; default: the global one (``trace.set_tracer_provider``).
        meter_provider: where metrics go; default: the global one.
    """

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self._tracer = trace.get_tracer(
            "ozon_async", __version__, tracer_provider, schema_url=_SCHEMA_URL
        )
        meter = metrics.get_meter("ozon_async", __version__, meter_provider, schema_url=_SCHEMA_URL)
        self._duration = meter.create_histogram(
            "http.client.request.duration",
            unit="s",
            description="Duration of each HTTP request (attempt) to the Ozon Seller API.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self._retries = meter.create_counter(
            "ozon.client.retries",
            unit="{retry}",
            description="Requests to the Ozon Seller API resent after a failed attempt.",
        )
        self._rate_wait = meter.create_histogram(
            "ozon.client.rate_limit.wait",
            unit="s",
            description="Time each request waited for a slot of the client-side rate limits.",
            explicit_bucket_boundaries_advisory=_WAIT_BUCKETS,
        )
        self._calls: dict[int, _Call] = {}
        self._hooks: dict[str, tuple[EventHook, ...]] = {
            "request": (self._on_request,),
            "response": (self._on_response,),
            "retry": (self._on_retry,),
            "end": (self._on_end,),
        }

    # ------------------------------------------------------------------ the mapping
    def __getitem__(self, kind: str) -> tuple[EventHook, ...]:
        return self._hooks[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(HOOK_KINDS)

    def __len__(self) -> int:
        return len(HOOK_KINDS)

    def __repr__(self) -> str:
        return f"<OpenTelemetryHooks: {len(self._calls)} calls in progress>"

    # ------------------------------------------------------------------ events
    def _start_call(self, event: HookEvent, waited: float) -> _Call:
        host, port = _server(event.url)
        metric_attributes: dict[str, Any] = {
            "http.request.method": event.method,
            "server.address": host,
            "server.port": port,
            "url.template": event.path,
        }
        attributes = {**metric_attributes, "url.full": event.url}
        op = event.operation
        if op is not None:
            attributes["ozon.operation_id"] = op.operation_id
            attributes["ozon.operation"] = f"{op.group}.{op.name}"
        name = f"{event.method} {event.path}"
        start = time.time_ns() - int(max(waited, 0.0) * 1e9)
        span = self._tracer.start_span(
            name, kind=SpanKind.CLIENT, attributes=attributes, start_time=start
        )
        call = _Call(span, name, attributes, metric_attributes)
        self._calls[event.call_id] = call
        return call

    def _on_request(self, event: HookEvent) -> None:
        waited = event.rate_limit_wait or 0.0
        call = self._calls.get(event.call_id)
        if call is None:
            call = self._start_call(event, waited)
        attributes = {**call.attributes, "ozon.rate_limit.wait": waited}
        if event.attempt > 1:
            attributes["http.request.resend_count"] = event.attempt - 1
        call.attempt = self._tracer.start_span(
            call.name,
            context=trace.set_span_in_context(call.span),
            kind=SpanKind.CLIENT,
            attributes=attributes,
        )
        self._rate_wait.record(waited, call.metric_attributes)

    def _on_response(self, event: HookEvent) -> None:
        call = self._calls.get(event.call_id)
        if call is None:
            return
        error_type = _error_type(event)
        call.error_type = error_type
        attributes = dict(call.metric_attributes)
        if event.status:
            attributes["http.response.status_code"] = event.status
        if error_type is not None:
            attributes["error.type"] = error_type
        self._duration.record(event.elapsed or 0.0, attributes)
        span, call.attempt = call.attempt, None
        if span is not None:
            _finish(span, event, error_type)

    def _on_retry(self, event: HookEvent) -> None:
        call = self._calls.get(event.call_id)
        if call is None:
            return
        attributes = dict(call.metric_attributes)
        if call.error_type is not None:
            attributes["error.type"] = call.error_type
        self._retries.add(1, attributes)
        call.span.add_event(
            "ozon.retry",
            {
                "ozon.retry.wait": event.wait or 0.0,
                "ozon.retry.reason": event.reason or "",
                "http.request.resend_count": event.attempt,
            },
        )

    def _on_end(self, event: HookEvent) -> None:
        call = self._calls.pop(event.call_id, None)
        if call is None:  # stopped before any attempt (e.g. the shared limiter was down)
            call = self._start_call(event, event.elapsed or 0.0)
            self._calls.pop(event.call_id, None)
        error_type = _error_type(event)
        if call.attempt is not None:  # interrupted while on the wire (cancelled)
            _finish(call.attempt, event, error_type)
        if event.attempt > 1:
            call.span.set_attribute("http.request.resend_count", event.attempt - 1)
        _finish(call.span, event, error_type)


def _finish(span: trace.Span, event: HookEvent, error_type: str | None) -> None:
    if event.status:
        span.set_attribute("http.response.status_code", event.status)
    if event.trace_id:
        span.set_attribute("ozon.trace_id", event.trace_id)
    if error_type is not None:
        span.set_attribute("error.type", error_type)
        span.set_status(Status(StatusCode.ERROR, event.reason or None))
    span.end()
