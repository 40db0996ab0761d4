"""The type-name rule, and the command that applies it (``--normalize-names``).

The rule, for every named schema of the spec:

0. Object schemas with the same structure on the same side are one schema (merged).
1. Requests and answers never share a schema: a schema reachable from both a request body and a
   200 answer is split, and the request side gets its own copy (requests are strict, answers
   lenient). The copy of a shared schema is named ``<Name>Input``.
2. A schema reachable from exactly one operation is named after it: the request body root is
   ``<Op>Request`` and the 200 answer root ``<Op>Response``, where ``<Op>`` is the operationId in
   CamelCase (``posting_fbs_list_v4`` -> ``PostingFbsListV4``); a schema below is its parent's name
   followed by the property name in CamelCase, singular for the items of a list
   (``PostingFbsListV4RequestFilter``, ``PostingFbsListV4ResponsePosting``) and followed by
   ``Value`` for the values of a map. The first path found breadth-first (request before answer,
   properties in order) names it; a clash gets a number.
3. A schema reachable from several operations has a neutral noun name that does not begin with
   any operation's CamelCase name (``FbsPosting``, ``Empty``, ``PostingNumbersRequest``). A shared
   schema whose name breaks that is renamed to the CamelCase words its operations' paths share
   followed by what its name says below the operation (``PostingFbsListV4RequestFilter`` shared by
   ``/v4/posting/fbs/list`` and ``/v4/posting/fbs/unfulfilled/list`` -> ``PostingFbsFilter``), or,
   when the paths share no word, its name without version markers. A better noun can be given with
   ``--rename Old=New``; a compliant name is never changed again.
4. A schema used by operations of more than one client group (``client.<group>``) is not named
   after one operation, with or without its version (``<Op>Request...``, ``<Op>Response...``):
   ``PostingFbsProductCancelRequestItem`` used by ``draft`` and ``posting`` is ``SkuQuantity``.
   The rule cannot invent such a noun: ``--normalize-names`` reports the schema and a name of its
   own meaning is given with ``--rename Old=New`` (``DateTimeRange``, ``CancelReason``,
   ``OrderNumberRequest``); the renamed schema in the spec is the record of that choice.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from codegen.naming import camel
from codegen.specdiff.convert import singular

PREFIX = "#/components/schemas/"
#: Schemas outside the rule: the error body is the same for every operation.
FIXED = {"ErrorResponse", "ErrorDetail"}


def ref_name(ref: str) -> str:
    return ref[len(PREFIX) :] if ref.startswith(PREFIX) else ref


def refs_in(node: Any) -> Iterator[dict[str, Any]]:
    """Every ``{$ref: ...}`` dict under a node (examples skipped)."""
    stack = [node]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            if isinstance(x.get("$ref"), str) and x["$ref"].startswith(PREFIX):
                yield x
            for k, v in x.items():
                if k not in ("example", "examples"):
                    stack.append(v)
        elif isinstance(x, list):
            stack.extend(x)


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, op in item.items():
            yield method.upper(), path, op


def request_media(op: dict[str, Any]) -> dict[str, Any] | None:
    content = (op.get("requestBody") or {}).get("content") or {}
    media = content.get("application/json") or next(iter(content.values()), None)
    return media if isinstance(media, dict) else None


def response_media(op: dict[str, Any]) -> dict[str, Any] | None:
    content = (op.get("responses") or {}).get("200", {}).get("content") or {}
    media = content.get("application/json")
    return media if isinstance(media, dict) else None


def closure(schemas: dict[str, Any], roots: set[str]) -> set[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        n = stack.pop()
        if n in seen or n not in schemas:
            continue
        seen.add(n)
        stack.extend(ref_name(r["$ref"]) for r in refs_in(schemas[n]))
    return seen


def op_roots(op: dict[str, Any]) -> tuple[set[str], set[str]]:
    rq = {ref_name(r["$ref"]) for r in refs_in(request_media(op) or {})}
    rs = {ref_name(r["$ref"]) for r in refs_in(op["responses"]["200"])}
    return rq, rs


def schema_sides(spec: dict[str, Any]) -> dict[str, set[str]]:
    schemas = spec["components"]["schemas"]
    req: set[str] = set()
    resp: set[str] = set()
    for _m, _p, op in operations(spec):
        rq, rs = op_roots(op)
        req |= rq
        resp |= rs
    resp |= {ref_name(r["$ref"]) for r in refs_in(spec["components"].get("responses") or {})}
    return {"request": closure(schemas, req), "response": closure(schemas, resp)}


def op_camel(op: dict[str, Any]) -> str:
    return camel(str(op["operationId"]))


def users(spec: dict[str, Any]) -> dict[str, set[str]]:
    """Schema name -> operationIds that reach it."""
    schemas = spec["components"]["schemas"]
    out: dict[str, set[str]] = {}
    for _m, _p, op in operations(spec):
        rq, rs = op_roots(op)
        for n in closure(schemas, rq | rs):
            out.setdefault(n, set()).add(op["operationId"])
    return out


def begins_with_operation(name: str, op_names: set[str]) -> str | None:
    """The operation CamelCase name ``name`` begins with (as whole words), if any."""
    for m in re.finditer(r"V\d+(?=[A-Z]|$)", name):
        if name[: m.end()] in op_names:
            return name[: m.end()]
    return None


def groups_of(spec: dict[str, Any]) -> dict[str, str]:
    """operationId -> the client group of the operation (``client.<group>``)."""
    from codegen.naming import python_names

    return {op["operationId"]: python_names(p, op)[0] for _m, p, op in operations(spec)}


def bare_operation_names(spec: dict[str, Any]) -> dict[str, str]:
    """An operation's CamelCase name without its version (``PostingFbsProductCancel``) ->
    its operationId."""
    return {re.sub(r"V\d+$", "", op_camel(op)): op["operationId"] for *_x, op in operations(spec)}


def named_after_operation(name: str, bare: dict[str, str]) -> str | None:
    """The operation ``name`` is derived from, version or not (``<Op>Request...``,
    ``<Op>Response...``, ``<Op>V2...``, or ``<Op>`` itself), if any: a type used by several
    groups must not carry one operation's name."""
    best: str | None = None
    for b in bare:
        derived = name.startswith(b) and re.match(r"(Request|Response|V\d|$)", name[len(b) :])
        if derived and (best is None or len(b) > len(best)):
            best = b
    return bare[best] if best is not None else None


# ---------------------------------------------------------------------- rule 1: split sides
def split_sides(spec: dict[str, Any]) -> dict[str, str]:
    """Give the request side its own copy of every schema both sides use; returns old -> copy."""
    schemas = spec["components"]["schemas"]
    sides = schema_sides(spec)
    both = sorted((sides["request"] & sides["response"]) - FIXED)
    if not both:
        return {}
    copies: dict[str, str] = {}
    for name in both:
        new = name + "Input"
        i = 2
        while new in schemas:
            new = f"{name}Input{i}"
            i += 1
        schemas[new] = copy.deepcopy(schemas[name])
        copies[name] = new
    request_only = (sides["request"] - sides["response"]) | set(copies.values())

    def retarget(node: Any) -> None:
        for r in refs_in(node):
            n = ref_name(r["$ref"])
            if n in copies:
                r["$ref"] = PREFIX + copies[n]

    for n in request_only:
        retarget(schemas[n])
    for _m, _p, op in operations(spec):
        media = request_media(op)
        if media:
            retarget(media.get("schema"))
    return copies


# ---------------------------------------------------------------------- rule 2: derived names
def _children(node: Any, base: str, prop: str | None) -> Iterator[tuple[str, str]]:
    """(schema name, derived name) for the refs directly under a property node."""
    if not isinstance(node, dict):
        return
    if "$ref" in node:
        yield ref_name(node["$ref"]), base
        return
    for alt in node.get("anyOf") or []:
        yield from _children(alt, base, prop)
    if "items" in node:
        yield from _children(node["items"], base, prop)
    if isinstance(node.get("additionalProperties"), dict):
        yield from _children(node["additionalProperties"], base + "Value", prop)


def derived_names(spec: dict[str, Any], op: dict[str, Any]) -> dict[str, str]:
    """Schema name -> the name rule 2 gives it under ``op`` (breadth-first, first path wins)."""
    schemas = spec["components"]["schemas"]
    oc = op_camel(op)
    out: dict[str, str] = {}
    queue: list[tuple[str, str]] = []
    for media, suffix in ((request_media(op), "Request"), (response_media(op), "Response")):
        if media and isinstance(media.get("schema"), dict):
            for n, d in _children(media["schema"], oc + suffix, None):
                queue.append((n, d))
    while queue:
        n, d = queue.pop(0)
        if n in out or n not in schemas:
            continue
        out[n] = d
        s = schemas[n]
        for pname, p in (s.get("properties") or {}).items():
            is_list = _is_list(p)
            child = d + camel(singular(pname) if is_list else pname)
            queue.extend(_children(p, child, pname))
        if "items" in s or "additionalProperties" in s or "anyOf" in s:
            queue.extend(_children({k: v for k, v in s.items() if k != "properties"}, d, None))
    return out


def _is_list(p: dict[str, Any]) -> bool:
    ty = p.get("type")
    if ty == "array" or (isinstance(ty, list) and ty and ty[0] == "array"):
        return True
    return any(_is_list(a) for a in p.get("anyOf") or [] if isinstance(a, dict)) and not any(
        "$ref" in a
        for a in p.get("anyOf") or []
        if isinstance(a, dict) and a.get("type") != "array"
    )


# ---------------------------------------------------------------------- rule 3: neutral names
def _path_words(path: str) -> list[str]:
    return [w for w in path.strip("/").split("/")[1:] if not w.startswith("{")]


def neutral_name(
    name: str, user_ops: list[tuple[str, dict[str, Any]]], derived: dict[str, str]
) -> str:
    """A neutral name for a shared schema whose name begins with an operation's name."""
    words = [_path_words(p) for p, _ in user_ops]
    common: list[str] = []
    for ws in zip(*words, strict=False):
        if len(set(ws)) != 1:
            break
        common.append(ws[0])
    rest: Counter[str] = Counter()
    for _p, op in user_ops:
        d = derived.get(op["operationId"])
        oc = op_camel(op)
        if d and d.startswith(oc):
            rest[d[len(oc) :]] += 1
    remainder = rest.most_common(1)[0][0] if rest else ""
    stripped = re.sub(r"^(Request|Response)(?=[A-Z])", "", remainder)
    stripped = re.sub(r"^Result(?=[A-Z])", "", stripped)
    if common and stripped:
        return camel("-".join(common)) + stripped
    no_version = re.sub(r"V\d+(?=[A-Z]|$)", "", name)
    return no_version or name


def dedupe(spec: dict[str, Any]) -> dict[str, str]:
    """Merge object schemas with the same structure on the same side (prose aside); the name that
    sorts first is kept. Returns merged -> kept."""
    from codegen.specdiff.convert import signature

    schemas: dict[str, Any] = spec["components"]["schemas"]
    merged: dict[str, str] = {}
    while True:
        sides = schema_sides(spec)
        found: dict[str, str] = {}

        def todos(n: str) -> int:
            s = schemas[n]
            texts = [s.get("description")] + [
                p.get("description")
                for p in (s.get("properties") or {}).values()
                if isinstance(p, dict)
            ]
            return sum(1 for x in texts if isinstance(x, str) and x.startswith("TODO(describe)"))

        for side in ("request", "response"):
            seen: dict[str, str] = {}
            only = sides[side] - sides["request" if side == "response" else "response"]
            # the written schema is kept (its texts), then the name that sorts first
            for name in sorted(only, key=lambda n: (todos(n), n)):
                s = schemas[name]
                if s.get("type") != "object" or not s.get("properties") or name in FIXED:
                    continue
                sig = signature(s)
                if sig in seen:
                    found[name] = seen[sig]
                else:
                    seen[sig] = name
        if not found:
            return merged
        for r in refs_in({k: v for k, v in spec.items() if k != "info"}):
            n = ref_name(r["$ref"])
            if n in found:
                r["$ref"] = PREFIX + found[n]
        for n in found:
            del schemas[n]
        merged.update(found)


def webhook_schemas(spec: dict[str, Any]) -> set[str]:
    """Schemas the push notifications (``webhooks``) reach; they follow their own ``Push*`` names."""
    roots = {ref_name(r["$ref"]) for r in refs_in(spec.get("webhooks") or {})}
    return closure(spec["components"]["schemas"], roots)


def drop_unused(spec: dict[str, Any]) -> list[str]:
    """Remove schemas no operation (or shared response, or push notification) reaches."""
    schemas: dict[str, Any] = spec["components"]["schemas"]
    sides = schema_sides(spec)
    used = sides["request"] | sides["response"] | webhook_schemas(spec)
    gone = [n for n in schemas if n not in used and n not in FIXED]
    for n in gone:
        del schemas[n]
    return gone


def normalize(spec: dict[str, Any], renames: dict[str, str] | None = None) -> dict[str, str]:
    """Apply the rule to ``spec`` in place; returns the renames made (old -> new)."""
    renames = dict(renames or {})
    drop_unused(spec)
    split_sides(spec)
    dedupe(spec)
    schemas: dict[str, Any] = spec["components"]["schemas"]
    ops = {op["operationId"]: (p, op) for _m, p, op in operations(spec)}
    op_names = {op_camel(op) for _p, op in ops.values()}
    use = users(spec)
    group, bare = groups_of(spec), bare_operation_names(spec)
    derived_by_op = {oid: derived_names(spec, op) for oid, (_p, op) in ops.items()}
    target: dict[str, str] = {}
    for name in sorted(schemas):
        if name in FIXED:
            continue
        if name in renames:
            target[name] = renames[name]
            continue
        u = sorted(use.get(name, set()))
        if len(u) == 1:
            target[name] = derived_by_op[u[0]].get(name, name)
        elif len(u) > 1 and (
            begins_with_operation(name, op_names)
            or (len({group[o] for o in u}) > 1 and named_after_operation(name, bare))
        ):
            derived = {oid: derived_by_op[oid].get(name, "") for oid in u}
            target[name] = neutral_name(name, [ops[oid] for oid in u], derived)
        else:
            target[name] = name
    # resolve clashes: a name kept as it is wins, then the alphabetically first old name
    final: dict[str, str] = {}
    taken: set[str] = {n for n in FIXED if n in schemas}
    order = sorted(target, key=lambda n: (target[n] != n, n))
    for name in order:
        want = target[name]
        new, i = want, 2
        while new in taken:
            new = f"{want}{i}"
            i += 1
        taken.add(new)
        final[name] = new
    changes = {old: new for old, new in final.items() if old != new}
    if changes:
        apply_renames(spec, changes)
    return changes


def apply_renames(spec: dict[str, Any], changes: dict[str, str]) -> None:
    schemas = spec["components"]["schemas"]
    for r in refs_in({k: v for k, v in spec.items() if k != "info"}):
        n = ref_name(r["$ref"])
        if n in changes:
            r["$ref"] = PREFIX + changes[n]
    renamed = {changes.get(k, k): v for k, v in schemas.items()}
    spec["components"]["schemas"] = dict(sorted(renamed.items()))


def violations(spec: dict[str, Any]) -> list[str]:
    """Every breach of the rule (used by the tests and by ``--check-names``)."""
    out: list[str] = []
    schemas = spec["components"]["schemas"]
    sides = schema_sides(spec)
    for n in sorted((sides["request"] & sides["response"]) - FIXED):
        out.append(f"{n}: used by requests and by answers")
    ops = {op["operationId"]: op for _m, _p, op in operations(spec)}
    op_names = {op_camel(op) for op in ops.values()}
    use = users(spec)
    group, bare = groups_of(spec), bare_operation_names(spec)
    derived_by_op = {oid: derived_names(spec, op) for oid, op in ops.items()}
    for name in sorted(schemas):
        if name in FIXED:
            continue
        u = sorted(use.get(name, set()))
        if len(u) == 1:
            want = derived_by_op[u[0]].get(name)
            if want and not re.fullmatch(re.escape(want) + r"\d*", name):
                out.append(f"{name}: used only by {u[0]}, should be {want}")
        elif len(u) > 1:
            op = begins_with_operation(name, op_names)
            if op:
                out.append(f"{name}: shared by {len(u)} operations but named after {op}")
                continue
            groups = sorted({group[o] for o in u})
            after = named_after_operation(name, bare) if len(groups) > 1 else None
            if after:
                out.append(
                    f"{name}: used by the groups {', '.join(groups)} but named after {after} "
                    "(give it a name of its own meaning with --rename)"
                )
    return out
