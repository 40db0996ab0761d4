"""Base of the generated resource classes, and the ``.iter``/``.pages`` of paginated methods."""

from __future__ import annotations

import functools
import inspect
import sys
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, cast, overload

from ozon_async._codec import decoder_for, encode_request, merge_extra_body
from ozon_async._exceptions import ResponseDecodeError
from ozon_async._models import BinaryResponse
from ozon_async._operation import Operation
from ozon_async._options import OPTION_NAMES, CallOptions
from ozon_async._pagination import iter_items, iter_pages
from ozon_async._response import RAW_CAPTURE, APIResponse, _Capture

if TYPE_CHECKING:
    from ozon_async._client import OzonClient

__all__ = ["BinaryResponse", "Paginated", "Resource", "paginated"]

R = TypeVar("R")
I = TypeVar("I")  # noqa: E741
S = TypeVar("S", bound="Resource")
P = ParamSpec("P")


class Resource:
    """A group of operations bound to a client (``client.posting``, ``client.product``...)."""

    __slots__ = ("_client",)

    def __init__(self, client: OzonClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"

    async def _call(
        self,
        op: Operation,
        request_type: type[Any] | None,
        response_type: type[R],
        fields: Mapping[str, Any],
        options: CallOptions,
    ) -> R:
        resp = await self._send(op, request_type, fields, options)
        capture = RAW_CAPTURE.get()
        if capture is not None:
            return cast(R, _captured(capture, resp, response_type))
        try:
            result: R = decoder_for(response_type).decode(resp.content)
        except Exception as exc:  # msgspec.DecodeError / ValidationError, RecursionError
            error = ResponseDecodeError(
                "the JSON is nested too deeply" if isinstance(exc, RecursionError) else str(exc),
                body=resp.content,
                status=resp.status,
                method=op.method,
                path=op.path,
            )
            if not op.safe:
                error.decision = (
                    f"Ozon answered {resp.status}, so the request was applied; only its answer "
                    "could not be read (do not resend it blindly)"
                )
            raise error from None
        return result

    async def _call_binary(
        self,
        op: Operation,
        request_type: type[Any] | None,
        fields: Mapping[str, Any],
        options: CallOptions,
    ) -> BinaryResponse:
        resp = await self._send(op, request_type, fields, options)
        capture = RAW_CAPTURE.get()
        if capture is not None:
            return cast(BinaryResponse, _captured(capture, resp, BinaryResponse))
        ctype = resp.headers.get("Content-Type", op.response_content_type).split(";")[0].strip()
        return BinaryResponse(content=resp.content, content_type=ctype)

    def _send(
        self,
        op: Operation,
        request_type: type[Any] | None,
        fields: Mapping[str, Any],
        options: CallOptions,
    ) -> Awaitable[APIResponse[Any]]:
        """Validate and encode the body now (errors surface before anything is sent), and return
        the client's send coroutine (a plain function: no extra coroutine per call)."""
        if options:
            unknown = set(options) - OPTION_NAMES
            if unknown:
                raise TypeError(f"{op.name}() got unexpected keyword arguments: {sorted(unknown)}")
        body = self._body(op, request_type, fields)
        if options:
            extra = options.get("extra_body")
            if extra is not None:
                body = merge_extra_body(op.key, body, extra)
        return self._client._send(op.method, op.path, body, op, options)

    @staticmethod
    def _body(
        op: Operation, request_type: type[Any] | None, fields: Mapping[str, Any]
    ) -> bytes | None:
        """Warn about deprecated operations, then validate and encode the request body."""
        if op.deprecated:
            succ = f"; use {op.replaced_by} instead" if op.replaced_by else ""
            warnings.warn(
                f"{op.method} {op.path} is deprecated by Ozon{succ}",
                DeprecationWarning,
                stacklevel=_outside_stacklevel(),
            )
        return encode_request(op.key, request_type, fields) if op.method != "GET" else None


def _captured(capture: _Capture, resp: APIResponse[Any], type_: type[Any]) -> Any:
    """The answer of a call wrapped by :meth:`OzonClient.raw`, instead of its decoded model."""
    if capture.used:
        raise TypeError("client.raw() wraps one typed call; this one made several")
    capture.used = True
    resp._type = type_
    return resp


_INTERNAL = ("ozon_async", "asyncio")


def _outside_stacklevel() -> int:
    """The ``stacklevel`` that attributes a warning to the first frame outside ozon_async (and
    asyncio's task machinery), i.e. the user's line, so that Python's default filters show it
    in ``__main__``. Counted for a ``warnings.warn`` made by this function's caller."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not (module in _INTERNAL or module.startswith(("ozon_async.", "asyncio."))):
            return level
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return 1


# A paginated method bound to its resource: call it for one page, or walk all of them.
# ``await client.posting.fbs_list_v4(...)`` returns one page; ``client.posting.fbs_list_v4.iter(
# ...)`` yields every item across pages; ``.pages(...)`` yields every page's response.
class BoundPaginated(Generic[P, R, I]):
    __slots__ = ("__doc__", "__name__", "_call", "_op", "_owner")

    def __init__(
        self,
        call: Callable[P, Awaitable[R]],
        op: Operation,
        doc: str | None,
        owner: Paginated[Any, P, R, I] | None = None,
    ) -> None:
        self._call = call
        self._op = op
        self._owner = owner
        self.__doc__ = doc
        self.__name__ = op.name

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]:
        return self._call(*args, **kwargs)

    # A bound method for introspection: ``inspect.signature()`` and ``help()`` show the real
    # parameters (``pydoc`` documents objects with ``__get__`` as routines).
    @property
    def __signature__(self) -> inspect.Signature:
        if self._owner is not None:
            return self._owner.bound_signature
        return inspect.signature(self._call)

    def __get__(self, obj: object, owner: type[Any] | None = None) -> BoundPaginated[P, R, I]:
        return self

    def pages(self, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[R]:
        """Yield the response of every page, starting from the position in the arguments."""
        assert self._op.pagination is not None
        _no_positional(self._op, args)
        return iter_pages(self._call, self._op.pagination, kwargs)

    def iter(self, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[I]:
        """Yield every item of every page."""
        assert self._op.pagination is not None
        _no_positional(self._op, args)
        return iter_items(self._call, self._op.pagination, kwargs)

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
        call: Callable[P, Awaitable[R]] = functools.partial(self._func, obj)
        return BoundPaginated(call, self._op, self.__doc__, self)


def paginated(
    op: Operation, item: type[I]
) -> Callable[[Callable[Concatenate[S, P], Awaitable[R]]], Paginated[S, P, R, I]]:
    """Mark a generated method as paginated (its operation has ``x-ozon-pagination``)."""

    def wrap(func: Callable[Concatenate[S, P], Awaitable[R]]) -> Paginated[S, P, R, I]:
        return Paginated(func, op)

    return wrap
