"""One-time bootstrap: draft the structure of spec/openapi.yaml from Ozon's reference swagger files.

This is *not* part of the build. It was used once to draft the spec (structure, types, examples and
the list of repairs); the English prose was written separately (tools/bootstrap/en/*.yaml) and
merged by ``merge.py``. After that the spec is edited by hand. The script is kept so that a future
reference refresh can be diffed against the spec.

Usage:  python tools/bootstrap/importer.py ../shared/reference  > build/draft.json
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

DOC_FILES = [
    ("ru2026", "ozon-seller-openapi-ru-2026-05.json"),
    ("ru2025", "ozon-seller-openapi-ru-2025-09.json"),
    ("zh2026", "ozon-seller-openapi-zh-2026-06.json"),
]

SUCCESSORS_NOT_IN_SEED = [
    ("/v4/posting/fbs/list", "posting"),
    ("/v4/posting/fbs/unfulfilled/list", "posting"),
    ("/v2/review/list", "review"),
    ("/v2/review/info", "review"),
    ("/v2/review/count", "review"),
    ("/v2/review/change-status", "review"),
    ("/v2/review/comment/delete", "review"),
    ("/v2/actions/discounts-task/list", "actions"),
    ("/v2/delivery-method/list", "delivery-method"),
    ("/v2/polygon/bind", "polygon"),
    ("/v2/carriage/delivery/list", "carriage"),
    ("/v2/product/info/stocks-by-warehouse/fbs", "product"),
    ("/v1/finance/accrual/postings", "finance"),
]

TYPE_FIXES = {
    "int": ("integer", None),
    "bool": ("boolean", None),
    "timestamp": ("string", "date-time"),
    "enum": ("string", None),
    "file": ("string", "binary"),
}

INT64_FORMATS = {"int64", "uint64"}
INT64_PATTERN = "^-?[0-9]+$"


def camel(s: str) -> str:
    parts = re.split(r"[^0-9a-zA-Z]+", s)
    return "".join(p[:1].upper() + p[1:] for p in parts if p)


class Importer:
    def __init__(self, ref: Path) -> None:
        self.ref = ref
        self.docs = {k: json.loads((ref / f).read_text()) for k, f in DOC_FILES}
        self.pages = json.loads((ref / "docs-zh-pages.json").read_text())
        self.seed = json.loads((ref / "seed-operations.json").read_text())
        # component key -> record
        self.comps: dict[str, dict[str, Any]] = {}
        self.ref_key: dict[tuple[str, str], str] = {}
        self.notes: list[str] = []

    # ------------------------------------------------------------------ operations
    def operations(self) -> list[dict[str, Any]]:
        ops = []
        for o in self.seed:
            method = o["method"].upper()
            if method.startswith("POST"):
                method = "POST"
            ops.append(
                {
                    "method": method,
                    "path": o["path"],
                    "group": o["group"],
                    "title_zh": o["title_zh"],
                    "successor": o.get("successor"),
                    "deprecated_in": o.get("deprecated_in"),
                    "seed": True,
                }
            )
        for path, group in SUCCESSORS_NOT_IN_SEED:
            ops.append(
                {
                    "method": "POST",
                    "path": path,
                    "group": group,
                    "title_zh": None,
                    "successor": None,
                    "seed": False,
                }
            )
        return ops

    def find_op(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        for k, _ in DOC_FILES:
            op = self.docs[k]["paths"].get(path, {}).get(method.lower())
            if op:
                return k, op
        raise KeyError((method, path))

    # ------------------------------------------------------------------ schema conversion
    def comp_for_ref(self, doc: str, ref: str) -> str:
        name = ref.split("/")[-1]
        key = (doc, name)
        if key in self.ref_key:
            return self.ref_key[key]
        ckey = f"{doc}:{name}"
        self.ref_key[key] = ckey
        self.comps[ckey] = {"origin": name, "doc": doc, "schema": None}
        src = self.docs[doc]["components"]["schemas"][name]
        self.comps[ckey]["schema"] = self.conv(doc, src, ckey, lift=False)
        return ckey

    def conv(self, doc: str, s: Any, ctx: str, lift: bool = True) -> dict[str, Any]:
        """Convert one reference schema into the normalized form.

        ``ctx`` is the component key (or inline path) used to name lifted inline objects.
        Refs become {"$ref": <component key>} and are renamed later.
        """
        if not isinstance(s, dict):
            return {}
        s = dict(s)
        out: dict[str, Any] = {}
        notes: list[str] = []
        ru = s.get("description")
        if "$ref" in s and s.get("type") == "array" and not s.get("items"):
            s["items"] = {"$ref": s.pop("$ref")}
            notes.append("Ozon's schema puts the item `$ref` beside `type: array` with `items: null`; it is an array of that type.")
        if "$ref" in s:
            key = self.comp_for_ref(doc, s["$ref"])
            out["$ref"] = key
            if ru:
                out["x-ru"] = ru
            if s.get("deprecated"):
                out["deprecated"] = True
            return out
        if "allOf" in s and len(s["allOf"]) == 1 and "$ref" in s["allOf"][0]:
            key = self.comp_for_ref(doc, s["allOf"][0]["$ref"])
            out["$ref"] = key
            if ru:
                out["x-ru"] = ru
            return out
        # typos seen in the references
        if "ype" in s and "type" not in s:
            s["type"] = s.pop("ype")
            notes.append("Ozon's schema misspells `type` as `ype`.")
        if "foramt" in s and "format" not in s:
            s["format"] = s.pop("foramt")
            notes.append("Ozon's schema misspells `format` as `foramt`.")
        t = s.get("type")
        fmt = s.get("format")
        if t == "None" or (t is None and fmt in ("string", "date-time")):
            t = "string"
            fmt = None if fmt == "string" else fmt
            notes.append("Ozon's schema gives no valid type; the field is a string.")
        if t == "array of strings":
            t = "array"
            if "items" not in s:
                s["items"] = {"type": "string"}
            notes.append("Ozon's schema uses the invalid type name `array of strings`.")
        if t in TYPE_FIXES:
            nt, nf = TYPE_FIXES[t]
            notes.append(f"Ozon's schema uses the invalid type name `{t}`.")
            t = nt
            if nf:
                fmt = nf
        if t is None and "properties" in s:
            t = "object"
        if t is None and "items" in s:
            t = "array"
        if t is None and "enum" in s:
            t = "string"
        if t == "number" and fmt == "int32":
            t, fmt = "integer", "int32"
        if t == "object" or (t is None and "properties" in s):
            props = s.get("properties") or {}
            if props or not s.get("additionalProperties"):
                obj = self.conv_object(doc, s, ctx)
                if lift:
                    key = f"{ctx}"
                    self.comps[key] = {"origin": None, "doc": doc, "schema": obj}
                    out["$ref"] = key
                    if ru:
                        out["x-ru"] = ru
                    if notes:
                        out["x-notes"] = notes
                    return out
                if notes:
                    obj.setdefault("x-notes", []).extend(notes)
                return obj
            out["type"] = "object"
            out["additionalProperties"] = self.conv(doc, s["additionalProperties"], ctx + "Value")
        elif t == "array":
            out["type"] = "array"
            items = s.get("items") or {"type": "string"}
            out["items"] = self.conv(doc, items, ctx + "Item")
            for k in ("maxItems", "minItems", "uniqueItems"):
                if k in s:
                    out[k] = s[k]
            if "maximum" in s and "maxItems" not in s:
                out["maxItems"] = s["maximum"]
                notes.append("Ozon's schema puts the array limit in `maximum`; it is `maxItems`.")
        elif t in ("string", "integer", "number", "boolean"):
            if fmt in INT64_FORMATS or (t == "integer" and fmt is None and False):
                out["type"] = ["integer", "string"]
                out["format"] = "int64"
                out["pattern"] = INT64_PATTERN
                if t == "string":
                    out["x-declared"] = "string"
                if fmt == "uint64":
                    out["minimum"] = 0
            else:
                out["type"] = t
                if fmt and not (t == "string" and fmt in ("string",)):
                    if t == "number" and fmt in ("double", "float"):
                        out["format"] = fmt
                    elif t == "integer" and fmt in ("int32",):
                        out["format"] = fmt
                    elif t == "string" and fmt in ("date-time", "date", "byte", "binary", "email", "uri", "uuid"):
                        out["format"] = fmt
                    elif t == "string" and fmt == "int32":
                        out["type"] = ["integer", "string"]
                        out["format"] = "int32"
                        out["pattern"] = INT64_PATTERN
                        out["x-declared"] = "string"
                    else:
                        notes.append(f"Ozon's schema gives the unknown format `{fmt}`; dropped.")
            for k in ("maximum", "minimum", "maxLength", "minLength", "pattern", "multipleOf", "exclusiveMinimum", "exclusiveMaximum"):
                if k in s and k not in out:
                    out[k] = s[k]
            if s.get("enum"):
                vals = [v for v in s["enum"] if v is not None]
                out["enum"] = list(dict.fromkeys(vals))
        elif t is None:
            # untyped: keep as free-form value
            out["x-untyped"] = True
        else:
            raise ValueError(f"unknown type {t!r} in {ctx}")
        if "default" in s and s["default"] is not None:
            out["default"] = s["default"]
        if s.get("nullable"):
            out["x-nullable"] = True
        if s.get("deprecated"):
            out["deprecated"] = True
        if ru:
            out["x-ru"] = ru
        if notes:
            out["x-notes"] = notes
        if "example" in s and s["example"] is not None:
            out["x-schema-example"] = s["example"]
        return out

    def conv_object(self, doc: str, s: dict[str, Any], ctx: str) -> dict[str, Any]:
        props = s.get("properties") or {}
        out: dict[str, Any] = {"type": "object", "properties": {}}
        required = list(s.get("required") or []) if isinstance(s.get("required"), list) else []
        notes: list[str] = []
        for pname, p in props.items():
            if isinstance(p, dict) and p.get("required") is True:
                if pname not in required:
                    required.append(pname)
                p = {k: v for k, v in p.items() if k != "required"}
                notes.append(f"Ozon's schema marks `{pname}` required with `required: true` inside the property.")
            out["properties"][pname] = self.conv(doc, p, ctx + camel(pname))
        required = [r for r in required if r in props]
        if required:
            out["required"] = required
        if "oneOf" in s:
            out["oneOf"] = s["oneOf"]
        if s.get("description"):
            out["x-ru"] = s["description"]
        if notes:
            out["x-notes"] = notes
        return out


def main() -> None:
    ref = Path(sys.argv[1])
    imp = Importer(ref)
    result: dict[str, Any] = {"operations": [], "components": None}
    for o in imp.operations():
        doc, op = imp.find_op(o["method"], o["path"])
        o["source"] = doc
        o["ozon_operation_id"] = op.get("operationId")
        o["ru_summary"] = op.get("summary")
        o["ru_description"] = op.get("description")
        o["ozon_deprecated"] = bool(op.get("deprecated"))
        rb = op.get("requestBody") or {}
        if "$ref" in rb:
            rb = imp.docs[doc]["components"]["requestBodies"][rb["$ref"].split("/")[-1]]
        base = "Op:" + o["method"] + ":" + o["path"]
        req = None
        for ct, c in (rb.get("content") or {}).items():
            if "/" not in ct:
                continue
            req = {"content_type": ct, "schema": imp.conv(doc, c.get("schema") or {}, base + ":Request", lift=True) if c.get("schema") else None, "example": c.get("example")}
        o["request"] = req
        r200 = (op.get("responses") or {}).get("200") or {}
        resp = None
        misplaced = (r200.get("content") or {}).get("example")
        for ct, c in (r200.get("content") or {}).items():
            if "/" not in ct:
                continue
            if misplaced is not None and "example" not in c:
                c = {**c, "example": misplaced}
                o["misplaced_example"] = True
            resp = {"content_type": ct, "schema": imp.conv(doc, c.get("schema") or {}, base + ":Response", lift=True) if c.get("schema") else None, "example": c.get("example"), "ru": r200.get("description")}
        o["response"] = resp
        o["response_ru"] = r200.get("description")
        page = imp.pages.get(o["path"])
        if page:
            o["page"] = {"request_example": page.get("request_example"), "response_200": (page.get("response_examples") or {}).get("200"), "text_zh": page.get("page_text_zh"), "has_request_example": "request_example" in page}
        # examples from other docs (older/other language), for fallback
        o["other_examples"] = {}
        for k, _ in DOC_FILES:
            oo = imp.docs[k]["paths"].get(o["path"], {}).get(o["method"].lower())
            if not oo or k == doc:
                continue
            rb2 = oo.get("requestBody") or {}
            if "$ref" in rb2:
                rb2 = imp.docs[k]["components"]["requestBodies"][rb2["$ref"].split("/")[-1]]
            ex = {}
            for c in (rb2.get("content") or {}).values():
                if "example" in c:
                    ex["request"] = c["example"]
            for c in ((oo.get("responses") or {}).get("200") or {}).get("content", {}).values():
                if "example" in c:
                    ex["response"] = c["example"]
            o["other_examples"][k] = ex
        result["operations"].append(o)
    result["components"] = imp.comps
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
