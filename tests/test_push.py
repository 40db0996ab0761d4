"""ozon_async.push: the typed events of every documented example (and Ozon's defective ones), and
a real loopback receiver: Ozon's answers to the letter, source addresses, body cap, duplicates,
handler retries, and a receiver killed after acknowledging that resumes on restart."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest

from ozon_async.push import (
    EVENT_TYPES,
    NETWORKS,
    HandlerRetry,
    PushChatUser,
    PushEventBase,
    PushFboStocks,
    PushFboStocksChanged,
    PushNewMessage,
    PushNewPosting,
    PushOrderNew,
    PushReceiver,
    PushStateChanged,
    SQLiteStore,
    StoredEvent,
    UnknownEvent,
    decode_event,
    read_body,
    retry_delay,
)
from ozon_async.testing import ManualClock
from tests.conftest import REFERENCE, ROOT, load_spec

KEPT = ROOT / "tests" / "data" / "ozon_push_examples.json"
FBO_NEW = {
    "message_type": "TYPE_FBO_POSTING_NEW",
    "posting_number": "24219509-0020-1",
    "uuid": "bf354adc-e404-480c-a037-cf865464f1d9",
    "seller_id": 7376,
}
STATE = {
    "message_type": "TYPE_STATE_CHANGED",
    "posting_number": "24219509-0020-2",
    "new_state": "posting_delivered",
    "changed_state_date": "2021-02-02T15:07:46.765Z",
    "warehouse_id": 0,
    "seller_id": 15,
}


def spec_examples() -> dict[str, dict[str, Any]]:
    hooks = load_spec()["webhooks"]
    return {
        mt: item["post"]["requestBody"]["content"]["application/json"]["example"]
        for mt, item in hooks.items()
    }


def ozon_examples() -> list[dict[str, str]]:
    examples: list[dict[str, str]] = json.loads(KEPT.read_text())["examples"]
    return examples


# ---------------------------------------------------------------------- the spec and the events
def test_every_documented_type_has_a_webhook_a_class_and_an_example() -> None:
    examples = spec_examples()
    assert len(examples) == 23
    assert set(examples) == set(EVENT_TYPES)
    assert [e["message_type"] for e in ozon_examples()] == list(examples)
    for mt, example in examples.items():
        assert example["message_type"] == mt
        event = decode_event(msgspec.json.encode(example))
        assert type(event) is EVENT_TYPES[mt], mt
        assert event.message_type == mt


@pytest.mark.skipif(
    not (REFERENCE / "ozon-seller-openapi-ru-2026-08.json").exists(),
    reason="Ozon's reference files are not present",
)
def test_the_kept_examples_are_ozons() -> None:
    """tests/data/ozon_push_examples.json holds the examples of the reference as published."""
    ref = json.loads((REFERENCE / "ozon-seller-openapi-ru-2026-08.json").read_text())
    tags = {t["name"]: t.get("description", "") for t in ref["tags"]}
    blocks = re.findall(r"```[a-z0-9]*\n(.*?)```", tags["push_start"], re.S)[:1]
    blocks += re.findall(r"```[a-z0-9]*\n(.*?)```", tags["push_types"], re.S)
    assert [e["text"] for e in ozon_examples()] == blocks
    table = re.findall(r"^\| \[(TYPE_[A-Z_]+)\]", tags["push_types"], re.M)
    assert [e["message_type"] for e in ozon_examples()] == table
    assert set(re.findall(r"- (\d+\.\d+\.\d+\.\d+/\d+)", tags["push_start"])) == set(NETWORKS)


def test_webhook_examples_validate_against_their_schemas() -> None:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    spec = load_spec()
    uri = "urn:ozon-seller-spec"
    registry: Registry[Any] = Registry().with_resource(
        uri, Resource(contents=spec, specification=DRAFT202012)
    )
    for mt, item in spec["webhooks"].items():
        op = item["post"]
        medias = [op["requestBody"]["content"]["application/json"]]
        medias += [r["content"]["application/json"] for r in op["responses"].values()]
        for media in medias:
            schema = {"$ref": uri + media["schema"]["$ref"]}
            v = Draft202012Validator(schema, registry=registry)
            errors = [e.message for e in v.iter_errors(media["example"])]
            assert not errors, (mt, errors)


def test_each_example_defect_is_recorded() -> None:
    """The Ozon examples that are not the webhook's example as they stand each have a repair
    recorded, and every field Ozon's example spells differently is noted."""
    hooks = load_spec()["webhooks"]
    for raw in ozon_examples():
        media = hooks[raw["message_type"]]["post"]["requestBody"]["content"]["application/json"]
        try:
            same = json.loads(raw["text"]) == media["example"]
        except ValueError:
            same = False
        repairs = media.get("x-ozon-example-repairs")
        if same:
            assert not repairs, raw["message_type"]
        elif raw["message_type"] not in ("TYPE_NEW_MESSAGE",):
            assert repairs, raw["message_type"]
    schemas = load_spec()["components"]["schemas"]
    assert "Cyrillic" in schemas["PushChatUser"]["properties"]["type"]["x-ozon-note"]
    assert "string" in schemas["PushNewMessage"]["properties"]["seller_id"]["x-ozon-note"]
    assert "object" in schemas["PushFboStocksChanged"]["properties"]["stocks"]["x-ozon-note"]
    assert "created_at" in schemas["PushOrderNew"]["properties"]["created_at"]["x-ozon-note"]


def test_decoding_is_lenient() -> None:
    body = {
        "message_type": "TYPE_NEW_MESSAGE",
        "chat_id": "b646d975",
        "message_id": "3000000000817031942",
        "user": {"id": "115568", "type": "Сustomer", "extra": [1]},
        "data": ["hi"],
        "seller_id": "7",
        "a_field_ozon_adds_later": {"x": 1},
        "created_at": None,
    }
    event = decode_event(msgspec.json.encode(body))
    assert isinstance(event, PushNewMessage)
    assert event.seller_id == 7 and event.message_id == 3000000000817031942
    assert event.user == PushChatUser(id="115568", type="Сustomer")  # kept as sent
    assert event.created_at is None
    obj = decode_event(b'{"message_type":"TYPE_FBO_STOCKS_CHANGED","stocks":{"new_present":"3"}}')
    arr = decode_event(b'{"message_type":"TYPE_FBO_STOCKS_CHANGED","stocks":[{"new_present":3}]}')
    assert isinstance(obj, PushFboStocksChanged) and obj.stocks == PushFboStocks(new_present=3)
    assert isinstance(arr, PushFboStocksChanged) and arr.stocks == [PushFboStocks(new_present=3)]
    for spelling in ("created_at", "creation_date"):
        order = decode_event(
            msgspec.json.encode(
                {"message_type": "TYPE_ORDER_NEW", spelling: "2026-04-07T10:27:55Z"}
            )
        )
        assert isinstance(order, PushOrderNew)
        assert getattr(order, spelling) == datetime(2026, 4, 7, 10, 27, 55, tzinfo=timezone.utc)


def test_unknown_and_unfitting_bodies_become_unknown_events() -> None:
    raw = b'{"message_type": "TYPE_SOMETHING_NEW", "a": 1}'
    event = decode_event(raw)
    assert event == UnknownEvent(
        "TYPE_SOMETHING_NEW", raw, {"message_type": "TYPE_SOMETHING_NEW", "a": 1}
    )
    bad = b'{"message_type": "TYPE_NEW_POSTING", "products": "none"}'
    event = decode_event(bad)
    assert isinstance(event, UnknownEvent) and event.raw == bad
    assert event.error is not None and "products" in event.error


def test_the_key_is_the_uuid_where_ozon_sends_one_else_the_body() -> None:
    a = read_body(msgspec.json.encode(FBO_NEW))
    assert a.key == "TYPE_FBO_POSTING_NEW:bf354adc-e404-480c-a037-cf865464f1d9"
    assert read_body(msgspec.json.encode({**FBO_NEW, "seller_id": 1})).key == a.key
    s1 = read_body(b'{"message_type":"TYPE_STATE_CHANGED","posting_number":"1","seller_id":1}')
    s2 = read_body(
        b'{ "seller_id": 1, "posting_number": "1", "message_type": "TYPE_STATE_CHANGED" }'
    )
    s3 = read_body(b'{"message_type":"TYPE_STATE_CHANGED","posting_number":"2","seller_id":1}')
    assert s1.key == s2.key != s3.key  # the same JSON in another layout is the same event


def test_handler_retry_delays() -> None:
    policy = HandlerRetry(initial=1.0, factor=2.0, max_delay=10.0)
    assert [retry_delay(policy, n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    with pytest.raises(ValueError):
        HandlerRetry(initial=0)
    with pytest.raises(ValueError):
        HandlerRetry(max_attempts=0)


# ---------------------------------------------------------------------- a loopback receiver
Post = Callable[..., Awaitable[tuple[int, Any]]]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def served(
    tmp_path: Path,
) -> AsyncIterator[Callable[..., Awaitable[tuple[PushReceiver, str]]]]:
    """Start receivers on free loopback ports (stopped after the test)."""
    made: list[PushReceiver] = []

    async def start(**kwargs: Any) -> tuple[PushReceiver, str]:
        kwargs.setdefault("allow_any_address", True)
        store = kwargs.pop("store", None) or str(tmp_path / f"push-{len(made)}.sqlite3")
        receiver = PushReceiver(store, **kwargs)
        made.append(receiver)
        await receiver.serve("127.0.0.1", 0)
        return receiver, f"http://127.0.0.1:{receiver.port}/ozon/push"

    yield start
    for r in made:
        await r.close()


async def post(
    http: aiohttp.ClientSession, url: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else msgspec.json.encode(body)
    async with http.post(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    ) as resp:
        raw = await resp.read()
        assert resp.content_type == "application/json"
        return resp.status, json.loads(raw)


def recorder(receiver: PushReceiver, *types: Any) -> list[Any]:
    seen: list[Any] = []

    async def record(event: Any) -> None:
        seen.append(event)

    receiver.add_handler(record, *types, name=f"record-{len(receiver.handlers)}")
    return seen


async def test_ping_is_answered_to_the_letter(served: Any, http: aiohttp.ClientSession) -> None:
    receiver, url = await served(name="my-sync", version="2.3.4")
    before = datetime.now(timezone.utc)
    status, body = await post(
        http, url, {"message_type": "TYPE_PING", "time": "2019-08-24T14:15:22Z"}
    )
    after = datetime.now(timezone.utc)
    assert status == 200
    assert list(body) == ["version", "name", "time"]
    assert body["version"] == "2.3.4" and body["name"] == "my-sync"
    assert body["time"].endswith("Z")  # UTC
    when = datetime.fromisoformat(body["time"].replace("Z", "+00:00"))
    assert before <= when <= after  # when handling started
    assert await receiver.counts() == {"pending": 0, "failed": 0, "handled": 0}  # not stored


async def test_every_documented_example_is_accepted_and_delivered_typed(
    served: Any, http: aiohttp.ClientSession
) -> None:
    receiver, url = await served()
    seen = recorder(receiver)
    for mt, example in spec_examples().items():
        status, body = await post(http, url, example)
        assert status == 200, mt
        if mt != "TYPE_PING":
            assert body == {"result": True}, mt
    await receiver.drain()
    assert [type(e) for e in seen] == [cls for mt, cls in EVENT_TYPES.items() if mt != "TYPE_PING"]
    chat = next(e for e in seen if isinstance(e, PushNewMessage))
    assert chat.seller_id == 7 and chat.user is not None and chat.user.type == "Customer"


async def test_ozons_own_examples_defects_and_all(served: Any, http: aiohttp.ClientSession) -> None:
    """Ozon's examples as published: the valid JSON ones are accepted (the chat ones with
    seller_id "7" and "Сustomer" typed, the stocks one with message_type "string" kept as an
    UnknownEvent); the three that are not JSON get 400 with Ozon's error body."""
    receiver, url = await served()
    seen = recorder(receiver)
    refused = []
    for ex in ozon_examples():
        status, body = await post(http, url, ex["text"].encode())
        if status == 400:
            refused.append(ex["message_type"])
            assert body["error"]["code"] == "ERROR_UNKNOWN" and body["error"]["details"] is None
        else:
            assert (status, body) == (200, {"result": True}), ex["message_type"]
    assert refused == [
        "TYPE_FBO_POSTING_CANCELLED",
        "TYPE_FBO_STOCKS_CHANGED",
        "TYPE_ORDER_STATE_CHANGED",
    ]
    await receiver.drain()
    unknown = [e for e in seen if isinstance(e, UnknownEvent)]
    # the ping and the stock change carry the placeholder "string" as their message_type
    assert [e.message_type for e in unknown] == ["string", "string"]
    assert b"items" in unknown[1].raw and unknown[1].error is None
    typed = {e.message_type: e for e in seen if isinstance(e, PushEventBase)}
    assert len(typed) == 23 - 1 - 3 - 1
    message = typed["TYPE_NEW_MESSAGE"]
    assert isinstance(message, PushNewMessage) and message.seller_id == 7
    assert message.user is not None and message.user.type == "\u0421ustomer"
    order = typed["TYPE_ORDER_NEW"]
    assert isinstance(order, PushOrderNew) and order.created_at is not None
    assert order.creation_date is None


async def test_malformed_bodies_get_400_with_ozons_error_body(
    served: Any, http: aiohttp.ClientSession
) -> None:
    receiver, url = await served()
    assert await post(http, url, b'{"message_type": "TYPE_NEW_POSTING",') == (
        400,
        {
            "error": {
                "code": "ERROR_UNKNOWN",
                "message": "the body is not valid JSON",
                "details": None,
            }
        },
    )
    assert await post(http, url, b"[1, 2]") == (
        400,
        {
            "error": {
                "code": "ERROR_UNKNOWN",
                "message": "the body must be a JSON object",
                "details": None,
            }
        },
    )
    status, body = await post(http, url, {"posting_number": "1"})
    assert status == 400 and body["error"]["code"] == "ERROR_PARAMETER_VALUE_MISSED"
    assert await receiver.counts() == {"pending": 0, "failed": 0, "handled": 0}


async def test_only_ozons_networks_may_send(served: Any, http: aiohttp.ClientSession) -> None:
    strict, strict_url = await served(allow_any_address=False)
    status, body = await post(http, strict_url, STATE)
    assert status == 403
    assert body["error"]["code"] == "ERROR_UNKNOWN" and "127.0.0.1" in body["error"]["message"]
    # X-Forwarded-For counts only from a trusted proxy: here the peer is not one
    status, _ = await post(http, strict_url, STATE, {"X-Forwarded-For": "195.34.21.7"})
    assert status == 403
    assert await strict.counts() == {"pending": 0, "failed": 0, "handled": 0}

    proxied, url = await served(
        allow_any_address=False, trusted_proxies=["127.0.0.1", "10.0.0.0/8"]
    )
    seen = recorder(proxied)
    assert (await post(http, url, STATE, {"X-Forwarded-For": "195.34.21.7"}))[0] == 200
    # the rightmost hop that is not a trusted proxy is the client; a forged left part is ignored
    hops = "195.34.21.8, 185.73.193.4, 10.1.2.3"
    assert (await post(http, url, {**STATE, "seller_id": 2}, {"X-Forwarded-For": hops}))[0] == 200
    hops = "195.34.21.8, 8.8.8.8, 10.1.2.3"
    assert (await post(http, url, {**STATE, "seller_id": 3}, {"X-Forwarded-For": hops}))[0] == 403
    assert (await post(http, url, {**STATE, "seller_id": 4}))[0] == 403  # the proxy itself
    bad = {"X-Forwarded-For": "not-an-address"}
    assert (await post(http, url, {**STATE, "seller_id": 5}, bad))[0] == 403
    await proxied.drain()
    assert sorted(e.seller_id for e in seen) == [2, 15]

    _, url = await served(allow_any_address=False, networks=["127.0.0.0/8"])
    assert (await post(http, url, STATE))[0] == 200
    with pytest.raises(ValueError, match="trusted_proxies"):
        PushReceiver("never-opened.sqlite3", trusted_proxies=["10.0.0.300"])


async def test_an_oversized_body_gets_413(served: Any, http: aiohttp.ClientSession) -> None:
    receiver, url = await served(max_body_size=1000)
    big = {**STATE, "padding": "x" * 2000}
    status, body = await post(http, url, big)
    assert status == 413 and body["error"]["code"] == "ERROR_UNKNOWN"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while reading
        data = msgspec.json.encode(big)
        for i in range(0, len(data), 300):
            yield data[i : i + 300]

    async with http.post(url, data=chunks()) as resp:
        assert resp.status == 413
    assert (await post(http, url, STATE))[0] == 200
    counts = await receiver.counts()
    assert counts["pending"] + counts["handled"] == 1


async def test_the_same_event_three_times_is_handled_once(
    served: Any, http: aiohttp.ClientSession
) -> None:
    receiver, url = await served()
    seen = recorder(receiver)
    for body in (FBO_NEW, STATE):
        answers = [await post(http, url, body) for _ in range(3)]
        assert answers == [(200, {"result": True})] * 3
    # concurrent resends of one event: one of them stores it
    burst = await asyncio.gather(*(post(http, url, {**STATE, "seller_id": 99}) for _ in range(3)))
    assert burst == [(200, {"result": True})] * 3
    await receiver.drain()
    assert sorted(e.message_type for e in seen) == [
        "TYPE_FBO_POSTING_NEW",
        "TYPE_STATE_CHANGED",
        "TYPE_STATE_CHANGED",
    ]
    assert receiver.stats["received"] == 3 and receiver.stats["duplicates"] == 6
    # still recognised after it was handled
    assert await post(http, url, FBO_NEW) == (200, {"result": True})
    await receiver.drain()
    assert len(seen) == 3


async def test_a_failing_handler_gets_the_event_again_and_nothing_is_lost(
    served: Any, http: aiohttp.ClientSession
) -> None:
    clock = ManualClock()
    receiver, url = await served(clock=clock, retry=HandlerRetry(initial=10, factor=3))
    calls: list[tuple[float, str | None]] = []
    others: list[str | None] = []

    @receiver.on(PushStateChanged)
    async def flaky(event: PushStateChanged) -> None:
        calls.append((clock.now(), event.posting_number))
        if sum(1 for _, n in calls if n == event.posting_number) <= 2:
            raise RuntimeError("the order system is down")

    @receiver.on(PushStateChanged)
    async def steady(event: PushStateChanged) -> None:
        others.append(event.posting_number)

    start = clock.now()
    for n in ("a", "b", "c"):
        assert (await post(http, url, {**STATE, "posting_number": n}))[0] == 200
    await receiver.drain()
    assert sorted(n for _, n in calls) == ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    assert sorted(others) == ["a", "b", "c"]  # a handler that succeeded does not run again
    times = sorted(t - start for t, n in calls if n == "a")
    assert times[1] - times[0] == pytest.approx(10, abs=0.5)
    assert times[2] - times[1] == pytest.approx(30, abs=0.5)
    assert await receiver.counts() == {"pending": 0, "failed": 0, "handled": 3}


async def test_a_handler_that_never_succeeds_is_kept_as_failed_and_can_be_requeued(
    served: Any, http: aiohttp.ClientSession
) -> None:
    clock = ManualClock()
    receiver, url = await served(clock=clock, retry=HandlerRetry(initial=1, max_attempts=3))
    fixed = False
    runs = 0

    @receiver.on()
    async def broken(event: Any) -> None:
        nonlocal runs
        runs += 1
        if not fixed:
            raise ValueError("bug")

    assert (await post(http, url, STATE))[0] == 200
    await receiver.drain()
    assert runs == 3
    failed = await receiver.failed_events()
    assert [(e.message_type, e.attempts) for e in failed] == [("TYPE_STATE_CHANGED", 3)]
    assert failed[0].error is not None and "ValueError('bug')" in failed[0].error
    assert failed[0].body == msgspec.json.encode(STATE)
    fixed = True
    assert await receiver.requeue_failed() == 1
    await receiver.drain()
    assert runs == 4 and await receiver.counts() == {"pending": 0, "failed": 0, "handled": 1}


async def test_a_slow_handler_does_not_delay_the_answer(
    served: Any, http: aiohttp.ClientSession
) -> None:
    receiver, url = await served(handler_timeout=30)
    release = asyncio.Event()

    @receiver.on()
    async def slow(event: Any) -> None:
        await release.wait()

    t = time.perf_counter()
    for i in range(20):
        assert (await post(http, url, {**STATE, "seller_id": i}))[0] == 200
    assert time.perf_counter() - t < 5.0  # 20 answers while every handler is stuck
    release.set()
    await receiver.drain()
    assert (await receiver.counts())["handled"] == 20


async def test_handlers_by_type_unknown_and_raw(served: Any, http: aiohttp.ClientSession) -> None:
    receiver, url = await served()
    typed = recorder(receiver, PushNewPosting)
    by_name = recorder(receiver, "TYPE_SOMETHING_NEW")
    unknown = recorder(receiver, UnknownEvent)
    raw: list[StoredEvent] = []

    @receiver.on(raw=True)
    async def keep(event: StoredEvent) -> None:
        raw.append(event)

    new = {"message_type": "TYPE_NEW_POSTING", "posting_number": "1-1-1"}
    other = {"message_type": "TYPE_SOMETHING_NEW", "x": 1}
    for body in (new, other, STATE):
        assert (await post(http, url, body))[0] == 200
    await receiver.drain()
    assert [type(e) for e in typed] == [PushNewPosting]
    assert [e.message_type for e in by_name] == ["TYPE_SOMETHING_NEW"]
    assert [e.message_type for e in unknown] == ["TYPE_SOMETHING_NEW"]
    assert sorted(e.message_type for e in raw) == sorted(
        b["message_type"] for b in (new, other, STATE)
    )
    assert {e.body for e in raw} == {msgspec.json.encode(b) for b in (new, other, STATE)}
    with pytest.raises(ValueError, match="TYPE_PING"):
        recorder(receiver, "TYPE_PING")
    with pytest.raises(TypeError, match="async"):
        receiver.add_handler(lambda e: None)  # type: ignore[arg-type,return-value]


async def test_mounted_in_the_users_own_application(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    from aiohttp import web

    receiver = PushReceiver(tmp_path / "p.sqlite3", allow_any_address=True)
    seen = recorder(receiver)
    app = web.Application()

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/health", health)
    receiver.attach(app, "/ozon/push")
    sub = PushReceiver(tmp_path / "q.sqlite3", allow_any_address=True)
    sub_seen = recorder(sub)
    app.add_subapp("/sub", sub.app)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        assert (await post(http, base + "/ozon/push", STATE))[0] == 200
        assert (await post(http, base + "/sub/anything", FBO_NEW))[0] == 200
        async with http.get(base + "/health") as resp:
            assert resp.status == 200
        await receiver.drain()
        await sub.drain()
        assert [e.message_type for e in seen] == ["TYPE_STATE_CHANGED"]
        assert [e.message_type for e in sub_seen] == ["TYPE_FBO_POSTING_NEW"]
    finally:
        await runner.cleanup()


async def test_the_store_is_sqlite_in_wal_mode_and_commits_before_the_answer(
    served: Any, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    path = tmp_path / "wal.sqlite3"
    receiver, url = await served(store=str(path))
    recorder(receiver)  # handled at once; the row stays as the de-duplication record
    assert (await post(http, url, STATE))[0] == 200
    # another connection sees the committed row as soon as the answer arrived
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = db.execute("SELECT message_type, body FROM push_events").fetchall()
    assert rows == [("TYPE_STATE_CHANGED", msgspec.json.encode(STATE))]
    with pytest.raises(ValueError):
        SQLiteStore(path, synchronous="OFF")  # type: ignore[arg-type]


async def test_a_receiver_killed_after_acknowledging_resumes_on_restart(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    store = tmp_path / "crash.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "_push_worker.py"), str(store)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 60)
        url = f"http://127.0.0.1:{int(line)}/"
        sent = [{**STATE, "posting_number": f"p-{i}"} for i in range(10)]
        for body in sent:
            assert await post(http, url, body) == (200, {"result": True})
    finally:
        proc.send_signal(signal.SIGKILL)  # no clean shutdown: two handlers were mid-run
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()
    receiver = PushReceiver(store, allow_any_address=True)
    seen = recorder(receiver)
    async with receiver:
        await receiver.drain()
    assert sorted(e.posting_number for e in seen) == sorted(b["posting_number"] for b in sent)
    async with PushReceiver(store, allow_any_address=True) as again:
        assert await again.counts() == {"pending": 0, "failed": 0, "handled": 10}


async def test_a_store_failure_is_an_error_answer_so_ozon_resends(
    served: Any, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver, url = await served()

    async def broken(*args: Any) -> bool:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(receiver.store, "add", broken)
    status, body = await post(http, url, STATE)
    assert status == 503 and body["error"]["code"] == "ERROR_UNKNOWN"
    monkeypatch.undo()
    assert (await post(http, url, STATE))[0] == 200


def test_every_documented_type_can_be_subscribed() -> None:
    """The subscription operations accept every type they can subscribe (TYPE_PING is always
    sent)."""
    from ozon_async import OPERATIONS
    from ozon_async._codec import build_request

    # Ozon's subscription enum lacks the category-tree type (its webhook says so)
    types = [
        t for t in EVENT_TYPES if t not in ("TYPE_PING", "TYPE_DESCRIPTION_CATEGORY_TREE_CHANGED")
    ]
    for key, args in (
        ("POST /v1/notification/set", {"url": "https://shop.example/push"}),
        ("POST /v1/notification/update", {"id": 1}),
    ):
        op = OPERATIONS[key]
        assert build_request(op, op.request_type, {**args, "types": types}).types == types
