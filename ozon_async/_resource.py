"""Base of the generated resource classes, and the ``.iter``/``.pages`` of paginated methods."""

from __future__ import annotations

import functools
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from ozon_async._codec import decoder_for, encode_request, merge_extra_body
from ozon_async._exceptions import ResponseDecodeError
from ozon_async._models import BinaryResponse
from ozon_async._operation import Operation
from ozon_async._options import OPTION_NAMES, CallOptions
from ozon_async._pagination import iter_items, iter_pages

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
        raw = await self._send(op, request_type, fields, options)
        try:
            result: R = decoder_for(response_type).decode(raw.content)
        except Exception as exc:  # msgspec.DecodeError / ValidationError
            raise ResponseDecodeError(
                str(exc), body=raw.content, status=raw.status, method=op.method, path=op.path
            ) from None
        return result

    async def _call_binary(
        self,
        op: Operation,
        request_type: type[Any] | None,
        fields: Mapping[str, Any],
        options: CallOptions,
    ) -> BinaryResponse:
        raw = await self._send(op, request_type, fields, options)
        ctype = raw.headers.get("Content-Type", op.response_content_type).split(";")[0].strip()
        return BinaryResponse(content=raw.content, content_type=ctype)

    def _send(
        self,
        op: Operation,
        request_type: type[Any] | None,
        fields: Mapping[str, Any],
        options: CallOptions,
    ) -> Awaitable[Any]:
        """Validate and encode the body now (errors surface before anything is sent), and return
        the client's send coroutine (a plain function: no extra coroutine per call)."""
        unknown = set(options) - OPTION_NAMES
        if unknown:
            raise TypeError(f"{op.name}() got unexpected keyword arguments: {sorted(unknown)}")
        body = self._body(op, request_type, fields)
        extra = options.get("extra_body")
        if extra and body is not None:
            body = merge_extra_body(op.key, body, extra)
        return self._client._send(
            op.method,
            op.path,
            body,
            op=op,
            timeout=options.get("timeout"),
            max_retries=options.get("max_retries"),
            extra_headers=options.get("extra_headers"),
            idempotent=options.get("idempotent"),
        )

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
                stacklevel=4,
            )
        return encode_request(op.key, request_type, fields) if op.method != "GET" else None


# A paginated method bound to its resource: call it for one page, or walk all of them.
# ``await client.posting.fbs_list_v4(...)`` returns one page; ``client.posting.fbs_list_v4.iter(
# ...)`` yields every item across pages; ``.pages(...)`` yields every page's response.
class BoundPaginated(Generic[P, R, I]):
    __slots__ = ("__doc__", "__name__", "_call", "_op")

    def __init__(self, call: Callable[P, Awaitable[R]], op: Operation, doc: str | None) -> None:
        self._call = call
        self._op = op
        self.__doc__ = doc
        self.__name__ = op.name

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]:
        return self._call(*args, **kwargs)

    def pages(self, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[R]:
        """Yield the response of every page, starting from the position in the arguments."""
        assert self._op.pagination is not None
        return iter_pages(self._call, self._op.pagination, kwargs)

    def iter(self, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[I]:
        """Yield every item of every page."""
        assert self._op.pagination is not None
        return iter_items(self._call, self._op.pagination, kwargs)

    @property
    def operation(self) -> Operation:
        return self._op


class Paginated(Generic[S, P, R, I]):
    """Descriptor made by :func:`paginated` around a generated method."""

    def __init__(self, func: Callable[Concatenate[S, P], Awaitable[R]], op: Operation) -> None:
        self._func = func
        self._op = op
        self.__doc__ = func.__doc__
        self.__name__ = getattr(func, "__name__", op.name)
        self.__wrapped__ = func

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
        return BoundPaginated(call, self._op, self.__doc__)


def paginated(
    op: Operation, item: type[I]
) -> Callable[[Callable[Concatenate[S, P], Awaitable[R]]], Paginated[S, P, R, I]]:
    """Mark a generated method as paginated (its operation has ``x-ozon-pagination``)."""

    def wrap(func: Callable[Concatenate[S, P], Awaitable[R]]) -> Paginated[S, P, R, I]:
        return Paginated(func, op)

    return wrap
