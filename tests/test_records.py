"""The runtime's frozen values (ozon_async._record): built by position or keyword, immutable,
equal and hashed by their fields, shown by their fields, copied with ``replace``."""

from __future__ import annotations

import copy
import pickle

import pytest

from ozon_async import (
    OPERATIONS,
    Backoff,
    ClientConfig,
    ConfigurationError,
    HookEvent,
    OzonClient,
    Pagination,
    RateLimit,
    UploadFile,
)
from ozon_async._operation import Batch, ItemRateLimit, Task
from ozon_async._record import FrozenInstanceError
from ozon_async._request import Prepared
from ozon_async._retry import GiveUp, Outcome, Retry, RetryPolicy

KEY = "secret-api-key-123"

EXAMPLES = [
    RateLimit(10, 1.0),
    Pagination("cursor", "cursor", "limit", ("items",), next=("cursor",)),
    ItemRateLimit(1, 30.0, "TOO_MANY_REQUESTS"),
    Batch("stocks", "stocks", 100, key=(("offer_id", "warehouse_id"),)),
    Task("POST /v1/product/import/info", "task_id", id=(("result", "task_id"),)),
    Backoff(0.25, 4.0),
    RetryPolicy(2, 10.0, 5.0, Backoff()),
    Outcome("status", 503, 1.5, "Retry-After", False, False),
    Retry(0.5, "429"),
    GiveUp("final"),
    HookEvent("end", 7, None, "POST", "/v1/roles", "https://x/v1/roles", 1, status=200),
    UploadFile("a.pdf", b"%PDF", "application/pdf"),
    Prepared("/v1/roles", b"{}", None),
    ClientConfig(timeout=5.0, headers={"X-Team": "ops"}),
]


@pytest.mark.parametrize("record", EXAMPLES, ids=lambda r: type(r).__name__)
def test_a_record_is_frozen(record: object) -> None:
    name = type(record)._fields[0]  # type: ignore[attr-defined]
    before = getattr(record, name)
    with pytest.raises(FrozenInstanceError):
        setattr(record, name, "changed")
    with pytest.raises(AttributeError):  # FrozenInstanceError is one
        delattr(record, name)
    with pytest.raises(AttributeError):  # no __dict__: nothing else can be attached
        record.extra = 1  # type: ignore[attr-defined]
    assert getattr(record, name) == before


@pytest.mark.parametrize("record", EXAMPLES, ids=lambda r: type(r).__name__)
def test_equal_by_fields_and_copied_by_replace(record: object) -> None:
    copy = record.replace()  # type: ignore[attr-defined]
    assert copy == record and copy is not record
    fields = type(record)._fields  # type: ignore[attr-defined]
    # a field and a new value it accepts (a config checks its values)
    name, value = ("timeout", 7.0) if isinstance(record, ClientConfig) else (fields[-1], "other")
    changed = record.replace(**{name: value})  # type: ignore[attr-defined]
    assert changed != record
    assert getattr(changed, name) == value
    assert all(getattr(changed, f) == getattr(record, f) for f in fields if f != name)
    assert record != tuple(getattr(record, f) for f in fields)  # a record equals only its kind


@pytest.mark.parametrize("record", EXAMPLES, ids=lambda r: type(r).__name__)
def test_copied_and_pickled_field_by_field(record: object) -> None:
    copies = [copy.copy(record)]
    if not isinstance(record, ClientConfig):  # its read-only mappings do not pickle
        copies += [copy.deepcopy(record), pickle.loads(pickle.dumps(record))]
    for other in copies:
        assert other == record and type(other) is type(record)


def test_hash_follows_equality() -> None:
    assert hash(RateLimit(10, 1.0)) == hash(RateLimit(requests=10, period=1.0))
    assert {RateLimit(10, 1.0), RateLimit(10, 1.0), RateLimit(5, 1.0)} == {
        RateLimit(10, 1.0),
        RateLimit(5, 1.0),
    }
    op = OPERATIONS["POST /v1/roles"]
    assert {op: 1}[op.replace()] == 1
    with pytest.raises(TypeError):  # its headers are a read-only mapping, which has no hash
        hash(ClientConfig())


def test_repr_names_the_fields() -> None:
    assert repr(Outcome("timeout")) == (
        "Outcome(kind='timeout', status=0, retry_after=None, retry_after_from='Retry-After', "
        "breaker_open=False, token_renewed=False)"
    )
    assert repr(Backoff()) == "Backoff(base=0.5, cap=8.0)"
    op = OPERATIONS["POST /v1/roles"]
    text = repr(op)
    assert text.startswith("Operation(method='POST', path='/v1/roles', group='roles'")
    assert "type_ref" not in text  # the model references stay out, as before
    assert repr(UploadFile("a.pdf", b"12345")) == (
        "UploadFile('a.pdf', <5 bytes>, 'application/octet-stream')"
    )


def test_an_operation_copied_keeps_its_models() -> None:
    op = OPERATIONS["POST /v1/roles"]
    copy = op.replace(summary="other")
    assert copy.response_type is op.response_type is not None
    assert copy.request_type_ref == op.request_type_ref
    assert copy.summary == "other" and op.summary != "other"


def test_config_replace_checks_like_the_constructor() -> None:
    cfg = ClientConfig(base_url="https://example.org/", headers={"X-Team": "ops"})
    assert cfg.base_url == "https://example.org"
    assert cfg.replace(timeout=2.0).timeout == 2.0
    with pytest.raises(ConfigurationError, match="timeout must be positive"):
        cfg.replace(timeout=0)
    with pytest.raises(ConfigurationError, match="set from the client's credentials"):
        cfg.replace(headers={"Api-Key": KEY})
    with pytest.raises(ConfigurationError, match="backoff must be a Backoff"):
        ClientConfig(backoff=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cfg.headers["X-Team"] = "dev"  # type: ignore[index]


def test_config_of_a_client_shows_no_key() -> None:
    client = OzonClient("123", KEY, headers={"X-Team": "ops"})
    view = client.with_options(timeout=3.0)
    for text in (repr(client), repr(client.config), repr(view.config), repr(client._auth)):
        assert KEY not in text
    assert view.config == client.config.replace(timeout=3.0)
