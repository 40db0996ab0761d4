"""Render the intermediate model into Python modules with the Jinja2 templates."""

from __future__ import annotations

import functools
import re
import textwrap
from pathlib import Path
from typing import Any

import jinja2

from codegen.model import (
    ApiModel,
    FieldModel,
    GroupModel,
    OperationModel,
    PushEventModel,
    PushModel,
    StructModel,
)
from codegen.targets import SELLER, Target

HEADER = SELLER.header
WIDTH = 96

TEMPLATES = Path(__file__).parent / "templates"


def _escape_doc(text: str) -> str:
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text += " "
    return text


@functools.cache
def _wrap(text: str, width: int) -> tuple[str, ...]:
    """Wrap text paragraph by paragraph, keeping list items and blank lines."""
    out: list[str] = []
    for para in re.split(r"\n\s*\n", text.strip()):
        lines = para.splitlines()
        if (
            lines[0].rstrip().endswith(":")
            and all(ln.startswith("    ") for ln in lines[1:])
            and len(lines) > 1
        ):
            # a preformatted block such as "Args:" with indented entries
            out.extend(ln.rstrip() for ln in lines)
        elif any(re.match(r"\s*([-*]|\d+\.)\s", ln) for ln in lines):
            for ln in lines:
                m = re.match(r"(\s*(?:[-*]|\d+\.)\s+)", ln)
                indent = " " * len(m.group(1)) if m else ""
                out.extend(textwrap.wrap(ln.strip(), width, subsequent_indent=indent) or [""])
        else:
            out.extend(textwrap.wrap(" ".join(ln.strip() for ln in lines), width) or [""])
        out.append("")
    while out and out[-1] == "":
        out.pop()
    return tuple(out)


def docstring(text: str, indent: int, note: str | None = None) -> str:
    body = text.strip() or "."
    if note:
        body += "\n\nNote: " + note
    lines = _wrap(_escape_doc(body), WIDTH - indent)
    pad = " " * indent
    if len(lines) == 1 and len(lines[0]) + indent + 6 <= WIDTH + 4:
        return f'"""{lines[0]}"""'
    inner = "\n".join((pad + ln) if ln else "" for ln in lines[1:])
    return f'"""{lines[0]}\n{inner}\n{pad}"""' if inner else f'"""{lines[0]}\n{pad}"""'


def comment(text: str) -> str:
    return "\n".join("# " + ln if ln else "#" for ln in _wrap(text, WIDTH - 2))


def field_annotation(f: FieldModel) -> str:
    ann = f.type.annotation
    if f.container:
        return container_annotation(f)
    if f.required:
        return ann
    return f"{ann} | None"


# ---------------------------------------------------------------- lists and maps in answers
# ``AnswerList[X]``/``AnswerDict[X]`` (ozon_async/_models.py) are ``list[X]``/``dict[str, X]`` to
# type checkers and accept null at run time; the default is an empty one and ``__post_init__``
# turns a null into an empty one, so user code iterates without ``or []``.
def container_annotation(f: FieldModel) -> str:
    inner = f.type.annotation[len(f.container or "") + 1 : -1]
    if f.container == "dict":
        key, _, value = inner.partition(", ")
        assert key == "str", f.type.annotation
        return f"AnswerDict[{value}]"
    return f"AnswerList[{inner}]"


def container_default(f: FieldModel) -> str:
    name = f', name="{f.wire}"' if f.name != f.wire else ""
    return f" = field(default_factory={f.container}{name})"


def null_containers(s: StructModel) -> list[tuple[str, str]]:
    """(attribute, empty value) of the answer lists and maps that a null must not leave None."""
    return [(f.name, "[]" if f.container == "list" else "{}") for f in s.fields if f.container]


def field_default(f: FieldModel) -> str:
    if f.container:
        return container_default(f)
    if f.required:
        if f.name != f.wire:
            return f' = field(name="{f.wire}")'
        return ""
    if f.name != f.wire:
        return f' = field(default=None, name="{f.wire}")'
    return " = None"


def field_doc(f: FieldModel) -> str:
    text = f.description or f.wire
    if f.deprecated:
        text += " (Deprecated by Ozon.)"
    if f.name != f.wire:
        text += f" JSON name: ``{f.wire}``."
    return text


def subscription_text(sub: dict[str, Any]) -> str:
    """The sentence ``Subscription.describe()`` gives at runtime, for docstrings."""
    names = sub["names"]
    text = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    if sub["without"] == "limited":
        return (
            f"Full data needs a {text} subscription; without one Ozon answers with part of "
            "the data."
        )
    return f"Needs a {text} subscription; Ozon refuses the call without one."


def op_doc(op: OperationModel) -> str:
    parts = [op.summary.strip().rstrip(".") + "."]
    if op.description:
        parts.append(op.description.strip())
    if op.beta:
        parts.append("Beta: Ozon marks this method as beta; its shape may still change.")
    if op.subscription:
        parts.append("Subscription: " + subscription_text(op.subscription))
    # English only: the Chinese and Russian titles are data for search (the catalogue,
    # ``Operation.title_ru``), not IDE tooltips
    parts.append(f"``{op.method} {op.path}``.")
    parts.extend(_lifecycle_doc(op))
    parts.append(" ".join(_behaviour_notes(op)))
    if op.params:
        parts.append(_args_doc(op))
    opts = (
        "Per-call options: ``timeout`` (seconds), ``max_retries``, ``extra_headers``, "
        "``extra_body`` (fields merged into the JSON body as they are), ``idempotent`` (allow "
        "resending this call after an ambiguous failure)."
    )
    parts.append(opts)
    ret = op.response_description.strip() or "The response."
    parts.append("Returns:\n    " + ret)
    return "\n\n".join(parts)


def _lifecycle_doc(op: OperationModel) -> list[str]:
    """The paragraphs on a deprecated or removed operation."""
    parts: list[str] = []
    if op.deprecated:
        off = f" Ozon switches it off on {op.sunset}." if op.sunset else ""
        if op.replaced_by:
            succ = f"``{op.replaced_by}``"
            if op.replaced_by_call:
                succ += f" (``{op.replaced_by_call}``)"
            parts.append(
                f"Deprecated: use {succ} instead.{off} Calling it emits ``DeprecationWarning``."
            )
        else:
            parts.append(f"Deprecated by Ozon.{off} Calling it emits ``DeprecationWarning``.")
    if op.removed:
        succ = ""
        if op.replaced_by and not op.deprecated:
            succ = f" Use ``{op.replaced_by}``" + (
                f" (``{op.replaced_by_call}``)" if op.replaced_by_call else ""
            )
            succ += " instead."
        parts.append(
            f"Removed: Ozon's reference no longer lists it (since {op.removed}).{succ} It stays "
            "callable, but Ozon may refuse it at any time; calling it emits "
            "``DeprecationWarning``."
        )
    return parts


def _behaviour_notes(op: OperationModel) -> list[str]:
    """One sentence per behaviour: retries, limits, pages, bulk, tasks, exports."""
    notes = []
    notes.append(
        "Only reads: retried after timeouts and server errors."
        if op.safe
        else "Changes data: retried only when the request provably did not reach Ozon, "
        "unless ``idempotent=True``."
    )
    if op.destructive:
        notes.append("Destructive: it deletes, archives or cancels something that is hard to undo.")
    if op.rate_limit:
        notes.append(
            f"Rate limit: {op.rate_limit['requests']} requests per {op.rate_limit['period']} s "
            "per Client-Id; the client waits for a free slot."
        )
    if op.pagination:
        notes.append(
            f"Paginated ({op.pagination.style} style): ``.iter(...)`` yields every item across "
            "pages, ``.pages(...)`` every response."
        )
    if op.batch:
        notes.append(
            f"Bulk: ``.bulk(items, ...)`` sends any number of ``{op.batch['field']}`` items in "
            f"requests of at most {op.batch['max_items']} and returns one outcome per item."
        )
    if op.item_rate_limit:
        rl = op.item_rate_limit
        notes.append(
            f"Per item: at most {rl['requests']} update(s) of one item per {rl['period']} s; "
            "``.bulk`` schedules items so that this is never broken."
        )
    if op.task and op.task.get("tasks"):
        notes.append(
            f"Starts several tasks, each reported by ``{op.task['status']}``: ``.and_wait(...)`` "
            "starts them and waits until every one is done (each in the result's ``.tasks``); "
            "``.wait(task_id)`` waits for one already started."
        )
    elif op.task:
        notes.append(
            f"Starts a task reported by ``{op.task['status']}``: ``.and_wait(...)`` starts it "
            "and waits until it is done; ``.wait(task_id)`` waits for one already started."
        )
    if op.export is not None:
        notes.append(
            "Starts an export under the API's export rules: ``.and_wait(...)`` waits until no "
            "other export of the account runs and holds that turn until this one ends."
        )
    if op.budget_exempt:
        notes.append("Not counted against the daily request budget.")
    return notes


def _args_doc(op: OperationModel) -> str:
    args = ["Args:"]
    for p in op.params:
        desc = (p.description or p.wire).strip().replace("\n", " ")
        if p.name != p.wire:
            desc += f" JSON name: ``{p.wire}``."
        if p.required:
            desc += " Required."
        wrapped = textwrap.wrap(f"{p.name}: {desc}", WIDTH - 12, subsequent_indent="    ")
        args.extend("    " + w for w in wrapped)
    return "\n".join(args)


def return_type(op: OperationModel) -> str:
    return op.response_type or "BinaryResponse"


def type_ref(module: str | None, name: str | None, package: str = SELLER.package) -> str | None:
    if name is None:
        return None
    return f"{package}.types.{module}:{name}"


def _env(target: Target = SELLER) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )
    env.globals.update(
        docstring=docstring,
        comment=comment,
        field_annotation=field_annotation,
        field_default=field_default,
        field_doc=field_doc,
        null_containers=null_containers,
        op_doc=op_doc,
        return_type=return_type,
        type_ref=lambda module, name: type_ref(module, name, target.package),
        one_of_text=lambda alts: ", ".join("`" + " + ".join(a) + "`" for a in alts),
        pyrepr=repr,
        tuple=tuple,
        header=target.header,
        pkg=target.package,
        api=target.api,
        client=target.client,
        model_example=target.model_example,
        spec_path=target.spec,
        op_example=target.op_example,
    )
    return env


_TYPING_ORDER = ["TYPE_CHECKING", "Annotated", "Any", "Literal"]


def render_models(api: ApiModel, module: str, names: list[str], env: jinja2.Environment) -> str:
    structs = [api.structs[n] for n in names if n in api.structs]
    aliases = [api.aliases[n] for n in names if n in api.aliases]
    needs: set[str] = set()
    refs: set[str] = set()
    for s in structs:
        for f in s.fields:
            needs |= f.type.needs
            refs |= f.type.refs
            if f.name != f.wire:
                needs.add("field")
            if f.container:
                needs |= {"field", "Answer" + f.container.capitalize()}
    for a in aliases:
        if "Any" in a.runtime:
            needs.add("Any")
    local = set(names)
    imports: dict[str, list[str]] = {}
    for r in sorted(refs - local):
        mod = api.structs[r].module if r in api.structs else api.aliases[r].module
        imports.setdefault(mod, []).append(r)
    typing_imports = [
        t for t in _TYPING_ORDER if t in needs or (t in ("TYPE_CHECKING", "Literal") and aliases)
    ]
    if not typing_imports:
        typing_imports = []
    msgspec_imports = [n for n in ("Meta", "field") if n in needs]
    datetime_imports = [n for n in ("date", "datetime") if n in needs]
    group = module
    doc = (
        "Models shared by several groups of operations."
        if module == "common"
        else f"Models of the ``{group.rstrip('_')}`` operations."
    )
    text = env.get_template("models.py.j2").render(
        module_doc=doc,
        structs=sorted(structs, key=lambda s: s.name),
        aliases=sorted(aliases, key=lambda a: a.name),
        imports=sorted(imports.items()),
        needs={k: (k in needs) for k in ("datetime", "date", "Meta", "field")},
        typing_imports=typing_imports,
        msgspec_imports=msgspec_imports,
        datetime_imports=datetime_imports,
        model_imports=[
            n
            for n, used in (
                ("Model", any(not s.request for s in structs)),
                ("RequestModel", any(s.request for s in structs)),
                ("EmptyAsNullInt", "EmptyAsNullInt" in needs),
                ("AnswerList", "AnswerList" in needs),
                ("AnswerDict", "AnswerDict" in needs),
            )
            if used
        ],
    )
    if not typing_imports:
        text = text.replace("from typing import \n", "")
    return text


def render_resources(api: ApiModel, group: GroupModel, env: jinja2.Environment) -> str:
    refs: set[str] = set()
    needs: set[str] = set()
    for op in group.operations:
        for name in (op.request_type, op.response_type):
            if name:
                refs.add(name)
        if op.pagination and op.pagination.item_type:
            refs.add(op.pagination.item_type)
        if op.task_status_type:
            refs.add(op.task_status_type)
        if op.batch_item_type and op.batch_item_type in api.structs:
            refs.add(op.batch_item_type)
        if op.request_type:
            for f in api.structs[op.request_type].fields:
                refs |= f.type.refs
                needs |= f.type.needs
                if f.type.param and "Mapping[str, Any]" in f.type.param:
                    needs.add("Any")
                if "Sequence" in f.type.param:
                    needs.add("Sequence")
                for r in f.type.refs:
                    if r in api.structs:
                        needs.add("Any")
    imports: dict[str, list[str]] = {}
    for r in sorted(refs):
        mod = api.structs[r].module if r in api.structs else api.aliases[r].module
        imports.setdefault(mod, []).append(r)
    resource_imports = ["Resource"]
    if any(op.request_content_type == "multipart/form-data" for op in group.operations):
        resource_imports.append("UploadFile")
    if any(op.response_type is None for op in group.operations):
        resource_imports.insert(0, "BinaryResponse")
    if any(op.pagination for op in group.operations):
        resource_imports.append("paginated")
    for deco, used in (
        ("batched", any(op.batch and not op.task for op in group.operations)),
        ("batched_task", any(op.batch and op.task for op in group.operations)),
        ("starts_task", any(op.task and not op.batch for op in group.operations)),
    ):
        if used:
            resource_imports.append(deco)
    return env.get_template("resources.py.j2").render(
        group=group,
        module_doc=f"Operations of the ``{group.tag}`` group: " + (group.description or ""),
        imports=sorted(imports.items()),
        resource_imports=resource_imports,
        needs_sequence="Sequence" in needs,
        needs_any="Any" in needs,
        needs_literal="Literal" in needs,
        datetime_imports=[n for n in ("date", "datetime") if n in needs],
    )


#: The root ``x-ozon-push`` keys, as constants of ozon_async/push/_events.py: name and comment.
PUSH_SETTINGS = {
    "networks": ("NETWORKS", "The address ranges Ozon sends push notifications from."),
    "answer_within": ("ANSWER_WITHIN", "Seconds Ozon waits for the answer to a notification."),
    "error_codes": ("ERROR_CODES", "The codes an error answer may carry."),
    "resend_max_interval": (
        "RESEND_MAX_INTERVAL",
        "Ozon resends an event not answered with 200 at growing intervals up to this many seconds,",
    ),
    "resend_at_max": ("RESEND_AT_MAX", "then this many more times at that interval."),
    "suspend_after_errors": (
        "SUSPEND_AFTER_ERRORS",
        "Ozon stops sending after this many seconds of error answers,",
    ),
    "suspend_below_ok_share": (
        "SUSPEND_BELOW_OK_SHARE",
        "or when fewer than this share of the answers are 200.",
    ),
}


def event_doc(e: PushEventModel) -> str:
    parts = [e.summary.strip().rstrip(".") + f" (``{e.message_type}``)."]
    if e.description:
        parts.append(e.description.strip())
    if e.deprecated:
        parts.append("Deprecated by Ozon.")
    if e.event_id:
        parts.append(f"A resent event carries the same ``{e.event_id}``.")
    return "\n\n".join(parts)


def render_push(push: PushModel, env: jinja2.Environment) -> str:
    settings = []
    for key, value in push.settings.items():
        if key not in PUSH_SETTINGS:
            raise ValueError(f"x-ozon-push: unknown key {key!r} (known: {sorted(PUSH_SETTINGS)})")
        name, doc = PUSH_SETTINGS[key]
        if isinstance(value, list):
            ann, text = "tuple[str, ...]", repr(tuple(str(v) for v in value))
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"x-ozon-push.{key}: a number or a list of strings, not {value!r}")
        elif isinstance(value, float) or key in ("answer_within", "suspend_below_ok_share"):
            ann, text = "float", repr(float(value))
        else:
            ann, text = "int", repr(value)
        settings.append((name, (ann, text), doc))
    structs = [*push.structs, *(e.struct for e in push.events)]
    needs: set[str] = set()
    for s in structs:
        for f in s.fields:
            needs |= f.type.needs
            if f.name != f.wire:
                needs.add("field")
            if f.container:  # lists and maps of answers: never None (see container_annotation)
                needs |= {"field", "Answer" + f.container.capitalize()}
    names = [a.name for a in push.aliases] + [name for name, _, _ in settings]
    names += [s.name for s in structs] + ["EVENT_ID_FIELDS", "EVENT_TYPES", "PushEvent", "STATES"]
    env.globals["event_doc"] = event_doc
    return env.get_template("push.py.j2").render(
        push=push,
        settings=settings,
        datetime_imports=[n for n in ("date", "datetime") if n in needs],
        needs_field="field" in needs,
        model_imports=["Model"] + [n for n in ("AnswerList", "AnswerDict") if n in needs],
        # constants, then classes, then the rest (ruff's order for __all__)
        all_names=sorted(
            names, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n)
        ),
    )


def render_all(api: ApiModel, target: Target = SELLER) -> dict[str, str]:
    """Return {relative path: content} for every generated file (before formatting)."""
    env = _env(target)
    root = target.root
    files: dict[str, str] = {}
    for module, names in api.modules.items():
        files[f"{root}/types/{module}.py"] = render_models(api, module, names, env)
    files[f"{root}/types/__init__.py"] = env.get_template("types_init.py.j2").render(
        modules=list(api.modules.items()),
        all_names=sorted(n for names in api.modules.values() for n in names),
    )
    for group in api.groups.values():
        files[f"{root}/resources/{group.py}.py"] = render_resources(api, group, env)
    files[f"{root}/resources/__init__.py"] = env.get_template("resources_init.py.j2").render(
        groups=list(api.groups.values())
    )
    ops: list[Any] = sorted(
        (op for g in api.groups.values() for op in g.operations), key=lambda o: (o.path, o.method)
    )
    names = {"Batch", "ItemRateLimit", "Operation", "Pagination", "RateLimit", "Task"}
    if api.limits:
        names |= {"ApiLimits", "ExportRules"}
    if any(op.export is not None for op in ops):
        names.add("Export")
    if any(op.subscription for op in ops):
        names.add("Subscription")
    files[f"{root}/resources/_registry.py"] = env.get_template("registry.py.j2").render(
        operations=ops, api_limits=api.limits, registry_imports=sorted(names)
    )
    if api.push is not None:  # the push events, next to their hand-written runtime
        files[f"{root}/push/_events.py"] = render_push(api.push, env)
    files[f"{root}/_spec/__init__.py"] = (
        f'{target.header}\n"""A copy of {target.spec} as JSON (``openapi.json``), read by the mock server."""\n'
    )
    return files


__all__ = ["StructModel", "render_all"]
