"""The MCP server: tool definitions, shops from profiles, the in-process sandbox, transports."""

from __future__ import annotations

import inspect
import logging
import secrets as _secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import mcp_types as types
from mcp.server import Server
from mcp.server.context import ServerRequestContext

from ozon_async._client import BaseClient, OzonClient
from ozon_async._codec import MAX_INPUT_DEPTH, InputError, check_input_value
from ozon_async._exceptions import ConfigurationError
from ozon_async._terminal import escape_controls
from ozon_async._version import __version__
from ozon_async.mcp._http import BearerAuth, HostOriginGuard, allowed_hosts_for, check_token
from ozon_async.mcp._render import MIN_BUDGET, dumps, render
from ozon_async.mcp._tools import DEFAULT_MAX_ITEMS, Answer, Settings, Shops, ToolError, Tools
from ozon_async.profiles import Profile, performance_client, seller_client

logger = logging.getLogger("ozon_async.mcp")

__all__ = ["BearerAuth", "OzonMCP", "SecretFilter", "tool_definitions"]

SANDBOX_SHOP = "sandbox"

_OPERATION = {
    "type": "string",
    "description": (
        'The operation: its id from search_operations (e.g. "products.stocks_v2"), '
        '"METHOD /path" (e.g. "POST /v2/products/stocks") or the path.'
    ),
}


def _arguments(description: str) -> dict[str, Any]:
    return {"type": "object", "description": description, "default": {}}


@dataclass(frozen=True)
class _ToolSpec:
    name: str
    title: str
    description: str
    properties: dict[str, Any]
    required: tuple[str, ...]
    annotations: types.ToolAnnotations
    uses_shop: bool


def _hints() -> tuple[types.ToolAnnotations, types.ToolAnnotations, types.ToolAnnotations]:
    """The annotations of the catalogue tools, of the reads and of the writes."""
    catalog = types.ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    )
    reads = types.ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
    )
    writes = types.ToolAnnotations(
        read_only_hint=False,
        # updates overwrite data (stocks, prices) and, when allowed, delete or cancel it
        destructive_hint=True,
        # some writes add something each time they are sent (a chat message, a product)
        idempotent_hint=False,
        open_world_hint=True,
    )
    return catalog, reads, writes


def _search_tool(hints: types.ToolAnnotations) -> _ToolSpec:
    return _ToolSpec(
        "search_operations",
        "Search Ozon Seller API operations",
        "Find operations of the Ozon Seller API by words of their name, path, English "
        'summary, Chinese or Russian title ("stock", "posting fbs list", "/v2/products", '
        '"库存", "остатки"), and of the Performance (advertising) API when the server has '
        'its credentials (ids perf.*: "campaign", "bid", "statistics"). Returns ids, paths, '
        "one-line summaries and the safety level: read (call_read), write or destructive "
        "(call_write; bid changes are writes). Operations Ozon's reference no longer lists "
        "are left out unless include_removed is true. Sends nothing to Ozon.",
        {
            "query": {"type": "string", "description": "Words to look for."},
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": 100,
                "default": 20,
                "description": "How many operations to return, best first.",
            },
            "include_removed": {
                "type": "boolean",
                "default": False,
                "description": "Also operations Ozon's reference no longer lists.",
            },
        },
        ("query",),
        hints,
        False,
    )


def _describe_tool(hints: types.ToolAnnotations) -> _ToolSpec:
    return _ToolSpec(
        "describe_operation",
        "Describe an Ozon Seller API operation",
        "Everything needed to call one operation: what it does, its arguments as a "
        "self-contained JSON Schema with Ozon's limits, an example, rate limits, pagination, "
        "deprecation and successor, safety level and which tool calls it. Sends nothing.",
        {"operation": _OPERATION},
        ("operation",),
        hints,
        False,
    )


def _call_read_tool(hints: types.ToolAnnotations) -> _ToolSpec:
    return _ToolSpec(
        "call_read",
        "Call a read-only Ozon operation",
        "Call an operation that only reads (safety: read), with its arguments as JSON (the "
        "fields of describe_operation's schema). Arguments are validated before sending: a "
        "wrong or misspelt field is refused, naming it, and nothing is sent. Ozon errors come "
        "back with their code, message and trace id.",
        {
            "operation": _OPERATION,
            "arguments": _arguments('The operation\'s fields, e.g. {"limit": 100}.'),
        },
        ("operation",),
        hints,
        True,
    )


def _call_write_tool(hints: types.ToolAnnotations) -> _ToolSpec:
    return _ToolSpec(
        "call_write",
        "Call an Ozon operation that changes data",
        "Call an operation that changes data (safety: write or destructive). Without "
        "confirm=true nothing is sent: the answer shows the validated body that would be "
        "sent, to show the user first. With confirm=true it is sent once (never resent after "
        "an ambiguous failure). dry_run=true always only previews. Destructive operations "
        "(delete, archive, cancel, refund...) are refused unless the server was started "
        "with --allow-destructive or --allow OPERATION.",
        {
            "operation": _OPERATION,
            "arguments": _arguments("The operation's fields."),
            "confirm": {
                "type": "boolean",
                "default": False,
                "description": "true sends the request; ask the user before setting it.",
            },
            "dry_run": {
                "type": "boolean",
                "default": False,
                "description": "true only validates and shows the body, even with confirm.",
            },
        },
        ("operation",),
        hints,
        True,
    )


def _fetch_all_tool(hints: types.ToolAnnotations, cap: int) -> _ToolSpec:
    return _ToolSpec(
        "fetch_all",
        "Fetch every page of an Ozon list",
        "Walk the pages of a paginated read operation (any of Ozon's pagination styles) and "
        "return their items, stopping at max_items. The page size argument is filled in "
        "when missing. Use narrow filters: every page is one request.",
        {
            "operation": _OPERATION,
            "arguments": _arguments("The operation's fields (filters); no position needed."),
            "max_items": {
                "type": "integer",
                "minimum": 1,
                "maximum": cap,
                "default": DEFAULT_MAX_ITEMS,
                "description": "Stop after this many items.",
            },
        },
        ("operation",),
        hints,
        True,
    )


def tool_definitions(settings: Settings) -> list[_ToolSpec]:
    """The tools, their input schemas and their annotations (hints set to what each does)."""
    catalog, reads, writes = _hints()
    return [
        _search_tool(catalog),
        _describe_tool(catalog),
        _call_read_tool(reads),
        _call_write_tool(writes),
        _fetch_all_tool(reads, settings.max_items_cap),
    ]


class SecretFilter(logging.Filter):
    """Replaces keys and tokens in log records (a guard: nothing is meant to log them), and
    escapes control characters (Ozon's text in a log line must not drive a terminal)."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = escape_controls(_scrub(text, self.secrets))
        if clean != text:
            record.msg, record.args = clean, None
        return True


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for s in secrets:
        if s and s in text:
            text = text.replace(s, "***")
    return text


def _client_for(profile: Profile, base_url: str | None, options: Mapping[str, Any]) -> OzonClient:
    """The :class:`OzonClient` of a profile (:func:`ozon_async.profiles.seller_client`)."""
    extra: dict[str, Any] = {"base_url": base_url} if base_url else {}
    return seller_client(profile, **options, **extra)


def _performance_client(profile: Profile, options: Mapping[str, Any]) -> BaseClient:
    """The Performance API's client of a profile with its credentials."""
    from ozon_async.performance import OzonPerformanceClient

    kwargs = {k: v for k, v in options.items() if k != "rate_limit"}  # a Seller setting
    return performance_client(profile, client_class=OzonPerformanceClient, **kwargs)


async def _start_sandbox(host: str, port: int, client_id: str, api_key: str) -> Any:
    """The local sandbox if this version has it (``ozon_async.testing.Sandbox``), else the mock
    server; started in this process on ``host:port`` (0: a free port), accepting only
    ``client_id`` and ``api_key``, with the Performance API's sandbox beside it when this
    version has one. A port it cannot listen on is a :class:`ConfigurationError`."""
    import ozon_async.testing as kit

    cls: Any = getattr(kit, "Sandbox", None) or kit.MockOzonServer
    accepted = inspect.signature(cls).parameters
    given = (
        ("host", host),
        ("port", port),
        ("client_id", client_id),
        ("api_key", api_key),
        ("performance", True),
    )
    kwargs: dict[str, Any] = {k: v for k, v in given if k in accepted}
    server = cls(**kwargs)
    try:
        await server.start()
    except OSError as exc:
        from ozon_async._listen import listen_error

        raise ConfigurationError(f"the sandbox: {listen_error(exc, host, port)}") from None
    return server


class OzonMCP:
    """The MCP server with its shops. Use as ``async with OzonMCP(...) as app:`` then serve
    :attr:`server` (``app.run_stdio()``, ``app.run_http(...)``, or an in-memory client).

    Args:
        profiles: the shops, one :class:`~ozon_async.profiles.Profile` each (ignored with
            ``sandbox``).
        default_shop: the shop tools use when the call names none (several shops).
        settings: budget, destructive permissions, fetch_all's cap.
        sandbox: start the local sandbox in this process and point every tool at it.
        sandbox_host, sandbox_port: where the sandbox listens (port 0: a free one).
        client_options: extra keyword arguments for every :class:`OzonClient`.
    """

    def __init__(
        self,
        profiles: Sequence[Profile] = (),
        *,
        default_shop: str | None = None,
        settings: Settings | None = None,
        sandbox: bool = False,
        sandbox_host: str = "127.0.0.1",
        sandbox_port: int = 0,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.settings = settings or Settings()
        if self.settings.budget < MIN_BUDGET:
            raise ConfigurationError(f"the answer budget must be at least {MIN_BUDGET} bytes")
        if not sandbox and not profiles:
            raise ConfigurationError(
                "no shop: configure a profile (config file or OZON_CLIENT_ID/OZON_API_KEY), "
                "or start with --sandbox"
            )
        names = [p.name for p in profiles]
        if len(set(names)) != len(names):
            raise ConfigurationError("two profiles have the same name")
        if default_shop is not None and not sandbox and default_shop not in names:
            raise ConfigurationError(f"default shop {default_shop!r} is not among {names}")
        self._profiles = list(profiles)
        self._default = default_shop
        self._sandbox = sandbox
        self._sandbox_addr = (sandbox_host, sandbox_port)
        self._client_options = dict(client_options or {})
        self._stack: AsyncExitStack | None = None
        self.sandbox_server: Any = None
        self.shops: Shops | None = None
        self.tools: Tools | None = None
        self._server: Server[Any] | None = None
        self._filter: SecretFilter | None = None

    # ----------------------------------------------------------------- lifecycle
    async def __aenter__(self) -> OzonMCP:
        stack = AsyncExitStack()
        await stack.__aenter__()
        try:
            await self._open(stack)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def _open(self, stack: AsyncExitStack) -> None:
        clients: dict[str, OzonClient] = {}
        secret_list: list[str] = []
        if self._sandbox:
            # the sandbox accepts only this key, random for each start
            key = _secrets.token_urlsafe(18)
            self.sandbox_server = await _start_sandbox(*self._sandbox_addr, "100000", key)
            stack.push_async_callback(self.sandbox_server.stop)
            secret_list.append(key)
            profile = Profile(SANDBOX_SHOP, client_id="100000", api_key=key)
            clients[SANDBOX_SHOP] = _client_for(
                profile, self.sandbox_server.url, self._client_options
            )
            performance: BaseClient | None = None
            perf_sandbox = getattr(self.sandbox_server, "performance", None)
            if perf_sandbox is not None:
                secret = _secrets.token_urlsafe(18)
                secret_list.append(secret)
                performance = _performance_client(
                    Profile(
                        SANDBOX_SHOP,
                        performance_client_id="100000-sandbox@advertising.performance.ozon.ru",
                        performance_client_secret=secret,
                        performance_base_url=perf_sandbox.url,
                    ),
                    self._client_options,
                )
            default: str | None = SANDBOX_SHOP
            mode = "sandbox"
        else:
            performance = None
            for p in self._profiles:
                secret_list.extend(
                    s
                    for s in (
                        p.api_key,
                        p.access_token,
                        p.performance_client_secret,
                        p.performance_access_token,
                    )
                    if s
                )
            # the Performance API's credentials: the default shop's profile first
            perf_profiles = sorted(
                (p for p in self._profiles if p.has_performance_credentials),
                key=lambda p: p.name != self._default,
            )
            try:
                for p in self._profiles:
                    if p.api_key or p.access_token or not p.has_performance_credentials:
                        clients[p.name] = _client_for(p, None, self._client_options)
                if perf_profiles:
                    performance = _performance_client(perf_profiles[0], self._client_options)
            except BaseException:
                for c in clients.values():
                    await c.aclose()
                raise
            default = self._default if self._default in clients else None
            mode = "ozon"
        shops = Shops(clients, default, secret_list, mode, performance)
        stack.push_async_callback(shops.aclose)
        self.shops = shops
        self.tools = Tools(shops, self.settings)
        self._filter = SecretFilter(secret_list)
        for name in ("ozon_async", "ozon_async.mcp"):
            logging.getLogger(name).addFilter(self._filter)
        stack.callback(self._remove_filter)

    def _remove_filter(self) -> None:
        if self._filter is not None:
            for name in ("ozon_async", "ozon_async.mcp"):
                logging.getLogger(name).removeFilter(self._filter)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.aclose()

    # ----------------------------------------------------------------- tools
    def _ready(self) -> tuple[Shops, Tools]:
        if self.shops is None or self.tools is None:
            raise RuntimeError("use OzonMCP as `async with OzonMCP(...) as app:` first")
        return self.shops, self.tools

    def _specs(self) -> list[_ToolSpec]:
        return tool_definitions(self.settings)

    def list_tools(self) -> list[types.Tool]:
        shops, _ = self._ready()
        several = len(shops.clients) > 1
        out = []
        for spec in self._specs():
            props = dict(spec.properties)
            if spec.uses_shop and several:
                shop: dict[str, Any] = {
                    "type": "string",
                    "enum": shops.names(),
                    "description": "Which shop (profile) to use"
                    + (f"; default {shops.default}." if shops.default else "."),
                }
                props["shop"] = shop
            required = list(spec.required)
            if spec.uses_shop and several and shops.default is None:
                required.append("shop")
            out.append(
                types.Tool(
                    name=spec.name,
                    title=spec.title,
                    description=spec.description,
                    input_schema={
                        "type": "object",
                        "properties": props,
                        "required": required,
                        "additionalProperties": False,
                    },
                    annotations=spec.annotations.model_copy(update={"title": spec.title}),
                )
            )
        return out

    async def call(self, name: str, arguments: Mapping[str, Any] | None) -> tuple[str, bool]:
        """Run tool ``name``; (JSON text within the budget, whether it is an error)."""
        shops, tools = self._ready()
        args = dict(arguments or {})
        spec = next((s for s in self._specs() if s.name == name), None)
        try:
            try:  # the SDK's JSON parser caps the wire at 200 levels; this covers every caller
                check_input_value(args, MAX_INPUT_DEPTH)
            except InputError as exc:
                raise ToolError(
                    "invalid_arguments", f"the arguments are {exc}", sent=False
                ) from None
            if spec is None:
                raise ToolError(
                    "unknown_tool",
                    f"no tool {name!r}; the tools are " + ", ".join(s.name for s in self._specs()),
                )
            allowed = set(spec.properties) | ({"shop"} if spec.uses_shop else set())
            unknown = sorted(set(args) - allowed)
            if unknown:
                raise ToolError(
                    "invalid_arguments",
                    f"{name} has no argument {unknown[0]!r} (it takes: {', '.join(sorted(allowed))})",
                    field=unknown[0],
                    sent=False,
                )
            missing = [r for r in spec.required if r not in args]
            if missing:
                raise ToolError(
                    "invalid_arguments",
                    f"{name} needs {missing[0]!r}",
                    field=missing[0],
                    sent=False,
                )
            handler: Callable[..., Awaitable[Answer]] = getattr(tools, name)
            answer = await handler(**args)
            text = render(answer.payload, self.settings.budget, answer.how_to_page)
            is_error = False
        except ToolError as exc:
            logger.info("%s failed: %s", name, exc.kind)
            text = dumps(exc.payload()).decode()
            if len(text) > self.settings.budget:
                text = render(exc.payload(), self.settings.budget)
            is_error = True
        return _scrub(text, shops.secrets), is_error

    def instructions(self) -> str:
        shops, _ = self._ready()
        where = (
            "The tools are pointed at a LOCAL SANDBOX shop: nothing reaches Ozon, so writes are "
            "safe to try."
            if shops.mode == "sandbox"
            else f"Shops: {', '.join(shops.names())}"
            + (f" (default {shops.default})." if shops.default else ".")
        )
        ads = (
            " The Performance (advertising) API is reachable too: its operations have ids "
            "perf.<group>.<name> (campaigns, bids, statistics); bid changes are writes."
            if shops.performance is not None
            else ""
        )
        return (
            "Ozon Seller API tools for one or more seller shops. Find an operation with "
            "search_operations, read its arguments with describe_operation, then use call_read "
            "or fetch_all for reads. For changes, call call_write without confirm first: it "
            "shows the validated body and sends nothing; show it to the user and send with "
            "confirm=true only after they agree. " + where + ads
        )

    @property
    def server(self) -> Server[Any]:
        """The MCP server (the SDK's low-level :class:`mcp.server.Server`)."""
        if self._server is None:
            self._server = self._build()
        return self._server

    def _build(self) -> Server[Any]:
        self._ready()

        async def on_list_tools(
            ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
        ) -> types.ListToolsResult:
            return types.ListToolsResult(tools=self.list_tools())

        async def on_call_tool(
            ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
        ) -> types.CallToolResult:
            text, is_error = await self.call(params.name, params.arguments)
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=text)], is_error=is_error
            )

        return Server(
            "ozon-async",
            version=__version__,
            title="Ozon Seller API (ozon_async)",
            instructions=self.instructions(),
            on_list_tools=on_list_tools,
            on_call_tool=on_call_tool,
        )

    # ----------------------------------------------------------------- transports
    async def run_stdio(self) -> None:
        from mcp.server.stdio import stdio_server

        server = self.server
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    def http_app(
        self,
        token: str,
        *,
        host: str = "127.0.0.1",
        path: str = "/mcp",
        allowed_hosts: Sequence[str] = (),
        allowed_origins: Sequence[str] = (),
    ) -> Any:
        """The streamable-HTTP ASGI app. Every request needs ``Authorization: Bearer <token>``
        (401), a ``Host`` naming an allowed host (421) and, when it has one, an allowed
        ``Origin`` (403), whatever ``host`` the server binds: allowed are the loopback names,
        ``host`` itself (unless a wildcard such as ``0.0.0.0``) and ``allowed_hosts`` /
        ``allowed_origins`` (see :mod:`ozon_async.mcp._http`)."""
        from mcp.server.transport_security import TransportSecuritySettings

        check_token(token)
        hosts = allowed_hosts_for(host, allowed_hosts)
        app = self.server.streamable_http_app(
            streamable_http_path=path,
            host=host,
            # HostOriginGuard checks Host and Origin for every bind address; the SDK's own check
            # (loopback binds only, its own lists) would refuse the hosts allowed here.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        return HostOriginGuard(BearerAuth(app, token), hosts, allowed_origins)

    def http_server(
        self,
        token: str,
        *,
        host: str = "127.0.0.1",
        port: int = 8765,
        path: str = "/mcp",
        allowed_hosts: Sequence[str] = (),
        allowed_origins: Sequence[str] = (),
    ) -> Any:
        """A ``uvicorn.Server`` serving :meth:`http_app`; ``await it.serve()`` to run it."""
        import uvicorn

        config = uvicorn.Config(
            self.http_app(
                token,
                host=host,
                path=path,
                allowed_hosts=allowed_hosts,
                allowed_origins=allowed_origins,
            ),
            host=host,
            port=port,
            log_level="warning",
            lifespan="on",
        )
        return uvicorn.Server(config)

    async def run_http(
        self,
        token: str,
        *,
        host: str,
        port: int,
        path: str = "/mcp",
        allowed_hosts: Sequence[str] = (),
        allowed_origins: Sequence[str] = (),
    ) -> None:
        """Serve streamable HTTP until interrupted."""
        server = self.http_server(
            token,
            host=host,
            port=port,
            path=path,
            allowed_hosts=allowed_hosts,
            allowed_origins=allowed_origins,
        )
        await server.serve()
