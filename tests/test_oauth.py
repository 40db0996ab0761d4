"""OAuth access tokens: the header sent (and the key headers not), the environment, exactly one
way to authenticate, the token kept out of reprs, errors and logs, rate limits per token or
Client-Id, a token provider renewing after a 401, and the CLI and MCP server using tokens."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ozon_async import (
    AuthenticationError,
    ConfigurationError,
    HookEvent,
    HTTPRequest,
    HTTPResponse,
    InProcessRateLimiter,
    MockTransport,
    OzonClient,
    RequestValidationError,
)
from ozon_async._retry import TOKEN_RENEWED
from ozon_async.testing import Sandbox
from tests._fakes import Script, ok
from tests._readme import readme_examples, run_example
from tests.helpers import VirtualClock

TOKEN = "oauth-test-token-3e1f9a77c2"
OTHER = "oauth-test-token-second-8d4b"
KEY = "oauth-test-api-key-0c1d2e"
ROLES = {"roles": []}
STOCKS = [{"offer_id": "A", "stock": 3, "warehouse_id": 1}]
UNAUTHORIZED = {"code": 16, "message": "access token is invalid or expired"}


def lower_headers(request: HTTPRequest) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


def token_hash(token: str) -> str:
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:16]


@pytest.fixture(autouse=True)
def _no_credentials_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OZON_CLIENT_ID", "OZON_API_KEY", "OZON_ACCESS_TOKEN", "OZON_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


# ------------------------------------------------------------------------ the header
async def test_the_bearer_header_is_sent_and_the_key_headers_are_not() -> None:
    script = Script().on("/v1/roles", ok(ROLES))
    async with OzonClient(access_token=TOKEN, transport=script.transport) as client:
        await client.roles.list_v1()
        await client.with_options(timeout=5).roles.list_v1(extra_headers={"X-Tag": "a"})
    for request in script.calls():
        headers = lower_headers(request)
        assert headers["authorization"] == f"Bearer {TOKEN}"
        assert "api-key" not in headers and "client-id" not in headers
    assert lower_headers(script.calls()[1])["x-tag"] == "a"


async def test_the_sandbox_accepts_a_bearer_token() -> None:
    async with Sandbox(seed=1, access_token=TOKEN) as sandbox:
        async with OzonClient(
            access_token=TOKEN, base_url=sandbox.url, limiter=InProcessRateLimiter()
        ) as client:
            page = await client.warehouse.list_v2(limit=10)
            assert page.warehouses
            await client.with_options(event_hooks={}).roles.list_v1()
        [first, second] = sandbox.requests
        for recorded in (first, second):
            names = {k.lower() for k in recorded.headers}
            assert recorded.headers["Authorization"] == "Bearer ***"
            assert "api-key" not in names and "client-id" not in names
            assert recorded.client_id is None
        # a token it does not know is refused (401, as Ozon does) and not resent
        async with OzonClient(access_token=OTHER, base_url=sandbox.url) as client:
            with pytest.raises(AuthenticationError):
                await client.roles.list_v1()
        assert len(sandbox.requests_for("/v1/roles")) == 2


# ------------------------------------------------------------------------ the environment
async def test_ozon_access_token_is_used_when_no_key_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OZON_ACCESS_TOKEN", f" {TOKEN}\n")
    script = Script().on("/v1/roles", ok(ROLES))
    async with OzonClient(transport=script.transport) as client:
        assert client.client_id is None and client.rate_limit_key == token_hash(TOKEN)
        await client.roles.list_v1()
    assert lower_headers(script.calls()[0])["authorization"] == f"Bearer {TOKEN}"

    monkeypatch.setenv("OZON_CLIENT_ID", "777")  # then it keys the rate limits
    assert OzonClient(transport=script.transport).rate_limit_key == "777"


def test_an_api_key_in_the_environment_wins_over_a_token_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OZON_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("OZON_CLIENT_ID", "777")
    monkeypatch.setenv("OZON_API_KEY", KEY)
    client = OzonClient()
    assert client._headers["Api-Key"] == KEY and "Authorization" not in client._headers


def test_an_explicit_token_ignores_the_environments_key_and_client_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OZON_CLIENT_ID", "777")
    monkeypatch.setenv("OZON_API_KEY", KEY)
    client = OzonClient(access_token=TOKEN)
    assert "Api-Key" not in client._headers and "Client-Id" not in client._headers
    assert client.client_id is None and client.rate_limit_key == token_hash(TOKEN)
    assert OzonClient(client_id=42, access_token=TOKEN).rate_limit_key == "42"


def test_without_any_credential_the_error_names_both_ways() -> None:
    with pytest.raises(ConfigurationError, match="OZON_CLIENT_ID") as info:
        OzonClient()
    assert "access_token" in str(info.value)


# ------------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"api_key": KEY, "access_token": TOKEN}, "not api_key and access_token"),
        ({"access_token": TOKEN, "token_provider": lambda: TOKEN}, "not access_token and"),
        ({"api_key": KEY, "token_provider": lambda: TOKEN}, "not api_key and token_provider"),
        ({"access_token": ""}, "access_token is empty"),
        ({"access_token": "   "}, "access_token is empty"),
        ({"access_token": f"Bearer {TOKEN}"}, "without the 'Bearer ' prefix"),
        ({"access_token": f"{TOKEN} x"}, "whitespace or a control character"),
        ({"access_token": f"{TOKEN}\r\nX-Evil: 1"}, "whitespace or a control character"),
        ({"access_token": 12345}, "must be a string, not int"),
        ({"token_provider": TOKEN}, "token_provider must be a function"),
        ({"access_token": TOKEN, "client_id": "1\r\n2"}, "client_id contains a line break"),
        ({"access_token": TOKEN, "client_id": ""}, "client_id is empty"),
    ],
)
def test_exactly_one_valid_way_to_authenticate(kwargs: dict[str, Any], match: str) -> None:
    kwargs.setdefault("client_id", "1")
    with pytest.raises(ConfigurationError, match=match) as info:
        OzonClient(**kwargs)
    assert TOKEN not in str(info.value) and KEY not in str(info.value)


@pytest.mark.parametrize("name", ["Authorization", "authorization"])
async def test_no_header_may_replace_the_token(name: str) -> None:
    with pytest.raises(ConfigurationError, match="credentials"):
        OzonClient(access_token=TOKEN, headers={name: "Bearer other"})
    script = Script().on("/v1/roles", ok(ROLES))
    async with OzonClient(access_token=TOKEN, transport=script.transport) as client:
        with pytest.raises(RequestValidationError, match="credentials"):
            await client.roles.list_v1(extra_headers={name: "Bearer other"})
    assert script.calls() == []


# ------------------------------------------------------------------------ secrecy
async def test_the_token_is_in_no_repr_error_or_log(caplog: pytest.LogCaptureFixture) -> None:
    script = Script().on("/v1/roles", HTTPResponse(401, json=UNAUTHORIZED))
    client = OzonClient(access_token=TOKEN, transport=script.transport)
    texts = [repr(client), repr(client.with_options(timeout=1)), repr(client.config)]
    texts.append(repr(client._auth))
    assert "auth='access_token'" in texts[0]
    with (
        caplog.at_level(logging.DEBUG, logger="ozon_async"),
        pytest.raises(AuthenticationError) as info,
    ):
        await client.roles.list_v1()
    texts += [str(info.value), repr(info.value), caplog.text, repr(script.calls()[0])]
    texts.append(repr(dict(info.value.headers)))
    await client.aclose()
    for text in texts:
        assert TOKEN not in text
    assert "POST /v1/roles -> 401" in str(info.value)


# ------------------------------------------------------------------------ rate limits
async def test_clients_with_one_token_share_a_budget_and_others_do_not() -> None:
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock)
    script = Script().on("/v1/roles", ok(ROLES))

    def make(**auth: Any) -> OzonClient:
        return OzonClient(
            rate_limit=1, limiter=limiter, clock=clock, transport=script.transport, **auth
        )

    same_a, same_b = make(access_token=TOKEN), make(access_token=TOKEN)
    other = make(access_token=OTHER)
    company = make(access_token=OTHER + "-2", client_id="555")
    keyed = make(client_id="555", api_key=KEY)
    assert same_a.rate_limit_key == same_b.rate_limit_key == token_hash(TOKEN)
    assert TOKEN not in (same_a.rate_limit_key or "")
    assert company.rate_limit_key == keyed.rate_limit_key == "555"

    async def at(client: OzonClient) -> float:
        await client.roles.list_v1()
        return clock.now()

    times = await asyncio.gather(at(same_a), at(same_b), at(other), at(company), at(keyed))
    assert times[0] == 0.0 and times[1] >= 1.0  # the same token: one budget
    assert times[2] == 0.0  # another token: its own
    assert times[3] == 0.0 and times[4] >= 1.0  # the same company, named by client_id
    for c in (same_a, same_b, other, company, keyed):
        await c.aclose()


# ------------------------------------------------------------------------ token providers
class Provider:
    """Gives the tokens of ``tokens`` in turn, the last one forever; counts its calls."""

    def __init__(self, *tokens: str, is_async: bool = False) -> None:
        self.tokens = list(tokens)
        self.calls = 0
        self.is_async = is_async

    def _next(self) -> str:
        self.calls += 1
        return self.tokens.pop(0) if len(self.tokens) > 1 else self.tokens[0]

    def __call__(self) -> Any:
        if not self.is_async:
            return self._next()

        async def give() -> str:
            await asyncio.sleep(0)
            return self._next()

        return give()


def accepting(*valid: str) -> Script:
    """Answers 200 to a request carrying one of the ``valid`` tokens, else 401."""

    def answer(request: HTTPRequest) -> HTTPResponse:
        got = lower_headers(request).get("authorization", "")
        if got in {f"Bearer {t}" for t in valid}:
            return HTTPResponse(200, json=ROLES if "roles" in request.path else {"result": []})
        return HTTPResponse(401, json=UNAUTHORIZED)

    return Script().on("/v1/roles", answer).on("/v2/products/stocks", answer)


def sent_tokens(script: Script) -> list[str]:
    return [lower_headers(r)["authorization"].removeprefix("Bearer ") for r in script.calls()]


@pytest.mark.parametrize("is_async", [False, True])
async def test_a_provider_is_asked_before_each_attempt_and_its_token_sent(
    is_async: bool,
) -> None:
    provider = Provider(TOKEN, TOKEN, OTHER, is_async=is_async)
    script = accepting(TOKEN, OTHER)
    async with OzonClient(token_provider=provider, transport=script.transport) as client:
        assert client.rate_limit_key is None  # no token seen yet
        for _ in range(3):
            await client.roles.list_v1()
        assert client.rate_limit_key == token_hash(OTHER)  # follows the provider's token
        assert "Authorization" not in client._headers
    assert sent_tokens(script) == [TOKEN, TOKEN, OTHER]
    assert provider.calls == 3


@pytest.mark.parametrize("is_async", [False, True])
async def test_a_401_asks_the_provider_again_and_resends_once_with_a_new_token(
    is_async: bool,
) -> None:
    provider = Provider(TOKEN, OTHER, is_async=is_async)  # TOKEN has expired at the server
    script = accepting(OTHER)
    events: list[HookEvent] = []
    async with OzonClient(
        token_provider=provider,
        transport=script.transport,
        max_retries=0,  # the renewal is not a retry: it happens even so
        event_hooks={"retry": events.append},
    ) as client:
        resp = await client.raw(client.roles.list_v1)
        assert resp.attempts == 2
        # a write too: a 401 means nothing was processed
        provider.tokens = [TOKEN, OTHER]
        await client.products.stocks_v2(stocks=STOCKS)
    assert sent_tokens(script) == [TOKEN, OTHER, TOKEN, OTHER]
    assert provider.calls == 4  # before the first attempt, after the 401; twice
    assert [e.reason for e in events] == [TOKEN_RENEWED, TOKEN_RENEWED]
    assert [e.wait for e in events] == [0.0, 0.0]


class CachingProvider:
    """A provider as an app would write one: keeps its token, renews it (one renewal at a time)
    when it is refused; ``rejected`` is ``None`` except after a 401."""

    def __init__(self) -> None:
        self.token = ""
        self.issued = 0
        self.seen: list[str | None] = []
        self.lock = asyncio.Lock()

    async def __call__(self, rejected: str | None = None) -> str:
        self.seen.append(rejected)
        async with self.lock:
            if not self.token or rejected == self.token:
                await asyncio.sleep(0.01)  # the OAuth exchange
                self.issued += 1
                self.token = f"issued-token-{self.issued}"
        return self.token


async def test_a_provider_that_takes_the_refused_token_renews_it_once() -> None:
    provider = CachingProvider()
    valid = {"issued-token-1"}
    script = Script()

    def answer(request: HTTPRequest) -> HTTPResponse:
        got = lower_headers(request)["authorization"].removeprefix("Bearer ")
        return HTTPResponse(200, json=ROLES) if got in valid else HTTPResponse(401, json={})

    script.on("/v1/roles", answer)
    async with OzonClient(token_provider=provider, transport=script.transport) as client:
        await client.roles.list_v1()
        assert provider.seen == [None] and provider.issued == 1
        valid.clear()
        valid.add("issued-token-2")  # the first token expired at Ozon
        provider.seen.clear()
        await asyncio.gather(*(client.roles.list_v1() for _ in range(5)))
    # five calls refused with token 1 asked for a new one; it was issued once
    assert provider.issued == 2
    assert provider.seen.count("issued-token-1") == 5 and provider.seen.count(None) == 5
    assert sent_tokens(script)[1:].count("issued-token-2") == 5


def test_which_providers_are_given_the_refused_token() -> None:
    from ozon_async._auth import Auth

    def plain() -> str:
        return TOKEN

    def required(rejected: str | None) -> str:
        return TOKEN

    def optional(rejected: str | None = None) -> str:
        return TOKEN

    def varargs(*args: Any) -> str:
        return TOKEN

    cases = [(plain, False), (required, True), (optional, True), (varargs, False)]
    cases += [(CachingProvider(), True), (Provider(TOKEN), False)]
    for provider, takes in cases:
        assert Auth("token_provider", provider=provider).takes_rejected is takes, provider


async def test_a_401_with_the_same_token_from_the_provider_is_final() -> None:
    provider = Provider(TOKEN)
    script = accepting(OTHER)
    async with OzonClient(token_provider=provider, transport=script.transport) as client:
        with pytest.raises(AuthenticationError):
            await client.roles.list_v1()
    assert sent_tokens(script) == [TOKEN]
    assert provider.calls == 2


async def test_the_token_is_renewed_once_per_call() -> None:
    provider = Provider(TOKEN, OTHER, "third-token-9f")
    script = accepting("never-valid")
    async with OzonClient(token_provider=provider, transport=script.transport) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.roles.list_v1()
    assert sent_tokens(script) == [TOKEN, OTHER]
    assert provider.calls == 2
    assert "third-token-9f" not in str(info.value)


async def test_a_key_client_never_resends_a_401() -> None:
    script = accepting(OTHER)
    async with OzonClient("1", KEY, transport=script.transport) as client:
        with pytest.raises(AuthenticationError):
            await client.roles.list_v1()
    assert len(script.calls()) == 1


async def test_a_provider_failing_after_a_401_raises_the_401_with_its_cause() -> None:
    state = {"calls": 0}

    def provider() -> str:
        state["calls"] += 1
        if state["calls"] > 1:
            raise RuntimeError("the token endpoint is down")
        return TOKEN

    script = accepting(OTHER)
    async with OzonClient(token_provider=provider, transport=script.transport) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.roles.list_v1()
    assert isinstance(info.value.__cause__, RuntimeError)
    assert info.value.decision == "not resent: token_provider failed to give a new token"
    assert len(script.calls()) == 1


async def test_a_failing_or_bad_provider_sends_nothing() -> None:
    def broken() -> str:
        raise RuntimeError("no refresh token")

    script = accepting(TOKEN)
    async with OzonClient(token_provider=broken, transport=script.transport) as client:
        with pytest.raises(RuntimeError, match="no refresh token"):
            await client.roles.list_v1()
    assert script.calls() == []

    def giving(value: Any) -> Any:
        return lambda: value

    cases = [(None, "must be a string"), (" ", "is empty"), ("a b", "contains whitespace")]
    for bad, match in cases:
        script = accepting(TOKEN)
        async with OzonClient(token_provider=giving(bad), transport=script.transport) as c:
            with pytest.raises(ConfigurationError, match=f"token from token_provider {match}"):
                await c.roles.list_v1()
        assert script.calls() == []
    script = accepting(TOKEN)  # surrounding whitespace (a line read from a file) is dropped
    async with OzonClient(token_provider=lambda: f"{TOKEN}\n", transport=script.transport) as c:
        await c.roles.list_v1()
    assert sent_tokens(script) == [TOKEN]


async def test_a_provider_client_renews_against_the_sandbox() -> None:
    # the sandbox knows only the renewed token: the first one is refused, as an expired one
    async with Sandbox(seed=1, access_token=OTHER) as sandbox:
        provider = Provider(TOKEN, OTHER)
        async with OzonClient(
            token_provider=provider, base_url=sandbox.url, limiter=InProcessRateLimiter()
        ) as client:
            resp = await client.raw(client.warehouse.list_v2, limit=10)
        assert resp.attempts == 2 and resp.parse().warehouses
        assert [r.headers["Authorization"] for r in sandbox.requests] == ["Bearer ***"] * 2
        assert provider.calls == 2


# ------------------------------------------------------------------------ CLI and MCP
async def _run_cli(*args: str, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ozon_async",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, (out + err).decode()


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=1, access_token=TOKEN) as s:
        yield s


def _cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OZON_")}
    env["OZON_ASYNC_CONFIG"] = str(tmp_path / "none.toml")
    return env


async def test_the_cli_sends_a_token_from_a_profile_the_environment_or_an_option(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[profiles.app]\naccess_token = "{TOKEN}"\nbase_url = "{sandbox.url}"\n'
        "allow_custom_base_url = true\n"
    )
    config.chmod(0o600)
    env = _cli_env(tmp_path)
    runs = [
        (["--profile", "app"], {"OZON_ASYNC_CONFIG": str(config)}),
        ([], {"OZON_ACCESS_TOKEN": TOKEN, "OZON_BASE_URL": sandbox.url}),
        (["--access-token", TOKEN, "--base-url", sandbox.url], {"OZON_API_KEY": KEY}),
    ]
    for flags, extra in runs:
        code, output = await _run_cli(
            "call", "warehouse.list_v2", "limit:=1", "--verbose", *flags, env={**env, **extra}
        )
        assert code == 0, output
        assert "OAuth token" in output and TOKEN not in output and KEY not in output
        assert json.loads(output[output.index("{") :].split("\nozon:")[0])["warehouses"]
    assert len(sandbox.requests) == 3
    for recorded in sandbox.requests:
        assert recorded.headers["Authorization"] == "Bearer ***"
        assert "Api-Key" not in recorded.headers


async def test_the_mcp_server_serves_a_token_profile(sandbox: Sandbox) -> None:
    pytest.importorskip("mcp")
    from ozon_async.mcp import OzonMCP
    from ozon_async.profiles import Profile
    from tests.test_mcp import connect

    shops = [Profile("app", access_token=TOKEN, base_url=sandbox.url)]
    async with OzonMCP(shops) as app, connect(app) as s:
        result = await s.client.call_tool(
            "call_read", {"operation": "warehouse.list_v2", "arguments": {"limit": 1}}
        )
        text = result.content[0].text  # type: ignore[union-attr]
        assert not result.is_error, text
        assert TOKEN not in text and json.loads(text)["result"]["warehouses"]
    [recorded] = sandbox.requests
    assert recorded.headers["Authorization"] == "Bearer ***" and recorded.client_id is None


# ------------------------------------------------------------------------ transports
async def test_the_token_travels_only_in_the_authorization_header() -> None:
    seen: list[HTTPRequest] = []

    def handler(request: HTTPRequest) -> HTTPResponse:
        seen.append(request)
        return HTTPResponse(200, json=ROLES)

    async with OzonClient(access_token=TOKEN, transport=MockTransport(handler)) as client:
        await client.roles.list_v1()
    [request] = seen
    assert TOKEN not in request.url and TOKEN.encode() not in (request.content or b"")
    assert [k for k, v in request.headers.items() if TOKEN in v] == ["Authorization"]


# ------------------------------------------------------------------------ the README
def test_the_readme_oauth_examples_run_as_written() -> None:
    [(fixed, _), (provider, _)] = readme_examples("OAuth")
    assert run_example(fixed) == "4 warehouses\n"
    assert run_example(provider) == "200 after 2 attempts\n"
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "This prints `200 after 2 attempts`." in text
