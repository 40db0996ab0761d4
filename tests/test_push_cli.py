"""``ozon push``: subscribe, list and unsubscribe through the /v1/notification/* operations of
the sandbox (the real console script in a subprocess), and serve's command line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_cli import ServedMock, api_env, run, run_here, text

URL = "https://shop.example/ozon/push"


@pytest.fixture(scope="module")
def mock() -> Iterator[ServedMock]:
    served = ServedMock().start()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(autouse=True)
def _fresh(mock: ServedMock) -> None:
    mock.admin("reset")
    mock.admin("clear_faults")


def test_subscribe_sends_the_url_and_types(mock: ServedMock, tmp_path: Path) -> None:
    """Through the console script; the other tests of this module run the command line in the
    test's process (what it sends and prints is what they check)."""
    env = api_env(tmp_path, mock)
    proc = run(
        "push", "subscribe", URL, "--types", "type_new_posting,TYPE_STATE_CHANGED",
        "--types", "TYPE_STATE_CHANGED", "--types", "TYPE_STOCKS_CHANGED", "--no-check",
        env=env,
    )  # fmt: skip
    out, err = text(proc)
    assert proc.returncode == 0, err
    assert out == f"connected {URL}: TYPE_NEW_POSTING, TYPE_STATE_CHANGED, TYPE_STOCKS_CHANGED\n"
    assert [r["path"] for r in mock.requests()] == [
        "/v1/notification/list",
        "/v1/notification/set",
    ]
    (sent,) = mock.requests("/v1/notification/set")
    assert sent["body"] == {
        "url": URL,
        "types": ["TYPE_NEW_POSTING", "TYPE_STATE_CHANGED", "TYPE_STOCKS_CHANGED"],
    }


def test_subscribe_checks_the_url_first_by_default(mock: ServedMock, tmp_path: Path) -> None:
    env = api_env(tmp_path, mock)
    failed = {"is_active": False, "errors": [{"type": "REQUEST_TIMEOUT", "description": "slow"}]}
    mock.admin("faults", {"path": "/v1/notification/check", "status": 200, "body": failed})
    proc = run_here("push", "subscribe", URL, "--types", "TYPE_NEW_MESSAGE", env=env)
    assert proc.returncode == 1
    assert text(proc)[1] == f"ozon: Ozon's check of {URL} failed: REQUEST_TIMEOUT: slow\n"
    assert [r["path"] for r in mock.requests()] == ["/v1/notification/check"]
    assert mock.requests()[0]["body"] == {"url": URL}

    mock.admin("reset")
    mock.admin(
        "faults", {"path": "/v1/notification/check", "status": 200, "body": {"is_active": True}}
    )
    proc = run_here("push", "subscribe", URL, "--types", "TYPE_NEW_MESSAGE", env=env)
    assert proc.returncode == 0, text(proc)[1]
    assert [r["path"] for r in mock.requests()] == [
        "/v1/notification/check",
        "/v1/notification/list",
        "/v1/notification/set",
    ]


@pytest.mark.parametrize(
    "types,message",
    [("TYPE_PING", "always sent"), ("TYPE_NOPE", "unknown type TYPE_NOPE"), (",", "at least one")],
)
def test_bad_types_are_refused_before_anything_is_sent(
    mock: ServedMock, tmp_path: Path, types: str, message: str
) -> None:
    proc = run_here("push", "subscribe", URL, "--types", types, env=api_env(tmp_path, mock))
    assert proc.returncode == 2 and message in text(proc)[1]
    assert mock.requests() == []


def test_list_and_unsubscribe(mock: ServedMock, tmp_path: Path) -> None:
    env = api_env(tmp_path, mock)
    proc = run_here("push", "list", env=env)
    out, err = text(proc)
    assert proc.returncode == 0, err
    rows = [line.split("\t") for line in out.splitlines()]
    assert rows and all(len(r) == 4 and r[2] in ("on", "off") for r in rows)
    ident, url = rows[0][0], rows[0][1]
    # a URL that is connected already gets its types changed
    proc = run_here("push", "subscribe", url, "--types", "TYPE_CHAT_CLOSED", "--no-check", env=env)
    assert proc.returncode == 0, text(proc)[1]
    assert text(proc)[0] == f"updated {url} (id {ident}): TYPE_CHAT_CLOSED\n"
    assert mock.requests("/v1/notification/update")[-1]["body"] == {
        "id": int(ident),
        "types": ["TYPE_CHAT_CLOSED"],
    }
    assert mock.requests("/v1/notification/set") == []
    proc = run_here("push", "unsubscribe", ident, env=env)
    assert proc.returncode == 0, text(proc)[1]
    assert text(proc)[0] == f"disconnected {url} (id {ident})\n"
    assert mock.requests("/v1/notification/delete")[-1]["body"] == {"id": int(ident)}
    proc = run_here("push", "unsubscribe", "https://not.connected/", env=env)
    assert proc.returncode == 2 and "not connected" in text(proc)[1]


def test_serve_has_the_receivers_options(tmp_path: Path, mock: ServedMock) -> None:
    proc = run_here("push", "serve", "--help", env=api_env(tmp_path, mock))
    out = text(proc)[0]
    assert proc.returncode == 0
    for option in ("--port", "--store", "--jsonl", "--allow-any-address", "--trusted-proxy"):
        assert option in out
    proc = run_here("push", "serve", "--port", "nope", env=api_env(tmp_path, mock))
    assert proc.returncode == 2
