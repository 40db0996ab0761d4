"""Intermediate model: what the templates render, built from spec/openapi.yaml.

The spec is read once; every decision about names and Python types is made here so that the
templates only lay the result out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from codegen import naming

# Names the generated endpoint methods use for per-call options; a body field may not take them.
OPTION_PARAMS = (
    "timeout",
    "max_retries",
    "extra_headers",
    "extra_body",
    "idempotent",
    "call_options",
)


@dataclass
class TypeInfo:
    """A Python annotation for one schema node, plus what it needs."""

    annotation: str
    nullable: bool = False
    #: names of models/aliases this annotation refers to
    refs: set[str] = field(default_factory=set)
    #: typing/stdlib names needed: "Any", "datetime", "date", "Annotated", "Meta"
    needs: set[str] = field(default_factory=set)
    #: annotation accepted for a keyword argument of an endpoint method
    param: str = ""


@dataclass
class FieldModel:
    name: str  # python attribute name
    wire: str  # JSON name
    type: TypeInfo
    required: bool
    description: str
    deprecated: bool = False
    #: "list" or "dict" for a list or map in an answer: never None (see answer_container)
    container: str | None = None


@dataclass
class StructModel:
    name: str
    description: str
    fields: list[FieldModel]
    module: str
    note: str | None = None
    one_of_required: list[list[str]] = field(default_factory=list)
    #: a request model: unknown keys are refused (answers stay lenient)
    request: bool = False
    #: fields that Ozon sends as "" for "no value" (``x-ozon-empty-as-null``): decoded as None
    empty_as_null: list[str] = field(default_factory=list)


@dataclass
class AliasModel:
    """A named scalar schema: an open enum (Literal values | str) or a plain alias."""

    name: str
    description: str
    runtime: str  # what msgspec sees
    typing: str  # what type checkers see
    module: str
    values: list[Any] = field(default_factory=list)


@dataclass
class Pagination:
    style: str
    position: str
    limit: str | None
    items: list[str]  # python attribute path
    next: list[str] | None
    next_from_item: str | None
    has_next: list[str] | None
    total: list[str] | None
    page_count: list[str] | None
    first_page: int | None
    item_type: str | None


@dataclass
class Param:
    name: str
    wire: str
    annotation: str
    required: bool
    description: str


@dataclass
class OperationModel:
    operation_id: str
    method: str
    path: str
    group: str  # tag
    group_py: str
    name: str
    summary: str
    description: str
    title_zh: str | None
    title_ru: str | None
    removed: str | None  # x-ozon-removed, "YYYY-MM-DD" or "YYYY-MM"
    safe: bool
    deprecated: bool
    replaced_by: str | None
    replaced_by_call: str | None
    sunset: str | None  # x-ozon-sunset, "YYYY-MM-DD"
    destructive: bool
    beta: bool
    rate_limit: dict[str, int] | None
    pagination: Pagination | None
    request_type: str | None
    request_module: str | None
    response_type: str | None
    response_module: str | None
    response_content_type: str
    request_content_type: str
    path_params: list[str]
    response_description: str
    params: list[Param]
    #: x-ozon-batch / x-ozon-item-rate-limit / x-ozon-task as keyword arguments of the runtime
    #: dataclasses (Batch, ItemRateLimit, Task), ready to render
    batch: dict[str, Any] | None = None
    item_rate_limit: dict[str, Any] | None = None
    #: x-ozon-subscription: {"any_of": [codes], "names": [names], "without": "refused" | "limited"}
    subscription: dict[str, Any] | None = None
    task: dict[str, Any] | None = None
    #: the decorator that attaches ``.bulk``/``.and_wait``, with its type arguments
    batch_item_type: str | None = None
    task_status_type: str | None = None
    #: Ozon's own operationId (``x-ozon-operation-id``): its documentation page's anchor
    ozon_operation_id: str | None = None
    #: wire names of the query parameters (checked by the synthesized ``request_type``)
    query_params: list[str] = field(default_factory=list)
    #: ``x-ozon-empty-answer``: an empty 2xx body reads as ``{}``
    empty_answer: bool = False
    #: ``x-ozon-budget-exempt``: not counted against the API's daily request budget
    budget_exempt: bool = False
    #: ``x-ozon-export``: the operation starts an export (keyword arguments of ``Export``)
    export: dict[str, Any] | None = None


@dataclass
class GroupModel:
    tag: str
    py: str
    class_name: str
    description: str
    operations: list[OperationModel]


@dataclass
class PushEventModel:
    """One push notification (a ``webhooks`` entry): its class and what ``x-ozon-push`` says."""

    message_type: str
    struct: StructModel  # without the message_type field (it is the tag)
    summary: str
    description: str
    deprecated: bool
    event_id: str | None  # the body field that names one event (``x-ozon-push.event_id``)
    states: dict[str, list[str]]  # Seller API status -> push statuses (``x-ozon-push.states``)


@dataclass
class PushModel:
    """The push notifications of the spec (``webhooks`` and the root ``x-ozon-push``)."""

    events: list[PushEventModel]
    structs: list[StructModel]  # the other Push* schemas (nested objects, the answers)
    aliases: list[AliasModel]
    settings: dict[str, Any]  # the root x-ozon-push


@dataclass
class ApiModel:
    structs: dict[str, StructModel]
    aliases: dict[str, AliasModel]
    groups: dict[str, GroupModel]
    modules: dict[str, list[str]]  # module -> names defined in it (sorted)
    #: API-wide limits from the spec's root (``x-ozon-daily-budget``, ``x-ozon-export-rules``),
    #: as keyword arguments of the runtime's ``ApiLimits``; ``None`` when the spec states none
    limits: dict[str, Any] | None = None
    push: PushModel | None = None


#: ``x-ozon-subscription`` codes and the names Ozon gives the subscriptions.
SUBSCRIPTIONS = {
    "premium": "Premium",
    "premium_plus": "Premium Plus",
    "premium_pro": "Premium Pro",
    "review_management": "Review Management",
}


def _subscription(value: Any, where: str) -> dict[str, Any] | None:
    """A checked ``x-ozon-subscription``."""
    if value is None:
        return None
    any_of = value.get("any_of") if isinstance(value, dict) else None
    without = value.get("without", "refused") if isinstance(value, dict) else None
    if (
        not isinstance(any_of, list)
        or not any_of
        or any(code not in SUBSCRIPTIONS for code in any_of)
        or without not in ("refused", "limited")
        or set(value) - {"any_of", "without"}
    ):
        raise ValueError(
            f"{where}: x-ozon-subscription takes any_of (some of {', '.join(SUBSCRIPTIONS)}) "
            f"and without (refused or limited), not {value!r}"
        )
    names = [SUBSCRIPTIONS[code] for code in any_of]
    return {"any_of": list(any_of), "names": names, "without": without}


def _ref_name(ref: str) -> str:
    prefix = "#/components/schemas/"
    if not ref.startswith(prefix):
        raise ValueError(f"unsupported $ref {ref!r}")
    return ref[len(prefix) :]


class Builder:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.schemas: dict[str, Any] = spec["components"]["schemas"]
        self.structs: dict[str, StructModel] = {}
        self.aliases: dict[str, AliasModel] = {}
        self.inline_aliases: dict[str, AliasModel] = {}

    # ------------------------------------------------------------------ reachability
    def _refs(self, node: Any) -> set[str]:
        out: set[str] = set()
        stack = [node]
        while stack:
            x = stack.pop()
            if isinstance(x, dict):
                if "$ref" in x:
                    out.add(_ref_name(x["$ref"]))
                for k, v in x.items():
                    if k not in ("example", "examples"):
                        stack.append(v)
            elif isinstance(x, list):
                stack.extend(x)
        return out

    def _closure(self, roots: set[str]) -> set[str]:
        seen: set[str] = set()
        stack = list(roots)
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            stack.extend(self._refs(self.schemas[n]))
        return seen

    # ------------------------------------------------------------------ build
    def build(self) -> ApiModel:
        tags = {t["name"]: t for t in self.spec.get("tags", [])}
        ops_raw: list[tuple[str, str, dict[str, Any]]] = []
        req_roots: set[str] = set()
        resp_roots: set[str] = set()
        by_group: dict[str, set[str]] = {}
        for path, item in self.spec["paths"].items():
            for method, op in item.items():
                ops_raw.append((method.upper(), path, op))
                group = naming.python_names(path, op)[0]
                query = [p for p in op.get("parameters") or [] if p.get("in") == "query"]
                rq = self._refs(op.get("requestBody") or {}) | self._refs(query)
                rs = self._refs(op["responses"]["200"])
                req_roots |= rq
                resp_roots |= rs
                by_group.setdefault(group, set()).update(rq | rs)
        self.request_side = self._closure(req_roots)
        self.response_side = self._closure(resp_roots)
        self.module_of = self._modules_of(by_group)
        push_only = push_schemas(self.spec)
        for n in sorted(self.schemas):
            if n not in push_only:  # rendered into ozon_async/push/_events.py (build_push)
                self._schema(n)
        groups: dict[str, GroupModel] = {}
        op_models = [self._operation(m, p, op, tags) for m, p, op in ops_raw]
        names_by_call = {(o.method, o.path): o for o in op_models}
        for o in op_models:
            if o.replaced_by:
                m, p = o.replaced_by.split(" ", 1)
                succ = names_by_call.get((m, p))
                if succ is not None:
                    o.replaced_by_call = f"client.{succ.group_py}.{succ.name}"
        for o in sorted(op_models, key=lambda o: (o.group_py, o.name)):
            g = groups.get(o.group_py)
            if g is None:
                t = tags.get(o.group, {})
                g = GroupModel(
                    tag=o.group,
                    py=o.group_py,
                    class_name=naming.camel(o.group_py.rstrip("_")) + "Resource",
                    description=t.get("description", ""),
                    operations=[],
                )
                groups[o.group_py] = g
            g.operations.append(o)
        modules: dict[str, list[str]] = {}
        for n, s in {**self.structs, **self.aliases, **self.inline_aliases}.items():
            modules.setdefault(s.module, []).append(n)
        for v in modules.values():
            v.sort()
        return ApiModel(
            structs=self.structs,
            aliases={**self.aliases, **self.inline_aliases},
            groups=dict(sorted(groups.items(), key=lambda kv: kv[1].py)),
            modules=dict(sorted(modules.items())),
            limits=self._limits(),
            push=build_push(self.spec),
        )

    def _modules_of(self, by_group: dict[str, set[str]]) -> dict[str, str]:
        """The module of each schema: its group's module when one group uses it, else
        ``common``; a schema in ``common`` depends only on ``common`` (dependencies move up)."""
        users: dict[str, set[str]] = {}
        for group, roots in by_group.items():
            for n in self._closure(roots):
                users.setdefault(n, set()).add(group)
        module_of: dict[str, str] = {}
        for n in self.schemas:
            gs = users.get(n, set())
            module_of[n] = next(iter(gs)) if len(gs) == 1 else "common"
        changed = True
        while changed:
            changed = False
            for n, m in list(module_of.items()):
                if m != "common":
                    continue
                for dep in self._refs(self.schemas[n]):
                    if module_of[dep] != "common":
                        module_of[dep] = "common"
                        changed = True
        return module_of

    def _limits(self) -> dict[str, Any] | None:
        """``x-ozon-daily-budget`` and ``x-ozon-export-rules`` of the spec's root."""
        out: dict[str, Any] = {}
        budget = self.spec.get("x-ozon-daily-budget")
        if budget is not None:
            if set(budget) - {"requests", "period"} or not isinstance(budget.get("requests"), int):
                raise ValueError(f"x-ozon-daily-budget: needs `requests` and `period`: {budget}")
            out["daily_budget"] = (int(budget["requests"]), float(budget["period"]))
        rules = self.spec.get("x-ozon-export-rules")
        if rules is not None:
            known = {
                "concurrent", "concurrent_organisation", "per_day", "per_day_per_campaign",
                "max_campaigns", "max_days", "timezone",
            }  # fmt: skip
            unknown = set(rules) - known
            if unknown:
                raise ValueError(f"x-ozon-export-rules: unknown keys {sorted(unknown)}")
            out["exports"] = dict(sorted(rules.items()))
        return out or None

    # ------------------------------------------------------------------ schemas
    def _schema(self, name: str) -> None:
        s = self.schemas[name]
        module = self.module_of[name]
        if s.get("type") == "object" and "additionalProperties" not in s:
            self._struct(name, s, module)
            return
        request_only = name in self.request_side and name not in self.response_side
        t = self._type(s, module, f"{name}", constrain=request_only)
        if s.get("enum") and name in self.aliases:
            return  # _type registered the open-enum alias under this name
        self.aliases[name] = AliasModel(
            name=name,
            description=s.get("description", ""),
            runtime=t.annotation,
            typing=t.annotation,
            module=module,
        )

    def _struct(self, name: str, s: dict[str, Any], module: str) -> None:
        required = set(s.get("required") or [])
        request_only = name in self.request_side and name not in self.response_side
        fields: list[FieldModel] = []
        used: set[str] = set()
        for wire, ps in (s.get("properties") or {}).items():
            py = naming.field_name(wire)
            while py in used:
                py += "_"
            used.add(py)
            t = self._type(ps, module, name + naming.camel(py), constrain=request_only)
            req = wire in required and request_only
            fields.append(
                FieldModel(
                    name=py,
                    wire=wire,
                    type=t,
                    required=req,
                    description=ps.get("description", ""),
                    deprecated=bool(ps.get("deprecated")),
                    container=None if request_only else answer_container(t.annotation),
                )
            )
        # anyOf alternatives that each require top-level fields: "at least one of" checks.
        one_of: list[list[str]] = []
        alts = s.get("anyOf") or []
        if alts and all(isinstance(a, dict) and a.get("required") for a in alts):
            one_of = [[naming.field_name(r) for r in a["required"]] for a in alts]
        self.structs[name] = StructModel(
            name=name,
            description=s.get("description", ""),
            # required fields first: they have no default (type checkers insist on the order)
            fields=sorted(fields, key=lambda f: not f.required),
            module=module,
            note=s.get("x-ozon-note"),
            one_of_required=one_of if request_only else [],
            request=request_only,
            empty_as_null=[
                f.name for f in fields if f.type.annotation.startswith("EmptyAsNullInt")
            ],
        )

    def _type(
        self, node: dict[str, Any], module: str, ctx: str, constrain: bool = False
    ) -> TypeInfo:
        """Map a schema node to a Python annotation."""
        if "$ref" in node:
            return self._ref_type(node, constrain)
        if "anyOf" in node:
            return self._any_of_type(node, module, ctx, constrain)
        ty = node.get("type")
        types = list(ty) if isinstance(ty, list) else ([ty] if ty else [])
        nullable = "null" in types
        types = [x for x in types if x != "null"]
        if len(set(types)) > 1 or (node.get("x-ozon-empty-as-null") and not constrain):
            t = self._mixed_type(node, types, module, ctx, constrain)
        else:
            t = self._plain_type(node, set(types), module, ctx, constrain)
        if not t.param:
            t.param = t.annotation
        meta = _constraints(node, t.annotation) if constrain else {}
        if meta:
            # constraints are checked when the runtime converts arguments into the request model
            args = ", ".join(f"{k}={v!r}" for k, v in sorted(meta.items()))
            t.annotation = f"Annotated[{t.annotation}, Meta({args})]"
            t.needs |= {"Annotated", "Meta"}
        t.nullable = nullable
        return t

    def _ref_type(self, node: dict[str, Any], constrain: bool) -> TypeInfo:
        n = _ref_name(node["$ref"])
        target = self.schemas[n]
        if constrain and target.get("enum") and n in self.response_side:
            # an enum shared with answers is open there; a request gets the closed list
            lit = ", ".join(repr(v) for v in target["enum"] if v is not None)
            return TypeInfo(f"Literal[{lit}]", needs={"Literal"})
        return TypeInfo(n, refs={n}, param=self._param_of(n))

    def _any_of_type(
        self, node: dict[str, Any], module: str, ctx: str, constrain: bool
    ) -> TypeInfo:
        alts = [a for a in node["anyOf"] if a.get("type") != "null"]
        nullable = len(alts) != len(node["anyOf"])
        infos = [self._type(a, module, ctx, constrain) for a in alts]
        ann = " | ".join(i.annotation for i in infos)
        t = TypeInfo(ann, nullable=nullable)
        for i in infos:
            t.refs |= i.refs
            t.needs |= i.needs
        t.param = " | ".join(i.param or i.annotation for i in infos)
        return t

    def _mixed_type(
        self, node: dict[str, Any], types: list[str], module: str, ctx: str, constrain: bool
    ) -> TypeInfo:
        """A value Ozon sends in more than one JSON type (``[integer, string]``...)."""
        kinds = set(types)
        if node.get("x-ozon-empty-as-null") and not constrain:
            if kinds != {"integer", "string"}:
                raise ValueError(f"{ctx}: x-ozon-empty-as-null is for [integer, string] values")
            return TypeInfo("EmptyAsNullInt", needs={"EmptyAsNullInt"}, param="int")
        if kinds == {"integer", "string"}:
            return TypeInfo("int")
        if kinds == {"number", "string"}:
            # [number, string]: a number Ozon sometimes sends as a decimal string (decoded as a
            # float); [string, number]: a string Ozon sometimes sends as a number (kept as sent)
            return TypeInfo("float" if types[0] == "number" else "str | float")
        if kinds == {"boolean", "string"}:
            return TypeInfo("bool")
        if kinds == {"string", "array"} and types[0] == "array":
            # a list that Ozon sometimes sends as a single string
            item = self._type(node.get("items") or {}, module, ctx + "Item", constrain)
            return TypeInfo(
                f"list[{item.annotation}] | str", refs=set(item.refs), needs=set(item.needs)
            )
        if kinds == {"string", "array"}:
            # a string that Ozon sends as [] when empty
            return TypeInfo("str | list[Any]", needs={"Any"})
        raise ValueError(f"{ctx}: unsupported type combination {types}")

    def _plain_type(
        self, node: dict[str, Any], kinds: set[str], module: str, ctx: str, constrain: bool
    ) -> TypeInfo:
        """A value of one JSON type (or of any, without ``type``)."""
        fmt = node.get("format")
        if "array" in kinds:
            item = self._type(node.get("items") or {}, module, ctx + "Item", constrain)
            inner = item.annotation
            t = TypeInfo(f"list[{inner}]", refs=set(item.refs), needs=set(item.needs))
            t.param = f"Sequence[{item.param or inner}]"
            t.needs.add("Sequence")
            return t
        if "object" in kinds:
            ap = node.get("additionalProperties")
            if isinstance(ap, dict) and ap:
                v = self._type(ap, module, ctx + "Value", constrain)
                t = TypeInfo(f"dict[str, {v.annotation}]", refs=set(v.refs), needs=set(v.needs))
                t.param = f"Mapping[str, {v.param or v.annotation}]"
            else:
                t = TypeInfo("dict[str, Any]", needs={"Any"})
                t.param = "Mapping[str, Any]"
            t.needs.add("Mapping")
            return t
        if "string" in kinds:
            if fmt in ("int64", "uint64"):
                return TypeInfo("int")
            if node.get("enum"):
                return self._enum_alias(node, module, ctx, closed=constrain)
            if node.get("x-ozon-known-values") and not constrain:
                return self._known_values_alias(node, module, ctx)
            if fmt == "date-time":
                return TypeInfo("datetime", needs={"datetime"}, param="datetime | str")
            if fmt == "date":
                return TypeInfo("date", needs={"date"}, param="date | str")
            return TypeInfo("bytes" if fmt == "binary" else "str")
        if "integer" in kinds and node.get("enum") and constrain:
            # a request accepts only the listed codes; an answer any integer
            lit = ", ".join(repr(v) for v in node["enum"] if v is not None)
            return TypeInfo(f"Literal[{lit}]", needs={"Literal"})
        simple = {"integer": "int", "number": "float", "boolean": "bool"}
        for kind, annotation in simple.items():
            if kind in kinds:
                return TypeInfo(annotation)
        if not kinds:
            return TypeInfo("Any", needs={"Any"})
        raise ValueError(f"{ctx}: unsupported type {sorted(kinds)}")

    def _param_of(self, name: str) -> str:
        s = self.schemas[name]
        if s.get("type") == "object" and "additionalProperties" not in s:
            return f"{name} | Mapping[str, Any]"
        return name

    def _enum_alias(
        self, node: dict[str, Any], module: str, ctx: str, closed: bool = False
    ) -> TypeInfo:
        values = [v for v in node["enum"] if v is not None]
        if ctx in self.schemas and self.schemas[ctx] is node:
            name = ctx
            target = self.aliases
        else:
            name = ctx
            target = self.inline_aliases
            i = 2
            while (name in self.schemas and self.schemas[name] is not node) or (
                name in target and target[name].values != values
            ):
                name = f"{ctx}{i}"
                i += 1
        lit = ", ".join(repr(v) for v in values)
        target[name] = AliasModel(
            name=name,
            description=node.get("description", ""),
            # requests accept only the listed values; answers also any value Ozon adds later
            runtime=f"Literal[{lit}]" if closed else "str",
            typing=f"Literal[{lit}]" if closed else f"Literal[{lit}] | str",
            module=module if target is self.inline_aliases else self.module_of.get(name, module),
            values=values,
        )
        return TypeInfo(name, refs={name})

    def _known_values_alias(self, node: dict[str, Any], module: str, ctx: str) -> TypeInfo:
        """``x-ozon-known-values`` on an answer string: an open alias as for an answer enum
        (``Literal[...] | str`` to type checkers, ``str`` at run time), so that editors offer the
        documented values while any value Ozon sends still decodes."""
        return self._enum_alias({**node, "enum": node["x-ozon-known-values"]}, module, ctx)

    # ------------------------------------------------------------------ operations
    def _operation(
        self, method: str, path: str, op: dict[str, Any], tags: dict[str, Any]
    ) -> OperationModel:
        group = op["tags"][0]
        group_py, name = naming.python_names(path, op)
        params, path_params, query, req_type, req_mod, req_ctype = self._request_of(
            op, group_py, path
        )
        r200, ctype, resp_type, resp_mod = self._answer_of(op, path)
        pag = None
        if op.get("x-ozon-pagination"):
            pag = self._pagination(op["x-ozon-pagination"], resp_type, path)
        batch = item_type = None
        if op.get("x-ozon-batch"):
            batch, item_type = self._batch(op["x-ozon-batch"], req_type, resp_type, path)
        item_limit = None
        if op.get("x-ozon-item-rate-limit"):
            if batch is None:
                raise ValueError(f"{path}: x-ozon-item-rate-limit needs x-ozon-batch")
            item_limit = dict(op["x-ozon-item-rate-limit"])
        task = status_type = None
        if op.get("x-ozon-task"):
            task, status_type = self._task(op["x-ozon-task"], req_type, resp_type, path)
        if pag and (batch or task):
            raise ValueError(f"{path}: a paginated operation cannot also be a batch or a task")
        return OperationModel(
            operation_id=op["operationId"],
            method=method,
            path=path,
            group=group,
            group_py=group_py,
            name=name,
            summary=op.get("summary", ""),
            description=op.get("description", ""),
            title_zh=op.get("x-title-zh"),
            title_ru=op.get("x-title-ru"),
            removed=_removed(op, f"{method} {path}"),
            safe=bool(op.get("x-ozon-safe")),
            deprecated=bool(op.get("deprecated")),
            replaced_by=op.get("x-ozon-replaced-by"),
            replaced_by_call=None,
            sunset=_sunset(op, f"{method} {path}"),
            destructive=bool(op.get("x-ozon-destructive")),
            beta=bool(op.get("x-ozon-beta")),
            rate_limit=op.get("x-ozon-rate-limit"),
            pagination=pag,
            request_type=req_type,
            request_module=req_mod,
            response_type=resp_type,
            response_module=resp_mod,
            response_content_type=ctype,
            request_content_type=req_ctype,
            path_params=path_params,
            response_description=r200.get("description", ""),
            params=sorted(params, key=lambda p: (not p.required, p.name)),
            batch=batch,
            item_rate_limit=item_limit,
            subscription=_subscription(op.get("x-ozon-subscription"), f"{method} {path}"),
            task=task,
            batch_item_type=item_type,
            task_status_type=status_type,
            ozon_operation_id=op.get("x-ozon-operation-id"),
            query_params=[prm["name"] for prm in query],
            empty_answer=bool(op.get("x-ozon-empty-answer")),
            budget_exempt=bool(op.get("x-ozon-budget-exempt")),
            export=self._export(op.get("x-ozon-export"), req_type, path),
        )

    def _request_of(
        self, op: dict[str, Any], group_py: str, path: str
    ) -> tuple[list[Param], list[str], list[dict[str, Any]], str | None, str | None, str]:
        """The method's parameters, path parameters, query parameters, request model (and its
        module) and request content type."""
        params: list[Param] = []
        req_type = req_mod = None
        rb = op.get("requestBody")
        path_params: list[str] = []
        query: list[dict[str, Any]] = []
        for prm in op.get("parameters") or []:
            if prm.get("in") == "query":
                query.append(prm)
                continue
            if prm.get("in") != "path":
                raise ValueError(f"{path}: only path and query parameters are supported")
            t = self._type(prm.get("schema") or {}, "common", "", constrain=True)
            py = naming.field_name(prm["name"])
            params.append(Param(py, prm["name"], t.param, True, prm.get("description", "")))
            path_params.append(prm["name"])
        req_ctype = "application/json"
        if query:
            if rb:
                raise ValueError(f"{path}: query parameters beside a request body")
            req_type, req_mod = self._query_struct(op, group_py, query, path)
            for f in self.structs[req_type].fields:
                if f.name in OPTION_PARAMS or f.name == "self" or f.wire in path_params:
                    raise ValueError(f"{path}: query parameter {f.wire!r} collides")
                params.append(
                    Param(
                        f.name, f.wire, f.type.param or f.type.annotation, f.required, f.description
                    )
                )
        if rb:
            ((req_ctype, media),) = rb["content"].items()
            if req_ctype not in ("application/json", "multipart/form-data"):
                raise ValueError(f"{path}: unsupported request content type {req_ctype}")
            req_type = _ref_name(media["schema"]["$ref"])
            req_mod = self.module_of[req_type]
            s = self.structs[req_type]
            for f in s.fields:
                if f.name in OPTION_PARAMS or f.name == "self" or f.wire in path_params:
                    raise ValueError(f"{path}: body field {f.wire!r} collides with a method option")
                ann = f.type.param or f.type.annotation
                if req_ctype == "multipart/form-data":
                    # a file may be plain bytes or an UploadFile (name and content type)
                    ann = ann.replace("bytes", "bytes | UploadFile")
                params.append(Param(f.name, f.wire, ann, f.required, f.description))
        return params, path_params, query, req_type, req_mod, req_ctype

    def _answer_of(
        self, op: dict[str, Any], path: str
    ) -> tuple[dict[str, Any], str, str | None, str | None]:
        """The 200 answer, its content type and its response model (and module)."""
        r200 = op["responses"]["200"]
        content = r200["content"]
        if len(content) == 1:
            ((ctype, media200),) = content.items()
        elif "application/json" in content:
            raise ValueError(f"{path}: a JSON answer must be the only content type")
        else:  # several file types (a CSV, or a ZIP of CSVs): the first is the usual one
            ctype, media200 = next(iter(content.items()))
        resp_type = resp_mod = None
        if ctype == "application/json":
            resp_type = _ref_name(media200["schema"]["$ref"])
            resp_mod = self.module_of[resp_type]
        return r200, ctype, resp_type, resp_mod

    def _query_struct(
        self, op: dict[str, Any], group_py: str, query: list[dict[str, Any]], path: str
    ) -> tuple[str, str]:
        """A request model of an operation's query parameters, named ``<operationId>Query``
        in camel case: what a call's keyword arguments are checked against (as a body's)."""
        name = naming.camel(op["operationId"]) + "Query"
        if name in self.schemas or name in self.structs:
            raise ValueError(f"{path}: {name} is already a schema name")
        module = group_py
        fields: list[FieldModel] = []
        for prm in query:
            py = naming.field_name(prm["name"])
            t = self._type(prm.get("schema") or {}, module, name + naming.camel(py), True)
            fields.append(
                FieldModel(
                    name=py,
                    wire=prm["name"],
                    type=t,
                    required=bool(prm.get("required")),
                    description=prm.get("description", ""),
                    deprecated=bool(prm.get("deprecated")),
                )
            )
        self.structs[name] = StructModel(
            name=name,
            description=f"The query parameters of ``{op['operationId']}``.",
            fields=sorted(fields, key=lambda f: not f.required),
            module=module,
            request=True,
        )
        return name, module

    def _export(
        self, e: dict[str, Any] | None, req: str | None, path: str
    ) -> dict[str, Any] | None:
        """``x-ozon-export``: which request fields hold the campaigns and the period."""
        if e is None:
            return None
        known = {"campaigns", "date_from", "date_to", "time_from", "time_to", "download", "kind"}
        unknown = set(e) - known
        if unknown:
            raise ValueError(f"{path}: unknown x-ozon-export keys {sorted(unknown)}")
        out: dict[str, Any] = {}
        for key in ("campaigns", "date_from", "date_to", "time_from", "time_to"):
            if e.get(key):
                if req is None:
                    raise ValueError(f"{path}: x-ozon-export {key} needs request fields")
                wire = e[key]
                if wire not in {f.wire for f in self.structs[req].fields}:
                    raise ValueError(f"{path}: x-ozon-export {key}: no request field {wire!r}")
                out[key] = wire
        if e.get("download"):
            method, dpath = str(e["download"]).split(" ", 1)
            if method.lower() not in (self.spec["paths"].get(dpath) or {}):
                raise ValueError(
                    f"{path}: x-ozon-export download {e['download']!r} is not in the spec"
                )
            out["download"] = e["download"]
        if e.get("kind"):
            out["kind"] = str(e["kind"])
        return out

    # ------------------------------------------------------------------ bulk writes and tasks
    def _node(self, node: Any) -> Any:
        """Follow ``$ref`` and nullable ``anyOf`` wrappers (not an object's ``anyOf`` of
        required-field alternatives)."""
        while True:
            if "$ref" in node:
                node = self.schemas[_ref_name(node["$ref"])]
            elif "anyOf" in node and "properties" not in node:
                node = next(a for a in node["anyOf"] if a.get("type") != "null")
            else:
                return node

    def _entry_attr(self, node: Any, wire: str, where: str) -> str:
        """The Python attribute of ``wire`` in the object schema ``node`` (which must have it)."""
        node = self._node(node)
        if wire not in (node.get("properties") or {}):
            raise ValueError(f"{where}: no field {wire!r}")
        return naming.field_name(wire)

    def _list_entry(self, resp: str, dotted: str, where: str) -> tuple[list[str], Any]:
        names, node = self._attr_path(resp, dotted)
        node = self._node(node)
        if "array" not in (
            node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
        ):
            raise ValueError(f"{where}: {dotted!r} is not an array")
        return names, self._node(node.get("items") or {})

    def _batch(
        self, b: dict[str, Any], req: str | None, resp: str | None, path: str
    ) -> tuple[dict[str, Any], str]:
        if req is None or resp is None:
            raise ValueError(f"{path}: x-ozon-batch needs a JSON request and answer")
        unknown = set(b) - {
            "items", "max", "key", "results", "failures", "ok", "errors", "code", "message",
            "request_ok", "failure_code",
        }  # fmt: skip
        if unknown:
            raise ValueError(f"{path}: unknown x-ozon-batch keys {sorted(unknown)}")
        wire = b["items"]
        arr = self._node(self.schemas[req]["properties"][wire])
        item = self._node(arr.get("items") or {})
        max_items = b.get("max", arr.get("maxItems"))
        if not isinstance(max_items, int) or max_items < 1:
            raise ValueError(f"{path}: x-ozon-batch needs `max` (the array has no maxItems)")
        if arr.get("maxItems") is not None and arr["maxItems"] != max_items:
            raise ValueError(f"{path}: x-ozon-batch max {max_items} != maxItems {arr['maxItems']}")
        scalar = item.get("type") != "object"
        key = [list(alt) for alt in b.get("key") or []]
        if scalar:
            if len(key) != 1 or len(key[0]) != 1:
                raise ValueError(f"{path}: scalar batch items need one key name")
            kinds = item.get("type")
            kinds = set(kinds if isinstance(kinds, list) else [kinds]) - {"null"}
            item_type = "int" if "integer" in kinds else "float" if kinds == {"number"} else "str"
        else:
            ref = self._node(arr)["items"]
            item_type = _ref_name(ref["$ref"]) if "$ref" in ref else "dict"
            for alt in key:
                for name in alt:
                    self._entry_attr(item, name, f"{path} x-ozon-batch key")
        out: dict[str, Any] = {
            "param": naming.field_name(wire),
            "field": wire,
            "max_items": max_items,
            "key": tuple(tuple(a) for a in key),
        }
        if scalar:
            out["scalar"] = True
        entry: Any = None
        for which in ("results", "failures"):
            if b.get(which):
                names, entry = self._list_entry(resp, b[which], f"{path} x-ozon-batch {which}")
                out[which] = tuple(names)
        if b.get("request_ok"):
            out["request_ok"] = tuple(self._attr_path(resp, b["request_ok"])[0])
        if entry is not None and entry.get("type") == "object":
            out["entry_key"] = tuple(
                tuple(self._entry_attr(entry, n, f"{path} x-ozon-batch answer") for n in alt)
                for alt in key
            )
            err_node = entry
            if b.get("ok"):
                out["ok"] = self._entry_attr(entry, b["ok"], f"{path} x-ozon-batch ok")
            if b.get("errors"):
                out["errors"] = self._entry_attr(entry, b["errors"], f"{path} x-ozon-batch errors")
                err_node = self._node(self._node(entry)["properties"][b["errors"]])
                if err_node.get("type") == "array" or "array" in (err_node.get("type") or []):
                    err_node = self._node(err_node.get("items") or {})
            for k in ("code", "message"):
                if b.get(k):
                    out[k] = self._entry_attr(err_node, b[k], f"{path} x-ozon-batch {k}")
        elif entry is not None:
            out["entry_key"] = tuple(tuple(a) for a in key)
        if b.get("failure_code"):
            out["failure_code"] = b["failure_code"]
        return out, item_type

    def _task(
        self, t: dict[str, Any], req: str | None, resp: str | None, path: str
    ) -> tuple[dict[str, Any], str]:
        unknown = set(t) - {
            "status", "param", "id", "id_from_request", "state", "items", "item_state",
            "item_errors", "done", "failed", "interval", "timeout", "file", "error", "tasks",
            "kind", "status_args",
        }  # fmt: skip
        if unknown:
            raise ValueError(f"{path}: unknown x-ozon-task keys {sorted(unknown)}")
        method, status_path = t["status"].split(" ", 1)
        status_op = (self.spec["paths"].get(status_path) or {}).get(method.lower())
        if status_op is None:
            raise ValueError(f"{path}: x-ozon-task status {t['status']!r} is not in the spec")
        media = status_op["responses"]["200"]["content"]["application/json"]
        status_resp = _ref_name(media["schema"]["$ref"])
        where = f"{path} x-ozon-task"
        if status_op.get("requestBody"):
            status_req = _ref_name(
                status_op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            )
            param = self._entry_attr(self.schemas[status_req], t["param"], where)
        else:  # a status read by a path (or query) parameter, e.g. GET /reports/{UUID}
            names = [p["name"] for p in status_op.get("parameters") or []]
            if t["param"] not in names:
                raise ValueError(f"{where}: the status operation has no parameter {t['param']!r}")
            param = naming.field_name(t["param"])
        out: dict[str, Any] = {"status": t["status"], "param": param}
        # several tasks started at once: `id` and `kind` are read from each entry of `tasks`
        start: Any = None if resp is None else {"$ref": "#/components/schemas/" + resp}
        if t.get("tasks"):
            if resp is None:
                raise ValueError(f"{where}: tasks needs a JSON answer")
            names, start = self._list_entry(resp, t["tasks"], where)
            out["tasks"] = tuple(names)
            if t.get("kind"):
                out["kind"] = self._entry_attr(start, t["kind"], where)
        elif t.get("kind"):
            raise ValueError(f"{where}: `kind` needs `tasks`")
        if t.get("id"):
            if start is None:
                raise ValueError(f"{where}: id needs a JSON answer")
            out["id"] = tuple(tuple(self._node_path(start, d)[0]) for d in t["id"])
        elif t.get("tasks"):
            raise ValueError(f"{where}: `tasks` needs the `id` of an entry")
        if t.get("id_from_request"):
            if req is None:
                raise ValueError(f"{where}: id_from_request needs a request body")
            out["id_from_request"] = self._entry_attr(
                self.schemas[req], t["id_from_request"], where
            )
        if "id" not in out and "id_from_request" not in out:
            raise ValueError(f"{where}: needs `id` or `id_from_request`")
        for k in ("state", "file", "error"):
            if t.get(k):
                out[k] = tuple(self._attr_path(status_resp, t[k])[0])
        if t.get("items"):
            names, entry = self._list_entry(status_resp, t["items"], where)
            out["items"] = tuple(names)
            out["item_state"] = self._entry_attr(entry, t["item_state"], where)
            if t.get("item_errors"):
                out["item_errors"] = self._entry_attr(entry, t["item_errors"], where)
        if ("state" in out) == ("items" in out):
            raise ValueError(f"{where}: give exactly one of `state` and `items`")
        if not t.get("done"):
            raise ValueError(f"{where}: needs the `done` states")
        out["done"] = tuple(t["done"])
        out["failed"] = tuple(t.get("failed") or ())
        if t.get("status_args"):
            names = {p["name"] for p in status_op.get("parameters") or []}
            unknown = set(t["status_args"]) - names
            if unknown:
                raise ValueError(f"{where}: status_args names no parameter: {sorted(unknown)}")
            out["status_args"] = tuple(
                (naming.field_name(k), v) for k, v in sorted(t["status_args"].items())
            )
        for k in ("interval", "timeout"):
            if k in t:
                out[k] = float(t[k])
        return out, status_resp

    def _attr_path(self, root: str, dotted: str) -> tuple[list[str], Any]:
        """Translate a dotted wire path into python attribute names; return the final node."""
        return self._node_path({"$ref": "#/components/schemas/" + root}, dotted)

    def _node_path(self, node: Any, dotted: str) -> tuple[list[str], Any]:
        """:meth:`_attr_path` from a schema node instead of a named schema."""
        names: list[str] = []
        for part in dotted.split("."):
            node = self._node(node)
            prop = node["properties"][part]
            names.append(naming.field_name(part))
            node = prop
        return names, node

    def _pagination(self, p: dict[str, Any], resp: str | None, path: str) -> Pagination:
        if resp is None:
            raise ValueError(f"{path}: pagination needs a JSON response")
        items, items_node = self._attr_path(resp, p["items"])
        items_node = self._node(items_node)
        item_type = None
        if items_node.get("type") == "array" or (
            isinstance(items_node.get("type"), list) and "array" in items_node["type"]
        ):
            it = items_node.get("items") or {}
            if "$ref" in it:
                item_type = _ref_name(it["$ref"])
        else:
            raise ValueError(f"{path}: pagination items {p['items']!r} is not an array")

        def opt(key: str) -> list[str] | None:
            return self._attr_path(resp, p[key])[0] if p.get(key) else None

        return Pagination(
            style=p["style"],
            position=naming.field_name(p["position"]),
            limit=naming.field_name(p["limit"]) if p.get("limit") else None,
            items=items,
            next=opt("next"),
            next_from_item=naming.field_name(p["next_from_item"])
            if p.get("next_from_item")
            else None,
            has_next=opt("has_next"),
            total=opt("total"),
            page_count=opt("page_count"),
            first_page=p.get("first_page"),
            item_type=item_type,
        )


# ---------------------------------------------------------------------- push notifications
def push_schemas(spec: dict[str, Any]) -> set[str]:
    """The schemas only push notifications (``webhooks``) reach."""
    hooks = spec.get("webhooks") or {}
    if not hooks:
        return set()
    b = Builder(spec)
    from_paths = b._closure(_schema_refs(spec["paths"]) | _schema_refs(spec["components"]))
    return b._closure(_schema_refs(hooks)) - from_paths


def _schema_refs(node: Any) -> set[str]:
    """The schemas referred to under ``node`` (other ``$ref`` targets, such as responses, are
    left out)."""
    prefix = "#/components/schemas/"
    out: set[str] = set()
    stack = [node]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            ref = x.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix):
                out.add(ref[len(prefix) :])
            stack.extend(v for k, v in x.items() if k not in ("example", "examples", "schemas"))
        elif isinstance(x, list):
            stack.extend(x)
    return out


def build_push(spec: dict[str, Any]) -> PushModel | None:
    """The event classes of the ``webhooks`` section: lenient like answers (every field optional,
    unknown fields ignored, int64 from numbers or strings, open enums)."""
    hooks = spec.get("webhooks") or {}
    if not hooks:
        return None
    names = push_schemas(spec)
    b = Builder(spec)
    b.request_side, b.response_side = set(), set(names)
    b.module_of = {n: "push" for n in names}
    for n in sorted(names):
        b._schema(n)
    events: list[PushEventModel] = []
    for key, item in hooks.items():
        op = item["post"]
        x = op.get("x-ozon-push") or {}
        mt = x.get("message_type")
        if mt != key:
            raise ValueError(f"webhooks.{key}: x-ozon-push.message_type must be {key!r}")
        media = op["requestBody"]["content"]["application/json"]
        name = _ref_name(media["schema"]["$ref"])
        s = b.structs.pop(name)
        s.fields = [f for f in s.fields if f.wire != "message_type"]
        id_field = x.get("event_id")
        if id_field is not None and id_field not in {f.wire for f in s.fields}:
            raise ValueError(f"webhooks.{key}: event_id {id_field!r} is not a field of {name}")
        events.append(
            PushEventModel(
                message_type=mt,
                struct=s,
                summary=op.get("summary", ""),
                description=op.get("description", ""),
                deprecated=bool(op.get("deprecated")),
                event_id=id_field,
                states={k: list(v) for k, v in (x.get("states") or {}).items()},
            )
        )
    aliases = {**b.aliases, **b.inline_aliases}
    return PushModel(
        events=events,
        structs=sorted(b.structs.values(), key=lambda s: s.name),
        aliases=sorted(aliases.values(), key=lambda a: a.name),
        settings=dict(spec.get("x-ozon-push") or {}),
    )


#: JSON Schema limit keywords and the msgspec ``Meta`` argument that checks each, by Python type.
_LIMITS: dict[str, tuple[tuple[str, str], ...]] = {
    "list": (("minItems", "min_length"), ("maxItems", "max_length")),
    "int": (
        ("minimum", "ge"),
        ("maximum", "le"),
        ("exclusiveMinimum", "gt"),
        ("exclusiveMaximum", "lt"),
    ),
    "str": (("minLength", "min_length"), ("maxLength", "max_length")),
}
_LIMITS["float"] = _LIMITS["int"]


def _constraints(node: dict[str, Any], annotation: str) -> dict[str, Any]:
    """The ``Meta`` arguments that check the limits a request node states."""
    kind = "list" if annotation.startswith("list[") and "|" not in annotation else annotation
    meta: dict[str, Any] = {}
    for keyword, arg in _LIMITS.get(kind, ()):
        if keyword in node:
            meta[arg] = node[keyword]
    return meta


def answer_container(annotation: str) -> str | None:
    """``"list"``/``"dict"`` when an answer field is a plain list or map: such a field is typed
    without ``| None`` (absent or null decode to an empty one), so that user code iterates it
    as it is. Unions (``str | list[Any]``, ``X | list[X]``) keep their ``None``."""
    for kind in ("list", "dict"):
        if annotation.startswith(kind + "[") and annotation.endswith("]"):
            depth = 0
            for i, ch in enumerate(annotation[len(kind) :], start=len(kind)):
                depth += ch == "["
                depth -= ch == "]"
                if depth == 0 and i < len(annotation) - 1:
                    return None  # e.g. "list[X] | str"
            return kind
    return None


def _removed(op: dict[str, Any], key: str) -> str | None:
    """``x-ozon-removed``: the date (``YYYY-MM-DD``, or ``YYYY-MM``) of the first reference
    without the operation."""
    value = op.get("x-ozon-removed")
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", value):
        raise ValueError(
            f"{key}: x-ozon-removed must be a 'YYYY-MM-DD' or 'YYYY-MM' string, not {value!r}"
        )
    return value


def _sunset(op: dict[str, Any], key: str) -> str | None:
    """``x-ozon-sunset``: an ISO date (``YYYY-MM-DD``), only on a deprecated operation."""
    value = op.get("x-ozon-sunset")
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(f"{key}: x-ozon-sunset must be a 'YYYY-MM-DD' string, not {value!r}")
    if not op.get("deprecated"):
        raise ValueError(f"{key}: x-ozon-sunset is for deprecated operations only")
    return value
