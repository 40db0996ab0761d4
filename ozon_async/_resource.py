"""Base of the generated resource classes, and the ``.iter``/``.pages`` of paginated methods."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Generic,
    ParamSpec,
    Protocol,
    TypeVar,
    cast,
    overload,
)

from ozon_async._models import BinaryResponse
from ozon_async._operation import Operation
from ozon_async._options import CallOptions
from ozon_async._pagination import iter_items, iter_pages
from ozon_async._request import UploadFile, prepare_call
from ozon_async._response import RAW_CAPTURE, captured

if TYPE_CHECKING:
    from ozon_async._bulk import BulkResult
    from ozon_async._runtime import Host, Runtime
    from ozon_async._tasks import TaskResult

__all__ = [
    "BinaryResponse",
    "Paginated",
    "Resource",
    "UploadFile",
    "batched",
    "batched_task",
    "paginated",
    "starts_task",
]

R = TypeVar("R")
I = TypeVar("I")  # noqa: E741
S = TypeVar("S", bound="Resource")
P = ParamSpec("P")


class Resource:
    """A group of operations bound to a client (``client.posting``, ``client.product``...)."""

    __slots__ = ("_client",)

    def __init__(self, client: Host) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"

    if not TYPE_CHECKING:  # type checkers keep refusing unknown names themselves

        def __getattr__(self, name: str) -> Any:
            # Only reached when the attribute does not exist: a near-miss name gets suggestions
            # (``client.product.stocks_v2`` -> ``client.products.stocks_v2``).
            if name.startswith("_"):
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            from ozon_async._suggest import group_attribute_error

            # a generated class lives in ozon_async.resources.<group>
            group = type(self).__module__.rsplit(".", 1)[-1]
            operations = self._client.runtime.operations.values()
            raise group_attribute_error(group, type(self).__name__, name, operations)

    def _call(
        self,
        op: Operation,
        request_type: type[Any] | None,
        response_type: type[R] | None,
        fields: Mapping[str, Any],
        options: CallOptions,
    ) -> Awaitable[R]:
        """Check the call now (:func:`~ozon_async._request.prepare_call`: errors surface before
        anything is sent) and return the runtime's send coroutine (a plain function: no extra
        coroutine per call), which decodes the answer into ``response_type`` (without one, it
        gives the :class:`APIResponse`)."""
        path, body, options = prepare_call(op, request_type, fields, options)
        runtime = self._client.runtime
        if op.export is not None and runtime.export_rules is not None:
            return _export_call(runtime, op, fields, path, body, options, response_type)
        return runtime.send(op.method, path, body, op, options, response_type)

    async def _call_binary(
        self,
        op: Operation,
        request_type: type[Any] | None,
        fields: Mapping[str, Any],
        options: CallOptions,
    ) -> BinaryResponse:
        resp: Any = await self._call(op, request_type, None, fields, options)
        capture = RAW_CAPTURE.get()
        if capture is not None:
            return cast(BinaryResponse, captured(capture, resp, BinaryResponse))
        ctype = resp.headers.get("Content-Type", op.response_content_type).split(";")[0].strip()
        return BinaryResponse(content=resp.content, content_type=ctype)


def _export_call(
    runtime: Runtime,
    op: Operation,
    fields: Mapping[str, Any],
    path: str,
    body: bytes | None,
    options: CallOptions,
    response_type: type[Any] | None,
) -> Awaitable[Any]:
    """A call that starts an export: checked against the export rules now, counted against the
    account's daily exports when it runs (:mod:`ozon_async._exports`)."""
    from ozon_async._exports import check_export, counted_export

    assert runtime.export_rules is not None
    check_export(op, fields, runtime.export_rules)
    return counted_export(
        runtime,
        op,
        fields,
        lambda: runtime.send(op.method, path, body, op, options, response_type),
    )


# A paginated method bound to its resource: call it for one page, or walk all of them.
class _HasSignature(Protocol):
    @property
    def bound_signature(self) -> inspect.Signature: ...


# ``await client.posting.fbs_list_v4(...)`` returns one page; ``client.posting.fbs_list_v4.iter(
# ...)`` yields every item across pages; ``.pages(...)`` yields every page's response.
class BoundPaginated(functools.partial[Awaitable[R]], Generic[P, R, I]):
    # A functools.partial of the generated method and its resource: calling it is partial's own
    # (C) call, with no Python frame in between.
    def __new__(
        cls,
        func: Callable[..., Awaitable[R]],
        resource: Resource,
        op: Operation,
        doc: str | None,
        owner: Paginated[Any, P, R, I] | None = None,
    ) -> BoundPaginated[P, R, I]:
        self = super().__new__(cls, func, resource)
        self._op = op
        self._descriptor = owner
        self.__doc__ = doc
        self.__name__ = op.name
        return self

    if TYPE_CHECKING:
        _op: Operation
        _descriptor: _HasSignature | None  # the Paginated descriptor (not declared as such:
        # mypy would read a class attribute of a descriptor type through its __get__)
        __name__: str

        def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]: ...

    # A bound method for introspection: ``inspect.signature()`` and ``help()`` show the real
    # parameters (``pydoc`` documents objects with ``__get__`` as routines).
    @property
    def __signature__(self) -> inspect.Signature:
        if self._descriptor is not None:
            return self._descriptor.bound_signature
        return inspect.signature(functools.partial(self.func, *self.args))

    def __get__(self, obj: object, owner: type[Any] | None = None) -> BoundPaginated[P, R, I]:
        return self

    def pages(self, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[R]:
        """Yield the response of every page, starting from the position in the arguments."""
        assert self._op.pagination is not None
        _no_positional(self._op, args)
        return iter_pages(self, self._op.pagination, kwargs)

    def iter(self, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[I]:
        """Yield every item of every page."""
        assert self._op.pagination is not None
        _no_positional(self._op, args)
        return iter_items(self, self._op.pagination, kwargs)

    @property
    def operation(self) -> Operation:
        return self._op

    def __repr__(self) -> str:
        return f"<paginated method {self._op.group}.{self._op.name} ({self._op.key})>"


def _no_positional(op: Operation, args: tuple[Any, ...]) -> None:
    if args:
        raise TypeError(f"{op.name}() takes keyword arguments only")


class Paginated(Generic[S, P, R, I]):
    """Descriptor made by :func:`paginated` around a generated method."""

    def __init__(self, func: Callable[Concatenate[S, P], Awaitable[R]], op: Operation) -> None:
        self._func = func
        self._op = op
        self._signature: inspect.Signature | None = None
        self.__doc__ = func.__doc__
        self.__name__ = getattr(func, "__name__", op.name)
        self.__wrapped__ = func

    @property
    def bound_signature(self) -> inspect.Signature:
        """The method's signature without ``self``."""
        if self._signature is None:
            sig = inspect.signature(self._func)
            params = list(sig.parameters.values())[1:]
            self._signature = sig.replace(parameters=params)
        return self._signature

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Paginated[S, P, R, I]: ...

    @overload
    def __get__(self, obj: S, owner: type[Any]) -> BoundPaginated[P, R, I]: ...

    def __get__(
        self, obj: S | None, owner: type[Any]
    ) -> Paginated[S, P, R, I] | BoundPaginated[P, R, I]:
        if obj is None:
            return self
        bound: BoundPaginated[P, R, I] = BoundPaginated(
            self._func, obj, self._op, self.__doc__, self
        )
        # Kept in the resource's __dict__, which Python looks in before this (non-data)
        # descriptor: later calls find the bound method at no cost, as functools.cached_property.
        obj.__dict__[self.__name__] = bound
        return bound


def paginated(
    op: Operation, item: type[I]
) -> Callable[[Callable[Concatenate[S, P], Awaitable[R]]], Paginated[S, P, R, I]]:
    """Mark a generated method as paginated (its operation has ``x-ozon-pagination``)."""

    def wrap(func: Callable[Concatenate[S, P], Awaitable[R]]) -> Paginated[S, P, R, I]:
        return Paginated(func, op)

    return wrap


# --------------------------------------------------------------------------- bulk writes, tasks
# Methods whose operation has ``x-ozon-batch`` get ``.bulk(items, ...)``; those with
# ``x-ozon-task`` get ``.and_wait(...)``, ``.waiting(...)`` and ``.wait(task_id)``. The work is done
# in ozon_async/_bulk.py and ozon_async/_tasks.py.
T = TypeVar("T")  # the status answer of a task
B = TypeVar("B")  # a bound method object


# A generated method bound to its resource, with the helpers its operation allows (no
# docstring: instances carry the method's own ``__doc__``).
class BoundOperation(Generic[P, R]):
    def __init__(
        self,
        call: Callable[P, Awaitable[R]],
        op: Operation,
        doc: str | None,
        client: Host,
        item: Any = None,
        status: Any = None,
    ) -> None:
        self._call = call
        self._op = op
        self._client = client
        self._item = item
        self._status = status
        self.__doc__ = doc
        self.__name__ = op.name
        self._descriptor: _HasSignature | None = None

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]:
        return self._call(*args, **kwargs)

    # A bound method for introspection, as BoundPaginated: ``inspect.signature()``, ``help()``
    # and IDEs' runtime help show the generated method's keyword arguments, not this class's
    # ``(*args, **kwargs)``; calls do not go through any of this.
    @property
    def __signature__(self) -> inspect.Signature:
        if self._descriptor is not None:
            return self._descriptor.bound_signature
        return inspect.signature(self._call)

    def __get__(self, obj: object, owner: type[Any] | None = None) -> BoundOperation[P, R]:
        return self

    def __repr__(self) -> str:
        return f"<method {self._op.group}.{self._op.name} ({self._op.key})>"

    @property
    def operation(self) -> Operation:
        return self._op


class BoundBatched(BoundOperation[P, R], Generic[P, R, I]):
    def bulk(
        self,
        items: Iterable[I | Mapping[str, Any]],
        *,
        wait: bool | float = True,
        concurrency: int | None = None,
        on_progress: Callable[[int, int], object] | None = None,
        **fields: Any,
    ) -> Awaitable[BulkResult[I, R]]:
        """Send any number of items in requests of at most the operation's maximum.

        Args:
            items: the items (models or dicts with JSON names), validated before anything is
                sent.
            wait: how long an item may wait for its per-item limit: ``True`` as long as it
                takes, ``False`` not at all, or a number of seconds from the start of the call;
                items that cannot go in time are returned in ``.retry_later``.
            concurrency: requests in flight at once (default 4); the client's rate limits apply.
            on_progress: called with ``(done, total)`` items whenever more items have their
                outcome (for a progress display).
            fields: the other request fields (the same in every request) and per-call options
                (``timeout``, ``max_retries``, ``extra_headers``, ``extra_body``, ``idempotent``).

        Returns:
            A :class:`~ozon_async.bulk.BulkResult`: one outcome per item, in input order.
        """
        from ozon_async._bulk import run_bulk

        return run_bulk(
            self._op,
            self._client,
            self._item,
            items,
            wait=wait,
            concurrency=concurrency,
            on_progress=on_progress,
            fields=fields,
        )


class BoundTask(BoundOperation[P, R], Generic[P, R, T]):
    def and_wait(self, *args: P.args, **kwargs: P.kwargs) -> Awaitable[TaskResult[R, T]]:
        """Start the task and wait until it ends (with the spec's interval and timeout).

        Returns a :class:`~ozon_async.bulk.TaskResult` with the final status answer (for a call
        that starts several tasks, each of them in ``.tasks``); raises
        :class:`~ozon_async.bulk.TaskTimeoutError` when the timeout passes first.
        """
        return self.waiting()(*args, **kwargs)

    def waiting(
        self,
        *,
        timeout: float | None = None,
        interval: float | None = None,
        on_check: Callable[[T], object] | None = None,
    ) -> Callable[P, Awaitable[TaskResult[R, T]]]:
        """``.and_wait`` with other waiting settings: ``timeout`` (seconds in all), ``interval``
        (first pause between status checks), ``on_check`` (called with each status answer)."""

        async def start_and_wait(*args: P.args, **kwargs: P.kwargs) -> TaskResult[R, T]:
            from ozon_async._exports import task_guard
            from ozon_async._tasks import wait_started

            # an export holds the account's turn from before it starts until it ends
            async with task_guard(self._client.runtime, self._op, kwargs):
                started = await self._call(*args, **kwargs)
                return await wait_started(
                    self._client,
                    self._op,
                    started,
                    kwargs,
                    timeout=timeout,
                    interval=interval,
                    on_check=on_check,
                )

        return start_and_wait

    def wait(
        self,
        task_id: Any,
        *,
        timeout: float | None = None,
        interval: float | None = None,
        on_check: Callable[[T], object] | None = None,
    ) -> Awaitable[TaskResult[R, T]]:
        """Wait for a task this operation started earlier (checks its status at once)."""
        from ozon_async._tasks import wait_task

        return wait_task(
            self._client,
            self._op,
            task_id,
            timeout=timeout,
            interval=interval,
            first_check_after=0.0,
            on_check=on_check,
        )


class BoundBatchedTask(BoundBatched[P, R, I], BoundTask[P, R, T]):
    pass


class _Attached(Generic[S, P, R]):
    """Base of the descriptors made by :func:`batched`, :func:`starts_task`, :func:`batched_task`."""

    def __init__(
        self,
        func: Callable[Concatenate[S, P], Awaitable[R]],
        op: Operation,
        item: Any = None,
        status: Any = None,
    ) -> None:
        self._func = func
        self._op = op
        self._item = item
        self._status = status
        self._signature: inspect.Signature | None = None
        self.__doc__ = func.__doc__
        self.__name__ = getattr(func, "__name__", op.name)
        self.__wrapped__ = func

    @property
    def bound_signature(self) -> inspect.Signature:
        """The method's signature without ``self`` (computed once per method)."""
        if self._signature is None:
            sig = inspect.signature(self._func)
            self._signature = sig.replace(parameters=list(sig.parameters.values())[1:])
        return self._signature

    def _keep(self, obj: S, bound: B) -> B:
        """Remember ``bound`` in the resource's __dict__ (found before this descriptor next time)."""
        if isinstance(bound, BoundOperation):
            bound._descriptor = self
        obj.__dict__[self.__name__] = bound
        return bound

    def _bind(self, obj: S) -> tuple[Callable[P, Awaitable[R]], Operation, str | None, Any]:
        call: Callable[P, Awaitable[R]] = functools.partial(self._func, obj)
        return call, self._op, self.__doc__, obj._client


class Batched(_Attached[S, P, R], Generic[S, P, R, I]):
    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Batched[S, P, R, I]: ...

    @overload
    def __get__(self, obj: S, owner: type[Any]) -> BoundBatched[P, R, I]: ...

    def __get__(
        self, obj: S | None, owner: type[Any]
    ) -> Batched[S, P, R, I] | BoundBatched[P, R, I]:
        if obj is None:
            return self
        return self._keep(obj, BoundBatched(*self._bind(obj), item=self._item))


class StartsTask(_Attached[S, P, R], Generic[S, P, R, T]):
    @overload
    def __get__(self, obj: None, owner: type[Any]) -> StartsTask[S, P, R, T]: ...

    @overload
    def __get__(self, obj: S, owner: type[Any]) -> BoundTask[P, R, T]: ...

    def __get__(
        self, obj: S | None, owner: type[Any]
    ) -> StartsTask[S, P, R, T] | BoundTask[P, R, T]:
        if obj is None:
            return self
        return self._keep(obj, BoundTask(*self._bind(obj), status=self._status))


class BatchedTask(_Attached[S, P, R], Generic[S, P, R, I, T]):
    @overload
    def __get__(self, obj: None, owner: type[Any]) -> BatchedTask[S, P, R, I, T]: ...

    @overload
    def __get__(self, obj: S, owner: type[Any]) -> BoundBatchedTask[P, R, I, T]: ...

    def __get__(
        self, obj: S | None, owner: type[Any]
    ) -> BatchedTask[S, P, R, I, T] | BoundBatchedTask[P, R, I, T]:
        if obj is None:
            return self
        return self._keep(
            obj, BoundBatchedTask(*self._bind(obj), item=self._item, status=self._status)
        )


def batched(
    op: Operation, item: type[I]
) -> Callable[[Callable[Concatenate[S, P], Awaitable[R]]], Batched[S, P, R, I]]:
    """Give a generated method ``.bulk(...)`` (its operation has ``x-ozon-batch``)."""

    def wrap(func: Callable[Concatenate[S, P], Awaitable[R]]) -> Batched[S, P, R, I]:
        return Batched(func, op, item=item)

    return wrap


def starts_task(
    op: Operation, status: type[T]
) -> Callable[[Callable[Concatenate[S, P], Awaitable[R]]], StartsTask[S, P, R, T]]:
    """Give a generated method ``.and_wait(...)`` and ``.wait(id)`` (``x-ozon-task``)."""

    def wrap(func: Callable[Concatenate[S, P], Awaitable[R]]) -> StartsTask[S, P, R, T]:
        return StartsTask(func, op, status=status)

    return wrap


def batched_task(
    op: Operation, item: type[I], status: type[T]
) -> Callable[[Callable[Concatenate[S, P], Awaitable[R]]], BatchedTask[S, P, R, I, T]]:
    """Both :func:`batched` and :func:`starts_task`."""

    def wrap(func: Callable[Concatenate[S, P], Awaitable[R]]) -> BatchedTask[S, P, R, I, T]:
        return BatchedTask(func, op, item=item, status=status)

    return wrap
