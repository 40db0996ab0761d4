"""The drift report: what a reference swagger file says that the spec does not (and back).

Every difference is either *explained* by something the spec records, or left to a person:

* an operation the reference no longer lists: explained by ``x-ozon-removed`` (or
  ``x-ozon-source``, an operation taken from a later source than the reference files);
* a field change: explained by an ``x-ozon-note`` on the field, its object, its list items, or
  on the body as a whole (the media type of the request or answer), where the spec records why
  it differs (a repaired defect, a field kept because answers may still carry it).

Operations the reference adds, newly deprecates or gives a switch-off day are never explained:
the spec has to follow (``--import``, ``deprecated``, ``x-ozon-sunset``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from codegen.specdiff.refdoc import RefDoc
from codegen.specdiff.rules import deprecation, sunset
from codegen.specdiff.shape import Field, SpecSchemas, ref_fields, spec_fields


@dataclass
class Change:
    part: str  # request | response
    path: str
    kind: str  # added | removed | type | enum | required
    detail: str
    repaired: bool = False  # the spec records a repair of this field (x-ozon-note)


@dataclass
class OperationDiff:
    method: str
    path: str
    changes: list[Change] = field(default_factory=list)


@dataclass
class Report:
    reference: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    newly_deprecated: list[dict[str, Any]] = field(default_factory=list)
    #: operations whose switch-off day the reference states and the spec lacks or has otherwise
    sunsets: list[dict[str, Any]] = field(default_factory=list)
    operations: list[OperationDiff] = field(default_factory=list)
    #: removed operations the spec explains: "METHOD /path" -> the record that explains it
    removed_explained: dict[str, str] = field(default_factory=dict)

    def unexplained(self) -> list[str]:
        """Every difference the spec does not explain, one line each."""
        out = [f"added {o}" for o in self.added]
        out += [f"removed {o}" for o in self.removed if o not in self.removed_explained]
        out += [f"newly deprecated {d['operation']}" for d in self.newly_deprecated]
        out += [f"switch-off day {d['operation']} {d['sunset']}" for d in self.sunsets]
        out += [
            f"{o.method} {o.path} {c.part} {c.kind} {c.path}: {c.detail}"
            for o in self.operations
            for c in o.changes
            if not c.repaired
        ]
        return out

    def explained_count(self) -> int:
        fields = sum(1 for o in self.operations for c in o.changes if c.repaired)
        return len(self.removed_explained) + fields

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["unexplained"] = self.unexplained()
        return data


def spec_body_schema(op: dict[str, Any], part: str) -> dict[str, Any] | None:
    if part == "request":
        content = (op.get("requestBody") or {}).get("content") or {}
        media = content.get("application/json") or next(iter(content.values()), None)
    else:
        media = (((op.get("responses") or {}).get("200") or {}).get("content") or {}).get(
            "application/json"
        )
    return (media or {}).get("schema")


def body_note(op: dict[str, Any], part: str) -> str | None:
    """The ``x-ozon-note`` the spec records on a request or 200 answer body as a whole (on its
    JSON media type, or on the file media type of an answer that is a file)."""
    if part == "request":
        content = (op.get("requestBody") or {}).get("content") or {}
    else:
        content = (((op.get("responses") or {}).get("200") or {}).get("content")) or {}
    media = content.get("application/json")
    if media is None and part == "response":
        media = next(iter(content.values()), None)
    note = (media or {}).get("x-ozon-note")
    return note if isinstance(note, str) else None


def compare_fields(part: str, ref: dict[str, Field], ours: dict[str, Field]) -> list[Change]:
    out: list[Change] = []
    for key, rf in ref.items():
        sf = ours.get(key)
        if sf is None:
            # a field below one we do not have is reported once, at the top
            parent = key.rsplit(".", 1)[0] if "." in key else None
            if parent is not None and parent in ref and parent not in ours:
                continue
            out.append(Change(part, rf.path, "added", f"{rf.kind}"))
            continue
        if rf.kind != "any" and "any" not in sf.accepts and rf.kind not in sf.accepts:
            out.append(Change(part, rf.path, "type", f"{sf.kind} -> {rf.kind}", repaired=sf.noted))
        if rf.enum is not None and sf.enum is not None:
            new = sorted(map(str, rf.enum - sf.enum))
            gone = sorted(map(str, sf.enum - rf.enum))
            if new or gone:
                parts = []
                if new:
                    parts.append("+" + ", +".join(new))
                if gone:
                    parts.append("-" + ", -".join(gone))
                out.append(Change(part, rf.path, "enum", " ".join(parts), repaired=sf.noted))
        if rf.required != sf.required and part == "request":
            detail = "now required" if rf.required else "no longer required"
            out.append(Change(part, rf.path, "required", detail, repaired=sf.noted))
    for key, sf in ours.items():
        if key not in ref:
            parent = key.rsplit(".", 1)[0] if "." in key else None
            if parent is not None and parent in ours and parent not in ref:
                continue
            out.append(Change(part, sf.path, "removed", sf.kind, repaired=sf.noted))
    return out


def diff(spec: dict[str, Any], doc: RefDoc) -> Report:
    schemas = SpecSchemas(spec)
    report = Report(reference=doc.source)
    ours = {(m.upper(), p): op for p, item in spec["paths"].items() for m, op in item.items()}
    theirs = {(m, p): op for m, p, op in doc.operations()}
    report.added = [
        f"{m} {p}" for m, p in sorted(theirs, key=lambda k: (k[1], k[0])) if (m, p) not in ours
    ]
    report.removed = [
        f"{m} {p}" for m, p in sorted(ours, key=lambda k: (k[1], k[0])) if (m, p) not in theirs
    ]
    for key in report.removed:
        m, p = key.split(" ", 1)
        op = ours[(m, p)]
        if op.get("x-ozon-removed"):
            report.removed_explained[key] = f"x-ozon-removed: {op['x-ozon-removed']}"
        elif op.get("x-ozon-source"):
            report.removed_explained[key] = f"x-ozon-source: {op['x-ozon-source']}"
    for key in sorted(set(ours) & set(theirs), key=lambda k: (k[1], k[0])):
        op, rop = ours[key], theirs[key]
        dep, successors = deprecation(doc, rop)
        if dep and not op.get("deprecated"):
            report.newly_deprecated.append(
                {"operation": f"{key[0]} {key[1]}", "replaced_by": successors}
            )
        day = sunset(rop)
        if day is not None and day != op.get("x-ozon-sunset"):
            report.sunsets.append(
                {"operation": f"{key[0]} {key[1]}", "sunset": day, "spec": op.get("x-ozon-sunset")}
            )
        od = OperationDiff(*key)
        for part in ("request", "response"):
            body = doc.request(rop) if part == "request" else doc.response(rop)
            ref = ref_fields(doc, body.schema if body else None)
            mine = spec_fields(schemas, spec_body_schema(op, part))
            if body is None or body.schema is None:
                continue
            changes = compare_fields(part, ref, mine)
            if body_note(op, part):  # the spec records why this body differs as a whole
                for c in changes:
                    c.repaired = True
            od.changes.extend(changes)
        if od.changes:
            report.operations.append(od)
    return report


def render(report: Report, show_repaired: bool = False) -> str:
    lines = [f"Drift against {report.reference}", ""]

    def section(title: str, items: list[str]) -> None:
        lines.append(f"{title} ({len(items)})")
        lines.extend(f"  {i}" for i in items)
        lines.append("")

    section("Operations added (in the reference, not in the spec)", report.added)
    section(
        "Operations removed (in the spec, not in the reference; not marked x-ozon-removed)",
        [o for o in report.removed if o not in report.removed_explained],
    )
    section(
        "Operations newly deprecated",
        [
            d["operation"] + (f"  -> {', '.join(d['replaced_by'])}" if d["replaced_by"] else "")
            for d in report.newly_deprecated
        ],
    )
    section(
        "Switch-off days announced or moved (x-ozon-sunset)",
        [
            f"{d['operation']}  {d['sunset']}"
            + (f" (the spec says {d['spec']})" if d["spec"] else " (the spec has none)")
            for d in report.sunsets
        ],
    )
    changed = [
        o for o in report.operations if any(show_repaired or not c.repaired for c in o.changes)
    ]
    counts: dict[str, int] = {}
    for o in report.operations:
        for c in o.changes:
            k = "repaired" if c.repaired else c.kind
            counts[k] = counts.get(k, 0) + 1
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    lines.append(f"Fields changed in {len(changed)} operations ({summary or 'none'})")
    for o in changed:
        lines.append(f"  {o.method} {o.path}")
        for c in o.changes:
            if c.repaired and not show_repaired:
                continue
            mark = " (repaired in the spec: see its x-ozon-note)" if c.repaired else ""
            lines.append(f"    {c.part:8} {c.kind:8} {c.path}: {c.detail}{mark}")
    if not show_repaired and counts.get("repaired"):
        lines.append(
            f"  ({counts['repaired']} differences on fields the spec already repairs are hidden;"
            " --all shows them)"
        )
    lines.append("")
    marked = sum(1 for v in report.removed_explained.values() if v.startswith("x-ozon-removed"))
    later = len(report.removed_explained) - marked
    lines.append(
        f"Explained by the spec ({report.explained_count()}): "
        f"{marked} removed operations marked, "
        + (f"{later} operations from a later source (x-ozon-source), " if later else "")
        + f"{counts.get('repaired', 0)} field differences with a recorded repair or note"
    )
    if show_repaired:
        lines.extend(f"  {k}  ({v})" for k, v in report.removed_explained.items())
    left = report.unexplained()
    lines.append(
        "Nothing unexplained." if not left else f"{len(left)} differences unexplained (above)."
    )
    return "\n".join(lines) + "\n"
