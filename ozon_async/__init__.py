"""ozon_async: a typed async SDK for the Ozon Seller API.

::

    from ozon_async import OzonClient

    async with OzonClient(client_id="123456", api_key="...") as client:
        page = await client.posting.fbs_list_v4(limit=100, filter={...})
        async for posting in client.posting.fbs_list_v4.iter(limit=100, filter={...}):
            ...

Models live in :mod:`ozon_async.types`; the registry of every operation is :data:`OPERATIONS`.

``import ozon_async`` loads only the client's own runtime: msgspec (with the models), aiohttp,
:mod:`logging` and each group of operations load on first use.
"""

from typing import TYPE_CHECKING

from ozon_async._client import OPERATIONS, OzonClient
from ozon_async._clock import Clock, SystemClock
from ozon_async._config import ClientConfig
from ozon_async._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CircuitOpenError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    ExportLimitError,
    NotFoundError,
    OzonError,
    PermissionDeniedError,
    RateLimitError,
    RateLimiterUnavailableError,
    RedirectError,
    RequestBudgetExhaustedError,
    RequestValidationError,
    ResponseDecodeError,
    ResponseTooLargeError,
    ServerError,
)
from ozon_async._hooks import HookEvent
from ozon_async._operation import Operation, Pagination, RateLimit, Subscription
from ozon_async._ratelimit import InProcessRateLimiter, RateLimiter, RateLimitSlot
from ozon_async._response import APIResponse
from ozon_async._retry import Backoff
from ozon_async._transport import (
    AiohttpTransport,
    HTTPRequest,
    HTTPResponse,
    MockTransport,
    Transport,
)
from ozon_async._version import __version__

if TYPE_CHECKING:
    from ozon_async._models import BinaryResponse, Model
    from ozon_async._request import UploadFile
    from ozon_async.redis_limiter import RedisRateLimiter

#: Names whose modules load on first use, and those modules: msgspec for the models (and
#: UploadFile, which goes into them), the optional redis extra for the shared limiter.
_LAZY = {
    "BinaryResponse": "ozon_async._models",
    "Model": "ozon_async._models",
    "UploadFile": "ozon_async._request",
    "RedisRateLimiter": "ozon_async.redis_limiter",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ozon_async' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "OPERATIONS",
    "APIConnectionError",
    "APIResponse",
    "APIStatusError",
    "APITimeoutError",
    "AiohttpTransport",
    "AuthenticationError",
    "Backoff",
    "BadRequestError",
    "BinaryResponse",
    "CircuitOpenError",
    "ClientClosedError",
    "ClientConfig",
    "Clock",
    "ConfigurationError",
    "ConflictError",
    "ExportLimitError",
    "HTTPRequest",
    "HTTPResponse",
    "HookEvent",
    "InProcessRateLimiter",
    "MockTransport",
    "Model",
    "NotFoundError",
    "Operation",
    "OzonClient",
    "OzonError",
    "Pagination",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "RateLimitSlot",
    "RateLimiter",
    "RateLimiterUnavailableError",
    "RedirectError",
    "RedisRateLimiter",
    "RequestBudgetExhaustedError",
    "RequestValidationError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "ServerError",
    "Subscription",
    "SystemClock",
    "Transport",
    "UploadFile",
    "__version__",
]
