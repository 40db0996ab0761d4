"""The runtime: what every call of a client goes through, stage by stage.

A :class:`Runtime` is one client's (or view's) credentials, settings and the machinery it
shares with its views (transport, rate limiter, clock, random numbers). :meth:`Runtime.send`
takes a request through six stages, attempt after attempt::

    options -> auth -> slot -> transport -> answer -> decision

1. **options** (:meth:`Runtime.settings`): the per-call options checked, giving the attempt's
   timeout and headers, the retry policy and whether resending is allowed;
2. **auth** (:meth:`_Call.authenticate`): with a token provider, the token this attempt carries;
3. **slot** (:meth:`_Call.take_slot`): the rate-limit slots and the daily budget
   (:meth:`Runtime.acquire`);
4. **transport** (:meth:`_Call.outgoing`, the transport's ``send``, :meth:`_Call.arrived`):
   one attempt over the wire (:mod:`ozon_async._transport`);
5. **answer** (:meth:`_Call.answer`): a 2xx decoded, or an error answer made its exception
   (:mod:`ozon_async._answers`);
6. **decision** (:meth:`_Call.decide`): :func:`ozon_async._retry.decide` says wait and resend, or
   raise; it is the only place where that is decided.

Event hooks are told each step (:mod:`ozon_async._hooks`). Helpers that send on their own
schedule (bulk writes) take the slot themselves (:meth:`Runtime.acquire`), send one attempt
(:meth:`Runtime.send_one`) and decide with the same :func:`~ozon_async._retry.decide`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ozon_async._answers import answer_error
from ozon_async._config import check_extra_headers
from ozon_async._exceptions import (
    APIConnectionError,
    APIStatusError,
    ClientClosedError,
    OzonError,
    RequestBudgetExhaustedError,
    RequestValidationError,
    ResponseTooLargeError,
)
from ozon_async._hooks import Hooks
from ozon_async._log import DEBUG, INFO, WARNING, get_logger
from ozon_async._record import Record
from ozon_async._response import RAW_CAPTURE, APIResponse, captured
from ozon_async._retry import GiveUp, Outcome, RetryPolicy, decide, outcome_of
from ozon_async._transport import HTTPRequest, HTTPResponse
from ozon_async._version import __version__

if TYPE_CHECKING:
    import random

    from ozon_async._auth import Auth
    from ozon_async._clock import Clock
    from ozon_async._config import ClientConfig
    from ozon_async._operation import ExportRules, Operation, RateLimit
    from ozon_async._options import CallOptions
    from ozon_async._ratelimit import RateLimiter, RateLimitSlot
    from ozon_async._request import Prepared
    from ozon_async._transport import Transport

__all__ = ["CallSettings", "Host", "Runtime", "Shared", "send_prepared"]


class Host(Protocol):
    """A client as the SDK's helpers (resources, bulk writes, tasks, reports) see it: its
    runtime. They call its typed methods by name (``getattr(client, group)``)."""

    @property
    def runtime(self) -> Runtime: ...


class Shared:
    """What a client and the views made by ``with_options`` share."""

    __slots__ = ("closed", "limiter", "own_limiter", "random", "transport")

    def __init__(
        self, transport: Transport, limiter: RateLimiter, own_limiter: RateLimiter | None = None
    ) -> None:
        self.transport = transport
        self.limiter = limiter
        self.own_limiter = own_limiter  # made by the client, so closed by it
        self.closed = False
        import random  # here, not at import time: it pulls in hashlib

        self.random: random.Random = random.Random()


class CallSettings(Record):
    """A call's settings once its options are read: the attempt's timeout and headers, the
    retry policy, and ``idempotent`` as the caller gave it (``None``: the operation decides)."""

    timeout: float
    headers: Mapping[str, str]
    policy: RetryPolicy
    idempotent: bool | None = None

    def safe(self, op: Operation | None) -> bool:
        """Resending cannot apply a change twice: the caller said so, or the operation reads."""
        if self.idempotent is not None:
            return self.idempotent
        return op is not None and op.safe


class Runtime:
    """Everything a call of one client (or view) needs; see the module's docstring.

    Attributes:
        name: the client class's name, for errors (``"OzonClient"``).
        auth, config, shared, clock: the client's credentials, settings, shared machinery and
            time source.
        operations: the API's operations keyed by ``"METHOD /path"``.
        budget, export_rules: the API's daily request budget and export rules, if it has them.
        headers, policy, hooks: what each call reads, derived once from the configuration.
        defaults: the settings of a call without options.
    """

    __slots__ = (
        "auth",
        "budget",
        "clock",
        "config",
        "defaults",
        "export_rules",
        "headers",
        "hooks",
        "name",
        "operations",
        "paced",
        "policy",
        "shared",
    )

    def __init__(
        self,
        name: str,
        auth: Auth,
        config: ClientConfig,
        shared: Shared,
        clock: Clock,
        *,
        operations: Mapping[str, Operation],
        budget: RateLimit | None = None,
        export_rules: ExportRules | None = None,
    ) -> None:
        self.name = name
        self.auth = auth
        self.config = config
        self.shared = shared
        self.clock = clock
        self.operations = operations
        self.budget = budget
        self.export_rules = export_rules
        self.policy: RetryPolicy = config.retry_policy
        self.headers: dict[str, str] = {
            **auth.headers(),
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": _user_agent(),
            **config.headers,
        }
        self.hooks: Hooks | None = Hooks(config.event_hooks) if config.event_hooks else None
        self.defaults = CallSettings(config.timeout, self.headers, self.policy)
        # every call waits for a slot (an operation with its own limit does anyway)
        self.paced = config.rate_limit is not None or budget is not None

    # ------------------------------------------------------------------ what helpers read
    @property
    def transport(self) -> Transport:
        return self.shared.transport

    @property
    def limiter(self) -> RateLimiter:
        return self.shared.limiter

    def jitter(self) -> float:
        """A number in [0, 1) that spreads backoff waits (the client's own random numbers)."""
        return self.shared.random.random()

    async def rate_key(self) -> str:
        """The key this client's rate limits are kept under, asking the token provider for its
        token when none is known yet (the bulk helper keys its per-item rules by it)."""
        key = self.auth.rate_key
        if key is None:
            key = self.auth.key_for(await self.auth.current_token())
        return key

    async def acquire(self, op: Operation | None, key: str) -> list[RateLimitSlot] | None:
        """Wait for the slots of a request (its method's limit, then the Client-Id's); the
        ones to tell ``answered()`` when its answer comes (None: none). With a daily request
        budget (``x-ozon-daily-budget``) the request is counted first, and refused with
        :class:`RequestBudgetExhaustedError` when the budget is spent."""
        limiter = self.shared.limiter
        budget = self.budget
        if budget is not None and not (op is not None and op.budget_exempt):
            wait = await limiter.acquire_window(
                f"{key} day", budget.requests, budget.period, wait=False
            )
            if wait > 0:
                raise RequestBudgetExhaustedError(
                    f"the daily budget of {budget.requests:,} requests per account is spent; "
                    f"room again in {wait:,.0f} s; nothing was sent",
                    retry_after=wait,
                )
        slots = None
        if op is not None and op.rate_limit is not None:
            rl = op.rate_limit
            slot = await limiter.acquire_slot(f"{key} {op.path}", rl.requests, rl.period)
            if slot is not None:
                slots = [slot]
        rate = self.config.rate_limit
        if rate is not None:
            slot = await limiter.acquire_slot(key, rate, 1.0)
            if slot is not None:
                slots = [slot] if slots is None else [*slots, slot]
        return slots

    # ------------------------------------------------------------------ 1. options
    def settings(self, method: str, path: str, options: CallOptions) -> CallSettings:
        """Check a call's options (:class:`RequestValidationError` naming a bad one); the
        settings they make."""
        if not options:
            return self.defaults
        operation = f"{method} {path}"
        timeout = options.get("timeout")
        if timeout is None:
            timeout = self.config.timeout
        elif (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not 0 < timeout < float("inf")
        ):
            raise RequestValidationError(
                f"timeout must be a positive number of seconds, not {timeout!r}",
                field="timeout",
                operation=operation,
            )
        retries = options.get("max_retries")
        if retries is not None and (
            isinstance(retries, bool) or not isinstance(retries, int) or retries < 0
        ):
            raise RequestValidationError(
                f"max_retries must be an integer of 0 or more, not {retries!r}",
                field="max_retries",
                operation=operation,
            )
        idempotent = options.get("idempotent")
        if idempotent is not None and not isinstance(idempotent, bool):
            raise RequestValidationError(
                "idempotent must be True, False or None", field="idempotent", operation=operation
            )
        policy = self.policy if retries is None else self.policy.replace(max_retries=retries)
        headers = _with_extra_headers(self.headers, options.get("extra_headers"), operation)
        return CallSettings(float(timeout), headers, policy, idempotent)

    # ------------------------------------------------------------------ sending
    def send(
        self,
        method: str,
        path: str,
        body: bytes | None,
        op: Operation | None,
        options: CallOptions,
        response_type: type[Any] | None = None,
    ) -> Coroutine[Any, Any, Any]:
        """Send a request through every stage, resending it as :func:`decide` says, and return
        the 2xx answer: an :class:`APIResponse`, or with ``response_type`` (a typed call of
        ``op``) the decoded model (the :class:`APIResponse` when ``client.raw`` wraps the call).
        Nothing runs until the coroutine is awaited."""
        return _Call(self, method, path, body, op, options, response_type, False).run()

    def send_one(
        self,
        method: str,
        path: str,
        body: bytes | None,
        op: Operation,
        options: CallOptions,
        response_type: type[Any],
    ) -> Coroutine[Any, Any, Any]:
        """One attempt, now: no slot (the caller took it) and no resend but the one a renewed
        access token makes. A failed attempt raises its error undecided: the caller decides,
        with :func:`~ozon_async._retry.outcome_of` and :func:`~ozon_async._retry.decide`."""
        return _Call(self, method, path, body, op, options, response_type, True).run()


async def send_prepared(
    client: Host, op: Operation, prepared: Prepared, options: CallOptions | None = None
) -> APIResponse[Any]:
    """Send what :func:`prepare` made for ``op`` (to its concrete path, multipart bodies with
    their content type), with the client's limits and retries for the operation, as its typed
    method would; the answer parses into the operation's response model. For callers that hold
    the fields by wire name rather than a typed method (the CLI, the MCP server)."""
    from ozon_async._request import with_content_type

    options = with_content_type(options or {}, prepared)
    resp: APIResponse[Any] = await client.runtime.send(
        op.method, prepared.path, prepared.body, op, options
    )
    return resp


def _with_extra_headers(
    headers: dict[str, str], extra: Mapping[str, str] | None, operation: str
) -> dict[str, str]:
    if not extra:
        return headers
    if not isinstance(extra, Mapping):
        raise RequestValidationError(
            "extra_headers must be a mapping", field="extra_headers", operation=operation
        )
    check_extra_headers(operation, extra)
    return {**headers, **extra}


class _Call:
    """One call on its way through the stages: what it sends, and what its attempts learned."""

    __slots__ = (
        "attempt",
        "body",
        "elapsed",
        "events",
        "key",
        "method",
        "op",
        "options",
        "paced",
        "path",
        "renewals",
        "renewed",
        "request",
        "response_type",
        "rt",
        "sent",
        "settings",
        "single",
        "slots",
        "started",
        "token",
        "url",
    )

    def __init__(
        self,
        rt: Runtime,
        method: str,
        path: str,
        body: bytes | None,
        op: Operation | None,
        options: CallOptions,
        response_type: type[Any] | None,
        single: bool,
    ) -> None:
        self.rt = rt
        self.method = method
        self.path = path
        self.body = body
        self.op = op
        self.options = options
        self.response_type = response_type
        self.single = single  # one attempt: the caller takes the slot and decides
        self.url = rt.config.base_url + path
        # a call waits for slots when the client or its operation is paced
        self.paced = not single and (rt.paced or (op is not None and op.rate_limit is not None))
        self.key: str | None = None  # the rate-limit key, once a slot or a token needs it
        self.token: str | None = None  # the provider's token that ``request`` carries
        self.renewed: str | None = None  # the token the provider gave after a 401
        self.renewals = self.attempt = self.sent = 0
        self.request: HTTPRequest | None = None
        self.slots: list[RateLimitSlot] | None = None  # this attempt's, told when answered

    async def run(self) -> Any:
        """Authenticate each attempt, take its slot, send it and read its answer: a success is
        returned, a failure decided on (resent after a wait, or raised)."""
        rt = self.rt
        if rt.shared.closed:
            raise ClientClosedError(f"this {rt.name} is closed; create a new one")
        # 1. options: checked when the call is awaited, as everything else
        self.settings = (
            rt.settings(self.method, self.path, self.options) if self.options else rt.defaults
        )
        hooks = rt.hooks
        self.events = (
            None
            if hooks is None
            else hooks.call(self.op, self.method, self.path, self.url, rt.clock)
        )
        transport = rt.shared.transport
        error: OzonError | None
        try:
            while True:
                self.attempt += 1
                if rt.auth.provider is not None:
                    await self.authenticate()
                if self.paced or self.events is not None:
                    await self.take_slot()
                request = self.outgoing()
                try:  # awaited here, not in a helper: each wait on the wire resumes every frame
                    resp, error = await transport.send(request), None
                except (APIConnectionError, ResponseTooLargeError) as exc:
                    resp, error = None, exc
                except OzonError:  # closed client, or a custom transport's own error
                    raise
                except Exception as exc:  # a transport broke its contract: never resend on that
                    resp, error = None, self.broken(exc)
                self.arrived(resp, error)
                if resp is not None:
                    if 200 <= resp.status < 300:
                        if self.events is not None:
                            await self.tell_success(resp)
                        return self.answer(resp)
                    error = answer_error(resp, self.method, self.path, self.op)
                assert error is not None
                await self.decide(error, resp)
        except GeneratorExit:  # the coroutine was closed unfinished: nothing may be awaited
            raise
        except BaseException as exc:
            if self.events is not None:
                await self.events.end(self.sent, error=exc, **_end_fields(exc))
            raise

    # ------------------------------------------------------------------ 2. auth
    async def authenticate(self) -> None:
        """With a token provider: the token this attempt carries (the one it gave after a 401,
        else its current one) and the rate-limit key that goes with it."""
        auth = self.rt.auth
        fresh = self.renewed if self.renewed is not None else await auth.current_token()
        self.renewed = None
        if fresh != self.token:
            self.token, self.key, self.request = fresh, auth.key_for(fresh), None

    # ------------------------------------------------------------------ 3. slot
    async def take_slot(self) -> None:
        """Wait for the attempt's rate-limit slots (and the daily budget), then tell the hooks
        the attempt is about to go and how long it waited."""
        rt = self.rt
        key = self.key
        if key is None:  # the client's (with a token provider, set from its token)
            key = self.key = rt.auth.rate_key or ""
        if self.events is None:
            self.slots = await rt.acquire(self.op, key)
            return
        waited = 0.0
        if self.paced:
            asked = rt.clock.now()
            self.slots = await rt.acquire(self.op, key)
            waited = rt.clock.now() - asked
        await self.events.request(self.attempt, waited)

    # ------------------------------------------------------------------ 4. transport
    def outgoing(self) -> HTTPRequest:
        """The request of this attempt (made once, again when the token changes), its slots
        told that it goes now, its clock started."""
        rt = self.rt
        request = self.request
        if request is None:
            headers = self.settings.headers
            if self.token is not None:
                headers = {**headers, "Authorization": f"Bearer {self.token}"}
            request = self.request = HTTPRequest(
                self.method,
                self.url,
                path=self.path,
                headers=headers,
                content=self.body,
                timeout=self.settings.timeout,
                connect_timeout=rt.config.connect_timeout,
                max_response_bytes=rt.config.max_response_bytes,
            )
        slots = self.slots
        if slots is not None:  # the request goes out now, maybe later than granted
            for slot in slots:
                slot.sending()
        self.sent = self.attempt
        self.started = rt.clock.now()
        return request

    def arrived(self, resp: HTTPResponse | None, error: OzonError | None) -> None:
        """The attempt is over: an answer (its slots told), or the connection's ``error``;
        timed and logged."""
        if resp is not None and self.slots is not None:  # the request reached the server
            for slot in self.slots:
                slot.answered()
        self.elapsed = self.rt.clock.now() - self.started
        if get_logger().isEnabledFor(DEBUG):
            _log_attempt(self, resp, error)

    def broken(self, exc: Exception) -> APIConnectionError:
        """What a transport raised against its contract, as a connection lost after sending."""
        error = APIConnectionError(
            f"{type(exc).__name__}: {exc}", method=self.method, path=self.path, sent=True
        )
        error.__cause__ = exc
        return error

    # ------------------------------------------------------------------ 5. answer
    def answer(self, resp: HTTPResponse) -> Any:
        """A 2xx answer as the caller takes it: the decoded model of a typed call, else (and
        inside ``client.raw``) an :class:`APIResponse`."""
        response_type = self.response_type
        capture = RAW_CAPTURE.get() if response_type is not None else None
        op = self.op
        if capture is None and response_type is not None and op is not None:
            return _decode_answer(op, response_type, resp.status, resp.content)
        answer: APIResponse[Any] = APIResponse(
            status=resp.status,
            headers=resp.headers,
            content=resp.content,
            method=self.method,
            path=self.path,
            elapsed=self.elapsed,
            attempts=self.attempt,
            operation=op,
        )
        if capture is not None:
            return captured(capture, answer, response_type)
        return answer

    async def tell_success(self, resp: HTTPResponse) -> None:
        assert self.events is not None
        trace = resp.headers.get("x-o3-trace-id")
        await self.events.response(self.attempt, self.elapsed, status=resp.status, trace_id=trace)
        await self.events.end(self.attempt, status=resp.status, trace_id=trace)

    # ------------------------------------------------------------------ 6. decision
    async def decide(self, error: OzonError, resp: HTTPResponse | None) -> None:
        """After a failed attempt :func:`decide` says give up (``error`` is raised, with the
        decision) or resend (this returns after the wait). A 401 first asks a token provider
        for another token; one attempt (:meth:`Runtime.send_one`) raises undecided."""
        outcome = outcome_of(error)
        assert outcome is not None  # transmit() lets only connection failures through
        if self.events is not None:
            await self.tell_failure(error, outcome, resp)
        if outcome.status == 401 and self.rt.auth.provider is not None and not self.renewals:
            outcome = await self.renew_token(error, outcome)
        if self.single and not outcome.token_renewed:
            raise error
        settings = self.settings
        safe = settings.safe(self.op)
        attempt = self.attempt - self.renewals
        verdict = decide(outcome, attempt, safe, settings.policy, self.rt.jitter())
        if isinstance(verdict, GiveUp):
            if verdict.decision:
                error.decision = verdict.decision
            raise error
        if self.events is not None:
            await self.events.retry(self.attempt, verdict.wait, verdict.reason)
        level = WARNING if outcome.breaker_open else INFO
        logger = get_logger()
        if logger.isEnabledFor(level):
            logger.log(
                level,
                "%s %s: %s; resending in %.2f s (attempt %d of at most %d)",
                self.method,
                self.path,
                verdict.reason,
                verdict.wait,
                self.attempt + 1,
                (0 if self.single else settings.policy.max_retries) + 1 + self.renewals,
            )
        await self.rt.clock.sleep(verdict.wait)

    async def renew_token(self, error: OzonError, outcome: Outcome) -> Outcome:
        """After a 401 (once per call): the provider's token now; a different one is sent at
        once (``token_renewed``)."""
        try:
            fresh = await self.rt.auth.current_token(rejected=self.token)
        except Exception as exc:
            error.decision = "not resent: token_provider failed to give a new token"
            raise error from exc
        if fresh == self.token:
            return outcome
        self.renewed, self.renewals = fresh, 1
        return outcome.replace(token_renewed=True)

    async def tell_failure(
        self, error: OzonError, outcome: Outcome, resp: HTTPResponse | None
    ) -> None:
        assert self.events is not None
        await self.events.response(
            self.attempt,
            self.elapsed,
            status=None if resp is None else resp.status,
            failure=outcome.kind if resp is None else None,
            error_type=type(error).__name__,
            trace_id=None if resp is None else resp.headers.get("x-o3-trace-id"),
        )


def _end_fields(exc: BaseException) -> dict[str, Any]:
    """What the ``end`` event of a call that raised ``exc`` says about its last answer."""
    if isinstance(exc, APIStatusError):
        return {"status": exc.status, "trace_id": exc.trace_id}
    outcome = outcome_of(exc)
    return {} if outcome is None else {"failure": outcome.kind}


def _log_attempt(call: _Call, resp: HTTPResponse | None, error: OzonError | None) -> None:
    status: int | str = resp.status if resp is not None else type(error).__name__
    trace = resp.headers.get("x-o3-trace-id", "-") if resp is not None else "-"
    get_logger().debug(
        "%s %s -> %s (attempt %d, %.3f s, trace %s)",
        call.method,
        call.path,
        status,
        call.attempt,
        call.elapsed,
        trace,
    )


def _first_decode(op: Operation, response_type: Any, status: int, content: bytes) -> Any:
    """Import the codec (and msgspec with it) at the first typed answer, not with the package,
    and decode with it from then on."""
    global _decode_answer
    from ozon_async._codec import decode_answer

    _decode_answer = decode_answer
    return decode_answer(op, response_type, status, content)


#: ``ozon_async._codec.decode_answer`` once a typed call has answered.
_decode_answer: Callable[[Operation, Any, int, bytes], Any] = _first_decode


def _user_agent() -> str:
    """``ozon_async/<version> (Python 3.x; <system>)``, without importing ``platform``."""
    system = {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}.get(
        sys.platform, sys.platform
    )
    v = sys.version_info
    return f"ozon_async/{__version__} (Python {v.major}.{v.minor}; {system})"
