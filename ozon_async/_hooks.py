"""Event hooks: what the client does, told to the caller's functions as it happens.

``OzonClient(event_hooks={"request": [...], "response": [...], "retry": [...], "end": [...]})``
calls each function (sync or async) with a :class:`HookEvent`:

- ``request``: an attempt is about to be sent (its rate-limit slot was granted);
- ``response``: an attempt ended: the status, or the failure, how long it took, Ozon's trace id;
- ``retry``: the client will resend after ``wait`` seconds, for ``reason``;
- ``end``: the call is over, whatever the outcome (an answer, an error raised, a cancellation).

An event holds no header and no body, so a hook never sees the Api-Key or an access token. A hook
that raises is logged at WARNING on the ``ozon_async`` logger and the call goes on as if it had
not been there. A client without hooks does no hook work at all.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from ozon_async._exceptions import ConfigurationError
from ozon_async._log import get_logger
from ozon_async._record import Record

if TYPE_CHECKING:
    from ozon_async._clock import Clock
    from ozon_async._operation import Operation

__all__ = ["HOOK_KINDS", "EventHook", "HookEvent", "HookKind", "check_event_hooks"]

HookKind = Literal["request", "response", "retry", "end"]

#: The events a hook can be registered for, in the order they happen.
HOOK_KINDS: tuple[HookKind, ...] = ("request", "response", "retry", "end")


class HookEvent(Record):
    """What happened. Every event of one call has the same ``call_id``.

    Attributes:
        kind: ``"request"``, ``"response"``, ``"retry"`` or ``"end"``.
        call_id: a number unique to the call in this process (to match the events of a call).
        operation: the operation of the spec, or ``None`` for a path the SDK does not know
            (:meth:`OzonClient.request`).
        method: ``"POST"``, ``"GET"``...
        path: the operation's path template (``"/v1/cargoes-label/file/{file_guid}"``), or the path
            sent for an unknown one.
        url: the full URL sent (base URL, path and the query string of the Performance API's reads).
        attempt: the attempt number (1 for the first); for ``end``, how many attempts were made
            (0 when the call stopped before sending anything).
        status: the HTTP status of the answer (``response``; ``end`` when there was an answer).
        failure: when no answer came: ``"not_sent"`` (the connection could not be made),
            ``"timeout"``, ``"lost"`` (the connection broke after sending), ``"too_large"``.
        error_type: the class name of the error the attempt (``response``) or the call
            (``end``) ended with, e.g. ``"RateLimitError"``, ``"APITimeoutError"``,
            ``"CancelledError"``; ``None`` on success.
        elapsed: seconds the attempt took (``response``), or the whole call, waits included
            (``end``).
        rate_limit_wait: seconds the attempt waited for its rate-limit slot (``request``).
        wait: seconds the client will wait before resending (``retry``).
        reason: why it resends (``retry``), or what it decided when it gave up (``end``, e.g.
            ``"not resent: this operation changes data; ..."``).
        trace_id: Ozon's ``x-o3-trace-id`` of the answer, when it sent one.
    """

    kind: HookKind
    call_id: int
    operation: Operation | None
    method: str
    path: str
    url: str
    attempt: int
    status: int | None = None
    failure: str | None = None
    error_type: str | None = None
    elapsed: float | None = None
    rate_limit_wait: float | None = None
    wait: float | None = None
    reason: str | None = None
    trace_id: str | None = None


#: A hook: a function (or coroutine function) of a :class:`HookEvent`; what it returns is ignored.
EventHook = Callable[[HookEvent], Any]


def check_event_hooks(value: Any) -> Mapping[str, tuple[EventHook, ...]]:
    """``event_hooks`` as a read-only mapping of kind to a tuple of hooks (kinds without hooks
    left out); :class:`ConfigurationError` naming what is wrong. A value may be one callable or
    a list or tuple of them."""
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            "event_hooks must be a mapping of event names to lists of functions, e.g. "
            '{"response": [log_attempt]}'
        )
    out: dict[str, tuple[EventHook, ...]] = {}
    for kind, hooks in value.items():
        if kind not in HOOK_KINDS:
            raise ConfigurationError(
                f"event_hooks: unknown event {kind!r} (events: {', '.join(HOOK_KINDS)})"
            )
        if callable(hooks):
            hooks = (hooks,)
        elif not isinstance(hooks, (list, tuple)):
            raise ConfigurationError(
                f"event_hooks[{kind!r}] must be a function or a list of functions, "
                f"not {type(hooks).__name__}"
            )
        for i, hook in enumerate(hooks):
            if not callable(hook):
                raise ConfigurationError(
                    f"event_hooks[{kind!r}][{i}] is not callable ({type(hook).__name__})"
                )
        if hooks:
            out[kind] = tuple(hooks)
    return MappingProxyType({k: out[k] for k in HOOK_KINDS if k in out})


def merge_event_hooks(
    first: Mapping[str, tuple[EventHook, ...]], then: Mapping[str, tuple[EventHook, ...]]
) -> dict[str, tuple[EventHook, ...]]:
    """The hooks of ``first`` followed by those of ``then``, per kind."""
    return {k: (*first.get(k, ()), *then.get(k, ())) for k in HOOK_KINDS if k in first or k in then}


_CALL_IDS = itertools.count(1)


class Hooks:
    """The hooks of a client, by kind (made once per configuration)."""

    __slots__ = ("end", "request", "response", "retry")

    def __init__(self, hooks: Mapping[str, tuple[EventHook, ...]]) -> None:
        self.request = hooks.get("request", ())
        self.response = hooks.get("response", ())
        self.retry = hooks.get("retry", ())
        self.end = hooks.get("end", ())

    def call(
        self, op: Operation | None, method: str, path: str, url: str, clock: Clock
    ) -> CallEvents:
        return CallEvents(self, op, method, path, url, clock)


class CallEvents:
    """The events of one call: builds them and runs the hooks."""

    __slots__ = ("clock", "ended", "hooks", "id", "method", "op", "path", "started", "url")

    def __init__(
        self, hooks: Hooks, op: Operation | None, method: str, path: str, url: str, clock: Clock
    ) -> None:
        self.hooks = hooks
        self.id = next(_CALL_IDS)
        self.op = op
        self.method = method
        self.path = op.path if op is not None else path
        self.url = url
        self.clock = clock
        self.started = clock.now()
        self.ended = False

    def _event(self, kind: HookKind, attempt: int, **fields: Any) -> HookEvent:
        return HookEvent(
            kind, self.id, self.op, self.method, self.path, self.url, attempt, **fields
        )

    async def request(self, attempt: int, rate_limit_wait: float) -> None:
        if self.hooks.request:
            event = self._event("request", attempt, rate_limit_wait=rate_limit_wait)
            await _run(self.hooks.request, event)

    async def response(
        self,
        attempt: int,
        elapsed: float,
        *,
        status: int | None = None,
        failure: str | None = None,
        error_type: str | None = None,
        trace_id: str | None = None,
    ) -> None:
        if self.hooks.response:
            event = self._event(
                "response",
                attempt,
                status=status,
                failure=failure,
                error_type=error_type,
                elapsed=elapsed,
                trace_id=trace_id,
            )
            await _run(self.hooks.response, event)

    async def retry(self, attempt: int, wait: float, reason: str) -> None:
        if self.hooks.retry:
            await _run(self.hooks.retry, self._event("retry", attempt, wait=wait, reason=reason))

    async def end(
        self,
        attempts: int,
        *,
        status: int | None = None,
        failure: str | None = None,
        error: BaseException | None = None,
        trace_id: str | None = None,
    ) -> None:
        if self.ended:
            return
        self.ended = True
        if self.hooks.end:
            decision = getattr(error, "decision", None)
            event = self._event(
                "end",
                attempts,
                status=status,
                failure=failure,
                error_type=type(error).__name__ if error is not None else None,
                elapsed=self.clock.now() - self.started,
                reason=decision if isinstance(decision, str) and decision else None,
                trace_id=trace_id,
            )
            await _run(self.hooks.end, event)


async def _run(hooks: tuple[EventHook, ...], event: HookEvent) -> None:
    import inspect  # loaded already: asyncio imports it

    for hook in hooks:
        try:
            result = hook(event)
            if inspect.isawaitable(result):
                await result
        except Exception:
            name = getattr(hook, "__qualname__", None) or repr(hook)
            get_logger().warning(
                "event hook %s raised on a %s event of %s %s; the call goes on",
                name,
                event.kind,
                event.method,
                event.path,
                exc_info=True,
            )
