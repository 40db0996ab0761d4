"""The operation-level marks of spec/openapi.yaml hold together: every ``x-ozon-task`` names a status
operation that exists, reads, takes the id and reports the states the task waits for; every
``x-ozon-batch`` names fields that exist; a task's status may be polled at its suggested interval;
and, when Ozon's references are present, the beta and deprecation marks follow them.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.conftest import REFERENCE, load_spec, spec_operations

REFS = {
    "ru-2026-08": REFERENCE / "ozon-seller-openapi-ru-2026-08.json",
    "ru-2026-05": REFERENCE / "ozon-seller-openapi-ru-2026-05.json",
    "zh-2026-06": REFERENCE / "ozon-seller-openapi-zh-2026-06.json",
    "ru-2025-09": REFERENCE / "ozon-seller-openapi-ru-2025-09.json",
}


def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = load_spec()["components"]["schemas"]
    return schemas


def _node(node: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` and nullable ``anyOf`` wrappers."""
    while True:
        if "$ref" in node:
            node = _schemas()[node["$ref"].rsplit("/", 1)[1]]
        elif "anyOf" in node and "properties" not in node:
            node = next(a for a in node["anyOf"] if a.get("type") != "null")
        else:
            return node


def _kinds(node: dict[str, Any]) -> set[str]:
    t = node.get("type")
    return set(t) if isinstance(t, list) else {t} if t else set()


def _resolve(root: dict[str, Any], dotted: str) -> dict[str, Any]:
    """The schema node at a dotted wire path (``result.status``); KeyError when it does not exist."""
    node = _node(root)
    for part in dotted.split("."):
        node = _node(node["properties"][part])
    return node


def _body(op: dict[str, Any], side: str) -> dict[str, Any]:
    if side == "request":
        return dict(op["requestBody"]["content"]["application/json"]["schema"])
    return dict(op["responses"]["200"]["content"]["application/json"]["schema"])


def _ops() -> dict[str, dict[str, Any]]:
    return {f"{m} {p}": op for m, p, op in spec_operations()}


TASKS = {k: op for k, op in _ops().items() if op.get("x-ozon-task")}
BATCHES = {k: op for k, op in _ops().items() if op.get("x-ozon-batch")}


def test_the_newer_operations_have_their_tasks_and_batches() -> None:
    status = {k: op["x-ozon-task"]["status"] for k, op in TASKS.items()}
    assert status["POST /v1/draft/create"] == "POST /v1/draft/create/info"
    assert status["POST /v1/draft/crossdock/create"] == "POST /v2/draft/create/info"
    assert status["POST /v2/draft/supply/create"] == "POST /v2/draft/supply/create/status"
    assert status["POST /v2/posting/fbs/act/create"] == "POST /v2/posting/fbs/act/check-status"
    assert (
        status["POST /v1/posting/fbs/package-label/create"]
        == "POST /v1/posting/fbs/package-label/get"
    )
    assert (
        status["POST /v3/posting/fbs/package-label/create"]
        == "POST /v2/posting/fbs/package-label/get"
    )
    assert TASKS["POST /v3/posting/fbs/package-label/create"]["x-ozon-task"]["tasks"] == "tasks"
    assert status["POST /v1/cargoes/create"] == "POST /v2/cargoes/create/info"
    assert status["POST /v1/supply-order/content/update"] == (
        "POST /v1/supply-order/content/update/status"
    )
    assert status["POST /v1/warehouse/rfbs/pause"] == "POST /v1/warehouse/operation/status"
    for report in (
        "POST /v2/report/returns/create",
        "POST /v1/report/placement/by-products/create",
        "POST /v1/finance/mutual-settlement",
    ):
        assert status[report] == "POST /v1/report/info", report
    assert "POST /v1/carriage/container/cancel" in BATCHES
    assert "POST /v1/actions/auto-add/products/delete" in BATCHES


@pytest.mark.parametrize("key", sorted(TASKS))
def test_each_task_names_a_status_operation_that_exists_reads_and_reports_its_states(
    key: str,
) -> None:
    ops = _ops()
    op = TASKS[key]
    task = op["x-ozon-task"]
    assert task["status"] in ops, f"{key}: status operation {task['status']} is not in the spec"
    status_op = ops[task["status"]]
    assert status_op.get("x-ozon-safe") is True, f"{task['status']} must only read"
    assert not status_op.get("x-ozon-task"), f"{task['status']} starts a task itself"
    # the status operation takes the id in `param`
    _resolve(_body(status_op, "request"), task["param"])
    # the id comes from the starting call's answer (from each entry of its list of tasks when it
    # starts several), or from its request
    start = _body(op, "response")
    if task.get("tasks"):
        entries = _resolve(start, task["tasks"])
        assert "array" in _kinds(entries), key
        start = _node(entries["items"])
        if task.get("kind"):
            _resolve(start, task["kind"])
    for dotted in task.get("id") or []:
        _resolve(start, dotted)
    if task.get("id_from_request"):
        _resolve(_body(op, "request"), task["id_from_request"])
    assert task.get("id") or task.get("id_from_request"), key
    answer = _body(status_op, "response")
    for k in ("file", "error"):
        if task.get(k):
            assert "string" in _kinds(_resolve(answer, task[k])), f"{key}: {k} is not a string"
    assert bool(task.get("state")) != bool(task.get("items")), key
    if task.get("state"):
        state = _resolve(answer, task["state"])
    else:
        entries = _resolve(answer, task["items"])
        assert "array" in _kinds(entries), key
        state = _node(_node(entries["items"])["properties"][task["item_state"]])
    ends = list(task["done"]) + list(task.get("failed") or [])
    assert task["done"] and len(set(ends)) == len(ends), key
    if state.get("enum"):
        unknown = set(ends) - set(state["enum"])
        assert not unknown, f"{key}: states {sorted(unknown)} are not values of {task['status']}"


@pytest.mark.parametrize("key", sorted(TASKS))
def test_a_task_status_may_be_polled_at_its_interval(key: str) -> None:
    """A rate limit on the status operation must let the waiter poll at the suggested interval
    (the draft-creation limit of 50 an hour once sat on /v2/draft/create/info)."""
    task = TASKS[key]["x-ozon-task"]
    limit = _ops()[task["status"]].get("x-ozon-rate-limit")
    if limit:
        assert limit["period"] / limit["requests"] <= task.get("interval", 1), (key, limit)


@pytest.mark.parametrize("key", sorted(BATCHES))
def test_each_batch_names_fields_that_exist(key: str) -> None:
    op = BATCHES[key]
    batch = op["x-ozon-batch"]
    assert not op.get("x-ozon-safe") and not op.get("x-ozon-pagination"), key
    request = _node(_body(op, "request"))
    array = _node(request["properties"][batch["items"]])
    assert "array" in _kinds(array), key
    max_items = batch.get("max", array.get("maxItems"))
    assert isinstance(max_items, int) and max_items >= 1, f"{key}: no maximum"
    if "maxItems" in array:
        assert array["maxItems"] == max_items, key
    item = _node(array.get("items") or {})
    key_fields = [f for alt in batch["key"] for f in alt]
    if item.get("type") == "object":
        for name in key_fields:
            assert name in item["properties"], f"{key}: items have no {name!r}"
    else:
        assert len(batch["key"]) == 1 and len(batch["key"][0]) == 1, key
    answer = _body(op, "response")
    for which in ("results", "failures"):
        if batch.get(which):
            entries = _resolve(answer, batch[which])
            assert "array" in _kinds(entries), f"{key}: {which} is not a list"
            entry = _node(entries.get("items") or {})
            if entry.get("type") == "object":
                for name in [*key_fields, *(batch.get(k) for k in ("ok", "errors"))]:
                    if name:
                        assert name in entry["properties"], f"{key}: entries have no {name!r}"
    if batch.get("request_ok"):
        assert "boolean" in _kinds(_resolve(answer, batch["request_ok"])), key


def _reference(name: str) -> dict[str, Any]:
    path = REFS[name]
    if not path.exists():
        pytest.skip(f"{path} is not present")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_beta_marks_follow_the_references() -> None:
    """``x-ozon-beta`` iff the newest reference that describes the operation (Russian 2026-08,
    then Russian 2026-05, Chinese 2026-06, Russian 2025-09) files it under a tag of its
    beta-methods group."""
    verdict: dict[str, bool] = {}
    # oldest first: newer ones overwrite
    for name in ("ru-2025-09", "zh-2026-06", "ru-2026-05", "ru-2026-08"):
        ref = _reference(name)
        beta_tags = {
            t
            for g in ref.get("x-tagGroups", [])
            if "BetaMethod" in g.get("tags", [])
            for t in g["tags"]
        }
        assert beta_tags, name
        for path, item in ref["paths"].items():
            for method, op in item.items():
                if isinstance(op, dict) and "tags" in op:
                    verdict[f"{method.upper()} {path}"] = bool(set(op["tags"]) & beta_tags)
    wrong = [
        k for k, op in _ops().items() if k in verdict and bool(op.get("x-ozon-beta")) != verdict[k]
    ]
    assert not wrong, wrong
    marked = {k for k, op in _ops().items() if op.get("x-ozon-beta")}
    assert {"POST /v1/fbp/order/list", "POST /v1/notification/set"} <= marked
    assert "POST /v1/carriage/container/create" in marked


def test_every_deprecation_notice_of_the_references_is_marked() -> None:
    """An operation that Ozon marks deprecated or announces to be switched off is ``deprecated``
    here, and its ``x-ozon-replaced-by`` is a successor Ozon names. The 2026 references decide for
    the operations they describe (the 2025-09 file also announced the end of some parameters,
    e.g. ``offset`` of /v1/actions/candidates, in the same words); the 2025-09 file for the rest."""
    from codegen.specdiff.refdoc import RefDoc
    from codegen.specdiff.rules import deprecation

    notices: dict[str, dict[str, list[str]]] = {}  # operation -> reference -> successors
    described: dict[str, set[str]] = {}
    for name in REFS:
        _reference(name)
        doc = RefDoc.load(REFS[name], name)
        for method, path, ref_op in doc.operations():
            key = f"{method} {path}"
            described.setdefault(key, set()).add(name)
            off, successors = deprecation(doc, ref_op)
            if off:
                notices.setdefault(key, {})[name] = successors
    ops = _ops()
    wrong = []
    for key, by_ref in notices.items():
        if key not in ops:
            continue
        if described[key] - {"ru-2025-09"} and not set(by_ref) - {"ru-2025-09"}:
            continue  # a 2026 file describes it and none of them announces its end
        op = ops[key]
        named = {s for succ in by_ref.values() for s in succ}
        chain = list(named)  # a named successor that is itself deprecated: its successor too
        while chain:
            nxt = ops.get(chain.pop(), {}).get("x-ozon-replaced-by")
            if nxt and nxt not in named:
                named.add(nxt)
                chain.append(nxt)
        if not op.get("deprecated"):
            wrong.append(f"{key}: not deprecated ({sorted(by_ref)})")
        elif named and op.get("x-ozon-replaced-by") not in named:
            wrong.append(f"{key}: replaced by {op.get('x-ozon-replaced-by')}, not {sorted(named)}")
    assert not wrong, wrong
    assert ops["POST /v1/analytics/manage/stocks"]["x-ozon-replaced-by"] == (
        "POST /v1/analytics/stocks"
    )


_MONTHS = "January February March April May June July August September October November December"
_SWITCH_OFF = re.compile(
    r"(?:switch\w*|disabl\w*|shutdown)[^.;]{0,40}?\b(?:on|from|for)\s+(\d{1,2})\s+("
    + "|".join(_MONTHS.split())
    + r")\s+(\d{4})"
)


def test_a_switch_off_day_in_the_description_is_the_operations_sunset() -> None:
    """``x-ozon-sunset`` is the day the description says Ozon switches the operation off, on
    deprecated operations only; an operation whose description names such a day has it."""
    wrong = []
    for key, op in _ops().items():
        found = _SWITCH_OFF.search(f"{op.get('summary', '')} {op.get('description', '')}")
        said = None
        if found:
            day, month, year = found.groups()
            said = f"{year}-{_MONTHS.split().index(month) + 1:02d}-{int(day):02d}"
        if op.get("x-ozon-sunset") != said:
            wrong.append(f"{key}: x-ozon-sunset {op.get('x-ozon-sunset')!r}, description {said!r}")
        if said and not op.get("deprecated"):
            wrong.append(f"{key}: a switch-off day on an operation that is not deprecated")
    assert not wrong, "\n".join(wrong)
    assert sum(1 for op in _ops().values() if op.get("x-ozon-sunset")) >= 20
