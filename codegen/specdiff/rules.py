"""Rules that decide an operation's extensions from the references, each stated once.

* :func:`deprecation`: deprecated when Ozon's operation says ``deprecated: true`` or its warning
  box says it is being switched off; the successors are the operations that box links to.
* :func:`sunset`: the day Ozon says it switches an operation off (``x-ozon-sunset``).
* :func:`is_safe`: the read rule for ``x-ozon-safe`` (see its docstring).
* :func:`pagination`: the ``x-ozon-pagination`` of a list, from its request and answer fields.
* :func:`text_limits`: limits stated in Russian or Chinese prose, as schema keywords.
* :func:`rate_limit`: ``x-ozon-rate-limit`` from the operation's prose.
* :func:`binary_type`: the real content type of a file answer.
"""

from __future__ import annotations

import re
from typing import Any

from codegen.specdiff.refdoc import RefDoc

# ---------------------------------------------------------------------- deprecation
_WARNING = re.compile(r"<aside[^>]*warning[^>]*>(.*?)</aside>", re.S)
_OFF = re.compile(
    r"устаре|отключ|будет отключ|отключим|перестан|弃用|停用|将被关闭|关闭|过时|不再支持", re.I
)
_LINK = re.compile(r'href="#operation/([^"]+)"[^>]*>\s*(/v\d+/[^<\s]+)\s*<')
_PATH = re.compile(r"(/v\d+/[A-Za-z0-9_\-/{}]+)")


def deprecation(doc: RefDoc, op: dict[str, Any]) -> tuple[bool, list[str]]:
    """(deprecated, successors as "METHOD /path") for a reference operation."""
    text = op.get("description") or ""
    successors: list[str] = []
    off = bool(op.get("deprecated"))
    for box in _WARNING.findall(text):
        if not _OFF.search(box):
            continue
        links = _LINK.findall(box)
        if not links and not re.search(r"Переключ|Используйте|请切换|请使用|改用", box):
            continue
        off = True
        for op_id, path in links:
            method_path = doc.by_operation_id.get(op_id)
            if method_path is None:
                method_path = next(
                    ((m, p) for m, p, _ in doc.operations() if p == path.strip()), ("POST", path)
                )
            s = f"{method_path[0]} {method_path[1]}"
            if s not in successors:
                successors.append(s)
    return off, successors


_RU_MONTHS = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
]
_SUNSET_RU = re.compile(
    r"отключ\w*[^.<]{0,40}?\b(\d{1,2})\s+(" + "|".join(_RU_MONTHS) + r")\s+(\d{4})", re.I
)
_SUNSET_ZH = re.compile(
    r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日[^。<]{0,20}?(?:停用|关闭|下线)"
)


def is_beta(doc: RefDoc, op: dict[str, Any]) -> bool:
    """Ozon files the operation under a beta tag: ``BetaMethod`` or any other tag of the
    ``x-tagGroups`` group that holds it (``x-ozon-beta``)."""
    beta = {"BetaMethod"}
    for group in doc.data.get("x-tagGroups") or []:
        tags = group.get("tags") or []
        if "BetaMethod" in tags:
            beta |= set(tags)
    return bool(set(doc.tags(op)) & beta)


def sunset(op: dict[str, Any]) -> str | None:
    """The day (``YYYY-MM-DD``) a reference operation says Ozon switches it off
    (``x-ozon-sunset``): "будет отключён 16 марта 2026 года", "2026年3月16日停用"."""
    text = op.get("description") or ""
    found = _SUNSET_RU.search(text)
    if found:
        day, month, year = found.groups()
        return f"{year}-{_RU_MONTHS.index(month.lower()) + 1:02d}-{int(day):02d}"
    found = _SUNSET_ZH.search(text)
    if found:
        year, month, day = found.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}"
    return None


# ---------------------------------------------------------------------- safety
#: Last path segments that name a read: the operation returns data and changes nothing.
READ_LAST = {
    "list",
    "info",
    "get",
    "count",
    "search",
    "status",
    "tree",
    "values",
    "history",
    "check",
    "summary",
    "totals",
    "details",
    "data",
    "tips",
    "types",
    "find",
    "rating",
    "candidates",
    "available",
    "balance",
    "queries",
    "ids",
    "attribute",
    "attributes",
    "description",
    "limit",
    "by-day",
    "postings",
    "realization",
    "products",
    "average-delivery-time",
    "product-queries",
    "roles",
    "get-by-barcode",
    "rating-by-sku",
    "cancel-reason",
    "wrong-volume",
    "strategy-ids-by-product-ids",
    "discounted",
    "subscription",
    "top_sku",
    "top-sku",
    "accordance-types",
    "available_warehouses",
    "validate",
    "get-pdf",
    "get-png",
    "get-barcode",
    "get-container-labels",
    "check-status",
    "timeslot",
    "package-label",
    "posting",
    "fbs",
    "actions",
    "file",
    "returns",
    "item",
    "items",
    "analytics",
    "stocks-by-warehouse",
    "timetable",
    "pdf",
    "validation",
}
#: Segments that make a noun at the end of the path a read (``/v4/product/info/stocks``).
READ_CONTEXT = {"info", "list", "get", "analytics"}
#: A segment that begins with one of these words and a hyphen reads like the word itself:
#: ``list-by-order`` is a ``list``, ``get-postings`` a ``get`` (``/v2/posting/fbs/act/get-postings``).
READ_PREFIXES = ("list-", "get-")
#: Groups (first segment after the version) whose operations only read unless a write word says
#: otherwise: Ozon's analytics and search-query statistics.
READ_GROUPS = {"analytics", "search-queries"}
#: Segments that name a change. A path ending in a write segment is never a read, and a path with
#: one anywhere is a read only when its last segment is in READ_LAST *and* names a check
#: (``status``, ``info``, ``list``, ``get``...: ``/v1/draft/supply/create/status``).
WRITE_WORDS = {
    "create",
    "update",
    "delete",
    "set",
    "add",
    "remove",
    "import",
    "activate",
    "deactivate",
    "approve",
    "decline",
    "reject",
    "cancel",
    "ship",
    "send",
    "start",
    "archive",
    "unarchive",
    "bind",
    "unbind",
    "upload",
    "move",
    "change",
    "change-status",
    "change_status",
    "confirm",
    "apply",
    "enable",
    "disable",
    "pack",
    "split",
    "generate",
    "save",
    "edit",
    "compensate",
    "verify",
    "receive-return",
    "return-money",
    "copy",
    "complete",
    "reset",
    "barcode-reset",
    "assign",
    "restore",
    "register",
    "prolong",
    "clone",
    "deliver",
    "read",
    "answer",
    "comment",
    "tracking-number",
    "delivered",
    "delivering",
    "last-mile",
    "sent-by-seller",
    "awaiting-delivery",
    "action",
    "exemplar",
    "timer",
    "courier",
    "pickup",
}
#: Last segments that are reads even after a write segment: checks of an earlier change.
CHECK_LAST = {
    "status",
    "info",
    "list",
    "get",
    "check",
    "check-status",
    "validate",
    "validation",
    "count",
    "tips",
}


def path_words(path: str) -> list[str]:
    return [s for s in path.strip("/").split("/")[1:] if s]


def _reads(word: str) -> bool:
    """A segment that names a read on its own: a read word, or ``list-...``/``get-...``."""
    return word in READ_LAST or word.startswith(READ_PREFIXES)


def is_safe(method: str, path: str) -> bool:
    """The ``x-ozon-safe`` rule, decided by the path's words.

    A GET is a read. Of a POST ``/v<N>/<group>/<w1>/.../<last>`` (the group itself is not
    considered, and path parameters are skipped):

    * when some ``w`` is a write word (:data:`WRITE_WORDS`: ``create``, ``update``, ``set``,
      ``cancel``, ``import``...), it is a read only if ``last`` checks on a change
      (:data:`CHECK_LAST`: ``status``, ``info``, ``list``, ``validation``...) and is not itself a
      write word;
    * otherwise it is a read when ``last`` is a read word (:data:`READ_LAST`: ``list``, ``info``,
      ``count``, ``products``, ``get-pdf``...) or starts with ``list-``/``get-``
      (:data:`READ_PREFIXES`), when an earlier ``w`` is ``info``, ``list``, ``get``
      (:data:`READ_CONTEXT`) or starts with ``list-``/``get-``, or when the group only reads
      (:data:`READ_GROUPS`: ``analytics``, ``search-queries``).

    An operation that answers with a code or id of something it creates (a report, a task, a
    draft) is not a read, whatever its path says. Where an operation's behaviour differs from
    what its path says, the spec overrides the rule with ``x-ozon-safe-reason`` next to
    ``x-ozon-safe``.
    """
    if method.upper() == "GET":
        return True
    words = [w for w in path_words(path) if not w.startswith("{")]
    rest = words[1:] or words
    last = rest[-1]
    if any(w in WRITE_WORDS for w in rest):
        return last in CHECK_LAST and not any(w in WRITE_WORDS for w in rest[-1:])
    return (
        _reads(last)
        or any(w in READ_CONTEXT or w.startswith(READ_PREFIXES) for w in rest[:-1])
        or words[0] in READ_GROUPS
    )


# ---------------------------------------------------------------------- pagination
POSITION_STYLES = (
    ("cursor", "cursor"),
    ("last_id", "last_id"),
    ("offset", "offset"),
    ("page", "page"),
)
LIMIT_NAMES = ("limit", "page_size", "per_page")


def pagination(
    request: dict[str, Any], response: dict[str, Any], items_hint: str | None = None
) -> dict[str, Any] | None:
    """``x-ozon-pagination`` from flattened request/answer fields (match keys -> Field).

    A list is paginated when its request has a position field (``cursor``, ``last_id``,
    ``offset`` or ``page``) at the top level and its answer has a list. ``items`` is the first
    list of objects in the answer (top level, then under ``result``); ``next`` is the answer's
    ``cursor``/``last_id``; ``has_next``, ``total`` and ``page_count`` are the answer's fields of
    those names (``has_next``, ``total``/``count``/``total_count``, ``page_count``).
    """
    style = position = None
    for name, st in POSITION_STYLES:
        if name in request and "." not in request[name].key:
            style, position = st, name
            break
    if style is None:
        return None
    limit = next((n for n in LIMIT_NAMES if n in request), None)
    candidates = [
        f
        for f in response.values()
        if f.kind == "array"
        and f.key.count(".") <= 1
        and (f.key.count(".") == 0 or f.key.startswith("result."))
    ]
    if items_hint:
        candidates = [f for f in candidates if f.key == items_hint] or candidates
    if not candidates:
        return None

    # prefer a list of objects (an item path has children) and the shortest path
    def has_children(f: Any) -> bool:
        return any(k.startswith(f.key + ".") for k in response)

    candidates.sort(
        key=lambda f: (not has_children(f), f.key.count("."), list(response).index(f.key))
    )
    items = candidates[0].key
    prefix = items.rsplit(".", 1)[0] + "." if "." in items else ""
    out: dict[str, Any] = {"style": style, "position": position}
    if limit:
        out["limit"] = limit
    out["items"] = items

    def find(*names: str) -> str | None:
        for n in names:
            for key in (prefix + n, n):
                if key in response and response[key].kind != "array":
                    return key
        return None

    if style in ("cursor", "last_id"):
        nxt = find(position)
        if nxt:
            out["next"] = nxt
    hn = find("has_next")
    if hn:
        out["has_next"] = hn
    total = find("total", "total_count", "count")
    if total:
        out["total"] = total
    pc = find("page_count")
    if pc:
        out["page_count"] = pc
    if style == "page":
        out["first_page"] = 1
    if style in ("cursor", "last_id") and "next" not in out:
        item_keys = [
            k
            for k in response
            if k.startswith(items + ".") and k.count(".") == items.count(".") + 1
        ]
        for cand in ("id", position, f"{position.removesuffix('_id')}_id"):
            if items + "." + cand in item_keys:
                out["next_from_item"] = cand
                break
        else:
            return None
    return out


# ---------------------------------------------------------------------- limits in prose
_NUM = r"(\d[\d\s\u00a0]*\d|\d)"
_RANGE = [
    re.compile(r"от\s+" + _NUM + r"\s+до\s+" + _NUM, re.I),
    re.compile(r"(?:from|between)\s+" + _NUM + r"\s+(?:to|and)\s+" + _NUM, re.I),
    re.compile(_NUM + r"\s*(?:到|至|-|–|—)\s*" + _NUM + r"\s*(?:之间|个|条|件)?"),
]
_MAX = [
    re.compile(r"максимум\s*[—–:-]?\s*" + _NUM, re.I),
    re.compile(r"максимальн\w*\s+(?:значение|количество|длина)?\s*[—–:-]?\s*" + _NUM, re.I),
    re.compile(r"не\s+(?:более|больше)\s+" + _NUM, re.I),
    re.compile(
        r"(?<![а-яё])до\s+"
        + _NUM
        + r"\s+(?:значени|элемент|товар|отправлен|идентификатор|символ|штук|шт|SKU|артикул|заяв|позици|строк|запис|склад|объект|номер|грузомест|поставок|черновик|кластер|акци|вариант|отзыв|вопрос|ответ|чат|сообщени|файл|изображени)",
        re.I,
    ),
    re.compile(r"(?:не\s*超过|不超过|最多|最大(?:值)?(?:为|是)?|上限(?:为|是)?|至多)\s*" + _NUM),
    re.compile(r"(?:maximum|max\.?|at most|up to)\s*[—–:-]?\s*" + _NUM, re.I),
]
_MIN = [
    re.compile(r"минимум\s*[—–:-]?\s*" + _NUM, re.I),
    re.compile(r"не\s+менее\s+" + _NUM, re.I),
    re.compile(r"(?:至少|最少|不少于)\s*" + _NUM),
]
_CHARS = re.compile(r"символ|знак|字符|characters", re.I)


def _int(s: str) -> int:
    return int(re.sub(r"\D", "", s))


def text_limits(text: str | None, kind: str, name: str = "") -> dict[str, int]:
    """Schema keywords for the limits a property's prose states.

    ``kind`` is the property's kind: an array gets ``maxItems``/``minItems``, a string with a
    character count ``maxLength``/``minLength``, a number ``maximum``/``minimum``. Recognised:
    "от 1 до 1000", "максимум — 1000", "не более 100", "до 100 значений", "不超过1000",
    "最多100", "1 到 1000", "minimum 1", "не менее 1". A range found in the text wins over
    single bounds. Implausible numbers (years, more than 10 000 000) are ignored.
    """
    if not text:
        return {}
    text = re.sub(r"<[^>]+>", " ", text)
    lo = hi = None
    for rx in _RANGE:
        m = rx.search(text)
        if m:
            a, b = _int(m.group(1)), _int(m.group(2))
            if a < b:
                lo, hi = a, b
                break
    if hi is None:
        for rx in _MAX:
            m = rx.search(text)
            if m:
                hi = _int(m.group(1))
                break
    if lo is None:
        for rx in _MIN:
            m = rx.search(text)
            if m:
                lo = _int(m.group(1))
                break
    if hi is not None and (hi > 10_000_000 or 1900 <= hi <= 2100 or hi == 0):
        hi = None
    if lo is not None and (lo > 10_000_000 or 1900 <= lo <= 2100):
        lo = None
    if hi is not None and lo is not None and lo > hi:
        lo = None
    out: dict[str, int] = {}
    if kind == "array":
        if hi is not None:
            out["maxItems"] = hi
        if lo is not None and lo > 0:
            out["minItems"] = lo
    elif kind == "string":
        if _CHARS.search(text):
            if hi is not None:
                out["maxLength"] = hi
            if lo is not None and lo > 0:
                out["minLength"] = lo
    elif kind in ("int", "number") and (
        name in ("limit", "page_size", "per_page") or name.endswith(("_limit", "_count"))
    ):
        # a number's range is only trusted for page sizes, counts and limits: elsewhere the same
        # phrases usually describe something else (an array of ids, a period)
        if hi is not None:
            out["maximum"] = hi
        if lo is not None:
            out["minimum"] = lo
    return out


# ---------------------------------------------------------------------- rate limits
_RATE = re.compile(
    r"(?:не\s+(?:более|больше|чаще)\s+|до\s+|максимум\s+)?(\d+)\s+(?:раз|запрос\w*)\s+в\s+(секунду|минуту|час|сутки|день)"
    r"|(?:每(秒|分钟|小时|天))\s*(?:最多|不超过)?\s*(\d+)\s*(?:次|个请求)",
    re.I,
)
_PERIOD = {
    "секунду": 1,
    "минуту": 60,
    "час": 3600,
    "сутки": 86400,
    "день": 86400,
    "秒": 1,
    "分钟": 60,
    "小时": 3600,
    "天": 86400,
}


def rate_limit(text: str | None) -> dict[str, int] | None:
    """``{requests, period}`` from "не более 2 запросов в минуту" / "每分钟最多2次"-style prose
    about the operation itself (per-product limits such as "10 раз в час" for one price are
    left to the description)."""
    if not text:
        return None
    for m in _RATE.finditer(re.sub(r"<[^>]+>", " ", text)):
        ctx = text[max(0, m.start() - 80) : m.start()].lower()
        if re.search(r"товар|каждого|одного|商品", ctx):
            continue
        if m.group(1):
            return {"requests": int(m.group(1)), "period": _PERIOD[m.group(2).lower()]}
        return {"requests": int(m.group(4)), "period": _PERIOD[m.group(3)]}
    return None


# ---------------------------------------------------------------------- binary answers
def binary_type(path: str, content_type: str | None, example: Any) -> str | None:
    """The real content type of a file answer, or None for JSON.

    Ozon's references describe file answers as a JSON wrapper (``content_type``, ``file_name``,
    ``file_content``) under ``application/pdf`` or ``image/png``; the server sends the file bytes.
    A reference content type other than JSON, or a wrapper example naming one, decides; a
    ``/file/`` download with no content is a PDF.
    """
    if content_type and content_type not in ("application/json", "example"):
        return content_type
    if isinstance(example, dict) and example.get("content_type") in (
        "application/pdf",
        "image/png",
    ):
        return str(example["content_type"])
    if content_type is None and re.search(r"-label/file/", path):
        return "application/pdf"
    return None
