"""Every operation that deletes, archives, cancels, rejects or refunds is marked
``x-ozon-destructive`` in the spec, so the MCP server asks for permission before sending it.

The rule (also in the lead's notes, to re-apply to new operations): an operation that is not
``x-ozon-safe`` is destructive when its method is DELETE, or when a word of its path (without the
``/v<N>`` segment, split at ``/ - _ .``) is one of :data:`VERBS`, or its path has all the words of
one of :data:`PHRASES`. :data:`BY_JUDGEMENT` lists operations marked although no word says so.
"""

from __future__ import annotations

import re

from ozon_async import OPERATIONS
from tests.conftest import spec_operations

VERBS = frozenset(
    {
        "delete",
        "remove",
        "archive",
        "cancel",
        "reject",
        "decline",
        "deactivate",
        "disable",
        "revoke",
        "clear",
        "purge",
        "unlink",
        "unbind",
        "terminate",
        "withdraw",
        "compensate",
        "refund",
        "erase",
        "destroy",
        "discard",
    }
)
PHRASES = (("return", "money"),)
BY_JUDGEMENT = frozenset(
    {
        # approving the buyer's cancellation request cancels the order
        "POST /v2/conditional-cancellation/approve",
        # every earlier return giveout barcode stops working for good
        "POST /v1/return/giveout/barcode-reset",
        # turning automatic disposal on makes Ozon dispose of returned products under the price
        # threshold instead of returning them; disposed goods cannot be brought back
        "POST /v1/returns/settings/utilization/update",
        # the list sent replaces the supply's products: any product left out is dropped, and the
        # old list can only be sent again if the warehouse still accepts it
        "POST /v1/supply-order/content/update",
        # the list sent replaces the carriage's postings; Ozon's only way back to the old list is
        # deleting the carriage (/v1/carriage/cancel) and creating a new one
        "POST /v1/carriage/set-postings",
    }
)


def path_words(path: str) -> list[str]:
    segments = [s for s in path.strip("/").split("/") if not re.fullmatch(r"v\d+", s)]
    return [w for s in segments for w in re.split(r"[-_.]+", s.lower()) if w]


def matches_rule(method: str, path: str, op: dict[str, object]) -> bool:
    if op.get("x-ozon-safe"):
        return False
    if method == "DELETE":
        return True
    words = path_words(path)
    return bool(set(words) & VERBS) or any(all(w in words for w in p) for p in PHRASES)


def test_path_words() -> None:
    assert path_words("/v2/posting/fbs/cancel-reason/list") == [
        "posting",
        "fbs",
        "cancel",
        "reason",
        "list",
    ]
    assert "archive" not in path_words("/v1/product/unarchive")
    assert not matches_rule("POST", "/v2/posting/fbs/cancel-reason/list", {"x-ozon-safe": True})
    assert matches_rule("POST", "/v2/returns/rfbs/return-money", {})
    assert matches_rule("DELETE", "/v1/anything", {})
    assert not matches_rule("POST", "/v1/warehouse/fbs/create/drop-off/list", {})


def test_every_operation_the_rule_matches_is_marked_destructive() -> None:
    unmarked = [
        f"{method} {path}"
        for method, path, op in spec_operations()
        if matches_rule(method, path, op) and not op.get("x-ozon-destructive")
    ]
    assert unmarked == [], (
        "add `x-ozon-destructive: true` to these operations in spec/openapi.yaml: "
        + ", ".join(unmarked)
    )


def test_every_mark_is_explained_and_on_a_write() -> None:
    marked = {
        f"{method} {path}": op
        for method, path, op in spec_operations()
        if op.get("x-ozon-destructive")
    }
    assert marked, "no operation is marked destructive"
    for key, op in marked.items():
        method, path = key.split(" ", 1)
        assert not op.get("x-ozon-safe"), f"{key} only reads: it cannot be destructive"
        assert matches_rule(method, path, op) or key in BY_JUDGEMENT, (
            f"{key} is marked destructive but the rule does not say so: extend the rule or "
            "add it to BY_JUDGEMENT with the reason"
        )
    assert set(marked) >= BY_JUDGEMENT
    # the generated registry carries the marks
    assert {k for k, o in OPERATIONS.items() if o.destructive} == set(marked)
